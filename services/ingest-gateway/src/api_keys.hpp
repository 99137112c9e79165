#pragma once
// Vendor API keys (ingest.vendor_api_keys): X-Api-Key → tenant + vendor.
// Keys are stored as SHA-256 hex only; lookups hash the presented key and
// query by hash on the pool's workers (never on an I/O thread). Answers are
// cached for `ttl` (a revoked key stops working within that time).
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

#include <leadpipe/pg/pool.hpp>
#include <leadpipe/runtime/ttl_cache.hpp>


namespace leadpipe::ingest {

struct VendorKey {
  std::string id;              // uuid
  std::string tenant;
  std::string vendor;
  std::string default_region;  // empty: the gateway's default
};

class ApiKeyDirectory {
 public:
  ApiKeyDirectory(pg::Pool& pool, std::chrono::seconds ttl) : pool_(pool), cache_(ttl) {}

  // nullopt for an unknown or revoked key.
  boost::asio::awaitable<std::optional<VendorKey>> find(std::string presented_key);

 private:
  pg::Pool& pool_;
  runtime::TtlCache<VendorKey> cache_;
};

}  // namespace leadpipe::ingest
