// Duplicate candidates against the real test PostgreSQL: a phone variant or
// the same e-mail with another phone records a pair (never merges), listing is
// scoped, dismissing and merging resolve it, replays add nothing.
#include <catch2/catch.hpp>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "duplicates_repository.hpp"
#include "merge_api.hpp"
#include "repository.hpp"
#include "leads_db.hpp"
#include "sources_consumer.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

struct DupDb : LeadsDb {
  DupDb() : LeadsDb("duplicates") {}
  Intake apply(const kafka::Record& r) { return handle_record(deps, r, log::root()); }
  std::string id_of(const std::string& phone) {
    return text("SELECT id::text FROM leads.leads WHERE phone = '" + phone + "'");
  }
  std::string list(const auth::Principal& who, const std::string& status = "open") {
    return pool.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      repo::DuplicateQuery q;
      q.tenant = who.tenant;
      q.scope = scope_for(who);
      q.status = status;
      return repo::list_duplicates_json(tx, q);
    });
  }
};

kafka::Record vendor(const std::string& tenant, const std::string& vendor_id,
                     const std::string& name, const std::string& phone,
                     const std::string& email = "") {
  auto ev =
      events::make(std::string(events::topics::ingest_vendor_lead), "/test", tenant, "",
                   R"({"channel":"vendor","vendor":"v","api_key_id":"k1","vendor_lead_id":")" +
                       vendor_id + R"(","name":")" + name + R"(","phone":")" + phone +
                       R"(","email":)" + (email.empty() ? "null" : "\"" + email + "\"") +
                       R"(,"received_at":"2026-01-15T09:30:12Z"})");
  kafka::Record r;
  r.topic = std::string(events::topics::ingest_vendor_lead);
  r.value = events::to_json(ev);
  return r;
}

}  // namespace

double candidates_metric(const std::string& reason) {
  return workflow_metric("leadpipe_leads_duplicate_candidates_total", {{"reason", reason}});
}
double resolved_metric(const std::string& resolution) {
  return workflow_metric("leadpipe_leads_duplicate_candidates_resolved_total", {{"resolution", resolution}});
}

