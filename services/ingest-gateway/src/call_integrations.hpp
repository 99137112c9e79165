#pragma once
// Call integrations (ingest.call_integrations): integration id → tenant,
// provider and signing secret. Looked up on the pool's workers, cached for
// `ttl` (a revoked integration stops working within that time).
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

#include <leadpipe/pg/pool.hpp>
#include <leadpipe/runtime/ttl_cache.hpp>


namespace leadpipe::ingest {

struct CallIntegration {
  std::string id;
  std::string tenant;
  std::string provider;
  std::string secret;  // never logged
};

class CallIntegrations {
 public:
  CallIntegrations(pg::Pool& pool, std::chrono::seconds ttl) : pool_(pool), cache_(ttl) {}

  // nullopt for an unknown or revoked integration.
  boost::asio::awaitable<std::optional<CallIntegration>> find(std::string integration_id);

 private:
  pg::Pool& pool_;
  runtime::TtlCache<CallIntegration> cache_;
};

}  // namespace leadpipe::ingest
