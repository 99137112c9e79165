// Automatic assignment rules against the real test PostgreSQL: leads created
// without a telecaller (any source) go to a team member by the team's strategy,
// journaled with lead.assigned; capacity exhaustion leaves them unassigned and
// counted; concurrent creations never over-fill a member; the metrics count
// committed outcomes only.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "assignment_rules.hpp"
#include "leads_db.hpp"
#include "pipeline.hpp"
#include "repository.hpp"
#include "sources_consumer.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

struct RulesDb : LeadsDb {
  RulesDb() : LeadsDb("rules", 4) {}
  void rules(const char* json) {
    rapidjson::Document d;
    d.Parse(json);
    std::vector<http::FieldError> errors;
    auto teams = parse_assignment_rules(d, errors);
    REQUIRE(errors.empty());
    pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      repo::save_assignment_rules(tx, "demo", teams, std::nullopt, "admin-1");
      tx.commit();
    });
  }
  void vendor(int n, const std::string& vendor = "v") {
    auto ev =
        events::make(std::string(events::topics::ingest_vendor_lead), "/test", "demo", "",
                     R"({"channel":"vendor","vendor":")" + vendor +
                         R"(","api_key_id":"k1","vendor_lead_id":"L)" + std::to_string(n) +
                         R"(","name":"Lead )" + std::to_string(n) + R"(","phone":"+62812000)" +
                         std::to_string(10000 + n) + R"(","received_at":"2026-01-15T09:30:12Z"})");
    kafka::Record r;
    r.topic = std::string(events::topics::ingest_vendor_lead);
    r.value = events::to_json(ev);
    handle_record(deps, r, log::root());
  }
  // A manual lead of tenant demo, inserted in `tx` (as POST /api/v1/leads does).
  static Lead insert_lead(pqxx::work& tx, const std::string& phone) {
    Lead lead;
    lead.id = events::uuid_v4();
    lead.tenant = "demo";
    lead.name = "Manual";
    lead.phone = phone;
    lead.source = "manual";
    lead.stage = "new";
    lead.version = 1;
    lead.created_at = lead.updated_at = lead.stage_changed_at = events::now_rfc3339();
    repo::insert(tx, lead);
    return lead;
  }
  std::string assignee(int n) {
    return text("SELECT coalesce(assigned_to, '-') FROM leads.leads WHERE phone = '+62812000" +
                std::to_string(10000 + n) + "'");
  }
};

}  // namespace

double assigned_metric(const std::string& strategy) {
  return workflow_metric("leadpipe_leads_auto_assigned_total", {{"strategy", strategy}, {"role", "telecaller"}});
}
double skipped_metric(const std::string& strategy, const std::string& reason) {
  return workflow_metric("leadpipe_leads_auto_assign_skipped_total", {{"strategy", strategy}, {"reason", reason}});
}

TEST_CASE("round robin assigns new leads in turn, journaled with lead.assigned", "[pg]") {
  RulesDb db;
  const auto counted = assigned_metric("round_robin");
  db.vendor(0);  // before any rule: stays unassigned
  CHECK(db.assignee(0) == "-");
  db.rules(
      R"({"teams":[{"team":"north","strategy":"round_robin","members":["c1","c2",{"member":"c3","active":false}]}]})");
  for (int i = 1; i <= 4; ++i) db.vendor(i);
  CHECK(db.assignee(1) == "c1");
  CHECK(db.assignee(2) == "c2");
  CHECK(db.assignee(3) == "c1");
  CHECK(db.assignee(4) == "c2");
  CHECK(db.scalar("SELECT count(*) FROM leads.assignment_history WHERE reason = 'assignment rule: "
                  "north'") == 4);
  CHECK(db.scalar("SELECT count(*) FROM leads.outbox WHERE topic = 'lead.assigned'") == 4);
  CHECK(db.scalar(
            "SELECT count(*) FROM leads.leads WHERE assigned_to IS NOT NULL AND version = 2") == 4);
  CHECK(db.scalar("SELECT assigned FROM leads.assignment_daily WHERE member = 'c1'") == 2);
  CHECK(assigned_metric("round_robin") - counted == 4);
}

