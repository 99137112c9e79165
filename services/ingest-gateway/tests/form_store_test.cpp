// The campaign-form channel's SQL against the real test PostgreSQL, with the
// time passed in (no sleeping): TTL, cooldown, windows, attempts, verified
// short-circuit and expiry, idempotent and never-downgrading submissions.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "form_store.hpp"

using namespace leadpipe;
using namespace leadpipe::ingest;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint(std::chrono::seconds(1768467600));

struct Db {
  std::string url = testing::create_database("ingest_forms");
  Db() { pg::migrate(url, "ingest", embedded::ingest_migrations(), log::root()); }
};

otp::Policy policy() {
  otp::Policy p;
  p.ttl = 300s;
  p.resend_cooldown = 60s;
  p.window = 3600s;
  p.max_per_phone = 3;
  p.max_per_ip = 4;
  p.max_attempts = 3;
  p.verified_ttl = 86400s;
  return p;
}

}  // namespace

TEST_CASE("otp send and verify with an injected clock", "[pg]") {
  Db db;
  pqxx::connection c(db.url);
  const FormKey key{"demo", "drone-2027", "+919820144512"};
  const auto p = policy();
  const auto h1 = otp::hash_code("pep", key.tenant, key.campaign, key.phone, "111111");

  auto sent = forms_db::begin_send(c, key, "10.0.0.1", h1, t0, p);
  REQUIRE(sent.kind == SendResult::Kind::sent);
  CHECK(sent.send_ids.size() == 2);

  // Resend inside the cooldown: refused with the remaining time.
  auto again = forms_db::begin_send(c, key, "10.0.0.1", h1, t0 + 10s, p);
  CHECK(again.kind == SendResult::Kind::refused);
  CHECK(again.decision.reason == "cooldown");
  CHECK(again.decision.retry_after == 50s);

  // A wrong code counts; the TTL expires the right one.
  auto v = forms_db::verify(c, key, "wrong", t0 + 20s, p);
  CHECK(v.outcome == otp::VerifyOutcome::wrong_code);
  CHECK(v.attempts_left == 2);
  v = forms_db::verify(c, key, h1, t0 + 301s, p);
  CHECK(v.outcome == otp::VerifyOutcome::expired);
  v = forms_db::verify(c, key, h1, t0 + 302s, p);
  CHECK(v.outcome == otp::VerifyOutcome::no_code);  // an expired code is gone

  // New code after the cooldown; attempts are reset; the last wrong attempt burns it.
  const auto h2 = otp::hash_code("pep", key.tenant, key.campaign, key.phone, "222222");
  REQUIRE(forms_db::begin_send(c, key, "10.0.0.1", h2, t0 + 400s, p).kind == SendResult::Kind::sent);
  CHECK(forms_db::verify(c, key, "x", t0 + 401s, p).outcome == otp::VerifyOutcome::wrong_code);
  CHECK(forms_db::verify(c, key, "x", t0 + 402s, p).outcome == otp::VerifyOutcome::wrong_code);
  CHECK(forms_db::verify(c, key, "x", t0 + 403s, p).outcome == otp::VerifyOutcome::too_many_attempts);
  CHECK(forms_db::verify(c, key, h2, t0 + 404s, p).outcome == otp::VerifyOutcome::no_code);

  // Third send in the window is allowed, the fourth is refused by the phone window.
  const auto h3 = otp::hash_code("pep", key.tenant, key.campaign, key.phone, "333333");
  REQUIRE(forms_db::begin_send(c, key, "10.0.0.1", h3, t0 + 500s, p).kind == SendResult::Kind::sent);
  auto full = forms_db::begin_send(c, key, "10.0.0.1", h3, t0 + 600s, p);
  CHECK(full.kind == SendResult::Kind::refused);
  CHECK(full.decision.reason == "phone_limit");
  CHECK(full.decision.retry_after == 3000s);  // until the first send (t0) leaves the hour

  // The right code verifies; then sends short-circuit and the phone stays verified until its TTL.
  REQUIRE(forms_db::verify(c, key, h3, t0 + 510s, p).outcome == otp::VerifyOutcome::verified);
  CHECK(forms_db::is_verified(c, key, t0 + 520s));
  CHECK(forms_db::begin_send(c, key, "10.0.0.1", h3, t0 + 530s, p).kind == SendResult::Kind::already_verified);
  CHECK_FALSE(forms_db::is_verified(c, {"demo", "other-campaign", key.phone}, t0 + 520s));
  CHECK_FALSE(forms_db::is_verified(c, {"acme", key.campaign, key.phone}, t0 + 520s));
  CHECK_FALSE(forms_db::is_verified(c, key, t0 + 510s + 86400s));
}

