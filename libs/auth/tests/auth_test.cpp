#include <catch2/catch.hpp>

#include <jwt.h>

#include <cstdlib>

#include "leadpipe/auth/crypto.hpp"
#include "leadpipe/auth/jwt.hpp"

using namespace leadpipe;
using namespace leadpipe::auth;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

const std::string kSecret = "test-secret-0123456789abcdef0123456789";

// A token with any header and payload, HMAC-SHA256-signed with `secret`
// (lets tests forge exactly the malformed tokens an attacker would send).
std::string forge(const std::string& header_json, const std::string& payload_json,
                  const std::string& secret = kSecret) {
  const std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

std::string future_exp() { return std::to_string(std::chrono::duration_cast<seconds>((system_clock::now() + hours(1)).time_since_epoch()).count()); }

std::string payload(const std::string& extra = {}) {
  return R"({"sub":"u1","tenant":"acme","role":"counselor","exp":)" + future_exp() + extra + "}";
}

std::string reason(const JwtVerifier& v, const std::string& token) {
  std::string why;
  auto p = v.verify(token, &why);
  REQUIRE_FALSE(p.has_value());
  return why;
}

const Principal kAlice{"alice", "acme", Role::admission_admin};

}  // namespace

TEST_CASE("roles parse and print", "[unit]") {
  for (Role r : {Role::counselor, Role::marketing, Role::sales_head, Role::admission_admin, Role::admin}) {
    CHECK(parse_role(to_string(r)) == r);
  }
  CHECK_FALSE(parse_role("Admin").has_value());
  CHECK_FALSE(parse_role("superuser").has_value());
  CHECK_FALSE(parse_role("").has_value());
}

TEST_CASE("issued tokens verify and carry the principal", "[unit]") {
  const JwtVerifier v(kSecret);
  for (Role r : {Role::counselor, Role::marketing, Role::sales_head, Role::admission_admin, Role::admin}) {
    const std::string token = issue_token(kSecret, Principal{"u-" + std::string(to_string(r)), "t1", r}, hours(1));
    std::string why;
    auto p = v.verify(token, &why);
    INFO(why);
    REQUIRE(p);
    CHECK(p->subject == "u-" + std::string(to_string(r)));
    CHECK(p->tenant == "t1");
    CHECK(p->role == r);
  }
  // A hand-made token with the same claims is accepted too (libjwt is not special).
  CHECK(v.verify(forge(R"({"alg":"HS256","typ":"JWT"})", payload())));
  CHECK(v.verify(forge(R"({"alg":"HS256"})", payload())));

  CHECK_THROWS_AS(JwtVerifier(""), std::invalid_argument);
  CHECK_THROWS_AS(issue_token("", kAlice, hours(1)), std::invalid_argument);
  CHECK_THROWS_AS(issue_token(kSecret, Principal{"", "t", Role::admin}, hours(1)), std::invalid_argument);
  CHECK_THROWS_AS(issue_token(kSecret, Principal{"s", "", Role::admin}, hours(1)), std::invalid_argument);
}

TEST_CASE("signature: other secret and tampering are rejected", "[unit]") {
  const JwtVerifier v(kSecret);
  const std::string other = issue_token("another-secret-entirely-0123456789", kAlice, hours(1));
  CHECK(reason(v, other) == "bad token signature");

  // Swap in a payload claiming admin, keep the original signature.
  const std::string good = issue_token(kSecret, Principal{"bob", "acme", Role::counselor}, hours(1));
  const auto d1 = good.find('.');
  const auto d2 = good.find('.', d1 + 1);
  const std::string evil_payload =
      base64url_encode(R"({"sub":"bob","tenant":"acme","role":"admin","exp":)" + future_exp() + "}");
  const std::string tampered = good.substr(0, d1 + 1) + evil_payload + good.substr(d2);
  CHECK(reason(v, tampered) == "bad token signature");

  // Truncated / extended signature.
  CHECK_FALSE(v.verify(good.substr(0, good.size() - 2)));
  CHECK_FALSE(v.verify(good + "AA"));
}

