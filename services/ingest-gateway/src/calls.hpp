#pragma once
// Call transcripts webhook (POST /webhooks/calls): signature check and body
// parsing. Pure functions, unit-tested; the handler is glue.
//
// Signing (per integration, secret from `leadctl calls integration create`):
//   X-Leadpipe-Integration: <integration id>
//   X-Leadpipe-Timestamp:   <unix seconds>           (replay window: ± tolerance)
//   X-Leadpipe-Signature:   sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <leadpipe/http/message.hpp>

#include "clock.hpp"

namespace leadpipe::ingest::calls {

// The body is unusable: 400 with field errors.
class CallError : public std::runtime_error {
 public:
  CallError(std::vector<http::FieldError> errors, const std::string& message)
      : std::runtime_error(message), errors_(std::move(errors)) {}
  const std::vector<http::FieldError>& errors() const { return errors_; }

 private:
  std::vector<http::FieldError> errors_;
};

enum class SignatureCheck { ok, missing, stale, mismatch };

// Checks timestamp freshness against `now` and the HMAC in constant time.
SignatureCheck check_signature(std::string_view secret, std::string_view timestamp,
                               std::string_view signature_header, std::string_view raw_body, TimePoint now,
                               std::chrono::seconds tolerance);

// What a platform would send: "sha256=" + hex HMAC (for tests and docs).
std::string sign(std::string_view secret, std::string_view timestamp, std::string_view raw_body);

struct Call {
  std::string call_id;
  std::string direction;
  std::string customer_phone;  // E.164 or empty
  std::string data;            // ingest.call.completed `data`
};

struct Integration {
  std::string id;
  std::string provider;
};

// Validates (proto/api/call_webhook.json) and normalises a body. Phones are
// normalised with `default_region`; a number that is not a valid phone (an
// extension, "anonymous") is kept as received. Throws CallError.
Call parse_call(std::string_view body, const Integration& integration, std::string_view default_region,
                std::string_view received_at);

// Event id: stable per (tenant, integration, call_id).
std::string event_id(std::string_view tenant, std::string_view integration, std::string_view call_id);

}  // namespace leadpipe::ingest::calls
