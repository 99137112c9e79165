#pragma once
// State of the campaign-form channel in the `ingest` schema (migration 0004):
// tenants' sites (CORS, OTP template), pending OTP hashes, send windows,
// verified phones and per-campaign form progress. Every function takes the
// time from the caller (the injectable clock), never from the database.
//
// The blocking functions in `forms_db` run on a pool worker (and directly in
// [pg] tests); FormStore wraps them for handlers (`co_await`, never blocking an
// I/O thread). Sends and verifications for one phone are serialised with a
// transaction-scoped advisory lock, so concurrent requests cannot both pass a
// limit.
#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include <leadpipe/pg/pool.hpp>
#include <leadpipe/runtime/ttl_cache.hpp>

#include "otp.hpp"

namespace leadpipe::ingest {

struct Site {
  std::vector<std::string> allowed_origins;
  std::string otp_template;  // empty: the gateway's default
  std::string otp_language;
  bool allows(const std::string& origin) const;
};

struct FormKey {
  std::string tenant;
  std::string campaign;
  std::string phone;  // E.164
};

struct SendResult {
  enum class Kind { sent, already_verified, refused } kind = Kind::sent;
  otp::SendDecision decision;          // why refused, and for how long
  std::vector<long long> send_ids;     // rows to remove if the OTP cannot be handed to Kafka
};

struct VerifyResult {
  otp::VerifyOutcome outcome = otp::VerifyOutcome::no_code;
  int attempts_left = 0;
};

struct FormState {
  bool did_interest = false;
  bool did_application = false;
  bool duplicate = false;  // same form type with the same content as last time
};

namespace forms_db {

std::optional<Site> load_site(pqxx::connection& c, const std::string& tenant);
// Already verified → already_verified (nothing stored). Refused by the
// cooldown or a window → refused. Otherwise records the sends and replaces the
// pending code (fresh TTL, attempts reset).
SendResult begin_send(pqxx::connection& c, const FormKey& key, const std::string& ip, const std::string& code_hash,
                      TimePoint now, const otp::Policy& policy);
// Undoes begin_send when the OTP request could not be published.
void cancel_send(pqxx::connection& c, const FormKey& key, const std::vector<long long>& send_ids);
// Checks a code; on success marks the phone verified for the campaign and
// drops the code; a wrong code counts an attempt; the last one burns it.
VerifyResult verify(pqxx::connection& c, const FormKey& key, const std::string& code_hash, TimePoint now,
                    const otp::Policy& policy);
bool is_verified(pqxx::connection& c, const FormKey& key, TimePoint now);
// Checks the submit window of the phone and of the client IP (serialised per
// phone and per IP); if allowed, records this attempt for both (and prunes
// rows the window no longer needs). Refused attempts are not recorded.
otp::SendDecision charge_submit(pqxx::connection& c, const FormKey& key, const std::string& ip, TimePoint now,
                                const otp::SubmitPolicy& policy);
// Records a submitted form: flags only advance (interest/application never
// downgrade); `duplicate` when this form type's last content hash is the same.
FormState record_submission(pqxx::connection& c, const FormKey& key, const std::string& form_type,
                            const std::string& content_hash, TimePoint now);

}  // namespace forms_db

class FormStore {
 public:
  FormStore(pg::Pool& pool, std::chrono::seconds site_cache_ttl) : pool_(pool), sites_(site_cache_ttl) {}

  boost::asio::awaitable<std::optional<Site>> site(std::string tenant);
  boost::asio::awaitable<SendResult> begin_send(FormKey key, std::string ip, std::string code_hash, TimePoint now,
                                                otp::Policy policy);
  boost::asio::awaitable<void> cancel_send(FormKey key, std::vector<long long> send_ids);
  boost::asio::awaitable<VerifyResult> verify(FormKey key, std::string code_hash, TimePoint now, otp::Policy policy);
  boost::asio::awaitable<bool> is_verified(FormKey key, TimePoint now);
  boost::asio::awaitable<otp::SendDecision> charge_submit(FormKey key, std::string ip, TimePoint now,
                                                          otp::SubmitPolicy policy);
  boost::asio::awaitable<FormState> record_submission(FormKey key, std::string form_type, std::string content_hash,
                                                      TimePoint now);

 private:
  pg::Pool& pool_;
  runtime::TtlCache<Site> sites_;
};

}  // namespace leadpipe::ingest
