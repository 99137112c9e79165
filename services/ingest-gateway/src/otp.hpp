#pragma once
// Campaign-form OTP rules as pure functions of the state and the time, so the
// TTL, cooldown, window and attempt rules are unit-tested without a database
// or a clock. FormStore applies them inside a PostgreSQL transaction.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clock.hpp"

namespace leadpipe::ingest::otp {

struct Policy {
  std::chrono::seconds ttl{300};
  std::chrono::seconds resend_cooldown{60};
  std::chrono::seconds window{3600};
  int max_per_phone = 5;
  int max_per_ip = 20;
  int max_attempts = 5;
  std::chrono::seconds verified_ttl{30 * 24 * 3600};
};

// Send times of the phone and of the client IP (any order; older ones ignored).
struct History {
  std::vector<TimePoint> phone_sends;
  std::vector<TimePoint> ip_sends;
};

struct SendDecision {
  bool allowed = true;
  std::string reason;  // "cooldown", "phone_limit", "ip_limit" when refused
  std::chrono::seconds retry_after{0};  // ≥ 1 when refused
};

SendDecision decide_send(const History& history, TimePoint now, const Policy& policy);

// Campaign-form submits per phone and per client IP in a sliding window.
struct SubmitPolicy {
  std::chrono::seconds window{3600};
  int max_per_phone = 10;
  int max_per_ip = 60;
};

// Earlier submit attempts (History's fields: this phone's, this IP's).
// Refused reasons: "submit_phone_limit", "submit_ip_limit"; retry_after is
// when the window frees a slot.
SendDecision decide_submit(const History& history, TimePoint now, const SubmitPolicy& policy);

struct Pending {
  std::string code_hash;
  TimePoint expires_at;
  int attempts = 0;
};

enum class VerifyOutcome { verified, wrong_code, expired, no_code, too_many_attempts };

// `attempts` already made (before this one). wrong_code means one more attempt
// is recorded; too_many_attempts means this attempt used the last one (or none
// were left) and the code is burnt.
VerifyOutcome decide_verify(const std::optional<Pending>& pending, std::string_view given_hash, TimePoint now,
                            int max_attempts);

// Six random digits from the CSPRNG (uniform: rejection sampling).
std::string generate_code();

// HMAC-SHA256(pepper, tenant|campaign|phone|code), hex: what is stored.
std::string hash_code(std::string_view pepper, std::string_view tenant, std::string_view campaign,
                      std::string_view phone, std::string_view code);

bool well_formed_code(std::string_view code);

}  // namespace leadpipe::ingest::otp
