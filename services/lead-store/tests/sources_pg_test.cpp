// The intake consumers (sources_consumer.hpp and consumer.hpp) against the real
// test PostgreSQL: a fresh database per test with the embedded leads
// migrations, records built like the gateway / extractor produce them.
#include <catch2/catch.hpp>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "crm_repository.hpp"
#include "repository.hpp"
#include "leads_db.hpp"
#include "sources_consumer.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

struct Db : LeadsDb {
  Db() : LeadsDb("sources") {}
  Lead lead(const std::string& tenant, const std::string& phone) {
    return pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto id = repo::find_by_phone(tx, tenant, phone);
      REQUIRE(id);
      return *repo::load(tx, tenant, *id, false);
    });
  }
  // Everything a replay must leave alone.
  std::string snapshot() {
    return text(
        "SELECT concat_ws('|', (SELECT count(*) FROM leads.leads), (SELECT coalesce(sum(version), 0) FROM leads.leads), "
        "(SELECT string_agg(id::text || ':' || version || ':' || stage || ':' || extra::text, ',' ORDER BY id) "
        "FROM leads.leads), "
        "(SELECT count(*) FROM leads.lead_identities), (SELECT count(*) FROM leads.lead_captures), "
        "(SELECT count(*) FROM leads.lead_activities), (SELECT count(*) FROM leads.stage_history), "
        "(SELECT count(*) FROM leads.outbox), (SELECT count(*) FROM leads.processed_events))");
  }
  Intake apply(const kafka::Record& r) { return handle_record(deps, r, log::root()); }
};

kafka::Record record(std::string_view type, const std::string& tenant, const std::string& data) {
  auto ev = events::make(std::string(type), "/test", tenant, "", data);
  kafka::Record r;
  r.topic = std::string(type);
  r.value = events::to_json(ev);
  return r;
}

std::string vendor_data(const std::string& vendor_lead_id, const std::string& name, const std::string& phone,
                        const std::string& email = "") {
  return R"({"channel":"vendor","vendor":"collegedunia","api_key_id":"k1","vendor_lead_id":")" + vendor_lead_id +
         R"(","name":")" + name + R"(","phone":")" + phone + R"(","email":)" +
         (email.empty() ? "null" : "\"" + email + "\"") +
         R"(,"session_year":"2027-28","course":"Drone Technology Diploma","program":null,"city":"Pune",)"
         R"("utm":{"source":"collegedunia"},"extra":{"jee_rank":15420},"received_at":"2026-01-15T09:30:12Z"})";
}

std::string form_data(const std::string& campaign, const std::string& form, const std::string& phone) {
  const bool applied = form == "application";
  return R"({"channel":"website","campaign":")" + campaign + R"(","campaign_type":"promo","form_type":")" + form +
         R"(","status":")" + (applied ? "applied" : "interested") + R"(","did_interest_form":true,)" +
         R"("did_application_form":)" + (applied ? "true" : "false") + R"(,"name":"Ana Souza","phone":")" + phone +
         R"(","phone_verified":true,"email":"ana.souza@example.com","session_year":"2027-28",)"
         R"("course":"Drone Technology Diploma","utm":{"source":"instagram"},"extra":{},)"
         R"("submitted_at":"2026-01-15T11:20:00Z"})";
}

std::string call_data(const std::string& call_id, const std::string& customer, const std::string& outcome,
                      int duration) {
  return R"({"channel":"call","integration_id":"exotel-main","provider":"exotel","call_id":")" + call_id +
         R"(","direction":"inbound","from":")" + customer + R"(","to":"+918044556677","customer_phone":)" +
         (customer.rfind('+', 0) == 0 ? "\"" + customer + "\"" : std::string("null")) +
         R"(,"started_at":"2026-01-15T10:02:00Z","ended_at":"2026-01-15T10:06:31Z","duration_seconds":)" +
         std::to_string(duration) + R"(,"outcome":")" + outcome +
         R"(","agent":"aarya-bot","transcript":"customer: hi","received_at":"2026-01-15T10:06:33Z"})";
}

std::string whatsapp_data(const std::string& wa_id, const std::string& name, const std::string& phone) {
  const std::string ev = R"("evidence":{"message_id":"wamid.1","layer":"rule","confidence":0.95,)"
                         R"("detected_at":"2026-01-15T09:00:00.000Z"})";
  return R"({"channel":"whatsapp","external_id":")" + wa_id +
         R"(","source_event_id":"s1","message_id":"wamid.1","name":{"value":")" + name + R"(",)" + ev +
         R"(},"phones":[{"value":")" + phone + R"(",)" + ev + R"(}],"emails":[],"intents":[],"score":40,)" +
         R"("tier":"warm","score_reasons":[]})";
}

}  // namespace