TEST_CASE("per-IP window across phones, and cancel_send gives the slot back", "[pg]") {
  Db db;
  pqxx::connection c(db.url);
  const auto p = policy();
  for (int i = 0; i < 4; ++i) {
    const FormKey key{"demo", "c", "+91982014451" + std::to_string(i)};
    REQUIRE(forms_db::begin_send(c, key, "10.0.0.9", "h", t0 + std::chrono::seconds(i), p).kind ==
            SendResult::Kind::sent);
  }
  const FormKey fifth{"demo", "c", "+919820144519"};
  auto refused = forms_db::begin_send(c, fifth, "10.0.0.9", "h", t0 + 10s, p);
  CHECK(refused.kind == SendResult::Kind::refused);
  CHECK(refused.decision.reason == "ip_limit");
  CHECK(forms_db::begin_send(c, fifth, "10.0.0.10", "h", t0 + 10s, p).kind == SendResult::Kind::sent);

  // A send that could not be published is undone: code gone, limits not charged.
  const FormKey key{"demo", "c2", "+919820144518"};
  auto sent = forms_db::begin_send(c, key, "10.0.0.11", "h", t0, p);
  REQUIRE(sent.kind == SendResult::Kind::sent);
  forms_db::cancel_send(c, key, sent.send_ids);
  CHECK(forms_db::verify(c, key, "h", t0 + 1s, p).outcome == otp::VerifyOutcome::no_code);
  CHECK(forms_db::begin_send(c, key, "10.0.0.11", "h", t0 + 1s, p).kind == SendResult::Kind::sent);
}

TEST_CASE("submissions: idempotent per content, application never downgrades", "[pg]") {
  Db db;
  pqxx::connection c(db.url);
  const FormKey key{"demo", "drone-2027", "+919820144512"};
  auto s = forms_db::record_submission(c, key, "interest", "hash-a", t0);
  CHECK(s.did_interest);
  CHECK_FALSE(s.did_application);
  CHECK_FALSE(s.duplicate);
  s = forms_db::record_submission(c, key, "interest", "hash-a", t0 + 1s);
  CHECK(s.duplicate);
  s = forms_db::record_submission(c, key, "application", "hash-b", t0 + 2s);
  CHECK(s.did_application);
  CHECK(s.did_interest);
  CHECK_FALSE(s.duplicate);
  s = forms_db::record_submission(c, key, "interest", "hash-c", t0 + 3s);
  CHECK(s.did_application);  // never downgraded
  CHECK_FALSE(s.duplicate);
  s = forms_db::record_submission(c, key, "application", "hash-b", t0 + 4s);
  CHECK(s.duplicate);
  // Another campaign is separate.
  s = forms_db::record_submission(c, {"demo", "space-2027", key.phone}, "interest", "hash-a", t0);
  CHECK_FALSE(s.did_application);
  CHECK_FALSE(s.duplicate);
}

TEST_CASE("form submit limits per phone and per IP with an injected clock", "[pg]") {
  Db db;
  pqxx::connection c(db.url);
  const otp::SubmitPolicy p{3600s, 2, 3};
  const FormKey a{"demo", "drone-2027", "+919820144512"};
  const FormKey b{"demo", "drone-2027", "+919820144513"};
  const FormKey other_tenant{"other", "drone-2027", "+919820144512"};

  CHECK(forms_db::charge_submit(c, a, "10.0.0.1", t0, p).allowed);
  CHECK(forms_db::charge_submit(c, a, "10.0.0.2", t0 + 10s, p).allowed);
  auto d = forms_db::charge_submit(c, a, "10.0.0.3", t0 + 20s, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "submit_phone_limit");
  CHECK(d.retry_after == 3580s);
  // Tenants are separate; a refused attempt was not recorded.
  CHECK(forms_db::charge_submit(c, other_tenant, "10.0.0.1", t0 + 20s, p).allowed);

  // Per IP across phones: 10.0.0.1 already has one.
  CHECK(forms_db::charge_submit(c, b, "10.0.0.1", t0 + 30s, p).allowed);
  CHECK(forms_db::charge_submit(c, b, "10.0.0.1", t0 + 40s, p).allowed);  // 10.0.0.1: t0, +30, +40
  const FormKey c3{"demo", "drone-2027", "+919820144514"};
  d = forms_db::charge_submit(c, c3, "10.0.0.1", t0 + 50s, p);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "submit_ip_limit");
  CHECK(d.retry_after == 3550s);
  CHECK(forms_db::charge_submit(c, c3, "10.0.0.4", t0 + 50s, p).allowed);  // another IP

  // The window passes: allowed again, and old rows are pruned.
  CHECK(forms_db::charge_submit(c, a, "10.0.0.9", t0 + 3601s, p).allowed);
  pqxx::read_transaction tx(c);
  CHECK(tx.exec_params1("SELECT count(*) FROM ingest.form_submits WHERE tenant = 'demo' AND scope = 'phone' "
                        "AND subject = $1",
                        a.phone)[0]
            .as<int>() == 2);
}
