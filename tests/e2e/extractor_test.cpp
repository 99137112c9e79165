// contact-extractor end to end through the real binary, Kafka and PostgreSQL:
// events are produced straight onto the stack's (prefixed) topics and the
// service's output is read back from Kafka.
//  - per-tenant settings set with leadctl change what is extracted
//  - outreach.sent: a bot question makes a bare reply fill the slot, a number
//    the bot said is never the lead's, a redelivered outreach.sent counts once
//  - ingest.call.completed: scored transcript + customer-turn extraction → contact.extracted (channel call)
//  - prompting on: one outreach.requested slot prompt per slot, the reply fills it
#include <utility>

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <pqxx/pqxx>

#include <chrono>
#include <ctime>
#include <fstream>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <thread>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/kafka/kafka.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/testing/infra.hpp>

#include "stack.hpp"

using namespace leadpipe;
using leadpipe::e2e::Stack;

namespace {

std::string rfc3339(int offset_s) {
  std::time_t t = std::time(nullptr) + offset_s;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Kafka {
  explicit Kafka(const Stack& s) {
    kafka::ProducerConfig cfg;
    cfg.client.brokers = testing::kafka_brokers();
    cfg.client.topic_prefix = s.prefix();
    cfg.client.client_id = "extractor-e2e";
    producer = std::make_unique<kafka::Producer>(cfg, log::root());
  }
  // Returns the event id.
  std::string send(const std::string& type, const std::string& tenant, const std::string& subject,
                   const std::string& data, const std::string& id = {}) {
    auto ev = events::make(type, "/e2e", tenant, subject, data);
    if (!id.empty()) ev.id = id;
    auto r = producer->send_sync({type, tenant + ":" + subject, events::to_json(ev), {}});
    REQUIRE(r.ok);
    return ev.id;
  }
  std::string inbound(const std::string& tenant, const std::string& wa_id, const std::string& wamid,
                      const std::string& text, int offset_s) {
    rapidjson::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    auto s = [&](const char* k, const std::string& v) {
      d.AddMember(rapidjson::StringRef(k), rapidjson::Value(v.c_str(), a), a);
    };
    s("channel", "whatsapp");
    s("phone_number_id", "109876543210987");
    s("wa_id", wa_id);
    s("message_id", wamid);
    s("timestamp", rfc3339(offset_s));
    s("type", "text");
    s("text", text);
    return send("ingest.whatsapp.inbound", tenant, wa_id, to_string(d));
  }
  static std::string to_string(const rapidjson::Value& v);
  std::unique_ptr<kafka::Producer> producer;
};

}  // namespace

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

std::string Kafka::to_string(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return b.GetString();
}

namespace {

// The data of the contact.extracted produced from `source_event_id` (waits for it).
rapidjson::Document extracted_for(const Stack& s, const std::string& source_event_id) {
  rapidjson::Document found;
  const bool ok = testing::wait_until(
      [&] {
        for (const auto& v : s.read_topic("contact.extracted", std::chrono::milliseconds(200))) {
          rapidjson::Document d;
          d.Parse(v.c_str());
          if (d.HasParseError() || !d.HasMember("data")) continue;
          const auto& data = d["data"];
          if (data.HasMember("source_event_id") && source_event_id == data["source_event_id"].GetString()) {
            found.CopyFrom(data, found.GetAllocator());
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(30));
  if (!ok) FAIL("no contact.extracted for " << source_event_id << "\n" << s.log_tail("contact-extractor"));
  return found;
}

std::vector<std::string> phones_of(const rapidjson::Value& data) {
  std::vector<std::string> out;
  for (const auto& p : data["phones"].GetArray()) out.emplace_back(p["value"].GetString());
  return out;
}

std::string name_of(const rapidjson::Value& data) {
  return data["name"].IsNull() ? std::string() : std::string(data["name"]["value"].GetString());
}

// Kafka orders records within a topic only: wait until the service has
// consumed an event before producing one on another topic that depends on it.
void wait_processed(const Stack& s, const std::string& event_id) {
  pqxx::connection c(s.db_url());
  const bool ok = testing::wait_until(
      [&] {
        pqxx::read_transaction tx(c);
        return tx.exec_params1("SELECT count(*) FROM extraction.processed_events WHERE event_id = $1", event_id)[0]
                   .as<int>() == 1;
      },
      std::chrono::seconds(30));
  if (!ok) FAIL("event " << event_id << " not processed\n" << s.log_tail("contact-extractor"));
}

std::string write_temp(const std::string& name, const std::string& content) {
  const auto path = std::string(LEADPIPE_BIN_DIR) + "/../" + testing::unique_name(name) + ".json";
  std::ofstream(path) << content;
  return path;
}

}  // namespace

TEST_CASE("extractor e2e - a tenant's region and program vocabulary change what is extracted", "[e2e]") {
  Stack s(std::map<std::string, std::string>{{"EXTRACTOR_TENANT_CACHE_TTL_MS", "0"}});
  Kafka k(s);
  const auto programs = write_temp("programs", R"(["Medicina Veterinária", "Direito"])");
  s.leadctl({"extractor", "config", "set", "--tenant", "escola-br", "--region", "BR", "--programs-file", programs});
  const auto shown = s.leadctl({"extractor", "config", "show", "--tenant", "escola-br"});
  CHECK(shown.find("\"region\":\"BR\"") != std::string::npos);
  CHECK(shown.find("Medicina Veterin") != std::string::npos);

  const std::string text = "oi, meu celular é (11) 98765-4321, tenho interesse em medicina veterinaria";
  const auto br_id = k.inbound("escola-br", "5511911112222", "wamid.br1", text, 0);
  const auto id_id = k.inbound("demo", "6281311112222", "wamid.id1", text, 0);
  const auto br = extracted_for(s, br_id);
  const auto id = extracted_for(s, id_id);
  const auto br_phones = phones_of(br);
  CHECK(std::find(br_phones.begin(), br_phones.end(), "+5511987654321") != br_phones.end());
  REQUIRE(br["program"].IsObject());
  CHECK(std::string(br["program"]["value"].GetString()) == "Medicina Veterinária");
  CHECK(std::string(br["region"].GetString()) == "BR");
  CHECK(phones_of(id) == std::vector<std::string>{"+6281311112222"});  // only the sender's own number
  CHECK(id["program"].IsNull());

  // A change is picked up without a restart (cache TTL 0 here).
  s.leadctl({"extractor", "config", "set", "--tenant", "escola-br", "--region", "PT"});
  const auto pt_id = k.inbound("escola-br", "5511933334444", "wamid.br2", "o meu número é 912 345 678", 1);
  const auto pt = extracted_for(s, pt_id);
  const auto pt_phones = phones_of(pt);
  CHECK(std::find(pt_phones.begin(), pt_phones.end(), "+351912345678") != pt_phones.end());
}

TEST_CASE("extractor e2e - outreach.sent turns set awaited slots and bot numbers are never the lead's", "[e2e]") {
  Stack s;
  Kafka k(s);
  const std::string wa = "6281298765432";
  const std::string sent = R"({"request_id":null,"message_id":"om-1","channel":"whatsapp","to":"+)" + wa +
                           R"(","purpose":"crm","sent_at":")" + rfc3339(0) +
                           R"(","sender":{"kind":"counsellor","user_id":"u1"},"message":{"kind":"text","text":"Halo kak, boleh tahu nama kakak? Kalau mau telepon, admin kami di 0811-2233-4455"}})";
  const auto sent_id = k.send("outreach.sent", "demo", "+" + wa, sent);
  k.send("outreach.sent", "demo", "+" + wa, sent, sent_id);  // redelivery: same event id
  wait_processed(s, sent_id);

