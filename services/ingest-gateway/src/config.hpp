#pragma once
#include <chrono>
#include <string>

#include <leadpipe/config/env.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/kafka/kafka.hpp>

namespace leadpipe::ingest {

// Everything ingest-gateway reads at start-up (see the service README).
struct Config {
  http::ServerConfig http;
  kafka::ClientConfig kafka;
  std::chrono::milliseconds publish_timeout{5000};
  std::string pg_url;
  std::size_t pg_pool_size = 4;
  bool migrate_on_start = true;
  std::string whatsapp_app_secret;
  std::string whatsapp_verify_token;
  std::size_t webhook_body_limit = 3 * 1024 * 1024;
  std::chrono::seconds tenant_cache_ttl{30};

  static Config from_env(config::Env& env);
};

}  // namespace leadpipe::ingest
