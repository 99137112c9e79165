#include <catch2/catch.hpp>

#include <leadpipe/testing/openapi.hpp>

#include "handlers.hpp"

TEST_CASE("proto/openapi/ingest-gateway.yaml documents exactly the routes served", "[unit]") {
  leadpipe::http::Router router;
  leadpipe::ingest::add_routes(router, nullptr);  // handlers are not invoked
  std::set<std::string> served{"GET /healthz", "GET /readyz", "GET /metrics"};
  // OPTIONS (CORS preflight) is documented too, but the shared reader only
  // collects get/post/put/patch/delete; compare those.
  for (const auto& r : router.routes()) {
    if (r->method != "OPTIONS") served.insert(r->method + " " + r->pattern);
  }
  CHECK(leadpipe::testing::openapi_operations("ingest-gateway.yaml") == served);
}
