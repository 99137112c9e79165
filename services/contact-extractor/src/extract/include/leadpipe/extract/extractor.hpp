// Contact extraction: the rule layer and the per-conversation slot-filling
// state of the contact-extractor service (issue 4), as pure logic.
//
// No I/O happens here: the service glue feeds messages it read from Kafka and
// persists ConversationState (to_json/from_json) in its `extraction` schema;
// the CLI mode (cli.hpp) feeds JSON lines. Everything in this header is a value
// type except Extractor, which holds compiled patterns.
//
// Thread-safety: an Extractor is immutable after construction; its const
// member functions may be called from any number of threads at once. A
// ConversationState is a plain value: one thread at a time per state.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leadpipe/extract/scoring.hpp"

namespace leadpipe::extract {

enum class Speaker { user, bot, agent };

// "user" | "bot" | "agent" (also accepts "assistant", "counselor", "system" as bot/agent).
std::optional<Speaker> parse_speaker(std::string_view s);
std::string_view to_string(Speaker s);

struct Message {
  std::string id;                // message id (WhatsApp wamid, call id, "m3" in CLI mode)
  Speaker from = Speaker::user;
  std::string text;
  std::int64_t at_ms = 0;        // event time, ms since epoch; 0 = unknown (TTL then never fires)
};

// Where a captured value came from. `layer` is one of: "rule" (explicit
// pattern in a user message), "slot" (bare reply to a question the bot or
// an agent asked), "llm" (set by the service's LLM layer, never by this lib).
struct Evidence {
  std::string message_id;
  std::string layer;
  double confidence = 0;
  std::int64_t detected_at_ms = 0;
  bool operator==(const Evidence&) const = default;
};

struct Captured {
  std::string value;
  Evidence evidence;
  bool operator==(const Captured&) const = default;
};

// Fields a question can ask for. A bit set: "Boleh minta nama dan nomor WA?"
// awaits name and phone at once.
enum class Slot : unsigned { none = 0, name = 1, phone = 2, email = 4, program = 8 };
constexpr unsigned slot_bit(Slot s) { return static_cast<unsigned>(s); }

struct TenantConfig {
  // Default region for numbers written without a country code (ISO 3166 alpha-2).
  std::string region = "ID";
  // Program / course / service names of this tenant, matched case- and
  // diacritic-insensitively on word boundaries in user messages ("S1 Teknik
  // Elektro", "Administração"). Empty = program capture off.
  std::vector<std::string> programs;
  // Keyword lists and weights for the lead score (multilingual defaults).
  ScoringConfig scoring = ScoringConfig::defaults();
  // An awaited slot older than this (by Message::at_ms) is forgotten.
  std::chrono::hours slot_ttl{6};
};

// Per (tenant, channel, user) conversation state. Serialisable, bounded:
// sets are capped (phones/emails/bot numbers) so a hostile conversation
// cannot grow it without limit.
struct ConversationState {
  std::optional<Captured> name;
  std::vector<Captured> phones;       // E.164, in capture order
  std::vector<Captured> emails;       // lower-case
  std::optional<Captured> program;
  unsigned awaiting = 0;              // bit set of Slot values asked for and not yet filled
  std::int64_t awaiting_since_ms = 0; // when the pending question was asked
  std::vector<std::string> bot_phones;  // E.164 numbers the bot/agent said: never the user's
  std::vector<std::string> bot_emails;  // addresses the bot/agent said
  std::string pending_phone;          // digits of a number the user split over messages ("0822-5147" … "-0683")
  std::string pending_email;          // local part of an address split after its '@' ("andika.putra@" … "gmail.com")
  std::vector<std::string> intents;   // detected so far, in first-seen order
  std::vector<std::string> signals;   // score keyword keys seen in user text so far ("high:daftar")
  std::int64_t last_activity_ms = 0;
  std::int64_t messages_seen = 0;

  std::string to_json() const;
  // Throws std::invalid_argument on malformed input.
  static ConversationState from_json(std::string_view json);
  bool operator==(const ConversationState&) const = default;
};

struct Result {
  std::optional<Captured> name;
  std::vector<Captured> phones;
  std::vector<Captured> emails;
  std::optional<Captured> program;
  std::vector<std::string> intents;
  std::vector<std::string> awaiting;  // slot names still awaited ("name", "phone", …)
  int score = 50;
  std::string tier = "warm";
  std::vector<std::string> score_reasons;
};

std::string_view slot_name(Slot s);

class Extractor {
 public:
  // Compiles every pattern once (throws std::invalid_argument if the tenant
  // config is unusable, e.g. an unknown region). Cheap to share.
  explicit Extractor(TenantConfig config);
  ~Extractor();
  Extractor(Extractor&&) noexcept;
  Extractor& operator=(Extractor&&) noexcept;

  const TenantConfig& config() const;

  // Feeds one message into the state.
  // - bot/agent: a question sets the awaited slots; numbers/emails it contains
  //   are remembered as not-the-user's.
  // - user: the rule layer runs first, then (if a slot is awaited) the bare
  //   reply is tried; a correction ("eh salah, nomor saya …") replaces the
  //   earlier value; intents and score signals accumulate.
  // - TTL: if the previous activity is older than slot_ttl, awaited slots reset.
  void observe(ConversationState& state, const Message& msg) const;

  Result result(const ConversationState& state) const;

  // Lead score for free text (a chat history or a call transcript).
  Score score(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadpipe::extract
