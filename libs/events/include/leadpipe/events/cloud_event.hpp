#pragma once
// CloudEvents 1.0 envelope (structured JSON mode) used on every Leadpipe topic.
//
//   {"specversion":"1.0","id":"<uuid>","source":"leadpipe/lead-store",
//    "type":"lead.created","subject":"<lead id>","time":"2025-11-23T12:31:01.020Z",
//    "datacontenttype":"application/json","tenantid":"demo","data":{...}}
//
// `data` travels as a JSON object inside the envelope; in C++ it is kept as JSON
// text (CloudEvent::data) so this header stays free of RapidJSON and callers can
// use any JSON library for the payload.
//
// All functions are thread-safe (no shared mutable state).
#include <stdexcept>
#include <string>
#include <string_view>

namespace leadpipe::events {

struct CloudEvent {
  std::string id, source, type, time /*RFC3339 UTC with ms*/, subject,
      tenant /*extension "tenantid"*/, datacontenttype = "application/json";
  std::string data;  // JSON text of `data` (always an object)
};

// Thrown by parse(): the message is safe to show to a client or put in a
// dead-letter reason (it never echoes the payload).
struct ParseError : std::runtime_error {
  using runtime_error::runtime_error;
};

// Namespace for Leadpipe's name-based (v5) ids, e.g.
// uuid_v5(kNamespace, "ingest.whatsapp.inbound/" + wamid): a webhook retry or a
// replay produces the same event id, so consumers de-duplicate it.
inline constexpr std::string_view kNamespace = "5d0c3a5e-8f41-4b8e-9a3c-6c1f4e2d7b90";

// Random (version 4) UUID from OpenSSL RAND_bytes, lower-case canonical form.
// Throws std::runtime_error if the CSPRNG fails.
std::string uuid_v4();
// Name-based (version 5, SHA-1) UUID per RFC 4122 §4.3: the same namespace and
// name always give the same id. Throws std::invalid_argument if
// namespace_uuid is not a canonical UUID.
std::string uuid_v5(std::string_view namespace_uuid, std::string_view name);
// True for the canonical 8-4-4-4-12 hex form (either case).
bool is_uuid(std::string_view text);

// Current UTC time as RFC 3339 with milliseconds, e.g. "2025-11-23T12:31:01.020Z".
std::string now_rfc3339();

// A new event with a fresh uuid_v4 id and the current time. data_json must be
// a JSON object; throws std::invalid_argument otherwise (a bug in the caller).
CloudEvent make(std::string type, std::string source, std::string tenant, std::string subject,
                std::string data_json);

// Structured-mode JSON; `data` is embedded as a JSON object, not a string.
// Empty subject is omitted (CloudEvents forbids empty attributes). Throws
// std::invalid_argument if ev.data is not a JSON object or a required
// attribute (id, source, type, tenant) is empty.
std::string to_json(const CloudEvent& ev);

// Parses and checks the envelope: valid UTF-8 JSON object, specversion "1.0",
// id (a UUID), source, type and tenantid non-empty strings, optional subject /
// time (RFC 3339) / datacontenttype (a JSON media type), data an object.
// Schema validation of `data` is separate (SchemaSet::validate).
// Throws ParseError with a client-safe reason.
CloudEvent parse(std::string_view json);

}  // namespace leadpipe::events
