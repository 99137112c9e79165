#pragma once
// HTTP routes of ingest-gateway. Handlers are glue: check the caller, call the
// pure parser, publish, answer. Nothing is acknowledged before Kafka has it.
#include <memory>

#include <leadpipe/http/server.hpp>
#include <leadpipe/kafka/kafka.hpp>

#include "api_keys.hpp"
#include "call_integrations.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "form_store.hpp"
#include "hmac_key.hpp"
#include "metrics.hpp"
#include "tenant_directory.hpp"
#include "whatsapp.hpp"

namespace leadpipe::ingest {

struct Deps {
  const Config& config;
  kafka::Producer& producer;
  TenantDirectory& tenants;
  Metrics& metrics;
  log::Logger logger;
  ApiKeyDirectory& vendor_keys;
  CallIntegrations& calls;
  FormStore& forms;
  Clock now = system_clock();
  // WHATSAPP_APP_SECRET keyed once (null: keyed per request, as in the tests).
  std::shared_ptr<const HmacKey> whatsapp_key = nullptr;
};

// Every route, on `router`. `deps` may be null when only the route table is
// needed (the OpenAPI test); handlers are then never invoked.
void add_routes(http::Router& router, std::shared_ptr<Deps> deps);

// The event of one inbound WhatsApp message / status update of `tenant`, as
// the webhook handler publishes it (also timed by bench/ingest's stages bench).
kafka::Message whatsapp_inbound_message(const std::string& tenant, const whatsapp::InboundMessage& m);
kafka::Message whatsapp_status_message(const std::string& tenant, const whatsapp::StatusUpdate& s);

// Per-route body limits (call on the Server after construction).
void set_body_limits(http::Server& server, const Config& config);

}  // namespace leadpipe::ingest
