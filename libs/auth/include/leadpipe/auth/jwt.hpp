#pragma once
// Bearer-token authentication for the CRM APIs: HS256 JWTs carrying
// `sub`, `tenant`, `role` (plus `exp`, optional `nbf`, `iat`, `iss`).
//
//   const auth::JwtVerifier verifier(cfg.jwt_secret, cfg.jwt_issuer);
//   …in a handler:
//   const auth::Principal who = auth::authenticate(req, verifier);     // 401 problem
//   auth::require_role(who, {auth::Role::admission_admin, auth::Role::admin});  // 403 problem
//   …every query scoped to who.tenant
//
// Verification is strict: the header must say alg HS256 (tokens with "none",
// RS256, HS512 … are rejected before any key is used), the signature is
// checked in constant time, `exp` is required, and the claims sub/tenant/role
// must be non-empty strings with a known role.
//
// Thread-safety: share one JwtVerifier across threads. Its settings do not
// change after construction; its memory of verified tokens is guarded by a
// mutex and shared by copies.
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "leadpipe/http/message.hpp"

namespace leadpipe::auth {

enum class Role { counselor, marketing, sales_head, admission_admin, admin };

std::optional<Role> parse_role(std::string_view text);  // exact, lower-case names
std::string_view to_string(Role role);

struct Principal {
  std::string subject;  // `sub`: the user id
  std::string tenant;   // `tenant`: every query is scoped to it
  Role role = Role::counselor;
};

class JwtVerifier {
 public:
  // `secret`: the HS256 key (throws std::invalid_argument when empty).
  // `issuer`: when not empty, tokens must carry exactly this `iss`.
  explicit JwtVerifier(std::string secret, std::string issuer = {});

  // Tolerated clock skew for exp/nbf (default 0).
  JwtVerifier& set_leeway(std::chrono::seconds leeway);

  // The principal, or nullopt with a short reason in *why (safe to log and to
  // show the client: it never contains the token or the secret).
  //
  // A token that verified is remembered (by its SHA-256, up to 10,000 of
  // them, shared by copies of this verifier) with its principal and time
  // claims: the next request with it costs a hash and a lookup instead of
  // two HMACs and three JSON parses, and exp / nbf are still checked against
  // the time of every call. Tokens that fail are not remembered.
  std::optional<Principal> verify(std::string_view token, std::string* why = nullptr) const;
  // Same at a given time (tests, replay tools).
  std::optional<Principal> verify_at(std::string_view token, std::chrono::system_clock::time_point now,
                                     std::string* why = nullptr) const;
  // Tokens remembered as verified (tests).
  std::size_t remembered_tokens() const;

 private:
  std::optional<Principal> verify_uncached(std::string_view token, std::chrono::system_clock::time_point now,
                                           std::string* why, double* exp, std::optional<double>* nbf) const;

  std::string secret_;
  std::string issuer_;
  std::chrono::seconds leeway_{0};
  struct Verified;
  std::shared_ptr<Verified> verified_;
};

// A signed HS256 token with sub, tenant, role, iat, exp = now + ttl and, when
// given, iss. For leadctl dev tokens and tests. Throws std::invalid_argument
// on an empty secret, subject or tenant.
std::string issue_token(const std::string& secret, const Principal& principal, std::chrono::seconds ttl,
                        const std::string& issuer = {});
// Same with an explicit issue time (tests of expiry and nbf).
std::string issue_token_at(const std::string& secret, const Principal& principal,
                           std::chrono::system_clock::time_point issued_at, std::chrono::seconds ttl,
                           const std::string& issuer = {},
                           std::optional<std::chrono::system_clock::time_point> not_before = std::nullopt);

// Reads "Authorization: Bearer <token>" and verifies it. Throws http::HttpError
// 401 (problem, with WWW-Authenticate: Bearer …) when the header is missing,
// not a bearer token, or the token is invalid.
Principal authenticate(const http::Request& request, const JwtVerifier& verifier);

// Throws http::HttpError 403 (problem) unless principal.role is in `allowed`.
void require_role(const Principal& principal, std::initializer_list<Role> allowed);

}  // namespace leadpipe::auth
