// Outreach results on the timeline and CRM messages against the real test
// PostgreSQL: one timeline entry per message whose status only moves forward,
// the automatic contacted move (journaled) on the first message that counts,
// CRM requests pending until outreach answers, and replays that change nothing.
#include <catch2/catch.hpp>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/schema.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/message.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "crm_service.hpp"
#include "messages_api.hpp"
#include "repository.hpp"
#include "leads_db.hpp"
#include "sources_consumer.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

struct Db : LeadsDb {
  Db() : LeadsDb("outreach") {}
  std::string snapshot() {
    return text(
        "SELECT concat_ws('|', (SELECT string_agg(id::text || ':' || version || ':' || stage, ',' "
        "ORDER BY id) "
        "FROM leads.leads), (SELECT string_agg(payload::text, ',' ORDER BY id) FROM "
        "leads.lead_activities), "
        "(SELECT string_agg(status || coalesce(message_id, '-') || contacted::text, ',' ORDER BY "
        "id) "
        "FROM leads.outreach_messages), (SELECT count(*) FROM leads.stage_history), "
        "(SELECT count(*) FROM leads.outbox), (SELECT count(*) FROM leads.processed_events))");
  }
  Intake apply(const kafka::Record& r) { return handle_record(deps, r, log::root()); }
  std::string lead_id(const std::string& phone) {
    return text("SELECT id::text FROM leads.leads WHERE phone = '" + phone + "'");
  }
};

kafka::Record record(std::string_view type, const std::string& tenant, const std::string& data) {
  auto ev = events::make(std::string(type), "/test", tenant, "", data);
  kafka::Record r;
  r.topic = std::string(type);
  r.value = events::to_json(ev);
  return r;
}

// A vendor lead: complete (name + phone), so it starts in `new`.
void vendor_lead(Db& db, const std::string& phone, const std::string& id = "VND-1") {
  db.apply(record(events::topics::ingest_vendor_lead, "demo",
                  R"({"channel":"vendor","vendor":"v","api_key_id":"k1","vendor_lead_id":")" + id +
                      R"(","name":"Budi Santoso","phone":")" + phone +
                      R"(","received_at":"2026-01-15T09:30:12Z"})"));
}

std::string sent(const std::string& message_id, const std::string& to, const std::string& purpose,
                 const std::string& request_id = "") {
  return R"({"request_id":)" +
         (request_id.empty() ? std::string("null") : "\"" + request_id + "\"") +
         R"(,"message_id":")" + message_id + R"(","channel":"whatsapp","to":")" + to +
         R"(","lead_id":null,)" + R"("purpose":")" + purpose +
         R"(","sent_at":"2026-01-15T10:02:00Z","sender":{"kind":"counsellor",)" +
         R"("user_id":"c1"},"sensitive":false,"message":{"kind":"text","text":"Halo Budi"}})";
}

std::string delivered(const std::string& message_id, const std::string& to,
                      const std::string& status) {
  return R"({"message_id":")" + message_id + R"(","channel":"whatsapp","to":")" + to +
         R"(","status":")" + status + R"(","at":"2026-01-15T10:03:10Z"})";
}

std::string failed(const std::string& message_id, const std::string& to,
                   const std::string& lead_id) {
  return R"({"message_id":")" + message_id + R"(","channel":"whatsapp","to":")" + to +
         R"(","lead_id":")" + lead_id +
         R"(","purpose":"followup","failed_at":"2026-01-15T10:02:05Z","retryable":false,)" +
         R"("error":{"code":"131026","title":"Message undeliverable"}})";
}

}  // namespace

TEST_CASE(
    "outreach results make one timeline entry per message and the first one moves the lead to "
    "contacted",
    "[pg]") {
  Db db;
  vendor_lead(db, "+6281200000001");
  const auto id = db.lead_id("+6281200000001");
  REQUIRE(db.text("SELECT stage FROM leads.leads") == "new");

  const auto s =
      record(events::topics::outreach_sent, "demo", sent("m-1", "+6281200000001", "followup"));
  const auto d = record(events::topics::outreach_delivered, "demo",
                        delivered("m-1", "+6281200000001", "delivered"));
  const auto r = record(events::topics::outreach_delivered, "demo",
                        delivered("m-1", "+6281200000001", "read"));
  CHECK(db.apply(s) == Intake::updated);
  CHECK(db.text("SELECT stage FROM leads.leads") == "contacted");
  CHECK(db.text("SELECT reason FROM leads.stage_history") == "first contact");
  CHECK(db.text("SELECT actor FROM leads.stage_history") == "c1");
  CHECK_FALSE(db.text("SELECT last_contacted_at FROM leads.leads").empty());
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.stage_changed'") == 1);
  CHECK(db.apply(r) == Intake::updated);
  // delivered after read: the entry keeps read (never backwards), but records when it was
  // delivered.
  db.apply(d);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'outreach'") == 1);
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "read");
  CHECK(db.text(
            "SELECT payload->>'delivered_at' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "2026-01-15T10:03:10Z");
  CHECK(db.text("SELECT payload->'message'->>'text' FROM leads.lead_activities WHERE kind = "
                "'outreach'") == "Halo Budi");
  CHECK(db.text("SELECT lead_id::text FROM leads.lead_activities WHERE kind = 'outreach'") == id);

  // A second message: its own entry, no second contacted move.
  db.apply(
      record(events::topics::outreach_sent, "demo", sent("m-2", "+6281200000001", "followup")));
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'outreach'") == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.stage_history") == 1);

  // Replaying every topic twice changes nothing.
  const auto before = db.snapshot();
  for (int i = 0; i < 2; ++i) {
    for (const auto* rec : {&s, &d, &r}) CHECK(db.apply(*rec) == Intake::duplicate);
  }
  CHECK(db.snapshot() == before);
}

