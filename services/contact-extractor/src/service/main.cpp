// contact-extractor: `contact-extractor` runs the service; `contact-extractor
// extract [--region ID]` runs the same rule layer over JSON lines on stdin
// (evaluation and support; no database, no Kafka). Wiring only.
#include <utility>

#include <iostream>
#include <string>

#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include <leadpipe/extract/cli.hpp>

#include "consumer.hpp"
#include "tenant_config.hpp"

using namespace leadpipe;

namespace {

int cli(int argc, char** argv) {
  std::string region = "ID";
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--region" && i + 1 < argc) {
      region = argv[++i];
    } else if (a.rfind("--region=", 0) == 0) {
      region = a.substr(9);
    } else {
      std::cerr << "usage: contact-extractor extract [--region CC] < conversations.jsonl\n";
      return 2;
    }
  }
  std::ios::sync_with_stdio(false);
  return extract::run_cli(std::cin, std::cout, region);
}

int service(config::Env& env) {
  runtime::init_logging(env, "contact-extractor");
  http::ServerConfig http_cfg;
  http_cfg.service_name = "contact-extractor";
  http_cfg.port = static_cast<uint16_t>(env.integer("EXTRACTOR_PORT", 8084, 0, 65535, "HTTP port (health, metrics)"));
  const auto kafka_cfg = runtime::kafka_from_env(env, "contact-extractor");
  const auto group = env.string("EXTRACTOR_CONSUMER_GROUP", "contact-extractor", "Kafka consumer group");
  const auto pg_url = env.required("EXTRACTOR_PG_URL", "PostgreSQL connection string (role contact_extractor)");
  const auto pool_size = env.integer("EXTRACTOR_PG_POOL_SIZE", 2, 1, 64, "PostgreSQL connections");
  const bool migrate = env.boolean("EXTRACTOR_MIGRATE_ON_START", true, "apply migrations/extraction at start-up");
  extractor::TenantSettings defaults;
  defaults.region = env.string("EXTRACTOR_DEFAULT_REGION", "ID", "region for numbers written without +country code");
  const auto tenant_ttl = env.integer("EXTRACTOR_TENANT_CACHE_TTL_MS", 30000, 0, 3600000,
                                      "how long per-tenant settings are cached");
  extractor::LlmConfig llm_cfg;
  llm_cfg.base_url = env.string("EXTRACTOR_LLM_URL", "", "OpenAI-compatible or Anthropic-style base URL; empty = rule-only");
  if (!llm_cfg.base_url.empty()) llm_cfg.api_key = env.secret("EXTRACTOR_LLM_API_KEY", "LLM API key (redacted, never logged)");
  llm_cfg.model = env.string("EXTRACTOR_LLM_MODEL", "gpt-4o-mini", "LLM model name");
  const auto llm_api = env.one_of("EXTRACTOR_LLM_API", "openai", {"openai", "anthropic"}, "openai (/v1/chat/completions) or anthropic (/v1/messages)");
  llm_cfg.timeout = std::chrono::milliseconds(env.integer("EXTRACTOR_LLM_TIMEOUT_MS", 2500, 50, 60000, "LLM call timeout"));
  llm_cfg.breaker_failures = static_cast<int>(env.integer("EXTRACTOR_LLM_BREAKER_FAILURES", 5, 1, 1000,
                                                          "consecutive LLM failures that open the circuit breaker"));
  llm_cfg.breaker_cooldown = std::chrono::milliseconds(
      env.integer("EXTRACTOR_LLM_BREAKER_COOLDOWN_MS", 30000, 0, 3600000, "breaker cool-down before a trial call"));
  env.validate();
  llm_cfg.api = llm_api == "anthropic" ? extractor::LlmConfig::Api::anthropic : extractor::LlmConfig::Api::openai;
  defaults = extractor::parse_settings(extractor::to_json(defaults));  // validates the default region

  const auto logger = log::root();
  if (migrate) pg::migrate(pg_url, "extraction", embedded::extraction_migrations(), logger);

  auto registry = std::make_shared<prometheus::Registry>();
  pg::Pool pool({.url = pg_url, .size = static_cast<std::size_t>(pool_size), .application_name = "contact-extractor"},
                logger, registry);
  kafka::Producer producer({.client = kafka_cfg}, logger, registry);
  extractor::TenantCache tenants(defaults, std::chrono::milliseconds(tenant_ttl));
  extractor::LlmLayer llm(llm_cfg, logger.with({{"component", "llm"}}), registry);
  if (llm.configured()) logger.info("llm layer configured", {{"api", llm_api}, {"model", llm_cfg.model}});
  extractor::ConsumerDeps deps{pool, tenants, &llm};

  outbox::Relay relay({.url = pg_url, .schema = extractor::kSchema}, runtime::outbox_publisher(producer),
                      logger, registry);
  kafka::Consumer consumer(
      {.client = kafka_cfg, .group_id = group, .topics = {std::string(events::topics::ingest_whatsapp_inbound), std::string(events::topics::outreach_sent),
                  std::string(events::topics::ingest_call_completed)}}, producer,
      [&deps](const kafka::Record& r, const log::Logger& l) { extractor::handle_record(deps, r, l); },
      logger, registry);

  http::Server server(http_cfg, http::Router{}, registry, logger);
  server.set_readiness([&] { return producer.healthy() && consumer.healthy() && pool.healthy(); });
  relay.start();
  consumer.start();
  logger.info("listening", {{"port", server.port()}});
  server.run();
  // Reverse order: stop taking events, finish publishing, flush.
  consumer.stop();
  relay.stop();
  producer.flush(std::chrono::seconds(5));
  logger.info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "extract") return cli(argc, argv);
  return runtime::guarded_main("contact-extractor", service);
}
