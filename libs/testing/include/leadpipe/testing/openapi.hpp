#pragma once
// Reads the operations ("GET /api/v1/leads/{id}") of an OpenAPI 3 YAML
// document under proto/openapi/, so each service's test can check that the
// document and the router describe the same API.
#include <set>
#include <string>

namespace leadpipe::testing {

// Operations of proto/openapi/<file>, e.g. "POST /webhooks/whatsapp".
std::set<std::string> openapi_operations(const std::string& file);

}  // namespace leadpipe::testing
