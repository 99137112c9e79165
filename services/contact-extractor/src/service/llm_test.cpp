// The LLM layer: gate, breaker, answer parsing and merge (pure), and the
// client against a local fake LLM server (libs/http) that is slow, failing,
// malformed, schema-invalid or correct.
#include <utility>

#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <prometheus/registry.h>

#include <leadpipe/http/server.hpp>

#include "llm.hpp"

using namespace leadpipe;
using namespace leadpipe::extractor;
namespace asio = boost::asio;
using Awaitable = asio::awaitable<http::Response>;

namespace {

std::string openai_envelope(const std::string& content) {
  std::string escaped;
  for (char c : content) {
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":")" + escaped + R"("}}]})";
}

struct FakeLlm {
  enum class Mode { correct, slow, fail, malformed, schema_invalid };
  std::atomic<Mode> mode{Mode::correct};
  std::atomic<int> requests{0};
  std::mutex mu;
  std::string last_auth, last_body, last_path;

  FakeLlm() {
    http::Router r;
    auto handler = [this](http::Request& req) -> Awaitable {
      ++requests;
      {
        std::lock_guard lock(mu);
        last_auth = req.header("Authorization").value_or(req.header("x-api-key").value_or(""));
        last_body = req.body;
        last_path = req.path;
      }
      const bool anthropic = req.path == "/v1/messages";
      switch (mode.load()) {
        case Mode::slow: {
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1500));
          co_await t.async_wait(asio::use_awaitable);
          co_return http::Response::json(200, openai_envelope(R"({"name":"Late","phones":[],"emails":[]})"));
        }
        case Mode::fail:
          co_return http::Response::json(503, R"({"error":"overloaded"})");
        case Mode::malformed:
          co_return http::Response::json(200, openai_envelope("Sure! The name is Wulandari."));
        case Mode::schema_invalid:
          co_return http::Response::json(200, openai_envelope(R"({"name":42,"phones":"none"})"));
        case Mode::correct:
          break;
      }
      const std::string answer = R"({"name":"Wulandari Putri","phones":[],"emails":[],"confidence":0.9})";
      if (anthropic) {
        co_return http::Response::json(
            200, R"({"type":"message","content":[{"type":"text","text":")" +
                     std::string(R"({\"name\":\"Wulandari Putri\",\"phones\":[],\"emails\":[],\"confidence\":0.9})") +
                     R"("}]})");
      }
      co_return http::Response::json(200, openai_envelope(answer));
    };
    r.post("/v1/chat/completions", handler);
    r.post("/v1/messages", handler);
    http::ServerConfig cfg;
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.access_log = false;
    cfg.handle_signals = false;
    cfg.drain_timeout = std::chrono::milliseconds(200);
    server = std::make_unique<http::Server>(cfg, std::move(r), nullptr, log::root());
    thread = std::thread([this] { server->run(); });
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~FakeLlm() {
    server->stop();
    thread.join();
  }
  std::unique_ptr<http::Server> server;
  std::thread thread;
  std::string base;
};

LlmConfig config_for(const FakeLlm& f, LlmConfig::Api api = LlmConfig::Api::openai) {
  LlmConfig c;
  c.base_url = f.base + "/";
  c.api_key = "sk-test-secret";
  c.model = "fake-model";
  c.api = api;
  c.timeout = std::chrono::milliseconds(400);
  c.breaker_failures = 3;
  c.breaker_cooldown = std::chrono::milliseconds(300);
  return c;
}

// The bot asked for the name; the reply is one the rules cannot read as a bare name.
struct Conversation {
  extract::Extractor ex{extract::TenantConfig{}};
  extract::ConversationState before, after;
  extract::Message msg{"wamid.2", extract::Speaker::user, "kak yg mau daftar itu Wulandari Putri, bisa dibantu?", 2000};
  Conversation() {
    ex.observe(before, {"b1", extract::Speaker::bot, "Boleh tahu nama kakak?", 1000});
    after = before;
    ex.observe(after, msg);
  }
};

}  // namespace

TEST_CASE("llm gate - capture active, share_personal_info, weak hit, nothing missing", "[unit]") {
  Conversation c;
  REQUIRE_FALSE(c.after.name);  // the rules missed it
  CHECK(llm_gate(c.before, c.after, c.msg) == std::optional<std::string>("capture_active"));

  extract::Extractor ex{extract::TenantConfig{}};
  // Nothing awaited, nothing shared, no name hit: not asked.
  extract::ConversationState b, a;
  extract::Message chat{"m1", extract::Speaker::user, "berapa biaya kuliahnya kak?", 1};
  ex.observe(a, chat);
  CHECK_FALSE(llm_gate(b, a, chat));

  // A number shared without a name: share_personal_info appears.
  extract::ConversationState b2, a2;
  extract::Message share{"m2", extract::Speaker::user, "ini no wa sy 081234567890 kak", 1};
  ex.observe(a2, share);
  REQUIRE(a2.phones.size() == 1);
  REQUIRE_FALSE(a2.name);
  CHECK(llm_gate(b2, a2, share) == std::optional<std::string>("share_personal_info"));

  // A strong name and contact: nothing to add.
  extract::ConversationState b3, a3;
  extract::Message strong{"m3", extract::Speaker::user, "nama saya Budi Santoso, wa 081234567890", 1};
  ex.observe(a3, strong);
  REQUIRE(a3.name);
  CHECK_FALSE(llm_gate(b3, a3, strong));

  // A weak name from this message.
  extract::ConversationState b4, a4 = b4;
  a4.name = extract::Captured{"Dimas", {"m4", "rule", 0.5, 1}};
  CHECK(llm_gate(b4, a4, {"m4", extract::Speaker::user, "dimas", 1}) == std::optional<std::string>("weak_rule_hit"));
  // Bot messages never.
  CHECK_FALSE(llm_gate(c.before, c.after, {"b", extract::Speaker::bot, "Boleh tahu nama kakak?", 1}));
}

