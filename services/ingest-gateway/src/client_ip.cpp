#include "client_ip.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace leadpipe::ingest {
namespace {

using Addr = std::array<unsigned char, 16>;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    const auto end = s.find(sep, pos);
    out.push_back(s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return out;
    pos = end + 1;
  }
}

bool is_v4_mapped(const Addr& a) {
  static constexpr unsigned char kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(std::begin(kPrefix), std::end(kPrefix), a.begin());
}

std::string to_text(const Addr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4_mapped(a)) {
    inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  }
  return buf;
}

bool trusted_addr(const std::optional<Addr>& a, const std::vector<Cidr>& trusted) {
  return a && std::any_of(trusted.begin(), trusted.end(), [&](const Cidr& c) { return c.contains(*a); });
}

}  // namespace

bool Cidr::contains(const Addr& addr) const {
  const int full = prefix / 8;
  if (!std::equal(net.begin(), net.begin() + full, addr.begin())) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (net[full] & mask) == (addr[full] & mask);
}

std::optional<Addr> parse_ip(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string s(text);
  if (s.front() == '[') {  // [v6] or [v6]:port
    const auto close = s.find(']');
    if (close == std::string::npos) return std::nullopt;
    const std::string rest = s.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || rest.size() < 2 ||
                          !std::all_of(rest.begin() + 1, rest.end(), [](unsigned char c) { return std::isdigit(c); }))) {
      return std::nullopt;
    }
    s = s.substr(1, close - 1);
    Addr a{};
    if (inet_pton(AF_INET6, s.c_str(), a.data()) == 1) return a;
    return std::nullopt;
  }
  Addr a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) == 1) return a;
  if (std::count(s.begin(), s.end(), ':') == 1) {  // a.b.c.d:port
    const auto colon = s.find(':');
    const std::string port = s.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return std::nullopt;
    }
    s = s.substr(0, colon);
  }
  a = Addr{};
  a[10] = 0xff;
  a[11] = 0xff;
  if (inet_pton(AF_INET, s.c_str(), a.data() + 12) == 1) return a;
  return std::nullopt;
}

std::vector<Cidr> parse_cidrs(std::string_view text) {
  std::vector<Cidr> out;
  if (trim(text).empty()) return out;
  for (auto item : split(text, ',')) {
    item = trim(item);
    const auto slash = item.find('/');
    const auto addr_text = item.substr(0, slash);
    // Bracketed or ported forms make no sense in a CIDR list.
    const bool plain = !addr_text.empty() && addr_text.front() != '[' &&
                       (addr_text.find('.') == std::string_view::npos || addr_text.find(':') == std::string_view::npos);
    const auto addr = plain ? parse_ip(addr_text) : std::nullopt;
    if (!addr) throw std::invalid_argument("not an IP address or CIDR: '" + std::string(item) + "'");
    const bool v4 = is_v4_mapped(*addr) && addr_text.find(':') == std::string_view::npos;
    int bits = v4 ? 32 : 128;
    if (slash != std::string_view::npos) {
      const auto p = item.substr(slash + 1);
      if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); }) ||
          std::stoi(std::string(p)) > bits) {
        throw std::invalid_argument("bad prefix length in '" + std::string(item) + "'");
      }
      bits = std::stoi(std::string(p));
    }
    Cidr c;
    c.net = *addr;
    c.prefix = v4 ? 96 + bits : bits;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> xff_hops(std::string_view header) {
  std::vector<std::string> out;
  for (auto hop : split(header, ',')) out.emplace_back(trim(hop));
  return out;
}

std::vector<std::string> forwarded_hops(std::string_view header) {
  std::vector<std::string> out;
  for (auto element : split(header, ',')) {
    std::string value;
    for (auto pair : split(element, ';')) {
      pair = trim(pair);
      if (pair.size() < 4) continue;
      std::string name(pair.substr(0, 4));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (name != "for=") continue;
      auto v = trim(pair.substr(4));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      value = std::string(v);
    }
    out.push_back(std::move(value));
  }
  return out;
}

std::string client_ip(std::string_view peer, const std::optional<std::string>& forwarded,
                      const std::optional<std::string>& x_forwarded_for, const std::vector<Cidr>& trusted) {
  auto current = parse_ip(peer);
  if (!current) return std::string(peer);
  if (!trusted_addr(current, trusted)) return to_text(*current);
  std::vector<std::string> hops;
  if (forwarded && !trim(*forwarded).empty()) {
    hops = forwarded_hops(*forwarded);
  } else if (x_forwarded_for && !trim(*x_forwarded_for).empty()) {
    hops = xff_hops(*x_forwarded_for);
  }
  // Right to left: each hop is who the (trusted) hop to its right saw.
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    const auto hop = parse_ip(*it);
    if (!hop) break;  // unknown/obfuscated: stop at the proxy that said so
    current = hop;
    if (!trusted_addr(current, trusted)) break;
  }
  return to_text(*current);
}

}  // namespace leadpipe::ingest
