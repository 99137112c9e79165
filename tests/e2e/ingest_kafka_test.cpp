// Kafka outages seen from the callers of ingest-gateway: never a 2xx for
// something Kafka did not store (503 + Retry-After), /readyz false while no
// broker is reachable, and recovery without restarting the gateway.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <ctime>
#include <sstream>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/testing/infra.hpp>

#include "ingest_common.hpp"

extern char** environ;

using namespace leadpipe;
using namespace leadpipe::e2e;

namespace {

int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A second gateway on the stack's database whose broker address is a closed port.
struct DeadKafkaGateway {
  pid_t pid = -1;
  int port = unused_port();
  explicit DeadKafkaGateway(const Stack& stack) {
    auto env = stack.env();
    env["KAFKA_BROKERS"] = "127.0.0.1:" + std::to_string(unused_port());
    env["INGEST_PORT"] = std::to_string(port);
    env["INGEST_PUBLISH_TIMEOUT_MS"] = "1500";
    env["INGEST_MIGRATE_ON_START"] = "false";
    std::map<std::string, std::string> all;
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      if (auto eq = kv.find('='); eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : env) all[k] = v;
    std::vector<std::string> envs;
    for (const auto& [k, v] : all) envs.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string path = std::string(LEADPIPE_BIN_DIR) + "/ingest-gateway";
    const std::string log = std::string(LEADPIPE_BIN_DIR) + "/../e2e-logs/" + stack.prefix() + "dead-kafka.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string arg0 = path;
    char* argv[] = {arg0.data(), nullptr};
    REQUIRE(posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, envp.data()) == 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~DeadKafkaGateway() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

int status_of(const std::string& url) {
  try {
    return httpclient::request("GET", url, {}, {}, std::chrono::seconds(3)).status;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

TEST_CASE("no broker reachable: /readyz is 503 and every channel answers 503 + Retry-After", "[e2e]") {
  Stack stack;
  const auto out = stack.leadctl({"vendor", "key", "create", "--tenant", "demo", "--vendor", "v"});
  const auto key = out.substr(out.find("key\t") + 4, out.find('\n', out.find("key\t")) - out.find("key\t") - 4);
  DeadKafkaGateway gw(stack);
  REQUIRE(testing::wait_until([&] { return status_of(gw.url() + "/healthz") == 200; }, std::chrono::seconds(20)));
  CHECK(testing::wait_until([&] { return status_of(gw.url() + "/readyz") == 503; }, std::chrono::seconds(15)));

  auto r = httpclient::request("POST", gw.url() + "/api/v1/vendor/leads",
                               {{"X-Api-Key", key}, {"Content-Type", "application/json"}},
                               R"({"vendor_lead_id":"K-1","name":"A","phone":"+919820144512"})", std::chrono::seconds(20));
  CHECK(r.status == 503);
  REQUIRE(r.header("retry-after") != nullptr);
  const auto body = e2e::sample("whatsapp/inbound_text.json");
  r = httpclient::request("POST", gw.url() + "/webhooks/whatsapp",
                          {{"Content-Type", "application/json"},
                           {"X-Hub-Signature-256",
                            "sha256=" + auth::hmac_sha256_hex(stack.env().at("WHATSAPP_APP_SECRET"), body)}},
                          body, std::chrono::seconds(20));
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") != nullptr);
}

TEST_CASE("broker paused mid-test: 503, then recovery without restarting the gateway", "[e2e]") {
  // One OTP per phone per window and no cooldown: if the 503 send below had
  // been charged, the send after recovery would be a 429.
  Stack stack(std::map<std::string, std::string>{{"INGEST_PUBLISH_TIMEOUT_MS", "1500"},
                                                 {"INGEST_OTP_MAX_PER_PHONE", "1"},
                                                 {"INGEST_OTP_RESEND_COOLDOWN_S", "0"}});
  const auto out = stack.leadctl({"vendor", "key", "create", "--tenant", "demo", "--vendor", "v"});
  const auto key = out.substr(out.find("key\t") + 4, out.find('\n', out.find("key\t")) - out.find("key\t") - 4);
  const Headers auth_header{{"X-Api-Key", key}};
  const std::string lead = R"({"vendor_lead_id":"P-1","name":"Priya","phone":"+919845012377"})";
  REQUIRE(post(stack, "/api/v1/vendor/leads", lead, auth_header).status == 207);
  REQUIRE(stack.post_whatsapp(e2e::sample("whatsapp/inbound_text.json")).status == 200);
  // Call transcripts and campaign forms too.
  const auto integ = stack.leadctl({"calls", "integration", "create", "--tenant", "demo", "--id", "pbx-1"});
  const auto secret = integ.substr(integ.find("secret\t") + 7, 64);
  REQUIRE(secret.size() == 64);
  const std::string call = R"({"call_id":"c-9","direction":"inbound","from":"+919845012377","to":"+918044556677",
    "started_at":"2026-01-15T10:02:00Z","ended_at":"2026-01-15T10:03:00Z","outcome":"completed","transcript":"hi"})";
  auto call_headers = [&] {
    const auto t = std::to_string(static_cast<long long>(std::time(nullptr)));
    return Headers{{"X-Leadpipe-Integration", "pbx-1"}, {"X-Leadpipe-Timestamp", t},
                   {"X-Leadpipe-Signature", "sha256=" + auth::hmac_sha256_hex(secret, t + "." + call)}};
  };
  REQUIRE(post(stack, "/webhooks/calls", call, call_headers()).status == 200);
  stack.leadctl({"campaign", "site", "set", "--tenant", "demo", "--origins", "https://www.example.edu"});
  const std::string otp = R"({"campaign":"drone-2027","phone":"+919845012377"})";

  int during_vendor = 0;
  int during_whatsapp = 0;
  int during_call = 0;
  int during_otp = 0;
  bool retry_after_everywhere = true;
  {
    BrokerPause pause;  // SIGSTOP the shared test broker; SIGCONT on scope exit, even on failure
    auto r = post(stack, "/api/v1/vendor/leads", lead, auth_header);
    during_vendor = r.status;
    retry_after_everywhere = retry_after_everywhere && r.header("retry-after") != nullptr;
    r = stack.post_whatsapp(e2e::sample("whatsapp/inbound_text.json"));
    during_whatsapp = r.status;
    retry_after_everywhere = retry_after_everywhere && r.header("retry-after") != nullptr;
    r = post(stack, "/webhooks/calls", call, call_headers());
    during_call = r.status;
    retry_after_everywhere = retry_after_everywhere && r.header("retry-after") != nullptr;
    r = post(stack, "/api/v1/forms/demo/otp/send", otp);
    during_otp = r.status;
    retry_after_everywhere = retry_after_everywhere && r.header("retry-after") != nullptr;
  }
  CHECK(during_vendor == 503);
  CHECK(during_whatsapp == 503);
  CHECK(during_call == 503);
  CHECK(during_otp == 503);
  CHECK(retry_after_everywhere);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="vendor",reason="kafka_unavailable"})") >= 1);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="whatsapp",reason="kafka_unavailable"})") >= 1);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="call",reason="kafka_unavailable"})") >= 1);
  CHECK(metric(stack, R"(leadpipe_ingest_rejected_total{channel="campaign_form",reason="kafka_unavailable"})") >= 1);
  // The OTP that could not be handed over was forgotten and not charged.
  CHECK(read_events(stack, "outreach.requested").empty());

  // Same process, broker back: the caller's retry succeeds.
  CHECK(testing::wait_until(
      [&] { return post(stack, "/api/v1/vendor/leads", lead, auth_header).status == 207; }, std::chrono::seconds(30)));
  CHECK(testing::wait_until(
      [&] { return stack.post_whatsapp(e2e::sample("whatsapp/inbound_text.json")).status == 200; },
      std::chrono::seconds(30)));
  CHECK(testing::wait_until([&] { return post(stack, "/webhooks/calls", call, call_headers()).status == 200; },
                            std::chrono::seconds(30)));
  CHECK(testing::wait_until([&] { return post(stack, "/api/v1/forms/demo/otp/send", otp).status == 200; },
                            std::chrono::seconds(30)));
  CHECK(read_events(stack, "outreach.requested").size() == 1);
  CHECK(status_of(stack.ingest_url() + "/readyz") == 200);

  // The form submit too: a verified phone, the broker paused again. The
  // submission is recorded before the publish, so the retry after the 503 is a
  // "duplicate" for the gateway — and must still publish the event.
  std::string code;
  for (const auto& ev : read_events(stack, "outreach.requested")) {
    code = parse_json(ev.data)["message"]["parameters"][0].GetString();
  }
  REQUIRE(code.size() == 6);
  REQUIRE(post(stack, "/api/v1/forms/demo/otp/verify",
               R"({"campaign":"drone-2027","phone":"+919845012377","code":")" + code + "\"}")
              .status == 200);
  const std::string form = R"({"campaign":"drone-2027","form_type":"interest","name":"Priya","phone":"+919845012377"})";
  int during_submit = 0;
  bool submit_retry_after = false;
  {
    BrokerPause pause;
    const auto r = post(stack, "/api/v1/forms/demo/submit", form);
    during_submit = r.status;
    submit_retry_after = r.header("retry-after") != nullptr;
  }
  CHECK(during_submit == 503);
  CHECK(submit_retry_after);
  CHECK(testing::wait_until([&] { return post(stack, "/api/v1/forms/demo/submit", form).status == 200; },
                            std::chrono::seconds(30)));
  const auto submissions = read_events(stack, "ingest.campaign.submission");
  REQUIRE(submissions.size() == 1);
  CHECK(submissions[0].subject == "+919845012377");
}
