#include "form_store.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace leadpipe::ingest {
namespace {

double epoch(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

TimePoint from_epoch(double secs) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(secs)));
}

void lock(pqxx::work& tx, const std::string& what) {
  tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", what);
}

std::vector<TimePoint> send_times(pqxx::work& tx, const std::string& tenant, const char* scope,
                                  const std::string& subject, TimePoint since) {
  std::vector<TimePoint> out;
  for (const auto& row : tx.exec_params(
           "SELECT extract(epoch FROM sent_at)::float8 FROM ingest.otp_sends "
           "WHERE tenant = $1 AND scope = $2 AND subject = $3 AND sent_at > to_timestamp($4)",
           tenant, scope, subject, epoch(since))) {
    out.push_back(from_epoch(row[0].as<double>()));
  }
  return out;
}

}  // namespace

bool Site::allows(const std::string& origin) const {
  return std::find(allowed_origins.begin(), allowed_origins.end(), origin) != allowed_origins.end();
}

namespace forms_db {

std::optional<Site> load_site(pqxx::connection& c, const std::string& tenant) {
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params(
      "SELECT array_to_string(allowed_origins, ' '), COALESCE(otp_template, ''), COALESCE(otp_language, '') "
      "FROM ingest.campaign_sites WHERE tenant = $1",
      tenant);
  if (r.empty()) return std::nullopt;
  Site s;
  const auto origins = r[0][0].as<std::string>();
  std::size_t start = 0;
  while (start < origins.size()) {
    auto sp = origins.find(' ', start);
    if (sp == std::string::npos) sp = origins.size();
    if (sp > start) s.allowed_origins.push_back(origins.substr(start, sp - start));
    start = sp + 1;
  }
  s.otp_template = r[0][1].as<std::string>();
  s.otp_language = r[0][2].as<std::string>();
  return s;
}

bool is_verified(pqxx::connection& c, const FormKey& key, TimePoint now) {
  pqxx::read_transaction tx(c);
  return !tx.exec_params(
                "SELECT 1 FROM ingest.otp_verified WHERE tenant = $1 AND campaign = $2 AND phone = $3 "
                "AND expires_at > to_timestamp($4)",
                key.tenant, key.campaign, key.phone, epoch(now))
              .empty();
}

otp::SendDecision charge_submit(pqxx::connection& c, const FormKey& key, const std::string& ip, TimePoint now,
                                const otp::SubmitPolicy& policy) {
  pqxx::work tx(c);
  lock(tx, "submit:phone:" + key.tenant + ":" + key.phone);
  lock(tx, "submit:ip:" + key.tenant + ":" + ip);
  const TimePoint since = now - policy.window;
  auto times = [&](const char* scope, const std::string& subject) {
    std::vector<TimePoint> out;
    for (const auto& row : tx.exec_params(
             "SELECT extract(epoch FROM submitted_at)::float8 FROM ingest.form_submits "
             "WHERE tenant = $1 AND scope = $2 AND subject = $3 AND submitted_at > to_timestamp($4)",
             key.tenant, scope, subject, epoch(since))) {
      out.push_back(from_epoch(row[0].as<double>()));
    }
    return out;
  };
  const otp::History history{times("phone", key.phone), times("ip", ip)};
  const auto decision = otp::decide_submit(history, now, policy);
  if (!decision.allowed) return decision;  // nothing written: the transaction rolls back
  tx.exec_params(
      "DELETE FROM ingest.form_submits WHERE tenant = $1 AND ((scope = 'phone' AND subject = $2) OR "
      "(scope = 'ip' AND subject = $3)) AND submitted_at <= to_timestamp($4)",
      key.tenant, key.phone, ip, epoch(since));
  tx.exec_params(
      "INSERT INTO ingest.form_submits (tenant, scope, subject, submitted_at) "
      "VALUES ($1, 'phone', $2, to_timestamp($4)), ($1, 'ip', $3, to_timestamp($4))",
      key.tenant, key.phone, ip, epoch(now));
  tx.commit();
  return decision;
}

SendResult begin_send(pqxx::connection& c, const FormKey& key, const std::string& ip, const std::string& code_hash,
                      TimePoint now, const otp::Policy& policy) {
  pqxx::work tx(c);
  lock(tx, "otp:phone:" + key.tenant + ":" + key.phone);
  lock(tx, "otp:ip:" + key.tenant + ":" + ip);
  SendResult out;
  if (!tx.exec_params("SELECT 1 FROM ingest.otp_verified WHERE tenant = $1 AND campaign = $2 AND phone = $3 "
                      "AND expires_at > to_timestamp($4)",
                      key.tenant, key.campaign, key.phone, epoch(now))
           .empty()) {
    out.kind = SendResult::Kind::already_verified;
    return out;
  }
  const TimePoint since = now - policy.window;
  otp::History history{send_times(tx, key.tenant, "phone", key.phone, since),
                       send_times(tx, key.tenant, "ip", ip, since)};
  out.decision = otp::decide_send(history, now, policy);
  if (!out.decision.allowed) {
    out.kind = SendResult::Kind::refused;
    return out;
  }
  // Prune what no window needs any more, then record this send.
  tx.exec_params(
      "DELETE FROM ingest.otp_sends WHERE tenant = $1 AND ((scope = 'phone' AND subject = $2) OR "
      "(scope = 'ip' AND subject = $3)) AND sent_at <= to_timestamp($4)",
      key.tenant, key.phone, ip, epoch(since));
  for (const auto& [scope, subject] : {std::pair<std::string, std::string>{"phone", key.phone}, {"ip", ip}}) {
    out.send_ids.push_back(tx.exec_params1("INSERT INTO ingest.otp_sends (tenant, scope, subject, sent_at) "
                                           "VALUES ($1, $2, $3, to_timestamp($4)) RETURNING id",
                                           key.tenant, scope, subject, epoch(now))[0]
                               .as<long long>());
  }
  tx.exec_params(
      "INSERT INTO ingest.otp_codes (tenant, campaign, phone, code_hash, sent_at, expires_at, attempts) "
      "VALUES ($1, $2, $3, $4, to_timestamp($5), to_timestamp($6), 0) "
      "ON CONFLICT (tenant, campaign, phone) DO UPDATE SET code_hash = EXCLUDED.code_hash, "
      "sent_at = EXCLUDED.sent_at, expires_at = EXCLUDED.expires_at, attempts = 0",
      key.tenant, key.campaign, key.phone, code_hash, epoch(now), epoch(now + policy.ttl));
  tx.commit();
  out.kind = SendResult::Kind::sent;
  return out;
}

void cancel_send(pqxx::connection& c, const FormKey& key, const std::vector<long long>& send_ids) {
  pqxx::work tx(c);
  for (auto id : send_ids) tx.exec_params("DELETE FROM ingest.otp_sends WHERE id = $1", id);
  tx.exec_params("DELETE FROM ingest.otp_codes WHERE tenant = $1 AND campaign = $2 AND phone = $3", key.tenant,
                 key.campaign, key.phone);
  tx.commit();
}

VerifyResult verify(pqxx::connection& c, const FormKey& key, const std::string& code_hash, TimePoint now,
                    const otp::Policy& policy) {
  pqxx::work tx(c);
  lock(tx, "otp:phone:" + key.tenant + ":" + key.phone);
  auto r = tx.exec_params(
      "SELECT code_hash, extract(epoch FROM expires_at)::float8, attempts FROM ingest.otp_codes "
      "WHERE tenant = $1 AND campaign = $2 AND phone = $3",
      key.tenant, key.campaign, key.phone);
  std::optional<otp::Pending> pending;
  if (!r.empty()) {
    pending = otp::Pending{r[0][0].as<std::string>(), from_epoch(r[0][1].as<double>()), r[0][2].as<int>()};
  }
  VerifyResult out;
  out.outcome = otp::decide_verify(pending, code_hash, now, policy.max_attempts);
  switch (out.outcome) {
    case otp::VerifyOutcome::verified:
      tx.exec_params(
          "INSERT INTO ingest.otp_verified (tenant, campaign, phone, verified_at, expires_at) "
          "VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($5)) ON CONFLICT (tenant, campaign, phone) "
          "DO UPDATE SET verified_at = EXCLUDED.verified_at, expires_at = EXCLUDED.expires_at",
          key.tenant, key.campaign, key.phone, epoch(now), epoch(now + policy.verified_ttl));
      [[fallthrough]];
    case otp::VerifyOutcome::expired:
    case otp::VerifyOutcome::too_many_attempts:
      tx.exec_params("DELETE FROM ingest.otp_codes WHERE tenant = $1 AND campaign = $2 AND phone = $3", key.tenant,
                     key.campaign, key.phone);
      break;
    case otp::VerifyOutcome::wrong_code:
      tx.exec_params(
          "UPDATE ingest.otp_codes SET attempts = attempts + 1 WHERE tenant = $1 AND campaign = $2 AND phone = $3",
          key.tenant, key.campaign, key.phone);
      out.attempts_left = policy.max_attempts - (pending->attempts + 1);
      break;
    case otp::VerifyOutcome::no_code:
      break;
  }
  tx.commit();
  return out;
}

FormState record_submission(pqxx::connection& c, const FormKey& key, const std::string& form_type,
                            const std::string& content_hash, TimePoint now) {
  const bool application = form_type == "application";
  pqxx::work tx(c);
  auto before = tx.exec_params(
      "SELECT CASE WHEN $4 THEN application_hash ELSE interest_hash END FROM ingest.campaign_forms "
      "WHERE tenant = $1 AND campaign = $2 AND phone = $3 FOR UPDATE",
      key.tenant, key.campaign, key.phone, application);
  FormState out;
  out.duplicate = !before.empty() && !before[0][0].is_null() && before[0][0].as<std::string>() == content_hash;
  auto row = tx.exec_params1(
      "INSERT INTO ingest.campaign_forms AS f (tenant, campaign, phone, did_interest, did_application, "
      "interest_hash, application_hash, updated_at) "
      "VALUES ($1, $2, $3, NOT $4, $4, CASE WHEN $4 THEN NULL ELSE $5 END, CASE WHEN $4 THEN $5 END, "
      "to_timestamp($6)) "
      "ON CONFLICT (tenant, campaign, phone) DO UPDATE SET "
      "did_interest = f.did_interest OR NOT $4, did_application = f.did_application OR $4, "
      "interest_hash = CASE WHEN $4 THEN f.interest_hash ELSE $5 END, "
      "application_hash = CASE WHEN $4 THEN $5 ELSE f.application_hash END, updated_at = to_timestamp($6) "
      "RETURNING did_interest, did_application",
      key.tenant, key.campaign, key.phone, application, content_hash, epoch(now));
  out.did_interest = row[0].as<bool>();
  out.did_application = row[1].as<bool>();
  tx.commit();
  return out;
}

}  // namespace forms_db