TEST_CASE("least loaded gives the lead to the member with the fewest open leads", "[pg]") {
  RulesDb db;
  const auto counted = assigned_metric("least_loaded");
  db.rules(R"({"teams":[{"team":"a","strategy":"round_robin","members":["c1"]}]})");
  db.vendor(1);
  db.vendor(2);  // c1 holds 2 open leads
  db.rules(R"({"teams":[{"team":"b","strategy":"least_loaded","members":["c1","c2"]}]})");
  db.vendor(3);
  CHECK(db.assignee(3) == "c2");
  db.vendor(4);
  CHECK(db.assignee(4) == "c2");  // c2 has 1, c1 has 2
  db.vendor(5);
  CHECK(db.assignee(5) != "-");
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to = 'c2'") >= 2);
  CHECK(assigned_metric("least_loaded") - counted == 3);
}

TEST_CASE("capacity exhaustion leaves the lead unassigned and counted, teams filter by source",
          "[pg]") {
  RulesDb db;
  const auto assigned = assigned_metric("round_robin");
  const auto full = skipped_metric("round_robin", "capacity_full");
  db.rules(
      R"({"teams":[{"team":"forms","sources":["campaign"],"members":["c9"]},)"
      R"({"team":"vendors","capacity_per_day":1,"members":["c1",{"member":"c2","capacity_per_day":2}]}]})");
  for (int i = 1; i <= 5; ++i) db.vendor(i);
  CHECK(assigned_metric("round_robin") - assigned == 3);
  CHECK(skipped_metric("round_robin", "capacity_full") - full == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to = 'c1'") == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to = 'c2'") == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to IS NULL") == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to = 'c9'") ==
        0);  // not a form lead
  CHECK(db.scalar("SELECT leads FROM leads.assignment_unassigned WHERE team = 'vendors'") == 2);
  CHECK(db.scalar(
            "SELECT count(*) FROM leads.lead_activities WHERE kind = 'auto_assign_skipped'") == 2);
  const auto unassigned = db.pool.with([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return repo::unassigned_today(tx, "demo", std::nullopt);
  });
  CHECK(unassigned == 2);
}

TEST_CASE("concurrent lead creations never exceed a member's capacity", "[pg]") {
  RulesDb db;
  const auto assigned = assigned_metric("least_loaded");
  const auto full = skipped_metric("least_loaded", "capacity_full");
  db.rules(
      R"({"teams":[{"team":"t","strategy":"least_loaded","capacity_per_day":3,"members":["c1","c2"]}]})");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        try {
          db.vendor(t * 10 + i, "v" + std::to_string(t));
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 16);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to = 'c1'") == 3);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE assigned_to = 'c2'") == 3);
  CHECK(db.scalar("SELECT leads FROM leads.assignment_unassigned") == 10);
  // Counted once per committed lead, whatever the transactions retried.
  CHECK(assigned_metric("least_loaded") - assigned == 6);
  CHECK(skipped_metric("least_loaded", "capacity_full") - full == 10);
}

TEST_CASE("assignment counters move only when the transaction commits", "[pg]") {
  RulesDb db;
  db.rules(R"({"teams":[{"team":"t","members":["c1"]}]})");
  const auto open = Pipeline::admissions().open_stages();
  const auto before = assigned_metric("round_robin");

  // The first attempt is rolled back (a serialization failure) and retried: one lead, counted once.
  int attempts = 0;
  const auto member = pg::transact(db.pool, [&](pqxx::work& tx) {
    auto lead = RulesDb::insert_lead(tx, "+6281299990001");
    auto out = apply_assignment_rules(tx, lead, open);
    if (++attempts == 1) throw pqxx::serialization_failure("simulated conflict");
    return out.member.value_or("-");
  });
  CHECK(attempts == 2);
  CHECK(member == "c1");
  CHECK(assigned_metric("round_robin") - before == 1);

  // A transaction that fails after the assignment counts nothing.
  CHECK_THROWS_AS(pg::transact(db.pool,
                               [&](pqxx::work& tx) {
                                 auto lead = RulesDb::insert_lead(tx, "+6281299990002");
                                 if (!apply_assignment_rules(tx, lead, open).member) throw std::logic_error("not assigned");
                                 throw std::runtime_error("abandoned");
                               }),
                  std::runtime_error);
  CHECK(assigned_metric("round_robin") - before == 1);
  CHECK(db.scalar("SELECT count(*) FROM leads.leads") == 1);

  // A team without an active member: unassigned, counted as no_active_member.
  const auto inactive = skipped_metric("round_robin", "no_active_member");
  db.rules(R"({"teams":[{"team":"t","members":[{"member":"c1","active":false}]}]})");
  db.vendor(1);
  CHECK(db.assignee(1) == "-");
  CHECK(skipped_metric("round_robin", "no_active_member") - inactive == 1);
  CHECK(assigned_metric("round_robin") - before == 1);
}
