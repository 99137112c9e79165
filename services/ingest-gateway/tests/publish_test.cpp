// The gateway's fast paths must give exactly what the shared libraries give:
// the CloudEvent envelope (data spliced, not re-parsed) and the pre-keyed HMAC.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/events/cloud_event.hpp>

#include "hmac_key.hpp"
#include "publish.hpp"
#include "whatsapp.hpp"

using namespace leadpipe;
using namespace leadpipe::ingest;

namespace {
std::string sample(const std::string& name) {
  std::ifstream f(std::string(LEADPIPE_SAMPLES_DIR) + "/whatsapp/" + name);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("envelope_json is byte-equal to events::to_json and parses back", "[unit]") {
  const auto hook = whatsapp::parse_webhook(sample("inbound_text.json"));
  REQUIRE(hook.messages.size() == 1);
  const std::string id = events::uuid_v5(events::kNamespace, "t1:whatsapp:" + hook.messages[0].message_id);
  auto ev = new_event("ingest.whatsapp.inbound", "/ingest-gateway/whatsapp", "t1", "6281234567890",
                      whatsapp::inbound_event_data(hook.messages[0]), id);
  CHECK(ev.id == id);
  CHECK_FALSE(ev.time.empty());
  CHECK(envelope_json(ev) == events::to_json(ev));
  const auto back = events::parse(envelope_json(ev));
  CHECK(back.id == id);
  CHECK(back.tenant == "t1");
  CHECK(back.subject == "6281234567890");
  CHECK(back.data == ev.data);

  ev.subject.clear();  // omitted, like to_json does
  ev.datacontenttype = "application/cloudevents+json";
  CHECK(envelope_json(ev) == events::to_json(ev));

  // The per-thread buffers are reused: a large event (past the 64 KB kept
  // between uses) and then small ones still serialise exactly.
  const auto small_data = ev.data;
  ev.data = R"({"text":")" + std::string(200 * 1024, 'x') + R"("})";
  CHECK(envelope_json(ev) == events::to_json(ev));
  ev.data = small_data;
  CHECK(envelope_json(ev) == events::to_json(ev));
  CHECK(envelope_json(ev) == events::to_json(ev));

  const auto message = to_message("ingest.whatsapp.inbound", ev, "t1:6281234567890");
  CHECK(message.value == events::to_json(ev));
  CHECK(message.key == "t1:6281234567890");
}

TEST_CASE("envelope_json refuses a missing attribute or non-object data", "[unit]") {
  auto ev = new_event("t", "/s", "tenant", "", "{\"a\":1}", "0b7f0f5e-5c1a-5d1e-9a57-6b0f2a1c9e01");
  ev.data = "[1]";
  CHECK_THROWS_AS(envelope_json(ev), std::invalid_argument);
  ev.data = "";
  CHECK_THROWS_AS(envelope_json(ev), std::invalid_argument);
  ev.data = "{}";
  ev.tenant.clear();
  CHECK_THROWS_AS(envelope_json(ev), std::invalid_argument);
}

TEST_CASE("a pre-keyed HMAC is shared by threads: pooled contexts never mix messages", "[unit]") {
  const HmacKey key("s3cret");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string body = "thread " + std::to_string(t) + " message " + std::to_string(i);
        if (key.mac(body) != auth::hmac_sha256("s3cret", body)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("pre-keyed HMAC equals the one-shot HMAC and checks hub signatures alike", "[unit]") {
  const std::string body = sample("inbound_text.json");
  for (const std::string& secret : std::vector<std::string>{"s3cret", "", std::string(100, 'k')}) {
    const HmacKey key(secret);
    CHECK(key.mac(body) == auth::hmac_sha256(secret, body));
    CHECK(key.mac_hex("") == auth::hmac_sha256_hex(secret, ""));
    // Pooled contexts are reset to the key between messages: no state of the
    // previous message carries over.
    for (int i = 0; i < 3; ++i) CHECK(key.mac(body + std::to_string(i)) == auth::hmac_sha256(secret, body + std::to_string(i)));
  }
  const HmacKey key("s3cret");
  const std::string good = "sha256=" + auth::hmac_sha256_hex("s3cret", body);
  std::string upper = good;
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  std::string not_hex = good;
  not_hex[20] = 'g';  // right length, one character that is not hex
  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';  // one nibble off
  for (const std::string& header :
       std::vector<std::string>{good, upper, good.substr(7), "sha256=", good + "0", good.substr(0, good.size() - 1),
                                not_hex, flipped, "SHA256=" + good.substr(7),
                                "sha256=" + auth::hmac_sha256_hex("other", body)}) {
    CHECK(hub_signature_valid(key, body, header) == whatsapp::signature_valid("s3cret", body, header));
  }
  CHECK(hub_signature_valid(key, body, good));
  CHECK(hub_signature_valid(key, body, upper));
  CHECK_FALSE(hub_signature_valid(key, body + " ", good));
  CHECK_FALSE(hub_signature_valid(key, body, not_hex));
  CHECK_FALSE(hub_signature_valid(key, body, flipped));
}
