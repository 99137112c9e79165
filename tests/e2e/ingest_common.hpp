#pragma once
// Helpers shared by the ingest-gateway end-to-end tests (ingest_*_test.cpp).
#include <rapidjson/document.h>

#include <string>
#include <utility>
#include <vector>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/httpclient/client.hpp>

#include "stack.hpp"

namespace leadpipe::e2e {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  return d;
}

inline httpclient::ClientResponse post(const Stack& stack, const std::string& path, const std::string& body,
                                       Headers headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return httpclient::request("POST", stack.ingest_url() + path, headers, body, std::chrono::seconds(20));
}

// The value of `name{labels}` in the gateway's /metrics (0 when absent).
double metric(const Stack& stack, const std::string& series);

// CloudEvents on `topic`, parsed.
std::vector<events::CloudEvent> read_events(const Stack& stack, const std::string& topic);

// Pauses the shared test broker (SIGSTOP) for the life of the object and
// always resumes it (SIGCONT), even when the test fails: others use it.
class BrokerPause {
 public:
  BrokerPause();
  ~BrokerPause();
  BrokerPause(const BrokerPause&) = delete;
  BrokerPause& operator=(const BrokerPause&) = delete;
  void resume();

 private:
  int pid_ = -1;
};

}  // namespace leadpipe::e2e
