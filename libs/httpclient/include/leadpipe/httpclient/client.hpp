#pragma once
// Blocking HTTP(S) client on libcurl, for tests and outbound provider calls
// (Meta Graph API, LLM endpoints, SMS/voice providers).
//
//   auto r = httpclient::request("POST", base_url + "/v19.0/123/messages",
//                                {{"Authorization", "Bearer " + token},
//                                 {"Content-Type", "application/json"}},
//                                body, std::chrono::seconds(10));
//   if (r.status >= 500) …   // HTTP statuses are results, never exceptions
//
// Transport failures (refused, DNS, TLS, timeout, oversized response) throw
// httpclient::Error, whose kind() tells a retryable timeout/connect problem
// from the rest.
//
// Blocking: never call it on an HTTP server I/O thread; run it on a worker
// pool. Thread-safety: a Client may be used from many threads at once; it
// keeps a small pool of libcurl handles so connections (and TLS sessions) are
// reused between requests. The free function uses one process-wide Client.
// Redirects are not followed. TLS peers are verified.
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadpipe::httpclient {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientResponse {
  int status = 0;
  std::string body;
  // Lower-case names; repeated headers are joined with ", " (Set-Cookie too).
  std::map<std::string, std::string> headers;

  // Convenience: headers.find(lower-cased name), or nullptr.
  const std::string* header(std::string_view name) const;
};

class Error : public std::runtime_error {
 public:
  enum class Kind {
    timeout,       // the whole exchange took longer than the timeout
    connect,       // refused, unreachable, DNS failure
    tls,           // handshake or certificate failure
    too_large,     // response body over ClientOptions::max_response_bytes
    invalid,       // bad URL or arguments
    other,         // reset mid-exchange, protocol error …
  };
  Error(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }
  // Worth retrying with backoff (the request may or may not have been seen).
  bool retryable() const noexcept { return kind_ == Kind::timeout || kind_ == Kind::connect || kind_ == Kind::other; }

 private:
  Kind kind_;
};

struct ClientOptions {
  std::size_t max_response_bytes = 32u << 20;  // protects memory from a runaway peer
  std::chrono::milliseconds connect_timeout{3000};  // capped by each request's timeout
  std::string user_agent = "leadpipe-httpclient";
  std::size_t max_idle_handles = 16;  // pooled handles (and their keep-alive connections)
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `method` is any token ("GET", "POST", "PATCH" …); `body` is sent when not
  // empty (and always, empty, for POST/PUT/PATCH). `headers` are sent as given;
  // no Content-Type is added. Throws Error on transport failure.
  ClientResponse request(std::string_view method, const std::string& url, const Headers& headers = {},
                         const std::string& body = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Uses a process-wide Client (default options).
ClientResponse request(std::string_view method, const std::string& url, const Headers& headers = {},
                       const std::string& body = {}, std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace leadpipe::httpclient