  const auto reply = extracted_for(s, k.inbound("demo", wa, "wamid.r1", "dewi lestari", 5));
  CHECK(name_of(reply) == "Dewi Lestari");
  CHECK(std::string(reply["name"]["evidence"]["layer"].GetString()) == "slot");
  CHECK(std::string(reply["name"]["evidence"]["message_id"].GetString()) == "wamid.r1");

  const auto echo = extracted_for(s, k.inbound("demo", wa, "wamid.r2", "ok kak, nanti saya hubungi 0811-2233-4455", 10));
  const auto phones = phones_of(echo);
  CHECK(std::find(phones.begin(), phones.end(), "+6281122334455") == phones.end());

  // The redelivered outreach.sent was observed once: 1 agent turn + 2 user messages.
  pqxx::connection c(s.db_url());
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params1(
      "SELECT (state->>'messages_seen')::int FROM extraction.conversations "
      "WHERE tenant = 'demo' AND channel = 'whatsapp' AND external_id = $1",
      wa);
  CHECK(r[0].as<int>() == 3);
  CHECK(tx.exec_params1("SELECT count(*) FROM extraction.processed_events WHERE event_id = $1", sent_id)[0].as<int>() ==
        1);

  // A schema-invalid outreach.sent (no recipient) is dead-lettered; the consumer carries on.
  // Both services of the stack that consume outreach.sent (contact-extractor
  // and lead-store) dead-letter it, each once: two letters (the check used
  // to wait for one, and passed only while the second was still in flight).
  k.send("outreach.sent", "demo", "+" + wa, R"({"message_id":"om-bad","channel":"whatsapp","sent_at":"x","message":{"kind":"text"}})");
  CHECK(testing::wait_until([&] { return s.topic_size("outreach.sent.dlq") == 2; }, std::chrono::seconds(30)));
  const auto after = extracted_for(s, k.inbound("demo", wa, "wamid.r3", "makasih kak", 15));
  CHECK(name_of(after) == "Dewi Lestari");
}

TEST_CASE("extractor e2e - a completed call is scored and its customer turns extracted", "[e2e]") {
  Stack s;
  Kafka k(s);
  const std::string data = R"({"channel":"call","integration_id":"exotel-1","provider":"exotel","call_id":"CA-778",
    "direction":"inbound","from":"+6281355556666","to":"+622150001000","customer_phone":"+6281355556666",
    "started_at":")" + rfc3339(-120) + R"(","ended_at":")" + rfc3339(0) + R"(","duration_seconds":120,
    "outcome":"completed","turns":[
      {"speaker":"agent","text":"Selamat siang, dengan siapa saya bicara? Kalau ada kendala hubungi 0811-9999-0000"},
      {"speaker":"customer","text":"dengan Rudi Hartono, saya mau daftar hari ini, biayanya berapa?"},
      {"speaker":"agent","text":"Boleh minta alamat email bapak?"},
      {"speaker":"customer","text":"rudi.h at gmail dot com"}]})";
  const auto id = k.send("ingest.call.completed", "demo", "+6281355556666", data);
  const auto out = extracted_for(s, id);
  CHECK(std::string(out["channel"].GetString()) == "call");
  CHECK(std::string(out["external_id"].GetString()) == "+6281355556666");
  CHECK(std::string(out["message_id"].GetString()) == "CA-778");
  CHECK(name_of(out) == "Rudi Hartono");
  CHECK(std::string(out["name"]["evidence"]["message_id"].GetString()) == "CA-778");
  REQUIRE(out["emails"].Size() == 1);
  CHECK(std::string(out["emails"][0]["value"].GetString()) == "rudi.h@gmail.com");
  const auto phones = phones_of(out);
  CHECK(phones.front() == "+6281355556666");
  CHECK(std::string(out["phones"][0]["evidence"]["layer"].GetString()) == "channel");
  CHECK(std::find(phones.begin(), phones.end(), "+6281199990000") == phones.end());  // the agent's number
  // Seed 001: base 50 + register (high) + pricing (medium) + urgency "hari ini".
  CHECK(out["score"].GetInt() >= 80);
  CHECK(std::string(out["tier"].GetString()) == "hot");
  bool urgency = false;
  for (const auto& r : out["score_reasons"].GetArray())
    if (std::string(r.GetString()).find("urgency:") == 0) urgency = true;
  CHECK(urgency);

  // An unanswered call (no transcript) produces nothing, and is not an error.
  const std::string missed = R"({"channel":"call","integration_id":"exotel-1","call_id":"CA-779","direction":"inbound",
    "from":"+6281355556666","to":"+622150001000","customer_phone":"+6281355556666","started_at":")" + rfc3339(0) +
                             R"(","outcome":"no_answer"})";
  const auto missed_id = k.send("ingest.call.completed", "demo", "+6281355556666", missed);
  pqxx::connection c(s.db_url());
  CHECK(testing::wait_until([&] {
    pqxx::read_transaction tx(c);
    return tx.exec_params1("SELECT count(*) FROM extraction.processed_events WHERE event_id = $1", missed_id)[0]
               .as<int>() == 1;
  }, std::chrono::seconds(20)));
  CHECK(s.topic_size("ingest.call.completed.dlq") == 0);
}

