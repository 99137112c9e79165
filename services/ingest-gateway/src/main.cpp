// ingest-gateway: the only door for outside systems. Wiring only; see README.md.
#include <utility>

#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "handlers.hpp"

#if LEADPIPE_WITH_MIMALLOC
#include <mimalloc.h>
#endif

using namespace leadpipe;

namespace {
// Which malloc serves this process (see leadpipe_use_mimalloc in cmake/).
std::string allocator() {
#if LEADPIPE_WITH_MIMALLOC
  return "mimalloc " + std::to_string(mi_version());
#else
  return "glibc";
#endif
}
}  // namespace

int main() {
  return runtime::guarded_main("ingest-gateway", [](config::Env& env) {
    runtime::init_logging(env, "ingest-gateway");
    const auto cfg = ingest::Config::from_env(env);
    env.validate();
    const auto logger = log::root();
    logger.info("starting", {{"port", cfg.http.port}, {"allocator", allocator()}});

    if (cfg.migrate_on_start) pg::migrate(cfg.pg_url, "ingest", embedded::ingest_migrations(), logger);

    auto registry = std::make_shared<prometheus::Registry>();
    ingest::Metrics metrics(*registry);
    pg::Pool pool({.url = cfg.pg_url, .size = cfg.pg_pool_size, .application_name = "ingest-gateway"},
                  logger, registry);
    kafka::Producer producer({.client = cfg.kafka, .delivery_timeout = cfg.publish_timeout, .linger = cfg.kafka_linger},
                             logger,
                             registry);
    ingest::TenantDirectory tenants(pool, cfg.tenant_cache_ttl);
    ingest::ApiKeyDirectory vendor_keys(pool, cfg.api_key_cache_ttl);
    ingest::CallIntegrations calls(pool, cfg.api_key_cache_ttl);
    ingest::FormStore forms(pool, cfg.tenant_cache_ttl);

    http::Router router;
    ingest::add_routes(router, std::make_shared<ingest::Deps>(ingest::Deps{
                                   .config = cfg,
                                   .producer = producer,
                                   .tenants = tenants,
                                   .metrics = metrics,
                                   .logger = logger,
                                   .vendor_keys = vendor_keys,
                                   .calls = calls,
                                   .forms = forms,
                                   .whatsapp_key = std::make_shared<const ingest::HmacKey>(cfg.whatsapp_app_secret),
                               }));
    http::Server server(cfg.http, std::move(router), registry, logger);
    ingest::set_body_limits(server, cfg);
    server.set_readiness([&] { return producer.healthy() && pool.healthy(); });
    server.set_error_mapper(runtime::database_unavailable_as_503);
    logger.info("listening", {{"port", server.port()}});
    server.run();  // returns on SIGTERM/SIGINT after draining in-flight requests
    producer.flush(std::chrono::seconds(5));
    logger.info("stopped");
    return 0;
  });
}
