#include "call_integrations.hpp"

#include <pqxx/pqxx>

namespace leadpipe::ingest {

boost::asio::awaitable<std::optional<CallIntegration>> CallIntegrations::find(std::string integration_id) {
  if (integration_id.empty() || integration_id.size() > 64) co_return std::nullopt;
  if (auto hit = cache_.get(integration_id)) co_return *hit;
  // Named, not a temporary in the co_await expression (GCC 12 coroutine bug).
  auto query = [integration_id](pqxx::connection& c) -> std::optional<CallIntegration> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(
        "SELECT integration_id, tenant, COALESCE(provider, ''), secret FROM ingest.call_integrations "
        "WHERE integration_id = $1 AND revoked_at IS NULL",
        integration_id);
    if (r.empty()) return std::nullopt;
    return CallIntegration{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                           r[0][3].as<std::string>()};
  };
  auto found = co_await pool_.async(std::move(query));
  cache_.put(integration_id, found);
  co_return found;
}

}  // namespace leadpipe::ingest