// Each wrapper names its job before co_await (GCC 12 coroutine bug).
boost::asio::awaitable<std::optional<Site>> FormStore::site(std::string tenant) {
  if (auto hit = sites_.get(tenant)) co_return *hit;
  auto job = [tenant](pqxx::connection& c) { return forms_db::load_site(c, tenant); };
  auto found = co_await pool_.async(std::move(job));
  sites_.put(tenant, found);
  co_return found;
}

boost::asio::awaitable<SendResult> FormStore::begin_send(FormKey key, std::string ip, std::string code_hash,
                                                         TimePoint now, otp::Policy policy) {
  auto job = [&](pqxx::connection& c) { return forms_db::begin_send(c, key, ip, code_hash, now, policy); };
  co_return co_await pool_.async(std::move(job));
}

boost::asio::awaitable<void> FormStore::cancel_send(FormKey key, std::vector<long long> send_ids) {
  auto job = [&](pqxx::connection& c) { forms_db::cancel_send(c, key, send_ids); };
  co_await pool_.async(std::move(job));
}

boost::asio::awaitable<VerifyResult> FormStore::verify(FormKey key, std::string code_hash, TimePoint now,
                                                       otp::Policy policy) {
  auto job = [&](pqxx::connection& c) { return forms_db::verify(c, key, code_hash, now, policy); };
  co_return co_await pool_.async(std::move(job));
}

boost::asio::awaitable<bool> FormStore::is_verified(FormKey key, TimePoint now) {
  auto job = [&](pqxx::connection& c) { return forms_db::is_verified(c, key, now); };
  co_return co_await pool_.async(std::move(job));
}

boost::asio::awaitable<otp::SendDecision> FormStore::charge_submit(FormKey key, std::string ip, TimePoint now,
                                                                   otp::SubmitPolicy policy) {
  auto job = [&](pqxx::connection& c) { return forms_db::charge_submit(c, key, ip, now, policy); };
  co_return co_await pool_.async(std::move(job));
}

boost::asio::awaitable<FormState> FormStore::record_submission(FormKey key, std::string form_type,
                                                               std::string content_hash, TimePoint now) {
  auto job = [&](pqxx::connection& c) {
    return forms_db::record_submission(c, key, form_type, content_hash, now);
  };
  co_return co_await pool_.async(std::move(job));
}

}  // namespace leadpipe::ingest
