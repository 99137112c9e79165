#pragma once
// Method + path-pattern routing.
//
// Patterns are literal segments and whole-segment parameters:
//   "/api/v1/leads", "/api/v1/leads/{id}", "/api/v1/leads/{id}/notes/{note_id}"
// A literal segment beats a parameter at the same position
// ("/leads/export" wins over "/leads/{id}"). Matching is on the raw path's
// segments, so an encoded slash ("%2F") stays inside a parameter value; values
// are percent-decoded afterwards. Trailing slashes are significant.
//
// A HEAD request falls back to the GET route (the body is dropped on the wire).
//
// Lifecycle: build a Router at start-up, then move it into the Server; it is
// immutable from then on, so lookups from many I/O threads need no locking.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 need std::exchange declared

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leadpipe/http/message.hpp"

namespace leadpipe::http {

// A handler runs on an I/O thread: it must not block (offload blocking work,
// e.g. PostgreSQL, and co_await the result).
using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

struct Route {
  std::string method;
  std::string pattern;
  std::string name;  // metrics label and access-log `route`; the pattern unless given
  Handler handler;
  std::vector<std::string> param_names;  // in path order
  std::optional<std::size_t> body_limit; // overrides ServerConfig::body_limit
  std::size_t index = 0;                 // dense id, 0..routes().size()-1
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Throws std::invalid_argument for a malformed pattern or method, or a second
  // route for the same method and pattern shape.
  void add(std::string method, std::string pattern, Handler h, std::string route_name = {});

  void get(std::string pattern, Handler h, std::string route_name = {}) {
    add("GET", std::move(pattern), std::move(h), std::move(route_name));
  }
  void post(std::string pattern, Handler h, std::string route_name = {}) {
    add("POST", std::move(pattern), std::move(h), std::move(route_name));
  }
  void put(std::string pattern, Handler h, std::string route_name = {}) {
    add("PUT", std::move(pattern), std::move(h), std::move(route_name));
  }
  void patch(std::string pattern, Handler h, std::string route_name = {}) {
    add("PATCH", std::move(pattern), std::move(h), std::move(route_name));
  }
  void del(std::string pattern, Handler h, std::string route_name = {}) {
    add("DELETE", std::move(pattern), std::move(h), std::move(route_name));
  }

  struct Match {
    const Route* route = nullptr;  // set when method and path matched
    bool path_matched = false;     // true for a 405 (path known, method not)
    std::string allow;             // for a 405: "GET, HEAD, POST"
  };
  // `raw_path` is the target's path before percent-decoding. On a match,
  // `params` receives the decoded parameter values. Throws HttpError 400 on a
  // malformed percent-escape inside a parameter.
  Match match(std::string_view method, std::string_view raw_path,
              std::map<std::string, std::string>& params) const;

  bool contains(std::string_view method, std::string_view pattern) const;
  // Sets the body limit of every method's route with this exact pattern;
  // returns false when no route has it.
  bool set_body_limit(std::string_view pattern, std::size_t limit);
  // Stable addresses: Route pointers stay valid as long as the Router lives.
  const std::vector<std::unique_ptr<Route>>& routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadpipe::http
