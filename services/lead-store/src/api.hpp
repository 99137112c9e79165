#pragma once
// The CRM API (see proto/openapi/lead-store.yaml). Every route authenticates
// the bearer JWT and scopes every query to the token's tenant; a counsellor
// only sees leads assigned to them. Database work runs on the pool's workers.
#include <memory>

#include <leadpipe/auth/jwt.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/pg/pool.hpp>
#include <leadpipe/runtime/ttl_cache.hpp>

#include "lead.hpp"
#include "repository.hpp"

namespace leadpipe::leads {

struct ApiDeps {
  pg::Pool& pool;  // CRM requests: short statements, a few connections (LEADSTORE_PG_POOL_SIZE)
  const auth::JwtVerifier& verifier;
  log::Logger logger;
  std::string default_region = "ID";            // region of phone numbers written without +
  // Work that holds a connection for seconds (a CSV import: 20 s for 100,000
  // rows) runs here instead, so it cannot take one of `pool`'s few
  // connections from the board's requests. nullptr: `pool`.
  pg::Pool* bulk_pool = nullptr;
  pg::Pool& bulk() const { return bulk_pool ? *bulk_pool : pool; }
  // List pages whose plan is the same for every value of their parameters
  // (repo::plan_is_value_independent) run here: connections with generic
  // plans (pg::PoolConfig::generic_plans), so each prepared page is planned
  // once per connection. Nothing else may run on them. nullptr: `pool`.
  pg::Pool* board_pool = nullptr;
  // Tenant pipelines for read paths (the list's view=actionable and stage
  // names, counts, export): a list request costs no pipeline read. Writes
  // (stage moves, merges, pipeline edits) read the stored definition in their
  // own transaction. PUT /api/v1/pipeline forgets the tenant's entry here;
  // other instances see a change within the TTL (LEADSTORE_PIPELINE_CACHE_MS).
  std::shared_ptr<runtime::TtlCache<Pipeline>> pipelines =
      std::make_shared<runtime::TtlCache<Pipeline>>(std::chrono::seconds(5), 10000);
  // The list's planner estimates for its totals (repo::EstimateCache;
  // LEADSTORE_ESTIMATE_CACHE_MS): a board refreshed every few seconds runs
  // its page, not an EXPLAIN as well. Exact counts are never cached.
  std::shared_ptr<repo::EstimateCache> estimates =
      std::make_shared<repo::EstimateCache>(std::chrono::seconds(10), 10000);
};

// The tenant's pipeline through deps.pipelines (read paths only).
Pipeline cached_pipeline(const ApiDeps& deps, pqxx::transaction_base& tx, const std::string& tenant);

void add_api_routes(http::Router& router, std::shared_ptr<ApiDeps> deps);

// GET /api/v1/leads's query parsing (filters, search, sort; role scope from
// the token), shared with the CSV export so both select exactly the same
// leads. 400 problem on invalid parameters.
repo::ListQuery parse_list_request(const http::Request& req, const auth::Principal& who);
// Resolves view=actionable / checks stage names against the tenant's pipeline (400).
void resolve_list_stages(repo::ListQuery& q, const Pipeline& pipeline);

}  // namespace leadpipe::leads