TEST_CASE("a vendor lead creates a lead with its identity, captures, extra and lead.created", "[pg]") {
  Db db;
  db.apply(record(events::topics::ingest_vendor_lead, "demo",
                  vendor_data("VND-1", "Arjun Mehta", "+919820144512", "Arjun.Mehta@Example.com")));
  auto l = db.lead("demo", "+919820144512");
  CHECK(l.name == "Arjun Mehta");
  CHECK(l.email == "arjun.mehta@example.com");
  CHECK(l.program == "Drone Technology Diploma");
  CHECK(l.session_year == "2027-28");
  CHECK(l.source == "vendor");
  CHECK(l.stage == "new");
  CHECK(l.version == 1);
  CHECK(db.text("SELECT extra->>'utm_source' FROM leads.leads") == "collegedunia");
  CHECK(db.text("SELECT extra->>'jee_rank' FROM leads.leads") == "15420");
  CHECK(db.text("SELECT channel || '/' || external_id FROM leads.lead_identities") == "vendor:collegedunia/VND-1");
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_captures WHERE layer = 'vendor'") == 4);
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.created'") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'lead_created'") == 1);
  // Another tenant's push of the same phone is another lead.
  db.apply(record(events::topics::ingest_vendor_lead, "other", vendor_data("VND-1", "Arjun", "+919820144512")));
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 2);
}

TEST_CASE("the same person from WhatsApp and a vendor is one lead with both identities", "[pg]") {
  Db db;
  db.apply(record(events::topics::contact_extracted, "demo", whatsapp_data("6281200000001", "Budi", "+6281200000001")));
  db.apply(record(events::topics::ingest_vendor_lead, "demo",
                  vendor_data("VND-9", "Budi Santoso", "+6281200000001", "budi@example.com")));
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 1);
  auto l = db.lead("demo", "+6281200000001");
  CHECK(l.source == "whatsapp");
  CHECK(l.name == "Budi");                    // the chat's rule hit (0.95) beats the vendor's 0.9
  CHECK(l.email == "budi@example.com");
  CHECK(l.version == 2);
  CHECK(db.text("SELECT string_agg(channel, ',' ORDER BY channel) FROM leads.lead_identities") ==
        "vendor:collegedunia,whatsapp");
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.updated'") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_captures WHERE field = 'name' AND NOT applied") == 1);

  // A vendor push whose e-mail belongs to a lead with another number: an
  // e-mail alone never joins two different phones (issue 5) — its own lead,
  // and the pair is a duplicate candidate for a person to merge or dismiss.
  db.apply(record(events::topics::ingest_vendor_lead, "demo",
                  vendor_data("VND-10", "Budi", "+6281299999999", "budi@example.com")));
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 2);
  CHECK(db.lead("demo", "+6281200000001").phone == "+6281200000001");
  CHECK(db.text("SELECT reason FROM leads.duplicate_candidates") == "email");
  CHECK(db.text("SELECT other_lead_id::text FROM leads.duplicate_candidates") == db.lead("demo", "+6281200000001").id);
}

TEST_CASE("campaign forms: one lead, the form status advances and never downgrades", "[pg]") {
  Db db;
  db.apply(record(events::topics::ingest_campaign_submission, "demo", form_data("drone-2027", "interest", "+5511987654321")));
  auto l = db.lead("demo", "+5511987654321");
  CHECK(l.source == "campaign");
  CHECK(l.stage == "new");
  CHECK(db.text("SELECT extra->>'form_status:drone-2027' FROM leads.leads") == "interested");
  db.apply(record(events::topics::ingest_campaign_submission, "demo",
                  form_data("drone-2027", "application", "+5511987654321")));
  CHECK(db.text("SELECT extra->>'form_status:drone-2027' FROM leads.leads") == "applied");
  CHECK(db.lead("demo", "+5511987654321").version == 2);
  // A later interest form (new event) does not downgrade and changes nothing.
  db.apply(record(events::topics::ingest_campaign_submission, "demo", form_data("drone-2027", "interest", "+5511987654321")));
  CHECK(db.text("SELECT extra->>'form_status:drone-2027' FROM leads.leads") == "applied");
  CHECK(db.lead("demo", "+5511987654321").version == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_identities") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind IN ('lead_created', 'captured')") == 3);
}

