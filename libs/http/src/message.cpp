#include "leadpipe/http/message.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <limits>

namespace leadpipe::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Calls fn(raw_name, raw_value) for each "name=value" pair of a query string
// until fn returns false.
template <typename Fn>
void for_each_query_pair(std::string_view qs, Fn&& fn) {
  while (!qs.empty()) {
    const auto amp = qs.find('&');
    const std::string_view pair = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!fn(name, value)) return;
  }
}

// A query name matches when its decoded form equals `wanted`. Names are
// nearly always plain ASCII, so decode only when an escape is present.
bool query_name_is(std::string_view raw, std::string_view wanted, std::string& scratch) {
  if (raw.find_first_of("%+") == std::string_view::npos) return raw == wanted;
  scratch.clear();
  return percent_decode(raw, scratch, true) && scratch == wanted;
}

void write_str(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.reserve(out.size() + in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;  // fewer than two characters follow
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return false;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// ---- Request -------------------------------------------------------------

std::optional<std::string_view> Request::header_view(std::string_view name) const {
  for (const auto& r : header_refs_) {
    const std::string_view n(header_data_.data() + r.name_off, r.name_len);
    if (iequals(n, name)) return std::string_view(header_data_.data() + r.value_off, r.value_len);
  }
  return std::nullopt;
}

std::optional<std::string> Request::header(std::string_view name) const {
  if (auto v = header_view(name)) return std::string(*v);
  return std::nullopt;
}

std::vector<std::pair<std::string_view, std::string_view>> Request::headers() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(header_refs_.size());
  for (const auto& r : header_refs_) {
    out.emplace_back(std::string_view(header_data_.data() + r.name_off, r.name_len),
                     std::string_view(header_data_.data() + r.value_off, r.value_len));
  }
  return out;
}

void Request::add_header(std::string_view name, std::string_view value) {
  // The header limit (16 KiB by default) keeps offsets far below 4 GiB; guard
  // anyway for callers that build requests by hand.
  if (header_data_.size() + name.size() + value.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("request headers too large");
  }
  HeaderRef r{};
  r.name_off = static_cast<std::uint32_t>(header_data_.size());
  r.name_len = static_cast<std::uint32_t>(name.size());
  header_data_.append(name);
  r.value_off = static_cast<std::uint32_t>(header_data_.size());
  r.value_len = static_cast<std::uint32_t>(value.size());
  header_data_.append(value);
  header_refs_.push_back(r);
}

void Request::clear() {
  method.clear();
  target.clear();
  path.clear();
  body.clear();
  request_id.clear();
  route.clear();
  path_params.clear();
  header_data_.clear();
  header_refs_.clear();
  // remote_addr belongs to the connection and stays.
}

std::string_view Request::query_string() const {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::string_view qs(target);
  qs = qs.substr(q + 1);
  // A fragment never reaches a server, but be strict about what we parse.
  const auto hash = qs.find('#');
  return hash == std::string_view::npos ? qs : qs.substr(0, hash);
}

std::optional<std::string> Request::query(std::string_view name) const {
  std::optional<std::string> result;
  std::string scratch;
  for_each_query_pair(query_string(), [&](std::string_view n, std::string_view v) {
    if (!query_name_is(n, name, scratch)) return true;
    std::string decoded;
    if (!percent_decode(v, decoded, true)) return true;  // skip undecodable values
    result = std::move(decoded);
    return false;
  });
  return result;
}

std::vector<std::string> Request::query_all(std::string_view name) const {
  std::vector<std::string> out;
  std::string scratch;
  for_each_query_pair(query_string(), [&](std::string_view n, std::string_view v) {
    if (query_name_is(n, name, scratch)) {
      std::string decoded;
      if (percent_decode(v, decoded, true)) out.push_back(std::move(decoded));
    }
    return true;
  });
  return out;
}

// ---- Response ------------------------------------------------------------

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

Response problem(int status, std::string_view title, std::string_view detail, std::vector<FieldError> errors,
                 std::string_view extra_json, std::string_view type) {
  rapidjson::Document extra;
  if (!extra_json.empty()) {
    extra.Parse(extra_json.data(), extra_json.size());
    if (extra.HasParseError() || !extra.IsObject()) {
      throw std::invalid_argument("problem(): extra_json must be a JSON object");
    }
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("type");
  write_str(w, type.empty() ? std::string_view("about:blank") : type);
  w.Key("title");
  write_str(w, title);
  w.Key("status");
  w.Int(status);
  if (!detail.empty()) {
    w.Key("detail");
    write_str(w, detail);
  }
  if (!errors.empty()) {
    w.Key("errors");
    w.StartArray();
    for (const auto& e : errors) {
      w.StartObject();
      w.Key("field");
      write_str(w, e.field);
      w.Key("message");
      write_str(w, e.message);
      w.EndObject();
    }
    w.EndArray();
  }
  if (extra.IsObject()) {
    for (auto it = extra.MemberBegin(); it != extra.MemberEnd(); ++it) {
      const std::string_view key(it->name.GetString(), it->name.GetStringLength());
      // The standard members above are not overridable from `extra`.
      if (key == "type" || key == "title" || key == "status" || key == "detail" || key == "errors") continue;
      write_str(w, key);  // a String event in key position is a Key
      it->value.Accept(w);
    }
  }
  w.EndObject();
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

// ---- HttpError -----------------------------------------------------------

HttpError::HttpError(int status_, std::string detail_)
    : HttpError(status_, std::string(reason_phrase(status_)), std::move(detail_)) {}

HttpError::HttpError(int status_, std::string title_, std::string detail_, std::vector<FieldError> errors_,
                     std::string extra_json_)
    : std::runtime_error(title_ + ": " + detail_),
      status(status_),
      title(std::move(title_)),
      detail(std::move(detail_)),
      errors(std::move(errors_)),
      extra_json(std::move(extra_json_)) {}

HttpError& HttpError::with_header(std::string name, std::string value) & {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

HttpError&& HttpError::with_header(std::string name, std::string value) && {
  headers.emplace_back(std::move(name), std::move(value));
  return std::move(*this);
}

HttpError&& HttpError::with_type(std::string type_) && {
  type = std::move(type_);
  return std::move(*this);
}

Response HttpError::to_response() const {
  Response r = problem(status, title, detail, errors, extra_json, type);
  r.headers = headers;
  return r;
}

HttpError HttpError::bad_request(std::string detail, std::vector<FieldError> errors) {
  return HttpError(400, "Bad Request", std::move(detail), std::move(errors));
}
HttpError HttpError::unauthorized(std::string detail) {
  return HttpError(401, std::move(detail)).with_header("WWW-Authenticate", "Bearer");
}
HttpError HttpError::forbidden(std::string detail) { return HttpError(403, std::move(detail)); }
HttpError HttpError::not_found(std::string detail) { return HttpError(404, std::move(detail)); }
HttpError HttpError::conflict(std::string detail, std::string extra_json) {
  return HttpError(409, "Conflict", std::move(detail), {}, std::move(extra_json));
}
HttpError HttpError::unprocessable(std::string detail, std::vector<FieldError> errors) {
  return HttpError(422, "Unprocessable Content", std::move(detail), std::move(errors));
}
HttpError HttpError::too_many_requests(std::string detail) { return HttpError(429, std::move(detail)); }
HttpError HttpError::unavailable(std::string detail) { return HttpError(503, std::move(detail)); }

}  // namespace leadpipe::http
