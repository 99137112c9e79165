#include "api_keys.hpp"

#include <pqxx/pqxx>

#include <leadpipe/auth/crypto.hpp>

namespace leadpipe::ingest {

boost::asio::awaitable<std::optional<VendorKey>> ApiKeyDirectory::find(std::string presented_key) {
  // Keys are short; anything huge is not one of ours (and is not hashed for free).
  if (presented_key.empty() || presented_key.size() > 256) co_return std::nullopt;
  const std::string hash = auth::sha256_hex(presented_key);
  if (auto hit = cache_.get(hash)) co_return *hit;
  // Named, not a temporary in the co_await expression (GCC 12 coroutine bug).
  auto query = [hash](pqxx::connection& c) -> std::optional<VendorKey> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(
        "SELECT id::text, tenant, vendor, COALESCE(default_region, '') FROM ingest.vendor_api_keys "
        "WHERE key_hash = $1 AND revoked_at IS NULL",
        hash);
    if (r.empty()) return std::nullopt;
    return VendorKey{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                     r[0][3].as<std::string>()};
  };
  auto key = co_await pool_.async(std::move(query));
  cache_.put(hash, key);
  co_return key;
}

}  // namespace leadpipe::ingest
