#include "config.hpp"

#include <leadpipe/runtime/runtime.hpp>

namespace leadpipe::ingest {

Config Config::from_env(config::Env& env) {
  Config c;
  c.http.service_name = "ingest-gateway";
  c.http.host = env.string("INGEST_HOST", "0.0.0.0", "address the HTTP server binds");
  c.http.port = static_cast<uint16_t>(env.integer("INGEST_PORT", 8080, 0, 65535, "HTTP port"));
  c.http.io_threads =
      static_cast<int>(env.integer("INGEST_IO_THREADS", 2, 1, 64, "HTTP I/O threads"));
  c.kafka = runtime::kafka_from_env(env, "ingest-gateway");
  c.publish_timeout = env.millis("INGEST_PUBLISH_TIMEOUT_MS", c.publish_timeout,
                                 "longest wait for Kafka's ack before answering 503");
  c.pg_url = env.required("INGEST_PG_URL", "PostgreSQL connection string (role ingest_gateway)");
  c.pg_pool_size = static_cast<std::size_t>(
      env.integer("INGEST_PG_POOL_SIZE", 4, 1, 64, "PostgreSQL connections"));
  c.migrate_on_start = env.boolean("INGEST_MIGRATE_ON_START", true,
                                   "apply migrations/ingest at start-up (advisory-locked)");
  c.whatsapp_app_secret =
      env.secret("WHATSAPP_APP_SECRET", "Meta app secret: HMAC key of X-Hub-Signature-256");
  c.whatsapp_verify_token =
      env.secret("WHATSAPP_VERIFY_TOKEN", "token Meta echoes in the GET verification handshake");
  c.webhook_body_limit = static_cast<std::size_t>(
      env.integer("INGEST_WEBHOOK_BODY_LIMIT", 3 * 1024 * 1024, 1024, 64 * 1024 * 1024,
                  "largest webhook body accepted, bytes (Meta sends up to 3 MB)"));
  c.tenant_cache_ttl = std::chrono::seconds(env.integer(
      "INGEST_TENANT_CACHE_TTL_S", 30, 0, 3600, "how long a phone_number_id→tenant answer is cached"));
  c.http.access_log = env.boolean("INGEST_ACCESS_LOG", true, "log one line per HTTP request");
  return c;
}

}  // namespace leadpipe::ingest
