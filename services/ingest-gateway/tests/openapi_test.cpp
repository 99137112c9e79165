#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <string>

#include <leadpipe/testing/infra.hpp>
#include <leadpipe/testing/openapi.hpp>

#include "handlers.hpp"

namespace {

// `options:` operations of the document. The shared reader
// (leadpipe::testing::openapi_operations) only collects get/post/put/patch/
// delete, so the CORS preflights are read here with the same layout rules:
// `paths:` at column 0, a path at two spaces, an operation at four.
std::set<std::string> documented_preflights(const std::string& file) {
  std::ifstream in(leadpipe::testing::source_dir() + "/proto/openapi/" + file);
  REQUIRE(in.good());
  std::set<std::string> ops;
  std::string line;
  std::string path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') {
      in_paths = line.rfind("paths:", 0) == 0;
      continue;
    }
    if (!in_paths) continue;
    if (line.size() > 3 && line.compare(0, 3, "  /") == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.rfind("    options:", 0) == 0 && !path.empty()) {
      ops.insert("OPTIONS " + path);
    }
  }
  return ops;
}

}  // namespace

TEST_CASE("proto/openapi/ingest-gateway.yaml documents exactly the routes served", "[unit]") {
  leadpipe::http::Router router;
  leadpipe::ingest::add_routes(router, nullptr);  // handlers are not invoked
  std::set<std::string> served{"GET /healthz", "GET /readyz", "GET /metrics"};
  std::set<std::string> served_preflights;
  for (const auto& r : router.routes()) {
    (r->method == "OPTIONS" ? served_preflights : served).insert(r->method + " " + r->pattern);
  }
  CHECK(leadpipe::testing::openapi_operations("ingest-gateway.yaml") == served);
  // Every CORS preflight route is documented as an `options` operation of its
  // path, and nothing else is: no route escapes the document.
  CHECK_FALSE(served_preflights.empty());
  CHECK(documented_preflights("ingest-gateway.yaml") == served_preflights);
}
