#include "llm.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <leadpipe/events/schema.hpp>
#include <leadpipe/httpclient/client.hpp>

namespace leadpipe::extractor {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kSystemPrompt =
    "You extract the contact details a person gives about THEMSELVES in one chat message to a "
    "school/clinic/business (Indonesian, English, Portuguese or Hinglish). Answer with one JSON object "
    "only: {\"name\": string|null, \"phones\": [string], \"emails\": [string], \"confidence\": number 0..1}. "
    "name: the writer's own name as written (not a school, place, program, or someone else's name); "
    "phones: numbers the writer gives as their own contact; emails likewise. Use null / [] when absent. "
    "Never invent values that are not in the message.";

// The schema the model's JSON must satisfy (RapidJSON schema validator).
constexpr const char* kAnswerSchema = R"({
  "type": "object",
  "required": ["name", "phones", "emails"],
  "properties": {
    "name": {"type": ["string", "null"], "maxLength": 120},
    "phones": {"type": "array", "maxItems": 5, "items": {"type": "string", "pattern": "^[+]?[0-9][0-9 ().-]{5,24}$"}},
    "emails": {"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 254, "pattern": "^[^@ ]+@[^@ ]+[.][^@ ]+$"}},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1}
  }
})";

const events::SchemaSet& answer_schema() {
  static const events::SchemaSet set(std::vector<std::pair<std::string, std::string>>{{"llm.answer", kAnswerSchema}});
  return set;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string digits(const std::string& s) {
  std::string d;
  for (char c : s)
    if (c >= '0' && c <= '9') d.push_back(c);
  return d;
}

// Title-case ASCII words, leave the rest as written ("rina wulandari" → "Rina Wulandari").
std::string title_case(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (auto& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && std::isalpha(u)) {
      c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
      start = false;
    } else if (c == ' ' || c == '-' || c == '\'') {
      start = true;
    } else {
      start = false;
    }
  }
  return out;
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

}  // namespace

// ---------------------------------------------------------------- gate

std::optional<std::string> llm_gate(const extract::ConversationState& before,
                                    const extract::ConversationState& after, const extract::Message& msg) {
  if (msg.from != extract::Speaker::user || trim(msg.text).empty()) return std::nullopt;
  const bool name_missing = !after.name;
  const bool name_weak = after.name && after.name->evidence.confidence < kStrongRuleConfidence &&
                         after.name->evidence.layer != "llm";
  const unsigned contact_bits = extract::slot_bit(extract::Slot::phone) | extract::slot_bit(extract::Slot::email);
  const bool awaited_contact_missing =
      (before.awaiting & contact_bits) != 0 && after.phones.size() == before.phones.size() &&
      after.emails.size() == before.emails.size();
  if (!name_missing && !name_weak && !awaited_contact_missing) return std::nullopt;  // nothing to add

  if (before.awaiting != 0) return std::string("capture_active");
  if (has(after.intents, "share_personal_info") && !has(before.intents, "share_personal_info"))
    return std::string("share_personal_info");
  const bool new_weak_name = name_weak && (!before.name || before.name->value != after.name->value);
  if (new_weak_name) return std::string("weak_rule_hit");
  return std::nullopt;
}

// ---------------------------------------------------------------- breaker

CircuitBreaker::CircuitBreaker(int failures_to_open, std::chrono::milliseconds cooldown)
    : threshold_(std::max(1, failures_to_open)), cooldown_(cooldown) {}

bool CircuitBreaker::allow(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!open_) return true;
  if (now - opened_at_ < cooldown_ || trial_in_flight_) return false;
  trial_in_flight_ = true;  // half-open: one trial call
  return true;
}

void CircuitBreaker::success() {
  std::lock_guard lock(mu_);
  failures_ = 0;
  open_ = false;
  trial_in_flight_ = false;
}