TEST_CASE("circuit breaker opens after N failures and half-opens after the cool-down", "[unit]") {
  using namespace std::chrono_literals;
  CircuitBreaker b(3, 1000ms);
  const auto t0 = CircuitBreaker::Clock::now();
  CHECK(b.allow(t0));
  b.failure(t0);
  b.failure(t0);
  CHECK(b.state(t0) == CircuitBreaker::State::closed);
  b.success();  // a success resets the count
  b.failure(t0);
  b.failure(t0);
  CHECK(b.allow(t0));
  b.failure(t0);
  CHECK(b.state(t0) == CircuitBreaker::State::open);
  CHECK_FALSE(b.allow(t0 + 999ms));
  CHECK(b.state(t0 + 1000ms) == CircuitBreaker::State::half_open);
  CHECK(b.allow(t0 + 1000ms));        // one trial
  CHECK_FALSE(b.allow(t0 + 1001ms));  // and only one
  b.failure(t0 + 1100ms);             // the trial failed: open again
  CHECK_FALSE(b.allow(t0 + 1500ms));
  CHECK(b.allow(t0 + 2100ms));
  b.success();
  CHECK(b.state(t0 + 2100ms) == CircuitBreaker::State::closed);
  CHECK(b.consecutive_failures() == 0);
}

TEST_CASE("llm answers - envelope, code fences, schema", "[unit]") {
  auto a = parse_answer(LlmConfig::Api::openai,
                        openai_envelope("```json\n{\"name\":\"Rina\",\"phones\":[\"0812-3456-7890\"],\"emails\":[\"Rina@X.com\"]}\n```"));
  REQUIRE(a);
  CHECK(a->name == std::optional<std::string>("Rina"));
  CHECK(a->emails == std::vector<std::string>{"rina@x.com"});
  std::string why;
  CHECK_FALSE(parse_answer(LlmConfig::Api::openai, "not json", &why));
  CHECK_FALSE(parse_answer(LlmConfig::Api::openai, openai_envelope(R"({"name":"A"})"), &why));  // required members
  CHECK(why.find("schema") != std::string::npos);
  CHECK_FALSE(parse_answer(LlmConfig::Api::openai, openai_envelope(R"({"name":null,"phones":["call me"],"emails":[]})")));
  CHECK(parse_answer(LlmConfig::Api::anthropic,
                     R"({"content":[{"type":"text","text":"{\"name\":null,\"phones\":[],\"emails\":[]}"}]})"));
  CHECK(build_request(LlmConfig{.model = "m"}, "hi", {"name"}).find("\"response_format\"") != std::string::npos);
  CHECK(build_request(LlmConfig{.model = "m", .api = LlmConfig::Api::anthropic}, "hi", {}).find("\"system\"") !=
        std::string::npos);
}

TEST_CASE("llm merge - lower precedence than a strong rule hit, no hallucinations, not the bot's number", "[unit]") {
  extract::Message msg{"m9", extract::Speaker::user, "oke, Wulandari aja. wa 0812 3456 7890 atau wulan@example.com", 5};
  LlmAnswer a;
  a.name = "wulandari";
  a.phones = {"+62 812-3456-7890", "+62 811 1111 2222"};  // the second is not in the message
  a.emails = {"wulan@example.com", "ghost@example.com"};
  a.confidence = 0.95;

  extract::ConversationState empty;
  CHECK(merge_llm(empty, a, msg, "ID"));
  REQUIRE(empty.name);
  CHECK(empty.name->value == "Wulandari");
  CHECK(empty.name->evidence.layer == "llm");
  CHECK(empty.name->evidence.confidence <= 0.7);
  REQUIRE(empty.phones.size() == 1);
  CHECK(empty.phones[0].value == "+6281234567890");
  REQUIRE(empty.emails.size() == 1);
  CHECK(empty.emails[0].value == "wulan@example.com");

  extract::ConversationState strong;
  strong.name = extract::Captured{"Budi", {"m1", "rule", 0.95, 1}};
  strong.bot_phones = {"+6281234567890"};
  merge_llm(strong, a, msg, "ID");
  CHECK(strong.name->value == "Budi");
  CHECK(strong.phones.empty());

  extract::ConversationState weak;
  weak.name = extract::Captured{"Aja", {"m1", "slot", 0.5, 1}};
  merge_llm(weak, a, msg, "ID");
  CHECK(weak.name->value == "Wulandari");

  LlmAnswer invented;
  invented.name = "Siti Nurhaliza";
  extract::ConversationState s;
  CHECK_FALSE(merge_llm(s, invented, msg, "ID"));
  CHECK_FALSE(s.name);
}