TEST_CASE("a failed message is on the timeline with its error and is no contact", "[pg]") {
  Db db;
  vendor_lead(db, "+6281200000002");
  const auto id = db.lead_id("+6281200000002");
  const auto f =
      record(events::topics::outreach_failed, "demo", failed("m-9", "+6281299999999", id));
  CHECK(db.apply(f) == Intake::updated);  // found by lead_id, not by the (other) phone
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "failed");
  CHECK(
      db.text(
          "SELECT payload->'error'->>'code' FROM leads.lead_activities WHERE kind = 'outreach'") ==
      "131026");
  CHECK(db.text("SELECT stage FROM leads.leads") == "new");
  // The provider's sent arriving late does not undo a final failure.
  db.apply(
      record(events::topics::outreach_sent, "demo", sent("m-9", "+6281299999999", "followup")));
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "failed");
  CHECK(db.text("SELECT stage FROM leads.leads") == "new");
  const auto before = db.snapshot();
  CHECK(db.apply(f) == Intake::duplicate);
  CHECK(db.apply(f) == Intake::duplicate);
  CHECK(db.snapshot() == before);
}

TEST_CASE(
    "a bot slot prompt is on the timeline but is not a contact, an unknown recipient is skipped",
    "[pg]") {
  Db db;
  vendor_lead(db, "+6281200000003");
  db.apply(
      record(events::topics::outreach_sent, "demo", sent("m-3", "+6281200000003", "slot_prompt")));
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'outreach'") == 1);
  CHECK(db.text("SELECT stage FROM leads.leads") == "new");
  CHECK(db.text("SELECT last_contacted_at FROM leads.leads").empty());
  CHECK(db.apply(record(events::topics::outreach_sent, "demo",
                        sent("m-4", "+6281277777777", "followup"))) == Intake::skipped);
  // Another tenant's message to the same phone is not this lead's.
  CHECK(db.apply(record(events::topics::outreach_sent, "acme",
                        sent("m-5", "+6281200000003", "followup"))) == Intake::skipped);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'outreach'") == 1);
}

TEST_CASE("a CRM message is pending on the timeline until outreach's result updates the same entry",
          "[pg]") {
  Db db;
  vendor_lead(db, "+6281200000004");
  const auto id = db.lead_id("+6281200000004");
  std::vector<http::FieldError> errors;
  rapidjson::Document body;
  body.Parse(
      R"({"channel":"whatsapp","template":"followup_1","language":"id","parameters":["Budi"]})");
  const auto request = parse_message_request(body, errors);
  REQUIRE(errors.empty());
  const auth::Principal c1{"c1", "demo", auth::Role::counselor};
  const auth::Principal admin{"admin-1", "demo", auth::Role::admin};
  auto request_in_tx = [&](const auth::Principal& who, const std::string& lead) {
    return db.pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto rid = request_message_in_tx(tx, who, lead, request);
      tx.commit();
      return rid;
    });
  };
  auto status_of = [&](const auth::Principal& who, const std::string& lead) {
    try {
      request_in_tx(who, lead);
      return 202;
    } catch (const http::HttpError& e) {
      return e.status;
    }
  };
  // A counsellor who is not on the lead does not see it.
  CHECK(status_of(c1, id) == 404);
  CHECK(status_of({"admin-1", "acme", auth::Role::admin}, id) == 404);
  const auto rid = request_in_tx(admin, id);
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "pending");
  CHECK(
      db.text("SELECT payload->>'request_id' FROM leads.lead_activities WHERE kind = 'outreach'") ==
      rid);
  CHECK(db.text("SELECT key FROM leads.outbox WHERE topic = 'outreach.requested'") ==
        "demo:+6281200000004");
  const auto ev =
      events::parse(db.text("SELECT payload FROM leads.outbox WHERE topic = 'outreach.requested'"));
  CHECK(events::SchemaSet::builtin().validate("outreach.requested", ev.data).empty());
  CHECK(ev.data.find(R"("purpose":"crm")") != std::string::npos);
  CHECK(ev.data.find(R"("user_id":"admin-1")") != std::string::npos);
  CHECK(db.text("SELECT stage FROM leads.leads") == "new");  // requested is not sent yet

  db.apply(
      record(events::topics::outreach_sent, "demo", sent("m-7", "+6281200000004", "crm", rid)));
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'outreach'") == 1);
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "sent");
  CHECK(db.text("SELECT message_id FROM leads.outreach_messages") == "m-7");
  CHECK(db.text("SELECT stage FROM leads.leads") == "contacted");
  db.apply(record(events::topics::outreach_delivered, "demo",
                  delivered("m-7", "+6281200000004", "delivered")));
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "delivered");

  // A lead without a phone cannot be messaged: 422.
  const auto no_phone = db.pool.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    Lead l;
    l.id = events::uuid_v4();
    l.tenant = "demo";
    l.name = "Sari";
    l.email = "sari@example.com";
    l.stage = "new";
    l.source = "manual";
    l.version = 1;
    l.created_at = l.updated_at = l.stage_changed_at = events::now_rfc3339();
    repo::insert(tx, l);
    tx.commit();
    return l.id;
  });
  CHECK(status_of(admin, no_phone) == 422);
}