void CircuitBreaker::failure(Clock::time_point now) {
  std::lock_guard lock(mu_);
  ++failures_;
  if (trial_in_flight_ || failures_ >= threshold_) {
    open_ = true;
    opened_at_ = now;
  }
  trial_in_flight_ = false;
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (!open_) return State::closed;
  return now - opened_at_ >= cooldown_ ? State::half_open : State::open;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

// ---------------------------------------------------------------- request / answer

std::string build_request(const LlmConfig& cfg, const std::string& text, const std::vector<std::string>& awaiting) {
  std::string user = "Message: " + text;
  if (!awaiting.empty()) {
    user += "\n(The assistant had just asked for:";
    for (const auto& a : awaiting) user += " " + a;
    user += ".)";
  }
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("model");
  w.String(cfg.model.c_str());
  auto message = [&](const char* role, const std::string& content) {
    w.StartObject();
    w.Key("role");
    w.String(role);
    w.Key("content");
    w.String(content.c_str(), static_cast<rapidjson::SizeType>(content.size()));
    w.EndObject();
  };
  if (cfg.api == LlmConfig::Api::anthropic) {
    w.Key("max_tokens");
    w.Int(300);
    w.Key("system");
    w.String(kSystemPrompt);
    w.Key("messages");
    w.StartArray();
    message("user", user);
    w.EndArray();
  } else {
    w.Key("temperature");
    w.Int(0);
    w.Key("max_tokens");
    w.Int(300);
    w.Key("response_format");
    w.StartObject();
    w.Key("type");
    w.String("json_object");
    w.EndObject();
    w.Key("messages");
    w.StartArray();
    message("system", kSystemPrompt);
    message("user", user);
    w.EndArray();
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::optional<LlmAnswer> parse_answer(LlmConfig::Api api, const std::string& body, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<LlmAnswer> {
    if (why) *why = reason;
    return std::nullopt;
  };
  rapidjson::Document env;
  env.Parse(body.c_str(), body.size());
  if (env.HasParseError() || !env.IsObject()) return fail("envelope is not a JSON object");
  std::string content;
  if (api == LlmConfig::Api::anthropic) {
    auto it = env.FindMember("content");
    if (it == env.MemberEnd() || !it->value.IsArray()) return fail("no content array");
    for (const auto& block : it->value.GetArray()) {
      if (!block.IsObject()) continue;
      auto t = block.FindMember("text");
      if (t != block.MemberEnd() && t->value.IsString()) {
        content.append(t->value.GetString(), t->value.GetStringLength());
      }
    }
  } else {
    auto it = env.FindMember("choices");
    if (it == env.MemberEnd() || !it->value.IsArray() || it->value.Empty() || !it->value[0].IsObject())
      return fail("no choices");
    auto m = it->value[0].FindMember("message");
    if (m == it->value[0].MemberEnd() || !m->value.IsObject()) return fail("no message");
    auto c = m->value.FindMember("content");
    if (c == m->value.MemberEnd() || !c->value.IsString()) return fail("no content");
    content.assign(c->value.GetString(), c->value.GetStringLength());
  }
  // Models sometimes wrap the object in prose or a code fence: take the outermost {...}.
  const auto open = content.find('{');
  const auto close = content.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return fail("no JSON object in content");
  const std::string json = content.substr(open, close - open + 1);
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  if (d.HasParseError() || !d.IsObject()) return fail("content is not valid JSON");
  if (auto errors = answer_schema().validate("llm.answer", d); !errors.empty()) return fail("schema: " + errors.front());
  LlmAnswer a;
  if (d["name"].IsString()) {
    auto n = trim(std::string(d["name"].GetString(), d["name"].GetStringLength()));
    if (!n.empty()) a.name = std::move(n);
  }
  for (const auto& p : d["phones"].GetArray()) a.phones.emplace_back(p.GetString(), p.GetStringLength());
  for (const auto& e : d["emails"].GetArray()) a.emails.push_back(lower(trim(std::string(e.GetString(), e.GetStringLength()))));
  if (auto c = d.FindMember("confidence"); c != d.MemberEnd()) a.confidence = c->value.GetDouble();
  return a;
}

// ---------------------------------------------------------------- merge

bool merge_llm(extract::ConversationState& st, const LlmAnswer& a, const extract::Message& msg,
               const std::string& region) {
  bool changed = false;
  const std::string text_lower = lower(msg.text);
  const std::string text_digits = digits(msg.text);
  // The model's confidence, capped below any strong rule hit.
  const double conf = std::clamp(a.confidence, 0.1, 0.7);
  extract::Evidence ev{msg.id, "llm", conf, msg.at_ms};

  if (a.name) {
    // Every word of the name must be in the message (no hallucinated names).
    bool present = true;
    std::string lname = lower(*a.name);
    std::size_t i = 0;
    while (i < lname.size() && present) {
      auto j = lname.find(' ', i);
      if (j == std::string::npos) j = lname.size();
      if (j > i && text_lower.find(lname.substr(i, j - i)) == std::string::npos) present = false;
      i = j + 1;
    }
    const bool weaker = !st.name || (st.name->evidence.confidence < kStrongRuleConfidence &&
                                     st.name->evidence.confidence < conf + 0.2);
    if (present && weaker && (!st.name || st.name->value != title_case(*a.name))) {
      st.name = extract::Captured{title_case(*a.name), ev};
      st.awaiting &= ~extract::slot_bit(extract::Slot::name);
      changed = true;
    }
  }

  auto* util = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  for (const auto& raw : a.phones) {
    const std::string d = digits(raw);
    // The national part must be in the message (the model may add a country code).
    if (d.size() < 7 || text_digits.find(d.substr(d.size() - 7)) == std::string::npos) continue;
    i18n::phonenumbers::PhoneNumber pn;
    if (util->Parse(raw, region, &pn) != i18n::phonenumbers::PhoneNumberUtil::NO_PARSING_ERROR) continue;
    if (!util->IsValidNumber(pn)) continue;
    std::string e164;
    util->Format(pn, i18n::phonenumbers::PhoneNumberUtil::E164, &e164);
    if (has(st.bot_phones, e164)) continue;
    if (std::any_of(st.phones.begin(), st.phones.end(), [&](const auto& c) { return c.value == e164; })) continue;
    if (st.phones.size() >= 5) break;
    st.phones.push_back({e164, ev});
    st.awaiting &= ~extract::slot_bit(extract::Slot::phone);
    changed = true;
  }
  for (const auto& e : a.emails) {
    if (text_lower.find(e) == std::string::npos) continue;  // obfuscated forms are the rules' job
    if (has(st.bot_emails, e)) continue;
    if (std::any_of(st.emails.begin(), st.emails.end(), [&](const auto& c) { return c.value == e; })) continue;
    if (st.emails.size() >= 5) break;
    st.emails.push_back({e, ev});
    st.awaiting &= ~extract::slot_bit(extract::Slot::email);
    changed = true;
  }
  return changed;
}

const char* to_string(LlmOutcome o) {
  switch (o) {
    case LlmOutcome::ok: return "ok";
    case LlmOutcome::not_configured: return "not_configured";
    case LlmOutcome::breaker_open: return "breaker_open";
    case LlmOutcome::timeout: return "timeout";
    case LlmOutcome::transport_error: return "transport_error";
    case LlmOutcome::http_error: return "http_error";
    case LlmOutcome::invalid_answer: return "invalid_answer";
  }
  return "unknown";
}

// ---------------------------------------------------------------- layer

LlmLayer::LlmLayer(LlmConfig cfg, log::Logger logger, std::shared_ptr<prometheus::Registry> registry)
    : cfg_(std::move(cfg)),
      logger_(std::move(logger)),
      breaker_(cfg_.breaker_failures, cfg_.breaker_cooldown),
      http_(std::make_unique<httpclient::Client>(httpclient::ClientOptions{
          .max_response_bytes = 1u << 20, .connect_timeout = cfg_.timeout, .user_agent = "leadpipe-contact-extractor"})) {
  while (!cfg_.base_url.empty() && cfg_.base_url.back() == '/') cfg_.base_url.pop_back();
  if (registry) {
    auto& family = prometheus::BuildCounter()
                       .Name("leadpipe_extractor_llm_calls_total")
                       .Help("Gated LLM calls of the contact-extractor, by outcome")
                       .Register(*registry);
    for (const char* o : {"ok", "timeout", "transport_error", "http_error", "invalid_answer", "breaker_open",
                          "budget_spent"}) {
      counters_[o] = &family.Add({{"outcome", o}});
    }
  }
}

void LlmLayer::count(const std::string& outcome) {
  if (auto it = counters_.find(outcome); it != counters_.end()) it->second->Increment();
}

void LlmLayer::count_budget_spent() { count("budget_spent"); }

LlmLayer::~LlmLayer() = default;

LlmCallResult LlmLayer::ask(const std::string& text, const std::vector<std::string>& awaiting) {
  LlmCallResult r;
  if (!cfg_.configured()) return r;
  const auto start = CircuitBreaker::Clock::now();
  if (!breaker_.allow(start)) {
    r.outcome = LlmOutcome::breaker_open;
    count(to_string(r.outcome));
    return r;
  }
  const bool anthropic = cfg_.api == LlmConfig::Api::anthropic;
  const std::string url = cfg_.base_url + (anthropic ? "/v1/messages" : "/v1/chat/completions");
  httpclient::Headers headers = {{"Content-Type", "application/json"}};
  if (anthropic) {
    headers.emplace_back("x-api-key", cfg_.api_key);
    headers.emplace_back("anthropic-version", "2023-06-01");
  } else if (!cfg_.api_key.empty()) {
    headers.emplace_back("Authorization", "Bearer " + cfg_.api_key);
  }
  try {
    auto res = http_->request("POST", url, headers, build_request(cfg_, text, awaiting), cfg_.timeout);
    r.http_status = res.status;
    if (res.status < 200 || res.status >= 300) {
      r.outcome = LlmOutcome::http_error;
    } else {
      std::string why;
      r.answer = parse_answer(cfg_.api, res.body, &why);
      r.outcome = r.answer ? LlmOutcome::ok : LlmOutcome::invalid_answer;
      if (!r.answer) logger_.warn("llm answer rejected", {{"reason", why}});
    }
  } catch (const httpclient::Error& e) {
    r.outcome = e.kind() == httpclient::Error::Kind::timeout ? LlmOutcome::timeout : LlmOutcome::transport_error;
  }
  const auto end = CircuitBreaker::Clock::now();
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(end - start);
  count(to_string(r.outcome));
  if (r.outcome == LlmOutcome::ok) {
    breaker_.success();
  } else {
    breaker_.failure(end);
    logger_.warn("llm call failed", {{"outcome", to_string(r.outcome)},
                                     {"status", r.http_status},
                                     {"elapsed_ms", static_cast<std::int64_t>(r.elapsed.count())},
                                     {"consecutive_failures", breaker_.consecutive_failures()}});
  }
  return r;
}

}  // namespace leadpipe::extractor