TEST_CASE("extractor e2e - prompting asks once per slot and the reply fills it", "[e2e]") {
  Stack s;
  Kafka k(s);
  s.leadctl({"extractor", "config", "set", "--tenant", "demo", "--prompting", "on"});
  const std::string wa = "6281277778888";
  const auto first = extracted_for(s, k.inbound("demo", wa, "wamid.p1", "halo kak, mau tanya biaya kuliah", 0));
  CHECK(name_of(first) == "");
  std::vector<std::string> prompts;
  REQUIRE(testing::wait_until([&] {
    prompts = s.read_topic("outreach.requested", std::chrono::milliseconds(200));
    return !prompts.empty();
  }, std::chrono::seconds(20)));
  rapidjson::Document p;
  p.Parse(prompts[0].c_str());
  const auto& d = p["data"];
  CHECK(std::string(d["purpose"].GetString()) == "slot_prompt");
  CHECK(std::string(d["to"].GetString()) == "+" + wa);
  CHECK(std::string(d["message"]["kind"].GetString()) == "text");
  CHECK(std::string(d["message"]["text"].GetString()) == "Boleh tahu nama kakak?");

  // Still no name: no second name prompt within the TTL.
  extracted_for(s, k.inbound("demo", wa, "wamid.p2", "jurusan apa saja yang ada?", 5));
  // The bare reply fills the prompted slot.
  const auto named = extracted_for(s, k.inbound("demo", wa, "wamid.p3", "Rara", 10));
  CHECK(name_of(named) == "Rara");
  CHECK(std::string(named["name"]["evidence"]["layer"].GetString()) == "slot");
  // Now the e-mail is asked for (once); never the name again.
  REQUIRE(testing::wait_until([&] { return s.read_topic("outreach.requested").size() >= 2; }, std::chrono::seconds(20)));
  const auto all = s.read_topic("outreach.requested");
  int name_prompts = 0, email_prompts = 0;
  for (const auto& v : all) {
    rapidjson::Document x;
    x.Parse(v.c_str());
    const std::string slot = x["data"]["context"]["slot"].GetString();
    name_prompts += slot == "name";
    email_prompts += slot == "email";
  }
  CHECK(name_prompts == 1);
  CHECK(email_prompts == 1);
}

