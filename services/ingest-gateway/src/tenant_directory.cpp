#include "tenant_directory.hpp"

#include <pqxx/pqxx>

namespace leadpipe::ingest {

std::optional<std::optional<std::string>> TenantDirectory::cached(const std::string& phone_number_id) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = cache_.find(phone_number_id);
  if (it != cache_.end() && it->second.expires > now) return it->second.tenant;
  return std::nullopt;
}

boost::asio::awaitable<std::optional<std::string>> TenantDirectory::tenant_for(
    std::string phone_number_id) {
  if (auto hit = cached(phone_number_id)) co_return std::move(*hit);
  const auto now = std::chrono::steady_clock::now();
  // Named, not a temporary in the co_await expression (GCC 12 coroutine bug).
  auto query = [id = phone_number_id](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT tenant FROM ingest.whatsapp_numbers WHERE phone_number_id = $1", id);
    return r.empty() ? std::optional<std::string>() : r[0][0].as<std::string>();
  };
  auto tenant = co_await pool_.async(std::move(query));
  {
    std::lock_guard lock(mu_);
    if (cache_.size() > 100000) cache_.clear();  // bound memory under abuse
    cache_[phone_number_id] = Entry{tenant, now + ttl_};
  }
  co_return tenant;
}

}  // namespace leadpipe::ingest
