// lead-store: the system of record for leads and the CRM API. Wiring only.
#include <utility>

#include <leadpipe/events/topics.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "api.hpp"
#include "api_import.hpp"
#include "consumer.hpp"
#include "export.hpp"
#include "live.hpp"
#include "followup_scheduler.hpp"
#include "merge_api.hpp"
#include "messages_api.hpp"
#include "duplicates_api.hpp"
#include "assignment_rules_api.hpp"
#include "sources_consumer.hpp"
#include "workflow_metrics.hpp"

using namespace leadpipe;

int main() {
  return runtime::guarded_main("lead-store", [](config::Env& env) {
    runtime::init_logging(env, "lead-store");
    http::ServerConfig http_cfg;
    http_cfg.service_name = "lead-store";
    http_cfg.port = static_cast<uint16_t>(env.integer("LEADSTORE_PORT", 8081, 0, 65535, "HTTP port"));
    http_cfg.io_threads = static_cast<int>(env.integer("LEADSTORE_IO_THREADS", 2, 1, 64, "HTTP I/O threads"));
    const auto kafka_cfg = runtime::kafka_from_env(env, "lead-store");
    const auto group = env.string("LEADSTORE_CONSUMER_GROUP", "lead-store", "Kafka consumer group");
    const auto pg_url = env.required("LEADSTORE_PG_URL", "PostgreSQL connection string (role lead_store)");
    // Two pools (bulkheads): the CRM API's short statements, and the work
    // that holds a connection for long or blocks a thread on it (the Kafka
    // consumers, the live feed, the follow-up scheduler, CSV imports). The
    // API's pool is small on purpose: PostgreSQL runs as many statements at
    // once as it has cores; every connection beyond that moves the queue
    // from the pool (first come, first served) into the server and the
    // kernel's scheduler, which serve no order (bench/README.md, "Leads": at
    // 8 connections the list's p99 was 2-4x that at 3).
    // Two: the searches and filtered pages it serves take milliseconds of
    // CPU each, and a third at once on a 2-core server only time-slices
    // them (p99 of tag / phone / name pages 18-36 ms at 3 against 9-14 ms
    // at 2, same throughput; bench/README.md, "Leads").
    const auto pool_size = env.integer("LEADSTORE_PG_POOL_SIZE", 2, 1, 128,
                                       "PostgreSQL connections for CRM API requests (the database's cores)");
    // A third, for the board's plainest pages (repo::plan_is_value_independent:
    // the tenant, its stages, a stage's tier, in an index's order). Its
    // connections plan every statement without the parameters' values and
    // keep the plan of each prepared page: a list page then costs PostgreSQL
    // about 60 % of the CPU of one planned afresh (bench/README.md, Leads).
    const auto board_pool_size =
        env.integer("LEADSTORE_PG_BOARD_POOL_SIZE", 3, 1, 128,
                    "PostgreSQL connections for list pages whose plan does not depend on the filter's values "
                    "(generic plans, kept per prepared statement)");
    const auto worker_pool_size =
        env.integer("LEADSTORE_PG_WORKER_POOL_SIZE", 6, 1, 128,
                    "PostgreSQL connections for the Kafka consumers, the live feed, the follow-up scheduler and "
                    "CSV imports");
    const bool migrate = env.boolean("LEADSTORE_MIGRATE_ON_START", true, "apply migrations/leads at start-up");
    const auto jwt_secret = env.secret("JWT_SECRET", "HS256 key of the CRM API's bearer tokens");
    if (!jwt_secret.empty() && jwt_secret.size() < 32) env.fail("JWT_SECRET", "must be at least 32 bytes");
    const auto region = env.string("LEADSTORE_DEFAULT_REGION", "ID",
                                   "ISO 3166 region of phone numbers written without a country code");
    if (region.size() != 2 || !std::isupper(static_cast<unsigned char>(region[0])) ||
        !std::isupper(static_cast<unsigned char>(region[1]))) {
      env.fail("LEADSTORE_DEFAULT_REGION", "must be a two-letter upper-case region code, e.g. ID");
    }
    const auto followup_interval = env.integer("LEADSTORE_FOLLOWUP_INTERVAL_MS", 5000, 100, 3600000,
                                               "how often the follow-up scheduler looks for due follow-ups");
    const auto import_max_bytes = env.integer("LEADSTORE_IMPORT_MAX_BYTES", 32 << 20, 1024, 1LL << 30,
                                              "largest CSV upload accepted by POST /api/v1/leads/import");
    const auto import_max_rows = env.integer("LEADSTORE_IMPORT_MAX_ROWS", 200000, 1, 10000000,
                                             "most data rows in one CSV import");
    const auto live_streams = env.integer("LEADSTORE_LIVE_MAX_STREAMS_PER_TENANT", 100, 1, 100000,
                                          "concurrent SSE streams per tenant on GET /api/v1/leads/stream");
    const auto live_queue = env.integer("LEADSTORE_LIVE_QUEUE_LIMIT", 256, 8, 100000,
                                        "events queued per SSE client before it is disconnected as too slow");
    const auto pipeline_cache_ms = env.integer("LEADSTORE_PIPELINE_CACHE_MS", 5000, 0, 600000,
                                               "how long list/count/export requests reuse a tenant's pipeline "
                                               "(0 = read it every time)");
    const auto estimate_cache_ms =
        env.integer("LEADSTORE_ESTIMATE_CACHE_MS", 10000, 0, 600000,
                    "how long a list reuses the planner's estimate of its filter for an inexact total "
                    "(0 = EXPLAIN every time)");
    env.validate();

    const auto logger = log::root();
    if (migrate) pg::migrate(pg_url, "leads", embedded::leads_migrations(), logger);

    auto registry = std::make_shared<prometheus::Registry>();
    leads::metrics::install(registry);  // automatic assignment, duplicate candidates
    pg::Pool pool({.url = pg_url, .size = static_cast<std::size_t>(pool_size), .application_name = "lead-store"},
                  logger, registry);
    pg::Pool board_pool({.url = pg_url,
                         .size = static_cast<std::size_t>(board_pool_size),
                         .application_name = "lead-store-board",
                         .generic_plans = true},
                        logger, registry);
    pg::Pool worker_pool({.url = pg_url,
                          .size = static_cast<std::size_t>(worker_pool_size),
                          .application_name = "lead-store-worker"},
                         logger, registry);
    kafka::Producer producer({.client = kafka_cfg}, logger, registry);
    const auth::JwtVerifier verifier(jwt_secret);

    outbox::Relay relay({.url = pg_url, .schema = "leads"}, runtime::outbox_publisher(producer), logger,
                        registry);
    leads::ConsumerDeps consumer_deps{worker_pool};
    auto& intake = prometheus::BuildCounter()
                       .Name("leadpipe_leads_intake_total")
                       .Help("Intake events by topic and what they did (created|updated|unchanged|duplicate|skipped|processed)")
                       .Register(*registry);
    // One consumer (one group) for every intake topic: contact.extracted,
    // ingest.vendor.lead, ingest.campaign.submission, ingest.call.completed.
    // All of them write the same leads rows and share one claim table, so a
    // single handler thread keeps their effects on a lead in arrival order.
    kafka::Consumer consumer(
        {.client = kafka_cfg, .group_id = group, .topics = leads::consumed_topics()}, producer,
        [&consumer_deps, &intake](const kafka::Record& r, const log::Logger& l) {
          const auto outcome = leads::handle_record(consumer_deps, r, l);
          intake.Add({{"topic", r.topic}, {"outcome", std::string(leads::to_string(outcome))}}).Increment();
        },
        logger, registry);

    http::Router router;
    auto api_deps = std::make_shared<leads::ApiDeps>(
        leads::ApiDeps{pool, verifier, logger, region});
    api_deps->bulk_pool = &worker_pool;
    api_deps->board_pool = &board_pool;
    api_deps->estimates =
        std::make_shared<leads::repo::EstimateCache>(std::chrono::milliseconds(estimate_cache_ms), 10000);
    api_deps->pipelines = std::make_shared<runtime::TtlCache<leads::Pipeline>>(
        std::chrono::milliseconds(pipeline_cache_ms), 10000);
    leads::add_api_routes(router, api_deps);
    leads::add_import_routes(router, api_deps, registry, {.max_rows = static_cast<std::size_t>(import_max_rows)});
    leads::add_merge_routes(router, api_deps);
    leads::add_export_routes(router, api_deps);
    auto live_hub = std::make_shared<leads::LiveHub>(
        leads::LiveConfig{.queue_limit = static_cast<std::size_t>(live_queue),
                          .max_streams_per_tenant = static_cast<std::size_t>(live_streams)},
        logger.with({{"component", "live"}}), registry);
    leads::LiveFeed live_feed(kafka_cfg, group + "-live", producer, worker_pool, *live_hub, logger, registry);
    leads::add_live_routes(router, api_deps, live_hub);
    leads::add_message_routes(router, api_deps);
    leads::add_duplicate_routes(router, api_deps);
    leads::add_assignment_rule_routes(router, api_deps);
    leads::FollowupScheduler scheduler(
        worker_pool, {.interval = std::chrono::milliseconds(followup_interval)}, logger.with({{"component", "followups"}}),
        registry);
    http::Server server(http_cfg, std::move(router), registry, logger);
    server.set_body_limit("/api/v1/leads/import", static_cast<std::size_t>(import_max_bytes));
    server.set_error_mapper(runtime::database_unavailable_as_503);
    server.set_readiness(
        [&] { return producer.healthy() && consumer.healthy() && pool.healthy() && worker_pool.healthy(); });
    relay.start();
    consumer.start();
    live_feed.start();
    scheduler.start();
    logger.info("listening", {{"port", server.port()}});
    server.run();
    scheduler.stop();
    live_feed.stop();
    consumer.stop();
    relay.stop();
    producer.flush(std::chrono::seconds(5));
    logger.info("stopped");
    return 0;
  });
}
