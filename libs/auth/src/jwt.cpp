#include "leadpipe/auth/jwt.hpp"

#include <jwt.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "leadpipe/auth/crypto.hpp"

namespace leadpipe::auth {
namespace {

// Larger tokens are not ours; refuse before doing any work on them.
constexpr std::size_t kMaxTokenBytes = 8192;

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

std::optional<Principal> reject(std::string* why, const char* reason) {
  if (why) *why = reason;
  return std::nullopt;
}

long long to_unix(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A claim that must be a non-empty string; nullopt otherwise.
std::optional<std::string> string_claim(const rapidjson::Document& claims, const char* name) {
  const auto it = claims.FindMember(name);
  if (it == claims.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional): nullopt
// when absent; `bad` set when present but not a finite number in range.
std::optional<double> time_claim(const rapidjson::Document& claims, const char* name, bool& bad) {
  bad = false;
  const auto it = claims.FindMember(name);
  if (it == claims.MemberEnd()) return std::nullopt;
  if (!it->value.IsNumber()) {
    bad = true;
    return std::nullopt;
  }
  const double v = it->value.GetDouble();
  if (!(v >= 0 && v < 1e13)) {
    bad = true;
    return std::nullopt;
  }
  return v;
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

std::optional<Role> parse_role(std::string_view text) {
  if (text == "counselor") return Role::counselor;
  if (text == "marketing") return Role::marketing;
  if (text == "sales_head") return Role::sales_head;
  if (text == "admission_admin") return Role::admission_admin;
  if (text == "admin") return Role::admin;
  return std::nullopt;
}

std::string_view to_string(Role role) {
  switch (role) {
    case Role::counselor: return "counselor";
    case Role::marketing: return "marketing";
    case Role::sales_head: return "sales_head";
    case Role::admission_admin: return "admission_admin";
    case Role::admin: return "admin";
  }
  return "unknown";
}

// Why a token is not valid at now_s (seconds since the epoch), or nullptr:
// the one check of exp / nbf, for a token read afresh and for one remembered.
namespace {
const char* outside_validity(double now_s, double leeway, double exp, const std::optional<double>& nbf) {
  if (now_s >= exp + leeway) return "token expired";
  if (nbf && now_s + leeway < *nbf) return "token not yet valid";
  return nullptr;
}
}  // namespace

// Tokens that verified, by the SHA-256 of their text (never the token
// itself: the map's string comparisons then cannot hint at a stored token's
// bytes), with what verify_uncached read from them.
struct JwtVerifier::Verified {
  static constexpr std::size_t kMaxTokens = 10000;
  struct Entry {
    Principal principal;
    double exp = 0;
    std::optional<double> nbf;
  };
  std::mutex mu;
  std::unordered_map<std::string, Entry> tokens;
};

JwtVerifier::JwtVerifier(std::string secret, std::string issuer)
    : secret_(std::move(secret)), issuer_(std::move(issuer)), verified_(std::make_shared<Verified>()) {
  if (secret_.empty()) throw std::invalid_argument("JwtVerifier: the secret is empty");
}

std::size_t JwtVerifier::remembered_tokens() const {
  std::lock_guard lock(verified_->mu);
  return verified_->tokens.size();
}

JwtVerifier& JwtVerifier::set_leeway(std::chrono::seconds leeway) {
  leeway_ = leeway < std::chrono::seconds(0) ? std::chrono::seconds(0) : leeway;
  return *this;
}

std::optional<Principal> JwtVerifier::verify(std::string_view token, std::string* why) const {
  return verify_at(token, std::chrono::system_clock::now(), why);
}

std::optional<Principal> JwtVerifier::verify_at(std::string_view token, std::chrono::system_clock::time_point now,
                                                std::string* why) const {
  if (token.empty()) return reject(why, "empty token");
  if (token.size() > kMaxTokenBytes) return reject(why, "token too large");
  const double now_s = static_cast<double>(to_unix(now));
  const double leeway = static_cast<double>(leeway_.count());
  const std::string key = sha256_hex(token);
  {
    std::lock_guard lock(verified_->mu);
    if (const auto it = verified_->tokens.find(key); it != verified_->tokens.end()) {
      const auto& e = it->second;
      if (const char* invalid = outside_validity(now_s, leeway, e.exp, e.nbf)) {
        if (now_s >= e.exp + leeway) verified_->tokens.erase(it);  // expired for good
        return reject(why, invalid);
      }
      return e.principal;
    }
  }
  double exp = 0;
  std::optional<double> nbf;
  auto principal = verify_uncached(token, now, why, &exp, &nbf);
  if (principal) {
    std::lock_guard lock(verified_->mu);
    if (verified_->tokens.size() >= Verified::kMaxTokens) verified_->tokens.clear();
    verified_->tokens.insert_or_assign(key, Verified::Entry{*principal, exp, nbf});
  }
  return principal;
}

std::optional<Principal> JwtVerifier::verify_uncached(std::string_view token, std::chrono::system_clock::time_point now,
                                                      std::string* why, double* exp_out,
                                                      std::optional<double>* nbf_out) const {

  // 1. Shape: header.payload.signature, all three non-empty.
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return reject(why, "malformed token");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view signing_input = token.substr(0, dot2);
  const std::string_view sig_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || dot2 == dot1 + 1) return reject(why, "malformed token");
  if (sig_b64.empty()) return reject(why, "unsigned token");

  // 2. Our own look at the header before any library sees the key: only
  //    HS256 is acceptable, so "none" and algorithm-confusion tricks end here.
  std::string header_json;
  if (!base64url_decode(header_b64, header_json)) return reject(why, "malformed token header");
  rapidjson::Document header;
  header.Parse(header_json.data(), header_json.size());
  if (header.HasParseError() || !header.IsObject()) return reject(why, "malformed token header");
  const auto alg = header.FindMember("alg");
  if (alg == header.MemberEnd() || !alg->value.IsString()) return reject(why, "token header has no alg");
  if (std::string_view(alg->value.GetString(), alg->value.GetStringLength()) != "HS256") {
    return reject(why, "unsupported token algorithm (only HS256)");
  }
  if (const auto typ = header.FindMember("typ"); typ != header.MemberEnd()) {
    if (!typ->value.IsString() || !iequals(typ->value.GetString(), "JWT")) return reject(why, "unsupported token type");
  }
  if (header.HasMember("crit")) return reject(why, "unsupported critical token header");

  // 3. Signature, compared in constant time.
  std::string sig;
  if (!base64url_decode(sig_b64, sig) || sig.size() != 32) return reject(why, "malformed token signature");
  if (!constant_time_equal(sig, hmac_sha256(secret_, signing_input))) return reject(why, "bad token signature");

  // 4. A second opinion from libjwt on structure and signature.
  jwt_t* raw = nullptr;
  const std::string token_str(token);
  if (jwt_decode(&raw, token_str.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                 static_cast<int>(secret_.size())) != 0 ||
      !raw) {
    if (raw) jwt_free(raw);
    return reject(why, "malformed token payload");
  }
  const JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return reject(why, "unsupported token algorithm (only HS256)");

  // 5. Claims, with exact JSON types (libjwt 1.10 reads a string "exp" as 0).
  std::string payload_json;
  if (!base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_json)) {
    return reject(why, "malformed token payload");
  }
  rapidjson::Document claims;
  claims.Parse(payload_json.data(), payload_json.size());
  if (claims.HasParseError() || !claims.IsObject()) return reject(why, "malformed token payload");

  const double now_s = static_cast<double>(to_unix(now));
  const double leeway = static_cast<double>(leeway_.count());
  bool bad = false;
  const auto exp = time_claim(claims, "exp", bad);
  if (bad) return reject(why, "malformed exp claim");
  if (!exp) return reject(why, "token has no exp claim");
  const auto nbf = time_claim(claims, "nbf", bad);
  if (bad) return reject(why, "malformed nbf claim");
  if (const char* invalid = outside_validity(now_s, leeway, *exp, nbf)) return reject(why, invalid);
  *exp_out = *exp;
  *nbf_out = nbf;

  if (!issuer_.empty()) {
    const auto iss = string_claim(claims, "iss");
    if (!iss || *iss != issuer_) return reject(why, "wrong token issuer");
  }

  Principal p;
  auto sub = string_claim(claims, "sub");
  if (!sub) return reject(why, "token has no sub claim");
  auto tenant = string_claim(claims, "tenant");
  if (!tenant) return reject(why, "token has no tenant claim");
  const auto role_text = string_claim(claims, "role");
  if (!role_text) return reject(why, "token has no role claim");
  const auto role = parse_role(*role_text);
  if (!role) return reject(why, "token has an unknown role");
  p.subject = std::move(*sub);
  p.tenant = std::move(*tenant);
  p.role = *role;
  return p;
}

std::string issue_token_at(const std::string& secret, const Principal& principal,
                           std::chrono::system_clock::time_point issued_at, std::chrono::seconds ttl,
                           const std::string& issuer, std::optional<std::chrono::system_clock::time_point> not_before) {
  if (secret.empty()) throw std::invalid_argument("issue_token: the secret is empty");
  if (principal.subject.empty()) throw std::invalid_argument("issue_token: the subject is empty");
  if (principal.tenant.empty()) throw std::invalid_argument("issue_token: the tenant is empty");

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0 || !raw) throw std::runtime_error("jwt_new failed");
  JwtPtr jwt(raw);
  const long iat = static_cast<long>(to_unix(issued_at));
  const std::string role(to_string(principal.role));
  int rc = 0;
  rc |= jwt_add_grant(jwt.get(), "sub", principal.subject.c_str());
  rc |= jwt_add_grant(jwt.get(), "tenant", principal.tenant.c_str());
  rc |= jwt_add_grant(jwt.get(), "role", role.c_str());
  rc |= jwt_add_grant_int(jwt.get(), "iat", iat);
  rc |= jwt_add_grant_int(jwt.get(), "exp", iat + static_cast<long>(ttl.count()));
  if (not_before) rc |= jwt_add_grant_int(jwt.get(), "nbf", static_cast<long>(to_unix(*not_before)));
  if (!issuer.empty()) rc |= jwt_add_grant(jwt.get(), "iss", issuer.c_str());
  rc |= jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size()));
  if (rc != 0) throw std::runtime_error("issue_token: building the token failed");
  char* encoded = jwt_encode_str(jwt.get());
  if (!encoded) throw std::runtime_error("issue_token: encoding the token failed");
  std::string out(encoded);
  std::free(encoded);  // libjwt 1.10 has no jwt_free_str; it allocates with malloc
  return out;
}

