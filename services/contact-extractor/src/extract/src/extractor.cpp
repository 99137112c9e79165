#include "leadpipe/extract/extractor.hpp"

#include <algorithm>
#include <stdexcept>

#include "rules.hpp"
#include "text.hpp"

namespace leadpipe::extract {

namespace {

// Work per message is bounded: chat messages are short; anything longer is
// cut (at a UTF-8 boundary) before the rules run.
constexpr std::size_t kMaxTextBytes = 16 * 1024;
constexpr std::size_t kMaxPhones = 5;
constexpr std::size_t kMaxEmails = 5;
constexpr std::size_t kMaxBotValues = 32;

std::string_view clip(std::string_view s) {
  if (s.size() <= kMaxTextBytes) return s;
  std::size_t n = kMaxTextBytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Scratch buffers reused across calls on the same thread (no per-message
// allocation once warm).
struct Scratch {
  text::Folded folded;
  PhoneScan phones;
  std::vector<std::string> emails;
  std::string negated;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

void push_capped(std::vector<std::string>& v, const std::string& x, std::size_t cap) {
  if (std::find(v.begin(), v.end(), x) != v.end()) return;
  if (v.size() >= cap) v.erase(v.begin());
  v.push_back(x);
}

std::size_t word_count(const std::string& s) {
  return s.empty() ? 0 : 1 + static_cast<std::size_t>(std::count(s.begin(), s.end(), ' '));
}

std::string first_word_folded(const std::string& s) { return text::fold(s.substr(0, s.find(' '))); }

}  // namespace

std::optional<Speaker> parse_speaker(std::string_view s) {
  if (s == "user" || s == "customer" || s == "lead" || s == "contact") return Speaker::user;
  if (s == "bot" || s == "assistant" || s == "system") return Speaker::bot;
  if (s == "agent" || s == "counselor" || s == "counsellor" || s == "staff") return Speaker::agent;
  return std::nullopt;
}

std::string_view to_string(Speaker s) {
  switch (s) {
    case Speaker::user: return "user";
    case Speaker::bot: return "bot";
    case Speaker::agent: return "agent";
  }
  return "user";
}

std::string_view slot_name(Slot s) {
  switch (s) {
    case Slot::name: return "name";
    case Slot::phone: return "phone";
    case Slot::email: return "email";
    case Slot::program: return "program";
    case Slot::none: break;
  }
  return "none";
}

struct Extractor::Impl {
  explicit Impl(TenantConfig c) : cfg(std::move(c)), rules(cfg) {}
  TenantConfig cfg;
  Rules rules;

  void observe_bot(ConversationState& st, const Message& m, Scratch& sc) const;
  void observe_user(ConversationState& st, const Message& m, Scratch& sc) const;
};

Extractor::Extractor(TenantConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Extractor::~Extractor() = default;
Extractor::Extractor(Extractor&&) noexcept = default;
Extractor& Extractor::operator=(Extractor&&) noexcept = default;

const TenantConfig& Extractor::config() const { return impl_->cfg; }

void Extractor::observe(ConversationState& st, const Message& m) const {
  // TTL: a question asked long ago is no longer awaited, and a half number is stale.
  const auto ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(impl_->cfg.slot_ttl).count();
  if (m.at_ms > 0) {
    const std::int64_t since = std::max(st.last_activity_ms, st.awaiting_since_ms);
    if (since > 0 && m.at_ms - since > ttl_ms) {
      st.awaiting = 0;
      st.awaiting_since_ms = 0;
      st.pending_phone.clear();
      st.pending_email.clear();
    }
  }
  Scratch& sc = scratch();
  text::fold(clip(m.text), sc.folded);
  if (m.from == Speaker::user) impl_->observe_user(st, m, sc);
  else impl_->observe_bot(st, m, sc);
  st.last_activity_ms = std::max(st.last_activity_ms, m.at_ms);
  ++st.messages_seen;
}

void Extractor::Impl::observe_bot(ConversationState& st, const Message& m, Scratch& sc) const {
  const std::string_view f = sc.folded.text;
  rules.find_phones(sc.folded, false, sc.phones);
  for (const auto& p : sc.phones.numbers) push_capped(st.bot_phones, p, kMaxBotValues);
  rules.find_emails(f, sc.emails);
  for (const auto& e : sc.emails) push_capped(st.bot_emails, e, kMaxBotValues);
  const unsigned asked = rules.asked_slots(f, !sc.phones.numbers.empty(), !sc.emails.empty());
  if (asked != 0) {
    st.awaiting = asked;
    st.awaiting_since_ms = m.at_ms;
  }
}

void Extractor::Impl::observe_user(ConversationState& st, const Message& m, Scratch& sc) const {
  const std::string_view f = sc.folded.text;
  const std::size_t correction_at = rules.correction_at(f);
  bool correction = correction_at != std::string_view::npos;
  Evidence ev{m.id, "rule", 0.0, m.at_ms};
  bool shared = false;

  // --- phones
  std::vector<std::string> new_phones;
  std::string still_partial;
  if (auto joined = rules.join_fragment(st.pending_phone, sc.folded, &still_partial)) new_phones.push_back(*joined);
  st.pending_phone = std::move(still_partial);
  rules.find_phones(sc.folded, (st.awaiting & slot_bit(Slot::phone)) != 0, sc.phones);
  bool corrected_here = false;  // "0812 4444 5555, sorry I mean 0812 4444 5566"
  if (correction) {
    const auto& off = sc.phones.offsets;
    const bool before = std::any_of(off.begin(), off.end(), [&](std::size_t o) { return o < correction_at; });
    const bool after = std::any_of(off.begin(), off.end(), [&](std::size_t o) { return o > correction_at; });
    corrected_here = before && after;
  }
  for (std::size_t k = 0; k < sc.phones.numbers.size(); ++k) {
    const auto& p = sc.phones.numbers[k];
    if (corrected_here && sc.phones.offsets[k] < correction_at) continue;
    if (std::find(new_phones.begin(), new_phones.end(), p) == new_phones.end()) new_phones.push_back(p);
  }
  if (new_phones.empty() && st.pending_phone.empty() && !sc.phones.trailing_fragment.empty())
    st.pending_phone = sc.phones.trailing_fragment;
  std::erase_if(new_phones, [&](const std::string& p) {
    return std::find(st.bot_phones.begin(), st.bot_phones.end(), p) != st.bot_phones.end();
  });
  if (!new_phones.empty()) {
    const bool slot = (st.awaiting & slot_bit(Slot::phone)) != 0;
    if (correction && !corrected_here && !st.phones.empty()) {
      // "ralat, nomor yang benar …": the new number replaces the last one(s).
      for (std::size_t k = 0; k < new_phones.size() && !st.phones.empty(); ++k) st.phones.pop_back();
    }
    for (const auto& p : new_phones) {
      if (std::any_of(st.phones.begin(), st.phones.end(), [&](const Captured& c) { return c.value == p; })) continue;
      if (st.phones.size() >= kMaxPhones) break;
      Evidence e = ev;
      e.layer = slot ? "slot" : "rule";
      e.confidence = 0.95;
      st.phones.push_back({p, e});
    }
    st.awaiting &= ~slot_bit(Slot::phone);
    shared = true;
  }

  // --- emails
  rules.find_emails(f, sc.emails);
  if (auto joined = rules.join_email(st.pending_email, f)) sc.emails.push_back(*joined);
  st.pending_email = sc.emails.empty() ? rules.email_fragment(f) : std::string();
  std::erase_if(sc.emails, [&](const std::string& e) {
    return std::find(st.bot_emails.begin(), st.bot_emails.end(), e) != st.bot_emails.end();
  });
  bool email_corrected_here = false;
  if (correction && sc.emails.size() >= 2) {
    // "x@y.com, sorry, I mean z@y.com": the address after the correction wins.
    sc.emails.erase(sc.emails.begin(), sc.emails.end() - 1);
    email_corrected_here = true;
  }
  if (!sc.emails.empty()) {
    const bool slot = (st.awaiting & slot_bit(Slot::email)) != 0;
    if (correction && !email_corrected_here && !st.emails.empty()) {
      for (std::size_t k = 0; k < sc.emails.size() && !st.emails.empty(); ++k) st.emails.pop_back();
    }
    for (const auto& e : sc.emails) {
      if (std::any_of(st.emails.begin(), st.emails.end(), [&](const Captured& c) { return c.value == e; })) continue;
      if (st.emails.size() >= kMaxEmails) break;
      Evidence evd = ev;
      evd.layer = slot ? "slot" : "rule";
      evd.confidence = 0.95;
      st.emails.push_back({e, evd});
    }
    st.awaiting &= ~slot_bit(Slot::email);
    shared = true;
  }

  // --- name
  const bool awaiting_name = (st.awaiting & slot_bit(Slot::name)) != 0;
  if (auto hit = rules.find_name(sc.folded, clip(m.text), awaiting_name)) {
    bool take = false;
    if (!st.name) {
      take = true;
    } else if (st.name->value == hit->value) {
      take = false;
    } else if (correction || hit->confidence > st.name->evidence.confidence + 0.01) {
      take = true;
    } else if (hit->confidence >= st.name->evidence.confidence - 0.15 &&
               word_count(hit->value) > word_count(st.name->value) &&
               first_word_folded(hit->value) == first_word_folded(st.name->value)) {
      take = true;  // "Rina" → "Rina Wulandari"
    }
    if (take) {
      Evidence e = ev;
      e.layer = hit->slot ? "slot" : "rule";
      e.confidence = hit->confidence;
      st.name = Captured{hit->value, e};
    }
    st.awaiting &= ~slot_bit(Slot::name);
    shared = true;
  } else if (rules.ends_with_introduction(f)) {
    // "nama saya" … "Budi": the user's own question, in effect.
    st.awaiting |= slot_bit(Slot::name);
    st.awaiting_since_ms = m.at_ms;
  }

  // --- program
  if (rules.has_programs()) {
    if (auto prog = rules.find_program(f)) {
      Evidence e = ev;
      e.layer = (st.awaiting & slot_bit(Slot::program)) ? "slot" : "rule";
      e.confidence = 0.9;
      st.program = Captured{*prog, e};
      st.awaiting &= ~slot_bit(Slot::program);
    }
  }

  // --- intents and score signals
  rules.find_signals(f, sc.negated, st.intents, st.signals);
  if (shared && std::find(st.intents.begin(), st.intents.end(), "share_personal_info") == st.intents.end())
    st.intents.push_back("share_personal_info");
}

Result Extractor::result(const ConversationState& st) const {
  Result r;
  r.name = st.name;
  r.phones = st.phones;
  r.emails = st.emails;
  r.program = st.program;
  r.intents = st.intents;
  for (Slot s : {Slot::name, Slot::phone, Slot::email, Slot::program})
    if (st.awaiting & slot_bit(s)) r.awaiting.emplace_back(slot_name(s));
  Score sc = impl_->rules.signals().score(st.signals);
  r.score = sc.value;
  r.tier = std::move(sc.tier);
  r.score_reasons = std::move(sc.reasons);
  return r;
}

Score Extractor::score(std::string_view t) const {
  // Transcripts can be long: score them in bounded chunks so memory stays flat.
  std::vector<std::string> keys;
  text::Folded folded;
  std::string negated;
  constexpr std::size_t kChunk = 64 * 1024;
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t n = std::min(kChunk, t.size() - i);
    // cut at a space so a phrase is not split (look back at most 64 bytes)
    if (i + n < t.size()) {
      std::size_t k = n;
      while (k > n - 64 && t[i + k] != ' ' && t[i + k] != '\n') --k;
      if (k > n - 64) n = k;
      while (n > 0 && (static_cast<unsigned char>(t[i + n]) & 0xC0) == 0x80) --n;
      if (n == 0) n = std::min(kChunk, t.size() - i);
    }
    text::fold(t.substr(i, n), folded);
    impl_->rules.signals().scan(impl_->rules.negator().apply(folded.text, negated), keys);
    i += n;
  }
  return impl_->rules.signals().score(keys);
}

}  // namespace leadpipe::extract
