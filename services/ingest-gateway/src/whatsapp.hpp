#pragma once
// Meta WhatsApp Cloud API webhooks: signature check, verification handshake
// and payload parsing. Pure functions (no I/O) so they are unit-tested and
// fuzzed directly; the HTTP handler is glue around them.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::ingest::whatsapp {

// A payload that is not a WhatsApp webhook we understand. `field` is a JSON
// path for the problem+json `errors` list; `what()` is client-safe text.
class ParseFailure : public std::runtime_error {
 public:
  ParseFailure(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// One inbound user message (entry[].changes[].value.messages[]).
struct InboundMessage {
  std::string phone_number_id;       // our business number: maps to the tenant
  std::string display_phone_number;
  std::string wa_id;                 // the sender
  std::optional<std::string> profile_name;
  std::string message_id;            // wamid: stable across Meta's retries
  std::string timestamp;             // RFC 3339 UTC
  std::string type;                  // text, interactive, image, … or "unsupported"
  std::optional<std::string> text;   // body, caption or interactive reply title
  std::optional<std::string> media_id;
  std::optional<std::string> caption;
  std::string raw_json;              // the original message object, verbatim JSON
};

// One delivery status of a message we sent (value.statuses[]).
struct StatusUpdate {
  std::string phone_number_id;
  std::string message_id;
  std::string status;                // sent, delivered, read, failed
  std::string timestamp;             // RFC 3339 UTC
  std::string recipient_id;
  std::string raw_json;
};

struct Webhook {
  std::vector<InboundMessage> messages;
  std::vector<StatusUpdate> statuses;
};

// Parses a webhook body. Throws ParseFailure for anything malformed; nothing
// is partially accepted.
Webhook parse_webhook(std::string_view body);

// X-Hub-Signature-256: "sha256=<hex HMAC-SHA256(app_secret, raw body)>",
// compared in constant time.
bool signature_valid(std::string_view app_secret, std::string_view raw_body,
                     std::string_view header_value);

// GET handshake: returns the challenge to echo, or nullopt (→ 403).
std::optional<std::string> verify_handshake(std::string_view mode, std::string_view token,
                                            std::string_view challenge,
                                            std::string_view expected_token);

// `data` of an ingest.whatsapp.inbound event (proto/events/ingest.whatsapp.inbound.json).
std::string inbound_event_data(const InboundMessage& m);
// `data` of an ingest.whatsapp.status event (proto/events/ingest.whatsapp.status.json).
std::string status_event_data(const StatusUpdate& s);

// Seconds since the epoch (as Meta sends them) → RFC 3339 UTC.
std::string unix_to_rfc3339(std::string_view seconds);

}  // namespace leadpipe::ingest::whatsapp
