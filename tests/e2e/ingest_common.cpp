#include "ingest_common.hpp"

#include <signal.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <leadpipe/testing/infra.hpp>

namespace leadpipe::e2e {

double metric(const Stack& stack, const std::string& series) { return scrape_metric(stack.ingest_url(), series); }

std::vector<events::CloudEvent> read_events(const Stack& stack, const std::string& topic) {
  std::vector<events::CloudEvent> out;
  for (const auto& v : stack.read_topic(topic)) out.push_back(events::parse(v));
  return out;
}

BrokerPause::BrokerPause() {
  // deploy/local/test-infra.sh keeps the test broker's pid here.
  const char* local = std::getenv("LP_LOCAL");  // test-infra.sh's override of .local
  const std::string state = (local && *local ? std::string(local) : testing::source_dir() + "/.local") + "/test";
  const auto text = read_file(state + "/kafka/kafka.pid");
  REQUIRE(!text.empty());
  pid_ = std::stoi(text);
  REQUIRE(::kill(pid_, SIGSTOP) == 0);
}

void BrokerPause::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
  pid_ = -1;
}

BrokerPause::~BrokerPause() { resume(); }

}  // namespace leadpipe::e2e