TEST_CASE("algorithms other than HS256 are rejected, none above all", "[unit]") {
  const JwtVerifier v(kSecret);
  const std::string body = base64url_encode(payload());
  // Classic alg=none: empty signature.
  CHECK(reason(v, base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + body + ".") == "unsigned token");
  // alg=none with a signature part that is not empty.
  CHECK(reason(v, base64url_encode(R"({"alg":"none"})") + "." + body + ".c2ln") ==
        "unsupported token algorithm (only HS256)");
  // Case games and other HMACs, even when correctly keyed with our secret.
  CHECK(reason(v, forge(R"({"alg":"None"})", payload())) == "unsupported token algorithm (only HS256)");
  CHECK(reason(v, forge(R"({"alg":"hs256"})", payload())) == "unsupported token algorithm (only HS256)");
  CHECK(reason(v, forge(R"({"alg":"HS512"})", payload())) == "unsupported token algorithm (only HS256)");
  // Algorithm confusion: RS256 header, HMAC signature with the shared secret.
  CHECK(reason(v, forge(R"({"alg":"RS256"})", payload())) == "unsupported token algorithm (only HS256)");
  CHECK(reason(v, forge(R"({"typ":"JWT"})", payload())) == "token header has no alg");
  CHECK(reason(v, forge(R"({"alg":"HS256","typ":"JWE"})", payload())) == "unsupported token type");
  CHECK(reason(v, forge(R"({"alg":"HS256","crit":["x"]})", payload())) == "unsupported critical token header");

  // A libjwt-made HS512 token with our secret.
  jwt_t* raw = nullptr;
  REQUIRE(jwt_new(&raw) == 0);
  jwt_add_grant(raw, "sub", "u");
  jwt_add_grant(raw, "tenant", "t");
  jwt_add_grant(raw, "role", "admin");
  jwt_add_grant_int(raw, "exp", std::atol(future_exp().c_str()));
  jwt_set_alg(raw, JWT_ALG_HS512, reinterpret_cast<const unsigned char*>(kSecret.data()),
              static_cast<int>(kSecret.size()));
  char* enc = jwt_encode_str(raw);
  REQUIRE(enc);
  const std::string hs512(enc);
  std::free(enc);
  jwt_free(raw);
  CHECK(reason(v, hs512) == "unsupported token algorithm (only HS256)");
}

TEST_CASE("time claims: exp required and enforced, nbf honoured, leeway", "[unit]") {
  JwtVerifier v(kSecret);
  const auto now = system_clock::now();
  const std::string expired = issue_token_at(kSecret, kAlice, now - hours(2), hours(1));
  CHECK(reason(v, expired) == "token expired");
  CHECK(reason(v, issue_token(kSecret, kAlice, seconds(-1))) == "token expired");

  const std::string fresh = issue_token_at(kSecret, kAlice, now, seconds(60));
  CHECK(v.verify_at(fresh, now + seconds(59)));
  CHECK_FALSE(v.verify_at(fresh, now + seconds(61)));

  const std::string later = issue_token_at(kSecret, kAlice, now, hours(1), "", now + seconds(300));
  std::string why;
  CHECK_FALSE(v.verify_at(later, now, &why));
  CHECK(why == "token not yet valid");
  CHECK(v.verify_at(later, now + seconds(301)));

  v.set_leeway(seconds(30));
  CHECK(v.verify_at(fresh, now + seconds(80)));        // within leeway
  CHECK_FALSE(v.verify_at(fresh, now + seconds(95)));  // beyond it
  CHECK(v.verify_at(later, now + seconds(280)));

  const JwtVerifier strict(kSecret);
  CHECK(reason(strict, forge(R"({"alg":"HS256"})", R"({"sub":"u","tenant":"t","role":"admin"})")) ==
        "token has no exp claim");
  CHECK(reason(strict, forge(R"({"alg":"HS256"})", R"({"sub":"u","tenant":"t","role":"admin","exp":"9999999999"})")) ==
        "malformed exp claim");
  CHECK(reason(strict, forge(R"({"alg":"HS256"})", payload(R"(,"nbf":"soon")"))) == "malformed nbf claim");
  CHECK(reason(strict, forge(R"({"alg":"HS256"})", R"({"sub":"u","tenant":"t","role":"admin","exp":-5})")) ==
        "malformed exp claim");
  // NumericDate may be fractional.
  CHECK(strict.verify(forge(R"({"alg":"HS256"})", R"({"sub":"u","tenant":"t","role":"admin","exp":)" + future_exp() + ".5}")));
}