TEST_CASE("extractor e2e - the gated LLM fills a name the rules missed, within the tenant's budget", "[e2e]") {
  // A fake OpenAI-compatible endpoint in this process.
  std::atomic<int> calls{0};
  http::Router router;
  router.post("/v1/chat/completions", [&calls](http::Request&) -> boost::asio::awaitable<http::Response> {
    ++calls;
    co_return http::Response::json(
        200, R"({"choices":[{"message":{"role":"assistant","content":"{\"name\":\"Wulandari Putri\",\"phones\":[],\"emails\":[],\"confidence\":0.9}"}}]})");
  });
  http::ServerConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.access_log = false;
  cfg.handle_signals = false;
  cfg.drain_timeout = std::chrono::milliseconds(200);
  http::Server fake(cfg, std::move(router), nullptr, log::root());
  std::thread fake_thread([&] { fake.run(); });
  struct Join {
    http::Server& s;
    std::thread& t;
    ~Join() { s.stop(); t.join(); }
  } join{fake, fake_thread};

  Stack s(std::map<std::string, std::string>{{"EXTRACTOR_LLM_URL", "http://127.0.0.1:" + std::to_string(fake.port())},
                                             {"EXTRACTOR_LLM_API_KEY", "sk-e2e-secret"},
                                             {"EXTRACTOR_LLM_TIMEOUT_MS", "1000"}});
  Kafka k(s);
  s.leadctl({"extractor", "config", "set", "--tenant", "demo", "--llm", "on", "--llm-budget", "1"});
  const std::string wa = "6281255554444";
  auto ask = [&](const std::string& id, const std::string& wa) {
    const std::string sent = R"({"message_id":")" + id + R"(","channel":"whatsapp","to":"+)" + wa + R"(","sent_at":")" +
                             rfc3339(0) + R"(","sender":{"kind":"bot"},"message":{"kind":"text","text":"Boleh tahu nama kakak?"}})";
    wait_processed(s, k.send("outreach.sent", "demo", "+" + wa, sent));
  };
  ask("om-1", wa);
  const auto out = extracted_for(s, k.inbound("demo", wa, "wamid.l1", "kak yg mau daftar itu Wulandari Putri, bisa dibantu?", 5));
  CHECK(name_of(out) == "Wulandari Putri");
  CHECK(std::string(out["name"]["evidence"]["layer"].GetString()) == "llm");
  CHECK(calls.load() == 1);

  // Budget 1 per day: the next gated message (another conversation) is rule-only and does not call out.
  const std::string wa2 = "6281255553333";
  ask("om-2", wa2);
  const auto second = extracted_for(s, k.inbound("demo", wa2, "wamid.l2", "kak yg mau daftar itu Wulandari Putri, bisa dibantu?", 10));
  CHECK(name_of(second) == "");
  CHECK(calls.load() == 1);
  pqxx::connection c(s.db_url());
  pqxx::read_transaction tx(c);
  CHECK(tx.exec1("SELECT sum(calls) FROM extraction.llm_usage WHERE tenant = 'demo'")[0].as<int>() == 1);
  // The key and the message text are never logged.
  const auto log = s.log_tail("contact-extractor", 200000);
  CHECK(log.find("sk-e2e-secret") == std::string::npos);
  CHECK(log.find("Wulandari") == std::string::npos);
}
