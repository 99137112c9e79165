#pragma once
// The client address the per-IP limits count, behind reverse proxies.
// X-Forwarded-For / Forwarded (RFC 7239) are believed only when the TCP peer
// is a configured trusted proxy (INGEST_TRUSTED_PROXIES, CIDRs; none by
// default → always the peer address). The chain is then walked from the right
// (the hop our own proxy appended) past trusted proxies, and the right-most
// untrusted hop is the client: whatever a client writes into the header
// itself stays to the left of that and is never reached. Pure, unit-tested.
#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::ingest {

struct Cidr {
  std::array<unsigned char, 16> net{};  // IPv4 stored IPv4-mapped (::ffff:a.b.c.d)
  int prefix = 0;                       // bits, over the 128-bit form
  bool contains(const std::array<unsigned char, 16>& addr) const;
};

// "10.0.0.0/8, 192.168.1.7, 2001:db8::/32" → CIDRs (a bare address is /32 or
// /128). Throws std::invalid_argument naming the bad item.
std::vector<Cidr> parse_cidrs(std::string_view text);

// An IPv4 or IPv6 address in its 16-byte form (IPv4 mapped); nullopt if not an
// address. Accepts "[v6]" and a ":port" suffix on IPv4 / bracketed IPv6.
std::optional<std::array<unsigned char, 16>> parse_ip(std::string_view text);

// Hops of X-Forwarded-For ("a, b, c"), left to right, trimmed.
std::vector<std::string> xff_hops(std::string_view header);
// `for=` values of Forwarded ("for=a;proto=https, for=\"[v6]:port\""), left
// to right, unquoted; an element without `for=` gives "" (an unknown hop).
std::vector<std::string> forwarded_hops(std::string_view header);

// The address to rate-limit. `peer` is the TCP peer. With a trusted peer,
// Forwarded wins over X-Forwarded-For when both are present. A hop that is not
// an address ("unknown", obfuscated, empty) stops the walk: the proxy that
// reported it is the client as far as we can tell. Addresses are returned in
// canonical text form (IPv4-mapped IPv6 as plain IPv4).
std::string client_ip(std::string_view peer, const std::optional<std::string>& forwarded,
                      const std::optional<std::string>& x_forwarded_for, const std::vector<Cidr>& trusted);

}  // namespace leadpipe::ingest
