#pragma once
// JSON Schemas of the gateway's own request bodies (proto/api/*.json,
// compiled in): "vendor_lead", "campaign_form".
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include <leadpipe/events/schema.hpp>
#include <leadpipe/http/message.hpp>

namespace leadpipe::ingest {

const events::SchemaSet& api_schemas();

// Turns a SchemaSet message ("/name: violates …", "(root): missing required
// property phone …") into a field error the client can act on.
// Several missing required properties give one error each.
std::vector<http::FieldError> schema_field_errors(const std::string& message,
                                                  const std::string& prefix = "");

// Members of `object` the schema `type` does not list under "properties"
// (the validator's own message does not name them).
std::vector<std::string> unknown_properties(const std::string& type, const rapidjson::Value& object);

}  // namespace leadpipe::ingest
