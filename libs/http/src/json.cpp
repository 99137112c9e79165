#include "leadpipe/http/json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace leadpipe::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_json_content_type(std::string_view content_type) {
  const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  if (iequals(media, "application/json")) return true;
  // application/<anything>+json (problem+json, merge-patch+json, cloudevents+json …)
  constexpr std::string_view app = "application/";
  constexpr std::string_view suffix = "+json";
  return media.size() > app.size() + suffix.size() && iequals(media.substr(0, app.size()), app) &&
         iequals(media.substr(media.size() - suffix.size()), suffix);
}

rapidjson::Document parse_json(std::string_view text) {
  if (text.empty()) throw HttpError::bad_request("request body is empty; a JSON document is required");
  rapidjson::Document doc;
  // Iterative: a body of 1 MB of '[' must not recurse a million frames deep.
  // ValidateEncoding: reject invalid UTF-8 up front instead of storing it.
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  doc.Parse<flags>(text.data(), text.size());
  if (doc.HasParseError()) {
    throw HttpError::bad_request(std::string("malformed JSON at offset ") + std::to_string(doc.GetErrorOffset()) +
                                 ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return doc;
}

rapidjson::Document parse_json_body(const Request& request) {
  const auto ct = request.header_view("Content-Type");
  if (!ct) throw HttpError::bad_request("missing Content-Type; expected application/json");
  if (!is_json_content_type(*ct)) {
    throw HttpError::bad_request("unsupported Content-Type '" + std::string(ct->substr(0, 100)) +
                                 "'; expected application/json");
  }
  return parse_json(request.body);
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  value.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace leadpipe::http