std::string issue_token(const std::string& secret, const Principal& principal, std::chrono::seconds ttl,
                        const std::string& issuer) {
  return issue_token_at(secret, principal, std::chrono::system_clock::now(), ttl, issuer);
}

Principal authenticate(const http::Request& request, const JwtVerifier& verifier) {
  const auto header = request.header_view("Authorization");
  if (!header) throw http::HttpError::unauthorized("A bearer token is required.");
  std::string_view value = *header;
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme) ||
      (value[scheme.size()] != ' ' && value[scheme.size()] != '\t')) {
    throw http::HttpError::unauthorized("The Authorization header must be 'Bearer <token>'.");
  }
  value.remove_prefix(scheme.size());
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);

  std::string why;
  auto principal = verifier.verify(value, &why);
  if (!principal) {
    // RFC 6750 §3: error="invalid_token" tells clients to get a new token.
    http::HttpError err(401, "Unauthorized", "Invalid bearer token: " + why + ".");
    err.with_header("WWW-Authenticate", R"(Bearer error="invalid_token")");
    throw err;
  }
  return std::move(*principal);
}

void require_role(const Principal& principal, std::initializer_list<Role> allowed) {
  for (Role r : allowed) {
    if (r == principal.role) return;
  }
  std::string need;
  for (Role r : allowed) {
    if (!need.empty()) need += ", ";
    need += to_string(r);
  }
  throw http::HttpError::forbidden("The role '" + std::string(to_string(principal.role)) +
                                   "' may not do this; it needs one of: " + need + ".");
}

}  // namespace leadpipe::auth
