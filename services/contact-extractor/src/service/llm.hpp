#pragma once
// The gated LLM layer (issue 4, layer 3): an OpenAI-compatible
// (/v1/chat/completions) or Anthropic-style (/v1/messages) endpoint asked to
// pull name / phones / emails out of ONE user message the rules could not
// settle. Everything that decides is pure and unit-tested:
//   - llm_gate():       call at all? (capture active, share_personal_info, weak rule hit)
//   - CircuitBreaker:   open after N consecutive failures, half-open after a cool-down
//   - parse_answer():   provider envelope → JSON → schema-validated LlmAnswer
//   - merge_llm():      lower precedence than a strong rule hit; layer "llm"
// LlmLayer ties them to libs/httpclient with a strict timeout. No endpoint
// configured → LlmLayer::configured() is false and the service is rule-only.
// The message text and the API key are never logged.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <leadpipe/extract/extractor.hpp>
#include <leadpipe/log/log.hpp>

namespace leadpipe::httpclient {
class Client;
}
namespace prometheus {
class Counter;
class Registry;
}

namespace leadpipe::extractor {

struct LlmConfig {
  enum class Api { openai, anthropic };
  std::string base_url;  // e.g. https://api.openai.com (without /v1/…); empty = no LLM
  std::string api_key;   // secret: Authorization: Bearer (openai) / x-api-key (anthropic)
  std::string model;
  Api api = Api::openai;
  std::chrono::milliseconds timeout{2500};  // whole exchange
  int breaker_failures = 5;                 // consecutive failures that open the breaker
  std::chrono::milliseconds breaker_cooldown{30000};
  bool configured() const { return !base_url.empty(); }
};

// Why the LLM is asked (nullopt = not asked). `before` is the state before
// the user message was observed, `after` the state after the rules ran.
// Asked only when something is still missing or weak (no name, a weak name,
// an awaited phone/email not captured) AND one of: capture active (a slot was
// awaited), the share_personal_info intent appeared, or the rule's name hit is weak.
inline constexpr double kStrongRuleConfidence = 0.8;
std::optional<std::string> llm_gate(const extract::ConversationState& before,
                                    const extract::ConversationState& after, const extract::Message& msg);

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { closed, open, half_open };
  CircuitBreaker(int failures_to_open, std::chrono::milliseconds cooldown);
  // closed: yes. open: no until the cool-down passed, then one trial (half-open).
  bool allow(Clock::time_point now);
  void success();
  void failure(Clock::time_point now);
  State state(Clock::time_point now) const;
  int consecutive_failures() const;

 private:
  mutable std::mutex mu_;
  int threshold_;
  std::chrono::milliseconds cooldown_;
  int failures_ = 0;
  bool open_ = false;
  bool trial_in_flight_ = false;
  Clock::time_point opened_at_{};
};

struct LlmAnswer {
  std::optional<std::string> name;
  std::vector<std::string> phones;  // as the model wrote them (normalised in merge_llm)
  std::vector<std::string> emails;
  double confidence = 0.6;
};

// The request body for the API ("model", messages …). `awaiting` names the
// slots the bot asked for ("name", "phone" …).
std::string build_request(const LlmConfig& cfg, const std::string& text, const std::vector<std::string>& awaiting);
// Provider envelope → the model's JSON → validated against the answer schema.
// nullopt for malformed or schema-invalid answers (`why` says which).
std::optional<LlmAnswer> parse_answer(LlmConfig::Api api, const std::string& body, std::string* why = nullptr);

// Merges into the state with lower precedence than a strong rule hit: a name
// only when none was captured or the captured one is weaker than
// kStrongRuleConfidence (and the model's name occurs in the message); phones
// normalised with libphonenumber in `region`, never one the bot said; emails
// that occur in the message. Evidence layer "llm". Returns true if anything changed.
bool merge_llm(extract::ConversationState& st, const LlmAnswer& a, const extract::Message& msg,
               const std::string& region);

enum class LlmOutcome { ok, not_configured, breaker_open, timeout, transport_error, http_error, invalid_answer };
const char* to_string(LlmOutcome o);

struct LlmCallResult {
  LlmOutcome outcome = LlmOutcome::not_configured;
  std::optional<LlmAnswer> answer;
  int http_status = 0;
  std::chrono::milliseconds elapsed{0};
};

// Thread-safe. One per process.
class LlmLayer {
 public:
  // Metrics (if registry given): leadpipe_extractor_llm_calls_total{outcome}
  // (ok, timeout, transport_error, http_error, invalid_answer, breaker_open, budget_spent).
  LlmLayer(LlmConfig cfg, log::Logger logger, std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~LlmLayer();
  bool configured() const { return cfg_.configured(); }
  const LlmConfig& config() const { return cfg_; }
  CircuitBreaker& breaker() { return breaker_; }
  // Blocking; bounded by cfg.timeout. Never throws.
  LlmCallResult ask(const std::string& text, const std::vector<std::string>& awaiting);
  // Counts a gated call that did not go out because the tenant's budget was spent.
  void count_budget_spent();

 private:
  LlmConfig cfg_;
  log::Logger logger_;
  CircuitBreaker breaker_;
  std::unique_ptr<httpclient::Client> http_;
  std::map<std::string, prometheus::Counter*> counters_;
  void count(const std::string& outcome);
};

}  // namespace leadpipe::extractor
