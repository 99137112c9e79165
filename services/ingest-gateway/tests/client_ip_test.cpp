#include <catch2/catch.hpp>

#include "client_ip.hpp"

using namespace leadpipe::ingest;

namespace {
const std::optional<std::string> none;
std::optional<std::string> h(const char* v) { return std::string(v); }
}  // namespace

TEST_CASE("trusted proxy list parses CIDRs and bare addresses, refuses junk", "[unit]") {
  CHECK(parse_cidrs("").empty());
  CHECK(parse_cidrs("  ").empty());
  const auto cidrs = parse_cidrs("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,::1");
  REQUIRE(cidrs.size() == 4);
  CHECK(cidrs[0].contains(*parse_ip("10.200.3.4")));
  CHECK_FALSE(cidrs[0].contains(*parse_ip("11.0.0.1")));
  CHECK(cidrs[1].contains(*parse_ip("192.168.1.7")));
  CHECK_FALSE(cidrs[1].contains(*parse_ip("192.168.1.8")));
  CHECK(cidrs[2].contains(*parse_ip("2001:db8:1::5")));
  CHECK_FALSE(cidrs[2].contains(*parse_ip("2001:db9::5")));
  CHECK(cidrs[3].contains(*parse_ip("::1")));
  CHECK(parse_cidrs("0.0.0.0/0")[0].contains(*parse_ip("8.8.8.8")));
  CHECK_FALSE(parse_cidrs("0.0.0.0/0")[0].contains(*parse_ip("2001:db8::1")));  // v4 /0 is not v6
  CHECK(parse_cidrs("172.16.0.0/12")[0].contains(*parse_ip("172.31.255.1")));
  CHECK_FALSE(parse_cidrs("172.16.0.0/12")[0].contains(*parse_ip("172.32.0.1")));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "nope", "10.0.0.1:80", "::1/129", "10.0.0.0/8,", "[::1]"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_cidrs(bad), std::invalid_argument);
  }
}

TEST_CASE("addresses parse with brackets and ports, mapped IPv4 is IPv4", "[unit]") {
  CHECK(parse_ip("1.2.3.4") == parse_ip("::ffff:1.2.3.4"));
  CHECK(parse_ip("1.2.3.4:5678") == parse_ip("1.2.3.4"));
  CHECK(parse_ip("[2001:db8::17]:4711") == parse_ip("2001:db8::17"));
  CHECK(parse_ip("[2001:db8::17]") == parse_ip("2001:db8::17"));
  for (const char* bad : {"", "unknown", "_hidden", "1.2.3", "1.2.3.4:x", "[::1]x", "[::1", "999.1.1.1"}) {
    INFO(bad);
    CHECK_FALSE(parse_ip(bad));
  }
}

TEST_CASE("header hop lists", "[unit]") {
  CHECK(xff_hops(" 1.1.1.1 ,2.2.2.2") == std::vector<std::string>{"1.1.1.1", "2.2.2.2"});
  CHECK(forwarded_hops(R"(for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711", proto=https)") ==
        std::vector<std::string>{"192.0.2.60", "[2001:db8:cafe::17]:4711", ""});
}

TEST_CASE("client address: headers only from trusted proxies, right-most untrusted hop", "[unit]") {
  const auto none_trusted = parse_cidrs("");
  const auto proxies = parse_cidrs("10.0.0.0/8");

  // Default (no trusted proxy): the peer, whatever the headers claim.
  CHECK(client_ip("203.0.113.9", none, h("1.2.3.4"), none_trusted) == "203.0.113.9");
  CHECK(client_ip("::ffff:203.0.113.9", h("for=1.2.3.4"), none, none_trusted) == "203.0.113.9");
  // An untrusted peer cannot spoof, even with proxies configured.
  CHECK(client_ip("203.0.113.9", none, h("1.2.3.4"), proxies) == "203.0.113.9");

  // Behind our proxy: what the proxy saw (its appended right-most hop)...
  CHECK(client_ip("10.0.0.2", none, h("198.51.100.7"), proxies) == "198.51.100.7");
  // ...and a client-written value to its left is ignored.
  CHECK(client_ip("10.0.0.2", none, h("1.2.3.4, 198.51.100.7"), proxies) == "198.51.100.7");
  // Two trusted proxies in a row are skipped.
  CHECK(client_ip("10.0.0.2", none, h("1.2.3.4, 198.51.100.7, 10.0.0.5"), proxies) == "198.51.100.7");
  // Everything trusted: the left-most hop.
  CHECK(client_ip("10.0.0.2", none, h("10.1.1.1, 10.0.0.5"), proxies) == "10.1.1.1");
  // No header from a trusted proxy: the proxy itself.
  CHECK(client_ip("10.0.0.2", none, none, proxies) == "10.0.0.2");
  CHECK(client_ip("10.0.0.2", none, h(""), proxies) == "10.0.0.2");
  // Garbage hop: stop at the proxy that reported it.
  CHECK(client_ip("10.0.0.2", none, h("1.2.3.4, unknown"), proxies) == "10.0.0.2");
  CHECK(client_ip("10.0.0.2", none, h("1.2.3.4, garbage, 10.0.0.7"), proxies) == "10.0.0.7");

  // Forwarded (RFC 7239) wins over X-Forwarded-For; ports and brackets dropped.
  CHECK(client_ip("10.0.0.2", h("for=1.2.3.4, for=\"198.51.100.7:5555\";proto=https"), h("9.9.9.9"), proxies) ==
        "198.51.100.7");
  CHECK(client_ip("10.0.0.2", h("for=\"[2001:db8:cafe::17]:4711\""), none, proxies) == "2001:db8:cafe::17");
  CHECK(client_ip("10.0.0.2", h("for=_hidden"), none, proxies) == "10.0.0.2");

  // IPv6 proxies and canonical output.
  CHECK(client_ip("::1", none, h("2001:DB8::1"), parse_cidrs("::1")) == "2001:db8::1");
}
