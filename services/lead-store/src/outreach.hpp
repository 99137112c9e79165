#pragma once
// Outreach messages on a lead's timeline — pure part (no I/O).
//
// * Results from the outreach service (outreach.sent / .delivered / .failed,
//   proto/events/outreach.*.json) are parsed into an OutreachResult and
//   merged into the message's timeline payload; the delivery status only moves
//   forward (advances()).
// * A CRM request (POST /api/v1/leads/{id}/messages) is parsed into a
//   MessageRequest, becomes outreach.requested data and a `pending` timeline
//   payload that the results later update in place.
#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <leadpipe/http/message.hpp>

namespace leadpipe::leads {

// The message itself (shared by requests and results).
struct MessageBody {
  std::string kind;  // template | text
  std::optional<std::string> template_name, language, text;
  std::vector<std::string> parameters;
};

struct OutreachResult {
  std::string type;    // outreach.sent | outreach.delivered | outreach.failed
  std::string status;  // sent | delivered | read | failed
  std::string at;      // sent_at / at / failed_at
  std::optional<std::string> request_id, message_id, lead_id, provider_message_id, purpose;
  std::string channel;
  std::string to;  // E.164
  std::optional<std::string> sender_kind, sender_user;
  bool sensitive = false;
  std::optional<MessageBody> message;  // outreach.sent only; no text/parameters when sensitive
  bool retryable = false;              // outreach.failed
  std::string error_code;
  std::optional<std::string> error_title, error_detail;
};

// Parses the data of an outreach result (already schema-validated) of `type`.
// Throws std::invalid_argument when it is unusable (no message_id and no
// request_id: nothing to attach a status to).
OutreachResult parse_outreach_result(std::string_view type, const std::string& data_json);

// Whether a message in `current` (with its failure's retryability) moves to
// `incoming`. Order: pending < failed (retryable) < sent < failed (final) <
// delivered < read — never backwards; a provider's delivered / read receipt
// beats a failure (the message did arrive), a successful retry beats a
// retryable failure, a final failure beats `sent`.
bool advances(const std::string& current, bool current_retryable, const std::string& incoming,
              bool incoming_retryable);

// Whether the status means the provider accepted the message (sent or beyond).
bool reached_person_side(const std::string& status);

// The timeline payload of a message (kind "outreach") after `r`: `current` is
// the entry's payload so far ("{}" for a new one). Facts are filled in (ids,
// channel, purpose, sender, message, per-status timestamps, error); `status`
// is set when `status_advanced`.
std::string merge_message_payload(const std::string& current, const OutreachResult& r,
                                  bool status_advanced);

// ---- CRM requests ----------------------------------------------------------

struct MessageRequest {
  std::string channel;  // whatsapp | sms
  MessageBody message;
};

// Validates the body of POST /api/v1/leads/{id}/messages: {channel,
// template?, language?, parameters?, text?} — exactly one of template / text
// (an SMS is always text). Appends to `errors`.
MessageRequest parse_message_request(const rapidjson::Value& body,
                                     std::vector<http::FieldError>& errors);

// data of outreach.requested (purpose "crm", the caller as sender in context).
std::string outreach_requested_data(const std::string& request_id, const MessageRequest& m,
                                    const std::string& to, const std::string& lead_id,
                                    const std::string& sender);

// The pending timeline payload of a CRM request.
std::string pending_message_payload(const std::string& request_id, const MessageRequest& m,
                                    const std::string& sender, const std::string& requested_at);

}  // namespace leadpipe::leads