TEST_CASE("calls: logged on the lead's timeline, a reached call moves it to contacted, journaled", "[pg]") {
  Db db;
  db.apply(record(events::topics::ingest_vendor_lead, "demo", vendor_data("VND-1", "Priya Nair", "+919845012377")));
  // A missed call is logged, nothing else.
  CHECK(db.apply(record(events::topics::ingest_call_completed, "demo", call_data("c0", "+919845012377", "no_answer", 0))) ==
        Intake::unchanged);
  auto l = db.lead("demo", "+919845012377");
  CHECK(l.stage == "new");
  CHECK(l.version == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_activities WHERE kind = 'call'") == 1);
  // A completed call: contacted, journaled, last_contacted_at set.
  db.apply(record(events::topics::ingest_call_completed, "demo", call_data("c1", "+919845012377", "completed", 271)));
  l = db.lead("demo", "+919845012377");
  CHECK(l.stage == "contacted");
  CHECK(l.version == 2);
  CHECK(l.last_contacted_at);
  CHECK(db.text("SELECT from_stage || '>' || to_stage || ':' || actor FROM leads.stage_history") ==
        "new>contacted:aarya-bot");
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.stage_changed'") == 1);
  CHECK(db.text("SELECT payload->>'outcome' FROM leads.lead_activities WHERE kind = 'call' ORDER BY id DESC LIMIT 1") ==
        "completed");
  // A second completed call only records the contact (no second move).
  db.apply(record(events::topics::ingest_call_completed, "demo", call_data("c2", "+919845012377", "completed", 30)));
  CHECK(db.lead("demo", "+919845012377").stage == "contacted");
  CHECK(db.scalar("SELECT count(*) FROM leads.stage_history") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.updated'") == 1);
}

TEST_CASE("calls: an unknown caller becomes an incomplete lead, an invalid number is skipped", "[pg]") {
  Db db;
  db.apply(record(events::topics::ingest_call_completed, "demo", call_data("c1", "+6281277770000", "busy", 0)));
  auto l = db.lead("demo", "+6281277770000");
  CHECK(l.stage == "incomplete");
  CHECK(l.source == "call");
  CHECK_FALSE(l.name);
  CHECK(db.text("SELECT channel FROM leads.lead_identities") == "call");
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.created'") == 1);
  // The same caller, reached: incomplete → contacted (the pipeline allows it).
  db.apply(record(events::topics::ingest_call_completed, "demo", call_data("c2", "+6281277770000", "completed", 60)));
  CHECK(db.lead("demo", "+6281277770000").stage == "contacted");
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 1);
  // Then the WhatsApp chat gives the name: same lead, it stays contacted.
  db.apply(record(events::topics::contact_extracted, "demo", whatsapp_data("6281277770000", "Rina", "+6281277770000")));
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 1);
  CHECK(db.lead("demo", "+6281277770000").name == "Rina");

  CHECK(db.apply(record(events::topics::ingest_call_completed, "demo", call_data("c3", "12345", "completed", 60))) ==
        Intake::skipped);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.processed_events") == 4);
}

TEST_CASE("bad input is a permanent error", "[pg]") {
  Db db;
  kafka::Record r;
  r.topic = std::string(events::topics::ingest_vendor_lead);
  r.value = "not json";
  CHECK_THROWS_AS(db.apply(r), kafka::PermanentError);
  r = record(events::topics::ingest_vendor_lead, "demo", R"({"channel":"vendor"})");
  CHECK_THROWS_AS(db.apply(r), kafka::PermanentError);  // schema
  r = record(events::topics::ingest_call_completed, "demo", vendor_data("V", "A", "+6281200000001"));
  r.topic = std::string(events::topics::ingest_vendor_lead);
  CHECK_THROWS_AS(db.apply(r), kafka::PermanentError);  // type / topic mismatch
  r.topic = "lead.created";
  CHECK_THROWS_AS(db.apply(r), kafka::PermanentError);  // not consumed
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 0);
}

TEST_CASE("replay: every consumed topic's events applied twice change nothing", "[pg]") {
  Db db;
  const std::vector<kafka::Record> records{
      record(events::topics::contact_extracted, "demo", whatsapp_data("6281200000001", "Budi", "+6281200000001")),
      record(events::topics::ingest_vendor_lead, "demo", vendor_data("VND-1", "Budi S", "+6281200000001", "b@x.io")),
      record(events::topics::ingest_vendor_lead, "demo", vendor_data("VND-2", "Arjun Mehta", "+919820144512")),
      record(events::topics::ingest_campaign_submission, "demo", form_data("c1", "interest", "+5511987654321")),
      record(events::topics::ingest_campaign_submission, "demo", form_data("c1", "application", "+5511987654321")),
      record(events::topics::ingest_call_completed, "demo", call_data("k1", "+919820144512", "completed", 100)),
      record(events::topics::ingest_call_completed, "demo", call_data("k2", "+6281277770000", "completed", 100)),
      record(events::topics::ingest_call_completed, "demo", call_data("k3", "bad", "completed", 100)),
  };
  for (const auto& r : records) db.apply(r);
  const auto once = db.snapshot();
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 4);
  for (const auto& r : records) {
    const auto outcome = handle_record(db.deps, r, log::root());
    if (r.topic != events::topics::contact_extracted) CHECK(outcome == Intake::duplicate);
  }
  CHECK(db.snapshot() == once);
  // Replayed in reverse order too.
  for (auto it = records.rbegin(); it != records.rend(); ++it) db.apply(*it);
  CHECK(db.snapshot() == once);
}
