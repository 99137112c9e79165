#pragma once
// HTTP request / response values and RFC 9457 problem details.
//
// Deliberately free of Beast and Asio: every handler file includes this, and
// Beast headers cost seconds per translation unit. The server (src/server.cpp)
// converts between these plain values and Beast messages.
//
// Thread-safety: plain values; a Request is owned by one connection and handed
// to one handler at a time.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadpipe::http {

struct Request {
  std::string method;      // "GET", as sent (methods are case-sensitive)
  std::string target;      // raw target including the query, e.g. "/a%20b?x=1"
  std::string path;        // percent-decoded path without the query, e.g. "/a b"
  std::string body;        // raw bytes exactly as received (signatures are checked on these)
  std::string request_id;  // from a sane X-Request-Id header, or generated (uuid v4 form)
  std::string remote_addr; // peer IP address
  std::string route;       // the matched route's name (its pattern unless named otherwise)
  std::map<std::string, std::string> path_params;  // "/api/v1/leads/{id}" → {"id", "…"} (decoded)

  // First header with this name (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  // Same, without a copy; the view lives as long as the Request is not modified.
  std::optional<std::string_view> header_view(std::string_view name) const;
  // Every header in arrival order as (name, value) views.
  std::vector<std::pair<std::string_view, std::string_view>> headers() const;

  // First value of a query parameter, percent-decoded ('+' = space), or nullopt.
  // A parameter without '=' ("?flag") has the empty value.
  std::optional<std::string> query(std::string_view name) const;
  // Every value of a repeated query parameter ("?tag=a&tag=b"), in order.
  std::vector<std::string> query_all(std::string_view name) const;
  // The raw query string after '?', empty when there is none.
  std::string_view query_string() const;

  // Used by the server, and by tests that call handlers directly.
  void add_header(std::string_view name, std::string_view value);
  // Empties every field but keeps the allocated capacity (the server reuses one
  // Request per connection).
  void clear();

 private:
  // All header names and values live in one buffer; refs index into it. One
  // allocation for any number of headers, and copies stay valid.
  struct HeaderRef {
    std::uint32_t name_off, name_len, value_off, value_len;
  };
  std::string header_data_;
  std::vector<HeaderRef> header_refs_;
};

struct StreamBody;  // stream.hpp

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Set by stream_response() (stream.hpp): the body is produced while it is
  // sent, with chunked transfer coding; `body` is then ignored.
  std::shared_ptr<StreamBody> stream;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
  // A response without a body (e.g. 204 No Content, 202 Accepted).
  static Response empty(int status);
};

struct FieldError {
  std::string field;    // JSON pointer-ish path of the offending input, e.g. "phone"
  std::string message;  // client-visible explanation
};

// The standard reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// RFC 9457 problem details (`application/problem+json`):
//   {"type":…, "title":…, "status":…, "detail":…, "errors":[{field,message}], …extra}
// `detail` is left out when empty, `errors` when there are none. `extra_json`,
// when not empty, must be a JSON object whose members are added at the top
// level (e.g. R"({"existing_id":"…"})"); anything else throws
// std::invalid_argument (a programming error, not a client error).
Response problem(int status, std::string_view title, std::string_view detail,
                 std::vector<FieldError> errors = {}, std::string_view extra_json = {},
                 std::string_view type = "about:blank");

// Throw from a handler to answer with a problem. Everything in it is shown to
// the client: never put internal detail (SQL, hostnames, exception text) here.
struct HttpError : std::runtime_error {
  int status;
  std::string title;
  std::string detail;
  std::vector<FieldError> errors;
  std::string extra_json;  // extra top-level members, a JSON object or empty
  std::vector<std::pair<std::string, std::string>> headers;
  std::string type = "about:blank";

  // Title defaults to the reason phrase of `status`.
  HttpError(int status, std::string detail);
  HttpError(int status, std::string title, std::string detail, std::vector<FieldError> errors = {},
            std::string extra_json = {});

  // Chainable before `throw`: throw HttpError(401, "…").with_header("WWW-Authenticate", "Bearer");
  HttpError& with_header(std::string name, std::string value) &;
  HttpError&& with_header(std::string name, std::string value) &&;
  HttpError&& with_type(std::string type) &&;

  Response to_response() const;

  static HttpError bad_request(std::string detail, std::vector<FieldError> errors = {});
  static HttpError unauthorized(std::string detail);  // adds WWW-Authenticate: Bearer
  static HttpError forbidden(std::string detail);
  static HttpError not_found(std::string detail);
  static HttpError conflict(std::string detail, std::string extra_json = {});
  static HttpError unprocessable(std::string detail, std::vector<FieldError> errors = {});
  static HttpError too_many_requests(std::string detail);
  static HttpError unavailable(std::string detail);
};

// Percent-decodes `in` into `out`; '+' becomes a space when `plus_is_space`.
// Returns false on a malformed escape ("%zz", "%4") or an encoded NUL.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace leadpipe::http
