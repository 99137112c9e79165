#include "leadpipe/http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace leadpipe::http {
namespace {

// Segments of a path that starts with '/': "/a/b/" → {"a", "b", ""}.
// Calls fn(segment) for each; returns false early if fn does.
template <typename Fn>
void for_each_segment(std::string_view path, Fn&& fn) {
  std::string_view rest = path.substr(1);
  for (;;) {
    const auto slash = rest.find('/');
    fn(rest.substr(0, slash));
    if (slash == std::string_view::npos) return;
    rest = rest.substr(slash + 1);
  }
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
         c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '-' ||
         c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
}

bool is_param_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

struct Router::Impl {
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
    std::unique_ptr<Node> param;
    std::vector<const Route*> routes;  // one per method, at the pattern's last segment
  };

  Node root;
  std::vector<std::unique_ptr<Route>> routes;

  // Finds the node for `raw_path`, collecting raw parameter values. Literal
  // children are tried before the parameter child (backtracking when the
  // literal branch dead-ends).
  const Node* find(const Node& node, const std::vector<std::string_view>& segs, std::size_t i,
                   std::vector<std::string_view>& values) const {
    if (i == segs.size()) return node.routes.empty() ? nullptr : &node;
    if (auto it = node.literals.find(segs[i]); it != node.literals.end()) {
      if (const Node* n = find(*it->second, segs, i + 1, values)) return n;
    }
    if (node.param && !segs[i].empty()) {
      values.push_back(segs[i]);
      if (const Node* n = find(*node.param, segs, i + 1, values)) return n;
      values.pop_back();
    }
    return nullptr;
  }

  const Node* find_pattern_node(std::string_view pattern) const {
    const Node* n = &root;
    bool ok = true;
    for_each_segment(pattern, [&](std::string_view seg) {
      if (!ok) return;
      if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
        n = n->param.get();
      } else {
        auto it = n->literals.find(seg);
        n = it == n->literals.end() ? nullptr : it->second.get();
      }
      if (!n) ok = false;
    });
    return ok ? n : nullptr;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::add(std::string method, std::string pattern, Handler h, std::string route_name) {
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
    throw std::invalid_argument("route method is not an HTTP token: '" + method + "'");
  }
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': '" + pattern + "'");
  }
  if (!h) throw std::invalid_argument("route handler is empty: " + method + " " + pattern);
  if (pattern.find_first_of("?#") != std::string::npos) {
    throw std::invalid_argument("route pattern must not contain a query or fragment: '" + pattern + "'");
  }

  auto route = std::make_unique<Route>();
  Impl::Node* node = &impl_->root;
  for_each_segment(pattern, [&](std::string_view seg) {
    if (!seg.empty() && seg.front() == '{') {
      if (seg.size() < 2 || seg.back() != '}' || !is_param_name(seg.substr(1, seg.size() - 2))) {
        throw std::invalid_argument("bad parameter segment '" + std::string(seg) + "' in '" + pattern + "'");
      }
      std::string name(seg.substr(1, seg.size() - 2));
      if (std::find(route->param_names.begin(), route->param_names.end(), name) != route->param_names.end()) {
        throw std::invalid_argument("duplicate parameter '" + name + "' in '" + pattern + "'");
      }
      route->param_names.push_back(std::move(name));
      if (!node->param) node->param = std::make_unique<Impl::Node>();
      node = node->param.get();
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("parameters must fill a whole segment: '" + pattern + "'");
      }
      auto& child = node->literals[std::string(seg)];
      if (!child) child = std::make_unique<Impl::Node>();
      node = child.get();
    }
  });
  for (const Route* r : node->routes) {
    if (r->method == method) {
      throw std::invalid_argument("duplicate route " + method + " " + pattern + " (already " + r->pattern + ")");
    }
  }
  route->method = std::move(method);
  route->name = route_name.empty() ? pattern : std::move(route_name);
  route->pattern = std::move(pattern);
  route->handler = std::move(h);
  route->index = impl_->routes.size();
  node->routes.push_back(route.get());
  impl_->routes.push_back(std::move(route));
}

Router::Match Router::match(std::string_view method, std::string_view raw_path,
                            std::map<std::string, std::string>& params) const {
  Match m;
  if (raw_path.empty() || raw_path.front() != '/') return m;
  // Paths have a handful of segments; a small vector of views, no copies.
  std::vector<std::string_view> segs;
  segs.reserve(8);
  for_each_segment(raw_path, [&](std::string_view s) { segs.push_back(s); });
  std::vector<std::string_view> values;
  const Impl::Node* node = impl_->find(impl_->root, segs, 0, values);
  if (!node) return m;
  m.path_matched = true;

  const Route* found = nullptr;
  const Route* get_route = nullptr;
  for (const Route* r : node->routes) {
    if (r->method == method) found = r;
    if (r->method == "GET") get_route = r;
  }
  if (!found && method == "HEAD") found = get_route;
  if (!found) {
    bool has_head = false;
    for (const Route* r : node->routes) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += r->method;
      has_head = has_head || r->method == "HEAD";
    }
    if (get_route && !has_head) m.allow += ", HEAD";
    return m;
  }
  m.route = found;
  for (std::size_t i = 0; i < values.size() && i < found->param_names.size(); ++i) {
    std::string decoded;
    if (!percent_decode(values[i], decoded, false)) {
      throw HttpError::bad_request("malformed percent-encoding in path parameter '" + found->param_names[i] + "'");
    }
    params[found->param_names[i]] = std::move(decoded);
  }
  return m;
}

bool Router::contains(std::string_view method, std::string_view pattern) const {
  const Impl::Node* n = impl_->find_pattern_node(pattern);
  if (!n) return false;
  return std::any_of(n->routes.begin(), n->routes.end(), [&](const Route* r) { return r->method == method; });
}

bool Router::set_body_limit(std::string_view pattern, std::size_t limit) {
  bool any = false;
  for (auto& r : impl_->routes) {
    if (r->pattern == pattern) {
      r->body_limit = limit;
      any = true;
    }
  }
  return any;
}

const std::vector<std::unique_ptr<Route>>& Router::routes() const { return impl_->routes; }

}  // namespace leadpipe::http
