#pragma once
// Publishing a request's events: all acknowledged by Kafka, or 503 with
// Retry-After (never a 2xx for something not stored). Shared by every channel.
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/kafka/kafka.hpp>

#include "scratch_json.hpp"

namespace leadpipe::ingest {

struct Deps;


// An event with the given id and the current time, without the JSON
// re-validation of events::make: for data our own writers produced.
events::CloudEvent new_event(std::string type, std::string source, std::string tenant, std::string subject,
                             std::string data_json, std::string id);

// Structured-mode CloudEvent JSON, byte-equal to events::to_json(ev), with
// ev.data spliced in unparsed (it must be a JSON object our code serialised).
std::string envelope_json(const events::CloudEvent& ev);

kafka::Message to_message(std::string topic, events::CloudEvent ev, std::string key);

// Sends `out` (may be empty), records per-channel metrics, throws HttpError 503
// + Retry-After unless Kafka acknowledged every message.
boost::asio::awaitable<void> publish_all(Deps& d, std::string channel, std::vector<kafka::Message> out,
                                         std::string request_id);

}  // namespace leadpipe::ingest
