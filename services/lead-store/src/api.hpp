#pragma once
// The CRM API (see proto/openapi/lead-store.yaml). Every route authenticates
// the bearer JWT and scopes every query to the token's tenant; a counsellor
// only sees leads assigned to them. Database work runs on the pool's workers.
#include <memory>

#include <leadpipe/auth/jwt.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/pg/pool.hpp>

#include "lead.hpp"

namespace leadpipe::leads {

struct ApiDeps {
  pg::Pool& pool;
  const auth::JwtVerifier& verifier;
  Pipeline pipeline = Pipeline::admissions();  // unused: each tenant's pipeline is loaded per request
  log::Logger logger;
  std::string default_region = "ID";            // region of phone numbers written without +
};

void add_api_routes(http::Router& router, std::shared_ptr<ApiDeps> deps);

}  // namespace leadpipe::leads