TEST_CASE(
    "a register intent after contact suggests qualified without moving, the stage change accepts "
    "it",
    "[pg]") {
  Db db;
  vendor_lead(db, "+6281200000005");
  const auto id = db.lead_id("+6281200000005");
  auto extracted = [&](const std::string& intent) {
    const std::string ev = R"("evidence":{"message_id":"wamid.1","layer":"rule","confidence":0.95,)"
                           R"("detected_at":"2026-01-15T09:00:00.000Z"})";
    return record(
        events::topics::contact_extracted, "demo",
        R"({"channel":"whatsapp","external_id":"6281200000005","source_event_id":"s1","message_id":"wamid.1",)"
        R"("phones":[{"value":"+6281200000005",)" +
            ev + R"(}],"emails":[],"intents":[")" + intent +
            R"("],"score":60,"tier":"warm","score_reasons":[]})");
  };
  // Before contact: an intent is recorded, nothing is suggested.
  db.apply(extracted("visit_intent"));
  CHECK(db.text("SELECT suggested_stage FROM leads.leads").empty());
  db.apply(
      record(events::topics::outreach_sent, "demo", sent("m-s", "+6281200000005", "followup")));
  REQUIRE(db.text("SELECT stage FROM leads.leads") == "contacted");
  const auto reg = extracted("register_intent");
  db.apply(reg);
  CHECK(db.text("SELECT stage FROM leads.leads") == "contacted");  // never a move
  CHECK(db.text("SELECT suggested_stage FROM leads.leads") == "qualified");
  CHECK(db.text("SELECT suggested_reason FROM leads.leads") == "register_intent");
  CHECK(db.text(
            "SELECT payload->>'stage' FROM leads.lead_activities WHERE kind = 'stage_suggested'") ==
        "qualified");
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.updated' AND payload LIKE "
                  "'%\"suggested_stage\":\"qualified\"%'") == 1);
  const auto before = db.snapshot();
  db.apply(reg);
  CHECK(db.snapshot() == before);
  // The CRM accepts it with the normal stage change, which clears it.
  db.pool.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto lead = *repo::load(tx, "demo", id, true);
    change_stage(tx, lead, Pipeline::admissions(), "qualified", "c1", "accepted suggestion",
                 events::now_rfc3339());
    tx.commit();
  });
  CHECK(db.text("SELECT stage FROM leads.leads") == "qualified");
  CHECK(db.text("SELECT suggested_stage FROM leads.leads").empty());
  CHECK(db.text("SELECT suggested_reason FROM leads.leads").empty());
}

TEST_CASE("erasing a lead wipes the text and recipient of its outreach entries", "[pg]") {
  Db db;
  vendor_lead(db, "+6281200000006");
  const auto id = db.lead_id("+6281200000006");
  db.apply(
      record(events::topics::outreach_sent, "demo", sent("m-e", "+6281200000006", "followup")));
  REQUIRE(db.text("SELECT payload->'message'->>'text' FROM leads.lead_activities WHERE kind = "
                  "'outreach'") == "Halo Budi");
  db.pool.with([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto lead = *repo::load(tx, "demo", id, true);
    repo::erase(tx, lead);
    tx.commit();
  });
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'outreach' AND payload "
                  "? 'message'") == 0);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE payload::text LIKE "
                  "'%6281200000006%'") == 0);
  CHECK(db.text("SELECT payload->>'status' FROM leads.lead_activities WHERE kind = 'outreach'") ==
        "sent");
}
