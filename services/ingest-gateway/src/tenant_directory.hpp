#pragma once
// phone_number_id → tenant, from ingest.whatsapp_numbers, cached in memory.
// Thread-safe: called concurrently from the HTTP I/O threads; the lookup runs
// on the pool's workers, never on an I/O thread. Unknown numbers are cached
// too (negative answers), so a flood from an unmapped number costs no queries.
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <leadpipe/pg/pool.hpp>

namespace leadpipe::ingest {

class TenantDirectory {
 public:
  TenantDirectory(pg::Pool& pool, std::chrono::seconds ttl) : pool_(pool), ttl_(ttl) {}

  boost::asio::awaitable<std::optional<std::string>> tenant_for(std::string phone_number_id);
  // The remembered answer, if it has not expired, without a coroutine: the
  // outer optional is empty when tenant_for() must ask the database.
  std::optional<std::optional<std::string>> cached(const std::string& phone_number_id);

 private:
  struct Entry {
    std::optional<std::string> tenant;
    std::chrono::steady_clock::time_point expires;
  };
  pg::Pool& pool_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
};

}  // namespace leadpipe::ingest
