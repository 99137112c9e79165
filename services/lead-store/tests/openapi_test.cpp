#include <catch2/catch.hpp>

#include <leadpipe/testing/openapi.hpp>

#include "api.hpp"
#include "api_import.hpp"
#include "export.hpp"
#include "live.hpp"
#include "merge_api.hpp"
#include "messages_api.hpp"
#include "duplicates_api.hpp"
#include "assignment_rules_api.hpp"

TEST_CASE("proto/openapi/lead-store.yaml documents exactly the routes served", "[unit]") {
  leadpipe::http::Router router;
  leadpipe::leads::add_api_routes(router, nullptr);
  leadpipe::leads::add_import_routes(router, nullptr, nullptr);  // handlers are not invoked
  leadpipe::leads::add_merge_routes(router, nullptr);
  leadpipe::leads::add_export_routes(router, nullptr);
  leadpipe::leads::add_live_routes(router, nullptr, nullptr);
  leadpipe::leads::add_message_routes(router, nullptr);
  leadpipe::leads::add_duplicate_routes(router, nullptr);
  leadpipe::leads::add_assignment_rule_routes(router, nullptr);
  std::set<std::string> served{"GET /healthz", "GET /readyz", "GET /metrics"};
  for (const auto& r : router.routes()) served.insert(r->method + " " + r->pattern);
  CHECK(leadpipe::testing::openapi_operations("lead-store.yaml") == served);
}
