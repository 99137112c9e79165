#include "config.hpp"

#include <cctype>
#include <utility>
#include <vector>

#include <leadpipe/auth/crypto.hpp>
#include <leadpipe/runtime/runtime.hpp>

namespace leadpipe::ingest {
namespace {

std::vector<std::pair<std::string, std::string>> split_options(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(pos, end - pos);
    const auto eq = item.find('=');
    out.emplace_back(item.substr(0, eq), eq == std::string::npos ? "" : item.substr(eq + 1));
    pos = end + 1;
  }
  return out;
}

}  // namespace

Config Config::from_env(config::Env& env) {
  Config c;
  c.http.service_name = "ingest-gateway";
  c.http.host = env.string("INGEST_HOST", "0.0.0.0", "address the HTTP server binds");
  c.http.port = static_cast<uint16_t>(env.integer("INGEST_PORT", 8080, 0, 65535, "HTTP port"));
  c.http.io_threads =
      static_cast<int>(env.integer("INGEST_IO_THREADS", 2, 1, 64, "HTTP I/O threads"));
  c.http.context_per_thread = env.boolean(
      "INGEST_CONTEXT_PER_THREAD", true,
      "each HTTP I/O thread runs its own connections (no strands); false shares one io_context");
  c.kafka = runtime::kafka_from_env(env, "ingest-gateway");
  c.publish_timeout = env.millis("INGEST_PUBLISH_TIMEOUT_MS", c.publish_timeout,
                                 "longest wait for Kafka's ack before answering 503");
  c.kafka_linger = env.millis("INGEST_KAFKA_LINGER_MS", c.kafka_linger,
                              "librdkafka linger.ms: how long events wait to share a produce request");
  // Extra librdkafka producer properties, "key=value[,key=value]" (benchmarking/tuning;
  // idempotence and acks=all are not negotiable and cannot be overridden here).
  for (const auto& kv : split_options(env.string("INGEST_KAFKA_PRODUCER_OPTIONS", "",
                                                 "extra librdkafka producer properties, k=v[,k=v]"))) {
    if (kv.first == "acks" || kv.first == "enable.idempotence" || kv.first.empty()) {
      env.fail("INGEST_KAFKA_PRODUCER_OPTIONS", "'" + kv.first + "' cannot be overridden");
    } else {
      c.kafka.overrides[kv.first] = kv.second;
    }
  }
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

  c.default_region = env.string("INGEST_DEFAULT_REGION", c.default_region,
                                "ISO region for phones without a country code (vendor keys may override)");
  if (c.default_region.size() != 2 || !std::isupper(static_cast<unsigned char>(c.default_region[0])) ||
      !std::isupper(static_cast<unsigned char>(c.default_region[1]))) {
    env.fail("INGEST_DEFAULT_REGION", "must be an upper-case ISO 3166-1 alpha-2 code, e.g. IN");
  }
  c.vendor_body_limit = static_cast<std::size_t>(env.integer(
      "INGEST_VENDOR_BODY_LIMIT", 2 * 1024 * 1024, 1024, 64 * 1024 * 1024,
      "largest POST /api/v1/vendor/leads body, bytes (a batch holds up to 500 leads)"));
  c.api_key_cache_ttl = std::chrono::seconds(env.integer(
      "INGEST_API_KEY_CACHE_TTL_S", 30, 0, 3600, "how long a vendor API key lookup is cached (revocation delay)"));
  c.call_body_limit = static_cast<std::size_t>(env.integer(
      "INGEST_CALL_BODY_LIMIT", 2 * 1024 * 1024, 1024, 64 * 1024 * 1024, "largest POST /webhooks/calls body, bytes"));
  c.call_signature_tolerance = std::chrono::seconds(env.integer(
      "INGEST_CALL_SIGNATURE_TOLERANCE_S", 300, 1, 86400,
      "largest clock difference accepted in X-Leadpipe-Timestamp (replay window)"));
  c.form_body_limit = static_cast<std::size_t>(env.integer(
      "INGEST_FORM_BODY_LIMIT", 16 * 1024, 1024, 1024 * 1024, "largest campaign-form request body, bytes"));
  // Stored OTP hashes are keyed with a secret derived from the app secret, so a
  // database dump does not reveal 6-digit codes by brute force, and every
  // replica derives the same key without another secret to distribute.
  c.otp_pepper = auth::hmac_sha256_hex(c.whatsapp_app_secret, "leadpipe/otp-pepper");
  c.otp_ttl = std::chrono::seconds(env.integer("INGEST_OTP_TTL_S", 300, 30, 3600, "OTP lifetime"));
  c.otp_resend_cooldown = std::chrono::seconds(
      env.integer("INGEST_OTP_RESEND_COOLDOWN_S", 60, 0, 3600, "least time between two OTP sends to a phone"));
  c.otp_window = std::chrono::seconds(
      env.integer("INGEST_OTP_WINDOW_S", 3600, 60, 7 * 86400, "window of the per-phone and per-IP send limits"));
  c.otp_max_per_phone = static_cast<int>(
      env.integer("INGEST_OTP_MAX_PER_PHONE", 5, 1, 1000, "OTP sends per phone and campaign per window"));
  c.otp_max_per_ip = static_cast<int>(
      env.integer("INGEST_OTP_MAX_PER_IP", 20, 1, 100000, "OTP sends per client IP per window"));
  c.otp_max_attempts = static_cast<int>(
      env.integer("INGEST_OTP_MAX_ATTEMPTS", 5, 1, 20, "wrong codes before an OTP is invalidated"));
  c.otp_verified_ttl = std::chrono::seconds(env.integer(
      "INGEST_OTP_VERIFIED_TTL_S", 30 * 24 * 3600, 60, 365 * 86400,
      "how long a verified phone stays verified for a campaign (send-otp short-circuits meanwhile)"));
  c.otp_template = env.string("INGEST_OTP_TEMPLATE", c.otp_template,
                              "WhatsApp template requested from outreach for OTPs (tenants may override)");
  c.otp_language = env.string("INGEST_OTP_LANGUAGE", c.otp_language, "language code of the OTP template");
  c.form_submit_window = std::chrono::seconds(env.integer(
      "INGEST_FORM_SUBMIT_WINDOW_S", 3600, 60, 7 * 86400, "window of the per-phone and per-IP form submit limits"));
  c.form_submit_max_per_phone = static_cast<int>(env.integer(
      "INGEST_FORM_SUBMIT_MAX_PER_PHONE", 10, 1, 10000, "form submits per phone per window"));
  c.form_submit_max_per_ip = static_cast<int>(env.integer(
      "INGEST_FORM_SUBMIT_MAX_PER_IP", 60, 1, 1000000, "form submits per client IP per window"));
  const std::string proxies = env.string(
      "INGEST_TRUSTED_PROXIES", "",
      "CIDRs of reverse proxies whose X-Forwarded-For / Forwarded name the client (default: none, the peer)");
  try {
    c.trusted_proxies = parse_cidrs(proxies);
  } catch (const std::invalid_argument& e) {
    env.fail("INGEST_TRUSTED_PROXIES", e.what());
  }
  c.http.access_log = env.boolean("INGEST_ACCESS_LOG", true, "log one line per HTTP request");
  return c;
}

}  // namespace leadpipe::ingest