TEST_CASE("a verified token is remembered: same principal, times still checked, nothing else accepted", "[unit]") {
  const JwtVerifier v(kSecret);
  const auto now = system_clock::now();
  const std::string token = issue_token_at(kSecret, kAlice, now, seconds(60));
  CHECK(v.remembered_tokens() == 0);
  auto first = v.verify_at(token, now);
  REQUIRE(first);
  CHECK(v.remembered_tokens() == 1);
  auto again = v.verify_at(token, now + seconds(30));  // from memory
  REQUIRE(again);
  CHECK(again->subject == "alice");
  CHECK(again->tenant == "acme");
  CHECK(again->role == Role::admission_admin);
  CHECK(v.remembered_tokens() == 1);
  // A copy of the verifier shares what it remembers.
  const JwtVerifier copy = v;
  CHECK(copy.verify_at(token, now + seconds(1)));
  CHECK(copy.remembered_tokens() == 1);

  // Its signature changed, or its payload, it is another token: verified afresh, refused.
  std::string tampered = token;
  char& c = tampered[tampered.size() - 5];  // inside the signature, clear of base64's padding bits
  c = c == 'A' ? 'B' : 'A';
  std::string why;
  CHECK_FALSE(v.verify_at(tampered, now, &why));
  CHECK(why == "bad token signature");
  const std::string other_secret = issue_token_at("another-secret-0123456789abcdef012345", kAlice, now, seconds(60));
  CHECK_FALSE(v.verify_at(other_secret, now));
  CHECK(v.remembered_tokens() == 1);  // failures are not remembered

  // Expiry is checked on every call, remembered or not: then it is forgotten.
  CHECK_FALSE(v.verify_at(token, now + seconds(61), &why));
  CHECK(why == "token expired");
  CHECK(v.remembered_tokens() == 0);

  // nbf too.
  const std::string later = issue_token_at(kSecret, kAlice, now, hours(1), "", now + seconds(300));
  CHECK(v.verify_at(later, now + seconds(301)));
  CHECK_FALSE(v.verify_at(later, now, &why));  // remembered, but not valid yet at `now`
  CHECK(why == "token not yet valid");
}

TEST_CASE("claims: sub, tenant and a known role are required", "[unit]") {
  const JwtVerifier v(kSecret);
  const std::string h = R"({"alg":"HS256","typ":"JWT"})";
  const std::string exp = future_exp();
  CHECK(reason(v, forge(h, R"({"tenant":"t","role":"admin","exp":)" + exp + "}")) == "token has no sub claim");
  CHECK(reason(v, forge(h, R"({"sub":"","tenant":"t","role":"admin","exp":)" + exp + "}")) ==
        "token has no sub claim");
  CHECK(reason(v, forge(h, R"({"sub":"u","role":"admin","exp":)" + exp + "}")) == "token has no tenant claim");
  CHECK(reason(v, forge(h, R"({"sub":"u","tenant":"t","exp":)" + exp + "}")) == "token has no role claim");
  CHECK(reason(v, forge(h, R"({"sub":"u","tenant":"t","role":"superuser","exp":)" + exp + "}")) ==
        "token has an unknown role");
  CHECK(reason(v, forge(h, R"({"sub":"u","tenant":"t","role":5,"exp":)" + exp + "}")) == "token has no role claim");
  CHECK(reason(v, forge(h, R"({"sub":"u","tenant":["t"],"role":"admin","exp":)" + exp + "}")) ==
        "token has no tenant claim");
}

TEST_CASE("issuer is checked when configured", "[unit]") {
  const JwtVerifier v(kSecret, "leadpipe");
  CHECK(v.verify(issue_token(kSecret, kAlice, hours(1), "leadpipe")));
  CHECK(reason(v, issue_token(kSecret, kAlice, hours(1), "someone-else")) == "wrong token issuer");
  CHECK(reason(v, issue_token(kSecret, kAlice, hours(1))) == "wrong token issuer");
  // Without a configured issuer any iss is fine.
  CHECK(JwtVerifier(kSecret).verify(issue_token(kSecret, kAlice, hours(1), "whoever")));
}

