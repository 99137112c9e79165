#pragma once
// JSON helpers for handlers (RapidJSON 1.1).
//
// Reminder (TOOLCHAIN pitfall 2): never compare a rapidjson::Value with a
// primitive (`v == 1` recurses forever in C++20); test the type, then Get*().
#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "leadpipe/http/message.hpp"

namespace leadpipe::http {

// Parses the request body as JSON. Throws HttpError 400 (problem) when the
// Content-Type is not JSON (application/json or application/*+json), the body
// is empty, or it is not well-formed UTF-8 JSON (the detail names the offset).
// Parsing is iterative, so deeply nested input cannot overflow the stack.
rapidjson::Document parse_json_body(const Request& request);
// Same, without the Content-Type check (for providers that send text/plain).
rapidjson::Document parse_json(std::string_view text);

// Compact serialisation.
std::string to_json(const rapidjson::Value& value);

// True for application/json, application/json; charset=utf-8, application/x+json …
bool is_json_content_type(std::string_view content_type);

}  // namespace leadpipe::http
