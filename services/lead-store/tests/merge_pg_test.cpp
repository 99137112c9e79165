// Lead merge against the real test PostgreSQL (merge_api.hpp's transaction):
// the dry run equals the real merge, everything moves to the survivor, the
// absorbed lead is gone from the live set, lead.merged is valid.
#include <catch2/catch.hpp>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/schema.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/message.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "crm_repository.hpp"
#include "crm_service.hpp"
#include "merge_api.hpp"
#include "repository.hpp"
#include "leads_db.hpp"
#include "sources_consumer.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

struct Db : LeadsDb {
  Db() : LeadsDb("merge") {}
  std::string id_of(const std::string& phone) {
    return text("SELECT id::text FROM leads.leads WHERE deleted_at IS NULL AND phone = '" + phone +
                "'");
  }
  void apply(std::string_view type, const std::string& tenant, const std::string& data) {
    auto ev = events::make(std::string(type), "/test", tenant, "", data);
    kafka::Record r;
    r.topic = std::string(type);
    r.value = events::to_json(ev);
    handle_record(deps, r, log::root());
  }
  std::string snapshot() {
    return text(
        "SELECT concat_ws('|', (SELECT string_agg(id::text || version || stage || coalesce(name, "
        "'') || "
        "coalesce(phone, '') || coalesce(email, '') || tags::text || extra::text || (deleted_at IS "
        "NULL)::text, ',' "
        "ORDER BY id) FROM leads.leads), (SELECT count(*) FROM leads.outbox), "
        "(SELECT string_agg(lead_id::text, ',' ORDER BY channel) FROM leads.lead_identities), "
        "(SELECT count(*) FROM leads.notes), (SELECT count(*) FROM leads.lead_activities))");
  }
};

const std::string kNow = "2026-11-23T10:00:00.000Z";

std::string whatsapp(const std::string& phone, const std::string& name) {
  const std::string ev = R"("evidence":{"message_id":"wamid.1","layer":"rule","confidence":0.95,)"
                         R"("detected_at":"2026-01-15T09:00:00.000Z"})";
  return R"({"channel":"whatsapp","external_id":")" + phone.substr(1) +
         R"(","source_event_id":"s1","message_id":"wamid.1","name":{"value":")" + name + R"(",)" +
         ev + R"(},"phones":[{"value":")" + phone + R"(",)" + ev +
         R"(}],"emails":[],"intents":["price"],"score":55,)" +
         R"("tier":"warm","score_reasons":["asked price"]})";
}

std::string vendor(const std::string& phone, const std::string& name) {
  return R"({"channel":"vendor","vendor":"collegedunia","api_key_id":"k1","vendor_lead_id":"V-1","name":")" +
         name + R"(","phone":")" + phone +
         R"(","email":"budi@example.com","session_year":"2027-28",)"
         R"("course":"Drone","utm":{"source":"collegedunia"},"received_at":"2026-01-15T09:30:12Z"})";
}

auth::Principal admin(const std::string& tenant = "demo") {
  return {"admin-1", tenant, auth::Role::admin};
}

std::string run(Db& db, const auth::Principal& who, const std::string& id,
                const std::vector<std::string>& ids, bool dry) {
  return db.pool.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto out = merge_in_tx(tx, who, id, ids, dry, kNow);
    if (dry) {
      tx.abort();
    } else {
      tx.commit();
    }
    return out;
  });
}

int status_of(Db& db, const auth::Principal& who, const std::string& id,
              const std::vector<std::string>& ids) {
  try {
    run(db, who, id, ids, true);
  } catch (const http::HttpError& e) {
    return e.status;
  }
  return 200;
}

}  // namespace

