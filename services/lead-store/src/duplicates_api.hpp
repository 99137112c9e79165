#pragma once
// Duplicate candidates (duplicates.hpp): GET /api/v1/leads/duplicates
// [?status=open|dismissed|merged&limit=&cursor=] → {"items", "next_cursor",
// "total"}, pairs whose two leads are inside the caller's scope; and
// POST /api/v1/leads/duplicates/{id}/dismiss (the roles that may merge).
// Merging uses POST /api/v1/leads/{id}/merge, which marks the pair merged.
#include <memory>

#include "api.hpp"

namespace leadpipe::leads {

void add_duplicate_routes(http::Router& router, std::shared_ptr<ApiDeps> deps);

}  // namespace leadpipe::leads