TEST_CASE("malformed tokens are rejected without crashing", "[unit]") {
  const JwtVerifier v(kSecret);
  for (const std::string& t : std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "..", "a..c", ".b.c", "!!!.b.c", "e30.e30.", "e30.e30.AAAA",
        std::string(10000, 'a'), base64url_encode("not json") + "." + base64url_encode("{}") + ".AAAA",
        forge(R"({"alg":"HS256"})", "not json"), forge(R"({"alg":"HS256"})", "[1,2]")}) {
    INFO(t.substr(0, 80));
    CHECK_FALSE(v.verify(t));
  }
}

TEST_CASE("authenticate reads the bearer token, require_role gates", "[unit]") {
  const JwtVerifier v(kSecret);
  auto status_and_challenge = [&](const http::Request& req) -> std::pair<int, std::string> {
    try {
      authenticate(req, v);
    } catch (const http::HttpError& e) {
      std::string challenge;
      for (const auto& [k, val] : e.headers) {
        if (k == "WWW-Authenticate") challenge = val;
      }
      CHECK(e.to_response().content_type == "application/problem+json");
      return {e.status, challenge};
    }
    return {0, ""};
  };

  http::Request none;
  CHECK(status_and_challenge(none) == std::pair<int, std::string>{401, "Bearer"});
  http::Request basic;
  basic.add_header("Authorization", "Basic dXNlcjpwYXNz");
  CHECK(status_and_challenge(basic).first == 401);
  http::Request empty_bearer;
  empty_bearer.add_header("Authorization", "Bearer ");
  CHECK(status_and_challenge(empty_bearer).first == 401);
  http::Request bad;
  bad.add_header("Authorization", "Bearer " + issue_token("wrong-secret-0123456789abcdef", kAlice, hours(1)));
  CHECK(status_and_challenge(bad) == std::pair<int, std::string>{401, R"(Bearer error="invalid_token")"});

  http::Request good;
  good.add_header("authorization", "bearer  " + issue_token(kSecret, kAlice, hours(1)) + " ");
  const Principal p = authenticate(good, v);
  CHECK(p.subject == "alice");
  CHECK(p.tenant == "acme");
  CHECK(p.role == Role::admission_admin);

  CHECK_NOTHROW(require_role(p, {Role::admission_admin, Role::admin}));
  try {
    require_role(p, {Role::admin});
    FAIL("no exception");
  } catch (const http::HttpError& e) {
    CHECK(e.status == 403);
    CHECK(e.to_response().content_type == "application/problem+json");
    CHECK_THAT(e.detail, Catch::Contains("admission_admin"));
  }
}

TEST_CASE("crypto helpers match known vectors", "[unit]") {
  // RFC 4231 test case 2.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256_hex("", "") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(hmac_sha256("Jefe", "what do ya want for nothing?").size() == 32);
  // FIPS 180-2 examples.
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("sha256=abc", "sha256=abc"));
  CHECK_FALSE(constant_time_equal("sha256=abc", "sha256=abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  CHECK_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));

  CHECK(to_hex(std::string("\x00\xff\x10", 3)) == "00ff10");
  const std::string raw("\x00\xff\x10\xab", 4);
  CHECK(hex_equal("00ff10ab", raw));
  CHECK(hex_equal("00FF10AB", raw));
  CHECK(hex_equal("00Ff10aB", raw));
  CHECK_FALSE(hex_equal("00ff10ac", raw));
  CHECK_FALSE(hex_equal("00ff10a", raw));    // short
  CHECK_FALSE(hex_equal("00ff10ab0", raw));  // long
  CHECK_FALSE(hex_equal("00ff10ag", raw));   // not hex
  CHECK_FALSE(hex_equal("0 ff10ab", raw));
  CHECK(hex_equal("", ""));
  CHECK(random_bytes(16).size() == 16);
  CHECK(random_bytes(16) != random_bytes(16));

  std::string out;
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    REQUIRE(base64url_decode(base64url_encode(s), out));
    CHECK(out == s);
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("Zm9v=", out));  // padding is not base64url-in-JWT
  CHECK_FALSE(base64url_decode("Zm+v", out));   // '+' is standard base64, not url
  CHECK_FALSE(base64url_decode("Z", out));      // impossible length
  CHECK_FALSE(base64url_decode("Zh", out));     // non-zero trailing bits
}