TEST_CASE("llm against a fake server - correct answer fills the name the rules missed", "[unit]") {
  FakeLlm f;
  auto registry = std::make_shared<prometheus::Registry>();
  LlmLayer layer(config_for(f), log::root(), registry);
  Conversation c;
  auto r = layer.ask(c.msg.text, {"name"});
  REQUIRE(r.outcome == LlmOutcome::ok);
  double ok_count = -1;
  for (const auto& fam : registry->Collect()) {
    if (fam.name != "leadpipe_extractor_llm_calls_total") continue;
    for (const auto& m : fam.metric)
      for (const auto& l : m.label)
        if (l.name == "outcome" && l.value == "ok") ok_count = m.counter.value;
  }
  CHECK(ok_count == 1);
  REQUIRE(r.answer);
  CHECK(merge_llm(c.after, *r.answer, c.msg, "ID"));
  REQUIRE(c.after.name);
  CHECK(c.after.name->value == "Wulandari Putri");
  CHECK(c.after.name->evidence.layer == "llm");
  CHECK(c.after.name->evidence.message_id == "wamid.2");
  CHECK((c.after.awaiting & extract::slot_bit(extract::Slot::name)) == 0);
  std::lock_guard lock(f.mu);
  CHECK(f.last_path == "/v1/chat/completions");
  CHECK(f.last_auth == "Bearer sk-test-secret");
  CHECK(f.last_body.find("\"model\":\"fake-model\"") != std::string::npos);
}

TEST_CASE("llm against a fake server - anthropic style", "[unit]") {
  FakeLlm f;
  LlmLayer layer(config_for(f, LlmConfig::Api::anthropic), log::root());
  auto r = layer.ask("kak yg mau daftar itu Wulandari Putri", {});
  REQUIRE(r.outcome == LlmOutcome::ok);
  CHECK(r.answer->name == std::optional<std::string>("Wulandari Putri"));
  std::lock_guard lock(f.mu);
  CHECK(f.last_path == "/v1/messages");
  CHECK(f.last_auth == "sk-test-secret");
}

TEST_CASE("llm against a fake server - slow answers time out and open the breaker", "[unit]") {
  FakeLlm f;
  f.mode = FakeLlm::Mode::slow;
  LlmLayer layer(config_for(f), log::root());
  Conversation c;
  const auto rules_only = c.after;
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = layer.ask(c.msg.text, {"name"});
    CHECK(r.outcome == LlmOutcome::timeout);
    CHECK_FALSE(r.answer);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1200));  // strict timeout
  }
  CHECK(c.after == rules_only);  // nothing merged: the rule-only result stands
  CHECK(layer.breaker().consecutive_failures() == 3);
  const int seen = f.requests.load();
  auto r = layer.ask(c.msg.text, {"name"});
  CHECK(r.outcome == LlmOutcome::breaker_open);
  CHECK(f.requests.load() == seen);  // no call while open
  // After the cool-down a trial call goes out; a correct answer closes it.
  f.mode = FakeLlm::Mode::correct;
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  CHECK(layer.ask(c.msg.text, {"name"}).outcome == LlmOutcome::ok);
  CHECK(layer.breaker().consecutive_failures() == 0);
}

TEST_CASE("llm against a fake server - 5xx, malformed and schema-invalid answers are ignored", "[unit]") {
  FakeLlm f;
  LlmLayer layer(config_for(f), log::root());
  f.mode = FakeLlm::Mode::fail;
  auto r = layer.ask("x", {});
  CHECK(r.outcome == LlmOutcome::http_error);
  CHECK(r.http_status == 503);
  CHECK_FALSE(r.answer);
  f.mode = FakeLlm::Mode::malformed;
  CHECK(layer.ask("x", {}).outcome == LlmOutcome::invalid_answer);
  f.mode = FakeLlm::Mode::schema_invalid;
  CHECK(layer.ask("x", {}).outcome == LlmOutcome::invalid_answer);
  CHECK(layer.breaker().consecutive_failures() == 3);
  CHECK(layer.ask("x", {}).outcome == LlmOutcome::breaker_open);
}

TEST_CASE("llm layer without an endpoint is rule-only and never blocks", "[unit]") {
  LlmLayer layer(LlmConfig{}, log::root());
  CHECK_FALSE(layer.configured());
  CHECK(layer.ask("anything", {}).outcome == LlmOutcome::not_configured);
}
