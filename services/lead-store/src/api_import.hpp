#pragma once
// CSV import and export routes of the CRM API (proto/openapi/lead-store.yaml):
//   POST /api/v1/leads/import[?dry_run=true]  text/csv body → counts + per-row outcome
// Roles: admin, sales_head (into their own pool), admission_admin.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

#include "api.hpp"

namespace leadpipe::leads {

struct ImportConfig {
  std::size_t max_rows = 200'000;  // records after the header
};

// `registry` may be null (tests that only list the routes).
void add_import_routes(http::Router& router, std::shared_ptr<ApiDeps> deps,
                       const std::shared_ptr<prometheus::Registry>& registry, ImportConfig config = {});

}  // namespace leadpipe::leads
