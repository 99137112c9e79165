#pragma once
#include <chrono>
#include <string>
#include <vector>

#include <leadpipe/config/env.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/kafka/kafka.hpp>

#include "client_ip.hpp"

namespace leadpipe::ingest {

// Everything ingest-gateway reads at start-up (see the service README).
struct Config {
  http::ServerConfig http;
  kafka::ClientConfig kafka;
  std::chrono::milliseconds publish_timeout{5000};
  std::chrono::milliseconds kafka_linger{5};  // linger.ms: batches concurrent requests' events
  std::string pg_url;
  std::size_t pg_pool_size = 4;
  bool migrate_on_start = true;
  std::string whatsapp_app_secret;
  std::string whatsapp_verify_token;
  std::size_t webhook_body_limit = 3 * 1024 * 1024;
  std::chrono::seconds tenant_cache_ttl{30};

  // Vendor lead API.
  std::string default_region = "IN";          // phones without a country code (a key may override)
  std::size_t vendor_body_limit = 2 * 1024 * 1024;
  std::chrono::seconds api_key_cache_ttl{30};

  // Call transcripts webhook.
  std::size_t call_body_limit = 2 * 1024 * 1024;
  std::chrono::seconds call_signature_tolerance{300};

  // Campaign forms with WhatsApp OTP.
  std::size_t form_body_limit = 16 * 1024;
  std::string otp_pepper;                     // HMAC key of stored OTP hashes (derived)
  std::chrono::seconds otp_ttl{300};
  std::chrono::seconds otp_resend_cooldown{60};
  std::chrono::seconds otp_window{3600};
  int otp_max_per_phone = 5;                  // sends per phone per window
  int otp_max_per_ip = 20;                    // sends per client IP per window
  int otp_max_attempts = 5;                   // wrong codes before the code is burnt
  std::chrono::seconds otp_verified_ttl{30 * 24 * 3600};
  std::string otp_template = "otp_verification";
  std::string otp_language = "en";
  std::chrono::seconds form_submit_window{3600};
  int form_submit_max_per_phone = 10;         // submits per phone per window
  int form_submit_max_per_ip = 60;            // submits per client IP per window
  // Reverse proxies whose X-Forwarded-For / Forwarded are believed (none:
  // the per-IP limits count the TCP peer).
  std::vector<Cidr> trusted_proxies;

  static Config from_env(config::Env& env);
};

}  // namespace leadpipe::ingest
