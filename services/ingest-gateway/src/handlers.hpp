#pragma once
// HTTP routes of ingest-gateway. Handlers are glue: check the caller, call the
// pure parser, publish, answer. Nothing is acknowledged before Kafka has it.
#include <memory>

#include <leadpipe/http/server.hpp>
#include <leadpipe/kafka/kafka.hpp>

#include "config.hpp"
#include "metrics.hpp"
#include "tenant_directory.hpp"

namespace leadpipe::ingest {

struct Deps {
  const Config& config;
  kafka::Producer& producer;
  TenantDirectory& tenants;
  Metrics& metrics;
  log::Logger logger;
};

void add_routes(http::Router& router, std::shared_ptr<Deps> deps);

}  // namespace leadpipe::ingest