TEST_CASE("merge: the dry run equals the real merge, everything moves to the survivor", "[pg]") {
  Db db;
  // The same person twice: a WhatsApp chat and a vendor push with another number.
  db.apply(events::topics::contact_extracted, "demo", whatsapp("+6281200000001", "Budi"));
  db.apply(events::topics::ingest_vendor_lead, "demo", vendor("+6281299999999", "Budi Santoso"));
  const auto a = db.id_of("+6281200000001");
  const auto b = db.id_of("+6281299999999");
  REQUIRE(!a.empty());
  REQUIRE(!b.empty());
  pg::transact(db.pool, [&](pqxx::work& tx) {
    auto lb = *repo::load(tx, "demo", b, true);
    retag(tx, lb, {{"expo", std::nullopt}}, {}, "admin-1", kNow);
    repo::add_note(tx, "demo", b, "c1", "called twice");
    repo::Followup f;
    f.id = events::uuid_v4();
    f.tenant = "demo";
    f.lead_id = b;
    f.kind = "call";
    f.due_at = "2030-01-01T00:00:00Z";
    f.created_by = "c1";
    f.status = "pending";
    repo::insert_followup(tx, f);
  });

  const auto before = db.snapshot();
  const auto dry = run(db, admin(), a, {b}, true);
  CHECK(db.snapshot() == before);  // nothing written
  auto real = run(db, admin(), a, {b}, false);
  CHECK(db.snapshot() != before);
  auto dry_as_real = dry;
  dry_as_real.replace(dry_as_real.find("\"dry_run\":true"), 14, "\"dry_run\":false");
  CHECK(dry_as_real == real);

  // The survivor: its phone and name (rule hit 0.95 beats the vendor's 0.9), the vendor's e-mail,
  // session year, tags, note, follow-up and identity.
  CHECK(db.text("SELECT name FROM leads.leads WHERE id = '" + a + "'") == "Budi");
  CHECK(db.text("SELECT email FROM leads.leads WHERE id = '" + a + "'") == "budi@example.com");
  CHECK(db.text("SELECT session_year FROM leads.leads WHERE id = '" + a + "'") == "2027-28");
  CHECK(db.text("SELECT array_to_string(tags, ',') FROM leads.leads WHERE id = '" + a + "'") ==
        "expo");
  // Tags are a column, united: `moved` reports the one the survivor gained.
  CHECK(real.find(R"("tags":1)") != std::string::npos);
  CHECK(real.find(R"("notes":1)") != std::string::npos);
  CHECK(db.text("SELECT extra->>'utm_source' FROM leads.leads WHERE id = '" + a + "'") ==
        "collegedunia");
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_identities WHERE lead_id = '" + a + "'") == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.notes WHERE lead_id = '" + a + "'") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.followups WHERE lead_id = '" + a + "'") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_captures WHERE lead_id = '" + b + "'") == 0);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE lead_id = '" + a +
                  "' AND kind = 'merged'") == 1);
  // The absorbed lead: out of the live set, pointing at the survivor.
  CHECK(db.text("SELECT merged_into::text FROM leads.leads WHERE id = '" + b +
                "' AND deleted_at IS NOT NULL") == a);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE deleted_at IS NULL") == 1);
  // A later vendor re-push of V-1 (new event) lands on the survivor through the moved identity.
  db.apply(events::topics::ingest_vendor_lead, "demo", vendor("+6281299999999", "Budi Santoso"));
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE deleted_at IS NULL") == 1);

  // lead.merged then lead.updated, valid against their schemas.
  const auto merged = db.text("SELECT payload FROM leads.outbox WHERE topic = 'lead.merged'");
  REQUIRE(!merged.empty());
  const auto ev = events::parse(merged);
  CHECK(events::SchemaSet::builtin().validate(ev.type, ev.data).empty());
  CHECK(ev.data.find(b) != std::string::npos);
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.merged'") == 1);
  const auto updated = events::parse(db.text(
      "SELECT payload FROM leads.outbox WHERE topic = 'lead.updated' ORDER BY id DESC LIMIT 1"));
  CHECK(events::SchemaSet::builtin().validate(updated.type, updated.data).empty());
}

TEST_CASE("merge: 404 outside the tenant or scope, 422 into itself", "[pg]") {
  Db db;
  db.apply(events::topics::contact_extracted, "demo", whatsapp("+6281200000001", "Budi"));
  db.apply(events::topics::contact_extracted, "demo", whatsapp("+6281200000002", "Budi S"));
  db.apply(events::topics::contact_extracted, "other", whatsapp("+6281200000003", "Rina"));
  const auto a = db.id_of("+6281200000001");
  const auto b = db.id_of("+6281200000002");
  const auto o = db.id_of("+6281200000003");
  CHECK(status_of(db, admin(), a, {o}) == 404);
  CHECK(status_of(db, admin("other"), o, {a}) == 404);
  CHECK(status_of(db, admin(), a, {a}) == 422);
  CHECK(status_of(db, admin(), a, {"00000000-0000-4000-8000-000000000000"}) == 404);
  const auth::Principal head{"head-1", "demo",
                             auth::Role::sales_head};  // pool: owner = head-1; none here
  CHECK(status_of(db, head, a, {b}) == 404);
  CHECK(status_of(db, admin(), a, {b}) == 200);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE deleted_at IS NULL") ==
        3);  // dry runs only
}
