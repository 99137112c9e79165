#include "otp.hpp"

#include <algorithm>
#include <cstdint>

#include <leadpipe/auth/crypto.hpp>

namespace leadpipe::ingest::otp {
namespace {

std::chrono::seconds ceil_seconds(std::chrono::nanoseconds d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d);
  return std::max(s, std::chrono::seconds(1));
}

// Refusal when `sends` already holds `max` sends inside the window ending now.
std::optional<std::chrono::seconds> window_full(const std::vector<TimePoint>& sends, TimePoint now,
                                                std::chrono::seconds window, int max) {
  std::vector<TimePoint> recent;
  for (auto t : sends) {
    if (t > now - window && t <= now) recent.push_back(t);
  }
  if (static_cast<int>(recent.size()) < max) return std::nullopt;
  std::sort(recent.begin(), recent.end());
  // The window frees a slot when the (size - max + 1)-th most recent send leaves it.
  const TimePoint frees = recent[recent.size() - static_cast<std::size_t>(max)] + window;
  return ceil_seconds(frees - now);
}

}  // namespace

SendDecision decide_send(const History& history, TimePoint now, const Policy& policy) {
  SendDecision d;
  std::optional<TimePoint> last;
  for (auto t : history.phone_sends) {
    if (t <= now && (!last || t > *last)) last = t;
  }
  if (last && *last + policy.resend_cooldown > now) {
    return {false, "cooldown", ceil_seconds(*last + policy.resend_cooldown - now)};
  }
  if (auto wait = window_full(history.phone_sends, now, policy.window, policy.max_per_phone)) {
    return {false, "phone_limit", *wait};
  }
  if (auto wait = window_full(history.ip_sends, now, policy.window, policy.max_per_ip)) {
    return {false, "ip_limit", *wait};
  }
  return d;
}

SendDecision decide_submit(const History& history, TimePoint now, const SubmitPolicy& policy) {
  if (auto wait = window_full(history.phone_sends, now, policy.window, policy.max_per_phone)) {
    return {false, "submit_phone_limit", *wait};
  }
  if (auto wait = window_full(history.ip_sends, now, policy.window, policy.max_per_ip)) {
    return {false, "submit_ip_limit", *wait};
  }
  return {};
}

VerifyOutcome decide_verify(const std::optional<Pending>& pending, std::string_view given_hash, TimePoint now,
                            int max_attempts) {
  if (!pending) return VerifyOutcome::no_code;
  if (pending->expires_at <= now) return VerifyOutcome::expired;
  if (pending->attempts >= max_attempts) return VerifyOutcome::too_many_attempts;
  if (auth::constant_time_equal(pending->code_hash, given_hash)) return VerifyOutcome::verified;
  return pending->attempts + 1 >= max_attempts ? VerifyOutcome::too_many_attempts : VerifyOutcome::wrong_code;
}

std::string generate_code() {
  // 2^32 - (2^32 mod 10^6): values at or above it would bias the low codes.
  constexpr std::uint64_t kLimit = 4294967296ULL - (4294967296ULL % 1000000ULL);
  for (;;) {
    const std::string bytes = auth::random_bytes(4);
    std::uint64_t v = 0;
    for (unsigned char b : bytes) v = (v << 8) | b;
    if (v >= kLimit) continue;
    std::string code = std::to_string(v % 1000000);
    return std::string(6 - code.size(), '0') + code;
  }
}

std::string hash_code(std::string_view pepper, std::string_view tenant, std::string_view campaign,
                      std::string_view phone, std::string_view code) {
  std::string msg;
  msg.append(tenant).append("|").append(campaign).append("|").append(phone).append("|").append(code);
  return auth::hmac_sha256_hex(pepper, msg);
}

bool well_formed_code(std::string_view code) {
  return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace leadpipe::ingest::otp