TEST_CASE(
    "a Brazilian 9th-digit variant and a shared e-mail are recorded as candidates, never merged",
    "[pg]") {
  DupDb db;
  const auto brazil = candidates_metric("brazil_ninth_digit");
  const auto email = candidates_metric("email");
  const auto dismissals = resolved_metric("dismissed");
  const auto merges = resolved_metric("merged");
  db.apply(vendor("demo", "V1", "Ana Souza", "+5511987654321"));
  const auto second = vendor("demo", "V2", "Ana Souza", "+551187654321");
  db.apply(second);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.duplicate_candidates") == 1);
  CHECK(db.text("SELECT reason FROM leads.duplicate_candidates") == "brazil_ninth_digit");
  CHECK(db.text("SELECT lead_id::text FROM leads.duplicate_candidates") ==
        db.id_of("+551187654321"));

  // The same e-mail with another phone: its own lead, and a candidate pair.
  db.apply(vendor("demo", "V3", "Budi", "+6281200000011", "budi@example.com"));
  db.apply(vendor("demo", "V4", "Budi S", "+6281200000012", "budi@example.com"));
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 4);
  CHECK(db.text(
            "SELECT other_lead_id::text FROM leads.duplicate_candidates WHERE reason = 'email'") ==
        db.id_of("+6281200000011"));
  // Another tenant's lead is never a candidate.
  db.apply(vendor("other", "V5", "Citra", "+6281200000013", "citra@example.com"));
  CHECK(db.scalar("SELECT count(*) FROM leads.duplicate_candidates") == 2);

  // Replays add nothing; another tenant sees nothing.
  db.apply(second);
  CHECK(db.scalar("SELECT count(*) FROM leads.duplicate_candidates") == 2);
  CHECK(candidates_metric("brazil_ninth_digit") - brazil == 1);
  CHECK(candidates_metric("email") - email == 1);
  const auth::Principal admin{"admin-1", "demo", auth::Role::admin};
  const auto page = db.list(admin);
  CHECK(page.find(R"("total":2)") != std::string::npos);
  CHECK(page.find("brazil_ninth_digit") != std::string::npos);
  CHECK(db.list({"x", "acme", auth::Role::admin}).find(R"("total":0)") != std::string::npos);
  // A counsellor on neither lead sees no pair.
  CHECK(db.list({"c1", "demo", auth::Role::counselor}).find(R"("total":0)") != std::string::npos);

  // Dismiss one pair; merging the other resolves it.
  const auto email_pair =
      db.text("SELECT id::text FROM leads.duplicate_candidates WHERE reason = 'email'");
  auto dismissed = pg::transact(db.pool, [&](pqxx::work& tx) {
    return repo::dismiss_duplicate(tx, "demo", scope_for(admin), email_pair, "admin-1");
  });
  CHECK(dismissed.found);
  CHECK(dismissed.status == "open");
  CHECK(db.text("SELECT status FROM leads.duplicate_candidates WHERE reason = 'email'") ==
        "dismissed");
  CHECK(db.scalar(
            "SELECT count(*) FROM leads.lead_activities WHERE kind = 'duplicate_dismissed'") == 2);
  auto again = db.pool.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    return repo::dismiss_duplicate(tx, "demo", scope_for(admin), email_pair, "admin-1");
  });
  CHECK(again.status == "dismissed");  // → 409
  CHECK(resolved_metric("dismissed") - dismissals == 1);
  // A re-push of the same e-mail pair does not re-open it.
  db.apply(vendor("demo", "V6", "Budi S", "+6281200000012", "budi@example.com"));
  CHECK(db.text("SELECT status FROM leads.duplicate_candidates WHERE reason = 'email'") ==
        "dismissed");

  // A dry run (the same transaction, aborted) counts nothing; the merge does.
  const auto survivor = db.id_of("+5511987654321");
  const auto absorbed = db.id_of("+551187654321");
  db.pool.with([&](pqxx::connection& c) {
    pg::CommitHooks hooks;
    pqxx::work tx(c);
    merge_in_tx(tx, admin, survivor, {absorbed}, true, events::now_rfc3339());
    tx.abort();
  });
  CHECK(resolved_metric("merged") - merges == 0);
  pg::transact(db.pool, [&](pqxx::work& tx) {
    return merge_in_tx(tx, admin, survivor, {absorbed}, false, events::now_rfc3339());
  });
  CHECK(resolved_metric("merged") - merges == 1);
  CHECK(db.text(
            "SELECT status FROM leads.duplicate_candidates WHERE reason = 'brazil_ninth_digit'") ==
        "merged");
  CHECK(db.list(admin).find(R"("total":0)") != std::string::npos);
  CHECK(db.list(admin, "merged").find(R"("total":0)") !=
        std::string::npos);  // its absorbed lead is gone
}

TEST_CASE("a country-code variant of a manual lead is a candidate, paginated newest first",
          "[pg]") {
  DupDb db;
  db.apply(vendor("demo", "V1", "Ravi", "+918123456789"));
  db.apply(vendor("demo", "V2", "Ravi K", "+628123456789"));
  CHECK(db.text("SELECT reason FROM leads.duplicate_candidates") == "country_code");
  db.apply(vendor("demo", "V3", "Ana", "+5511987654321"));
  db.apply(vendor("demo", "V4", "Ana", "+551187654321"));
  const auth::Principal admin{"admin-1", "demo", auth::Role::admin};
  auto first = db.pool.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    repo::DuplicateQuery q;
    q.tenant = "demo";
    q.limit = 1;
    return repo::list_duplicates_json(tx, q);
  });
  CHECK(first.find("brazil_ninth_digit") != std::string::npos);  // newest first
  const auto at = first.find(R"("next_cursor":")");
  REQUIRE(at != std::string::npos);
  const auto start = at + std::string(R"("next_cursor":")").size();
  const auto cursor = first.substr(start, first.find('"', start) - start);
  auto second = db.pool.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    repo::DuplicateQuery q;
    q.tenant = "demo";
    q.limit = 1;
    q.cursor = cursor;
    return repo::list_duplicates_json(tx, q);
  });
  CHECK(second.find("country_code") != std::string::npos);
  CHECK(second.find(R"("next_cursor":null)") != std::string::npos);
  CHECK_THROWS_AS(db.pool.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    repo::DuplicateQuery q;
    q.tenant = "demo";
    q.cursor = "nonsense";
    return repo::list_duplicates_json(tx, q);
  }),
                  std::invalid_argument);
}
