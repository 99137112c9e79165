#pragma once
// Turns the extraction Result for one inbound message into the data of a
// contact.extracted event (proto/events/contact.extracted.json). Pure.
#include <optional>
#include <string>

#include <leadpipe/extract/extractor.hpp>

namespace leadpipe::extractor {

// What the consumer learned from the ingest.whatsapp.inbound event.
struct Inbound {
  std::string tenant;
  std::string channel;       // "whatsapp"
  std::string external_id;   // wa_id
  std::string event_id;      // the inbound CloudEvent id
  std::string message_id;    // wamid
  std::optional<std::string> profile_name;
  std::optional<std::string> text;
  std::int64_t at_ms = 0;
};

// The sender's own number (wa_id is the international number without '+').
// Returns nullopt when it is not a plausible E.164 number.
std::optional<std::string> channel_phone(const std::string& wa_id);

std::string contact_extracted_data(const Inbound& in, const extract::Result& r,
                                   const std::string& region, std::int64_t now_ms);

std::string rfc3339_ms(std::int64_t epoch_ms);
// RFC 3339 (as produced by ingest-gateway) → epoch ms; 0 when unparseable.
std::int64_t parse_rfc3339_ms(const std::string& text);

}  // namespace leadpipe::extractor
