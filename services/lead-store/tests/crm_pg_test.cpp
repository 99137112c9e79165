// CRM SQL against the real test PostgreSQL: a fresh database per test with the
// embedded leads migrations; the same transaction-level operations the HTTP
// handlers and the follow-up scheduler run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/testing/infra.hpp>

#include "crm_repository.hpp"
#include "crm_service.hpp"
#include "sql_values.hpp"
#include "followup_scheduler.hpp"
#include "lead_edit.hpp"
#include "lead_json.hpp"
#include "repository.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

struct Db {
  std::string url;
  pg::Pool pool;
  Db() : url(make()), pool({.url = url, .size = 2, .application_name = "crm-test"}, log::root()) {}
  static std::string make() {
    auto url = testing::create_database("crm");
    pg::migrate(url, "leads", embedded::leads_migrations(), log::root());
    return url;
  }
  long long scalar(const std::string& sql) {
    return pool.with([&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      return tx.exec(sql)[0][0].as<long long>();
    });
  }
  Lead create(const std::string& tenant, const std::string& name, const std::string& phone, int score = 0,
              const std::string& stage = "new") {
    return pg::transact(pool, [&](pqxx::work& tx) {
      Lead l;
      l.id = events::uuid_v4();
      l.tenant = tenant;
      l.name = name;
      l.phone = phone;
      l.stage = stage;
      l.source = "manual";
      l.score = score;
      l.version = 1;
      l.created_at = l.updated_at = l.stage_changed_at = events::now_rfc3339();
      repo::insert(tx, l);
      return l;
    });
  }
  Lead load(const std::string& tenant, const std::string& id) {
    return pool.with([&](pqxx::connection& c) {
      pqxx::work tx(c);
      return *repo::load(tx, tenant, id, false);
    });
  }
  long long outbox(const std::string& topic) {
    return scalar("SELECT count(*) FROM leads.outbox WHERE topic = '" + topic + "'");
  }
};

}  // namespace

TEST_CASE("closing a lead journals the move, emits stage_changed + closed and cancels follow-ups", "[pg]") {
  Db db;
  auto lead = db.create("demo", "Budi", "+6281200000001");
  pg::transact(db.pool, [&](pqxx::work& tx) {
    repo::Followup f;
    f.id = events::uuid_v4();
    f.tenant = "demo";
    f.lead_id = lead.id;
    f.kind = "call";
    f.due_at = "2030-01-01T00:00:00Z";
    f.created_by = "c1";
    repo::insert_followup(tx, f);
  });
  pg::transact(db.pool, [&](pqxx::work& tx) {
    auto l = *repo::load(tx, "demo", lead.id, true);
    const auto& p = Pipeline::admissions();
    REQUIRE(check_transition(p, l.stage, "lost", "counselor", "chose another university").ok());
    change_stage(tx, l, p, "lost", "c1", "chose another university", events::now_rfc3339());
  });
  auto after = db.load("demo", lead.id);
  CHECK(after.stage == "lost");
  CHECK(after.version == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.stage_history WHERE from_stage = 'new' AND to_stage = 'lost' "
                  "AND actor = 'c1' AND reason = 'chose another university' AND seconds_in_previous >= 0") == 1);
  CHECK(db.outbox("lead.stage_changed") == 1);
  CHECK(db.outbox("lead.closed") == 1);
  CHECK(db.outbox("lead.converted") == 0);
  CHECK(db.scalar("SELECT count(*) FROM leads.followups WHERE status = 'cancelled' AND cancel_reason = 'lead closed'") ==
        1);
}

TEST_CASE("the scheduler publishes followup.due exactly once per due follow-up, a snooze re-arms it", "[pg]") {
  Db db;
  auto lead = db.create("demo", "Rina", "+6281200000002");
  using namespace std::chrono;
  auto now = system_clock::now();
  FollowupScheduler scheduler(db.pool, {.interval = hours(1), .batch = 2, .clock = [&now] { return now; }},
                              log::root());
  std::vector<std::string> ids;
  pg::transact(db.pool, [&](pqxx::work& tx) {
    for (int i = 0; i < 3; ++i) {
      repo::Followup f;
      f.id = events::uuid_v4();
      f.tenant = "demo";
      f.lead_id = lead.id;
      f.kind = "call";
      f.due_at = format_time(now + minutes(10 + i));
      f.created_by = "c1";
      f.assigned_to = "c1";
      repo::insert_followup(tx, f);
      ids.push_back(f.id);
    }
  });
  CHECK(scheduler.tick() == 0);
  now += minutes(15);
  CHECK(scheduler.tick() == 3);   // more than one batch
  CHECK(scheduler.tick() == 0);   // exactly once
  CHECK(db.outbox("followup.due") == 3);
  pg::transact(db.pool, [&](pqxx::work& tx) {
    auto f = *repo::load_followup(tx, "demo", lead.id, ids[0], true);
    CHECK(f.overdue == false);  // derived from the real clock, due in the (real) future
    f.due_at = format_time(now + minutes(30));
    f.snoozes += 1;
    repo::update_followup(tx, f, true);
  });
  CHECK(scheduler.tick() == 0);
  now += minutes(31);
  CHECK(scheduler.tick() == 1);
  CHECK(db.outbox("followup.due") == 4);
}

TEST_CASE("LP_US read back with rfc3339_micros equals LP_TS for any instant", "[pg]") {
  Db db;
  const auto rows = db.pool.with([](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return tx.exec(
        "SELECT " LP_TS("t") ", " LP_US("t") " FROM (VALUES ('2026-11-23 19:03:04.123999+00'::timestamptz), "
        "('1969-12-31 23:59:59.9995+00'), ('2000-02-29 23:59:59.000001+07'), ('1970-01-01 00:00:00+00'), "
        "(now())) v(t)");
  });
  REQUIRE(rows.size() == 5);
  for (const auto& r : rows) CHECK(sql::rfc3339_micros(r[1].as<long long>()) == r[0].as<std::string>());
}

TEST_CASE("search q= matches word prefixes of name and e-mail, and partial phone digits", "[pg]") {
  Db db;
  auto budi = db.create("demo", "Budi Santoso", "+6281200000021");
  auto santi = db.create("demo", "Santi Budiman", "+6281200000022");
  auto jose = db.create("demo", "José Conceição", "+5511987654321");
  auto rina = db.create("demo", "Rina", "+6281200000023");
  db.create("acme", "Budi Santoso", "+6281200000024");  // another tenant's namesake
  pg::transact(db.pool, [&](pqxx::work& tx) {
    tx.exec_params0("UPDATE leads.leads SET email = 'rina.wulandari@example.com' WHERE id = $1::uuid", rina.id);
    tx.exec_params0("UPDATE leads.leads SET email = 'bsantoso87@mail.id' WHERE id = $1::uuid", budi.id);
  });
  auto found = [&](const std::string& text) {
    repo::ListQuery q;
    q.tenant = "demo";
    q.q = text;
    auto page = db.pool.with([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      return repo::list(tx, q);
    });
    std::vector<std::string> ids;
    for (const auto& l : page.items) ids.push_back(l.id);
    std::sort(ids.begin(), ids.end());
    CHECK(page.total == static_cast<long long>(ids.size()));
    return ids;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(found("budi santo") == std::vector<std::string>{budi.id});           // every word is a prefix of one
  CHECK(found("budi sant") == sorted({budi.id, santi.id}));                   // "Santi Budiman" too
  CHECK(found("BUDI") == sorted({budi.id, santi.id}));                        // case-insensitive, "Budiman" too
  CHECK(found("sant") == sorted({budi.id, santi.id}));
  CHECK(found("  santoso,  budi ") == std::vector<std::string>{budi.id});     // punctuation separates words
  CHECK(found("josé") == std::vector<std::string>{jose.id});
  CHECK(found("JOSÉ CONCEI") == std::vector<std::string>{jose.id});           // non-ASCII lower-cased by PostgreSQL
  CHECK(found("wulan") == std::vector<std::string>{rina.id});                 // a word of the e-mail's local part
  CHECK(found("rina.wulandari@example.com") == std::vector<std::string>{rina.id});
  CHECK(found("wulandari@exa") == std::vector<std::string>{rina.id});
  CHECK(found("bsantoso87") == std::vector<std::string>{budi.id});              // digits are words of their own
  CHECK(found("bsantoso8@mail") == std::vector<std::string>{budi.id});
  CHECK(found("0812-0000-0022") == std::vector<std::string>{santi.id});      // phone digits, trunk 0 dropped
  CHECK(found("00023") == std::vector<std::string>{rina.id});                 // partial digits
  CHECK(found("9876 54321") == std::vector<std::string>{jose.id});
  CHECK(found("anto").empty());                                               // not a word prefix
  CHECK(found("'; DROP TABLE leads.leads; --").empty());                     // only words reach the tsquery
  CHECK(found("&|!:*()").empty());                                            // no word at all: no match, no error
  CHECK(found("budi & !santo") == std::vector<std::string>{budi.id});        // operators separate, never negate

  // Prefixes are expanded to the words leads have (leads.search_words, kept
  // by triggers): a renamed lead is found by its new name's words at once.
  pg::transact(db.pool, [&](pqxx::work& tx) {
    auto l = *repo::load(tx, "demo", rina.id, true);
    l.name = "Rina Kartikasari";
    touch(l, events::now_rfc3339());
    repo::update(tx, l);
  });
  CHECK(found("kartik") == std::vector<std::string>{rina.id});
  CHECK(found("rina kart") == std::vector<std::string>{rina.id});
  const auto expanded = db.pool.with([](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return tx.exec("SELECT leads.search_query('{budi,sant}')::text, leads.search_query('{zzz}') IS NULL")[0];
  });
  CHECK(expanded[0].as<std::string>() == "( 'budi' | 'budiman' ) & ( 'santi' | 'santoso' )");
  CHECK(expanded[1].as<bool>());
  // More than 64 words start with a prefix: it stays a prefix, nothing is lost.
  for (int i = 0; i < 70; ++i) db.create("demo", "Member" + std::to_string(1000 + i), "+62813000" + std::to_string(10000 + i));
  repo::ListQuery many;
  many.tenant = "demo";
  many.q = "member";
  const auto page = db.pool.with([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return repo::list(tx, many);
  });
  CHECK(page.total == 70);
  CHECK(found("member1069").size() == 1);
  CHECK(found("member rina").empty());  // "member" stays a prefix: the word form, no pairs
}

TEST_CASE("two-word searches use the word pairs' index and find exactly what the word search finds", "[pg]") {
  Db db;
  const std::vector<std::string> firsts{"Budi", "Budiman", "Agus", "Santi", "Putri"};
  const std::vector<std::string> lasts{"Santoso", "Putra", "Putri", "Budi", "Agustina"};
  int n = 0;
  for (const auto& f : firsts) {
    for (const auto& l : lasts) {
      db.create("demo", f + " " + l, "+628125500" + std::to_string(1000 + n++));
    }
  }
  auto other = db.create("acme", "Budi Santoso", "+6281255009999");  // another tenant
  pg::transact(db.pool, [&](pqxx::work& tx) {
    // Words from the e-mail pair up with the name's too.
    tx.exec("UPDATE leads.leads SET email = 'agus.hartono@example.com' WHERE name = 'Agus Putra'");
  });
  // The forms leads.search_queries gives (migration 0015).
  auto forms = [&](const std::string& typed) {
    return db.pool.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      const auto r = tx.exec_params1("SELECT words::text, pairs::text FROM leads.search_queries($1::text[])", typed);
      return std::pair<std::string, std::string>{r[0].is_null() ? "NULL" : r[0].as<std::string>(),
                                                 r[1].is_null() ? "NULL" : r[1].as<std::string>()};
    });
  };
  const std::string agus_putr = "'agus putra' | 'agus putri' | 'agustina putra' | 'agustina putri'";
  CHECK(forms("{agus,putr}").second == agus_putr);
  CHECK(forms("{putr,agus}").second == agus_putr);  // byte order within a pair
  CHECK(forms("{budi,sant,put}").second ==
        "( 'budi santi' | 'budi santoso' | 'budiman santi' | 'budiman santoso' ) & "
        "( 'putra santi' | 'putra santoso' | 'putri santi' | 'putri santoso' )");
  // Its word form is leads.search_query's.
  for (const char* typed : {"{budi,sant}", "{agus,putr,hart}", "{bu,budi}", "{budi}", "{b,putri}", "{budi,zzz}"}) {
    INFO(typed);
    const auto same = db.pool.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      return tx.exec_params1("SELECT (SELECT words FROM leads.search_queries($1::text[])) IS NOT DISTINCT FROM "
                             "leads.search_query($1::text[])", typed)[0].as<bool>();
    });
    CHECK(same);
  }
  CHECK(forms("{budi}").second == "NULL");      // one word
  CHECK(forms("{bu,budi}").second == "NULL");   // the terms share 'budi'
  CHECK(forms("{budi,zzz}").first == "NULL");   // nothing matches
  CHECK(forms("{budi,zzz}").second == "NULL");
  // Through the list: the same leads as the word query over search_doc.
  auto listed = [&](const std::string& text) {
    repo::ListQuery q;
    q.tenant = "demo";
    q.q = text;
    q.limit = 200;
    auto page = db.pool.with([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      return repo::list(tx, q);
    });
    std::set<std::string> ids;
    for (const auto& l : page.items) ids.insert(l.id);
    CHECK(page.total == static_cast<long long>(ids.size()));
    return ids;
  };
  auto by_words = [&](const std::string& typed) {
    return db.pool.with([&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      std::set<std::string> ids;
      for (const auto& r : tx.exec_params(
               "SELECT id::text FROM leads.leads WHERE tenant = 'demo' AND search_doc @@ leads.search_query($1::text[])",
               typed)) {
        ids.insert(r[0].as<std::string>());
      }
      return ids;
    });
  };
  for (const auto& [text, typed] : std::vector<std::pair<std::string, std::string>>{
           {"agus putr", "{agus,putr}"},
           {"budi sant", "{budi,sant}"},
           {"sant budi", "{sant,budi}"},
           {"putri budi", "{putri,budi}"},
           {"agus putr hart", "{agus,putr,hart}"},  // three terms: two pairs
           {"agus hart", "{agus,hart}"},  // one word of the name, one of the e-mail
           {"putra hartono", "{putra,hartono}"},
           {"bu budi", "{bu,budi}"},      // no pair form: one word can match both terms
           {"putri putri", "{putri,putri}"}}) {
    INFO(text);
    const auto got = listed(text);
    CHECK(got == by_words(typed));
    CHECK_FALSE(got.empty());
    CHECK(got.count(other.id) == 0);
  }
  CHECK(listed("putri putri").size() == 9);  // "Putri X" and "X Putri": 5 + 5, "Putri Putri" once
  CHECK(listed("budi santoso").size() == 2);  // "Budi Santoso", "Budiman Santoso"
}

TEST_CASE("list filters: view, tags, overdue, scopes, score sort with keyset pagination, counts", "[pg]") {
  Db db;
  auto a = db.create("demo", "Ana", "+6281200000011", 90);
  auto b = db.create("demo", "Bea", "+6281200000012", 50);
  auto c = db.create("demo", "Cid", "+6281200000013", 90, "lost");
  auto other = db.create("acme", "Ana Other", "+6281200000014", 99);
  pg::transact(db.pool, [&](pqxx::work& tx) {
    auto la = *repo::load(tx, "demo", a.id, true);
    retag(tx, la, {{"nursing", std::string("course")}, {"expo", std::nullopt}}, {}, "admin", events::now_rfc3339());
    auto lb = *repo::load(tx, "demo", b.id, true);
    assign(tx, lb, "counsellor", std::string("c2"), "head", "", events::now_rfc3339());
    assign(tx, lb, "owner", std::string("head-1"), "admin", "", events::now_rfc3339());
    touch(lb, events::now_rfc3339());
    repo::update(tx, lb);
    repo::Followup f;
    f.id = events::uuid_v4();
    f.tenant = "demo";
    f.lead_id = b.id;
    f.kind = "call";
    f.due_at = "2020-01-01T00:00:00Z";
    f.created_by = "c2";
    repo::insert_followup(tx, f);
  });
  auto list = [&](repo::ListQuery q) {
    if (q.tenant.empty()) q.tenant = "demo";
    return db.pool.with([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      return repo::list(tx, q);
    });
  };
  auto names = [](const repo::ListPage& p) {
    std::vector<std::string> out;
    for (const auto& l : p.items) out.push_back(*l.name);
    return out;
  };
  repo::ListQuery q;
  CHECK(list(q).total == 3);   // never another tenant's
  q.stages = Pipeline::admissions().open_stages();
  CHECK(list(q).total == 2);   // view=actionable
  q = {};
  q.tags = {"nursing"};
  CHECK(names(list(q)) == std::vector<std::string>{"Ana"});
  q = {};
  q.overdue = true;
  CHECK(names(list(q)) == std::vector<std::string>{"Bea"});
  q = {};
  q.scope_person = "c2";
  CHECK(names(list(q)) == std::vector<std::string>{"Bea"});
  q = {};
  q.scope_owner = "head-1";
  CHECK(list(q).total == 1);
  q = {};
  q.q = "ana";
  CHECK(list(q).total == 1);

  // Score first, then the oldest contact; pages of one follow the same order.
  q = {};
  q.sort = "score";
  q.limit = 1;
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto page = list(q);
    for (const auto& n : names(page)) seen.push_back(n);
    if (!page.next_cursor) break;
    q.cursor = page.next_cursor;
  }
  REQUIRE(seen.size() == 3);
  CHECK(seen[2] == "Bea");
  q.cursor = "7265636e747c78";  // "recent|x": a cursor of another sort
  CHECK_THROWS_AS(list(q), std::invalid_argument);

  auto counts = db.pool.with([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    repo::ListQuery all;
    all.tenant = "demo";
    return repo::counts(tx, all);
  });
  CHECK(counts.total == 3);
  CHECK(counts.by_stage.size() == 2);
  CHECK(counts.by_tag.size() == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.tags WHERE name = 'nursing' AND category = 'course'") == 1);
  CHECK(db.outbox("lead.tagged") == 1);
  CHECK(db.outbox("lead.assigned") == 2);
  CHECK(db.scalar("SELECT count(*) FROM leads.assignment_history WHERE lead_id = '" + b.id + "'") == 2);
  (void)c;
  (void)other;
}

TEST_CASE("erasing a lead removes its personal data and frees the phone", "[pg]") {
  Db db;
  auto lead = db.create("demo", "Budi", "+6281200000021");
  pg::transact(db.pool, [&](pqxx::work& tx) {
    repo::add_identity(tx, "demo", "whatsapp", "6281200000021", lead.id);
    repo::add_note(tx, "demo", lead.id, "c1", "lives at Jl. Merdeka 1");
    auto l = *repo::load_unerased(tx, "demo", lead.id);
    touch(l, events::now_rfc3339());
    repo::erase(tx, l);
  });
  CHECK(db.scalar("SELECT count(*) FROM leads.leads WHERE name IS NULL AND phone IS NULL AND erased_at IS NOT NULL") ==
        1);
  CHECK(db.scalar("SELECT count(*) FROM leads.lead_identities") == 0);
  CHECK(db.scalar("SELECT count(*) FROM leads.notes WHERE body <> ''") == 0);
  db.create("demo", "Budi again", "+6281200000021");   // the phone is free
}

TEST_CASE("a tenant's own pipeline replaces the default", "[pg]") {
  Db db;
  pg::transact(db.pool, [&](pqxx::work& tx) {
    CHECK(repo::pipeline_for(tx, "clinic").name == "admissions");
    repo::save_pipeline(tx, "clinic", Pipeline::from_json(builtin_pipelines().at("clinic")), "admin");
  });
  pg::transact(db.pool, [&](pqxx::work& tx) {
    auto p = repo::pipeline_for(tx, "clinic");
    CHECK(p.name == "clinic");
    CHECK(p.has("booked"));
    CHECK(repo::pipeline_for(tx, "demo").name == "admissions");
  });
}

TEST_CASE("a list page rendered straight from the rows equals the leads' JSON, on every path", "[pg]") {
  Db db;
  // Every kind of value: nulls, a null score, word lists, tags, a contact
  // time, a pre-1970 and a far-future instant, text needing JSON escapes.
  pg::transact(db.pool, [&](pqxx::work& tx) {
    for (int i = 0; i < 7; ++i) {
      Lead l;
      l.id = events::uuid_v4();
      l.tenant = "demo";
      l.stage = i % 2 ? "new" : "contacted";
      l.source = i % 3 ? "whatsapp" : "vendor";
      l.version = 1 + i;
      l.created_at = i == 5 ? "1969-07-20T20:17:40.123Z" : "2026-11-2" + std::to_string(i) + "T10:00:00.456Z";
      l.updated_at = i == 6 ? "2999-12-31T23:59:59.999Z" : l.created_at;
      l.stage_changed_at = l.created_at;
      if (i != 1) l.name = "Budi \"Santoso\" \\ " + std::to_string(i) + " \u00e9\u0001";
      if (i != 2) l.phone = "+62812000010" + std::to_string(i);
      if (i % 2) l.email = "budi" + std::to_string(i) + "@example.com";
      if (i == 3) {
        l.program = "Nursing";
        l.channel = "whatsapp";
        l.tier = "hot";
        l.score_reasons = {"name given", "asked \"fees\""};
        l.intents = {"register"};
        l.assigned_to = "t1";
        l.counsellor = "c1";
        l.owner = "head-1";
        l.interest = "warm";
        l.session_year = "2026/27";
        l.last_contacted_at = "2026-11-24T08:00:00.001Z";
        l.suggested_stage = "qualified";
        l.tags = {"expo", "vip"};
        l.created_by = "admin";
        l.confidence = {{"name", 0.9}};
      }
      if (i == 4) {  // plain word lists: copied from PostgreSQL's text, not parsed
        l.score_reasons = {"name given", "phone given", "program: D3 Akuntansi"};
        l.intents = {"visit", "register"};
      }
      if (i != 4) l.score = 10 * i;
      repo::insert(tx, l);
    }
    // Tags (not written by insert): plain ones, and ones with every escape
    // (quote, backslash, newline, tab, a control character) and UTF-8.
    tx.exec0("UPDATE leads.leads SET tags = ARRAY['expo', 'vip', 'open day'] WHERE tenant = 'demo' AND version = 5");
    tx.exec0("UPDATE leads.leads SET tags = ARRAY['a\"b', 'c\\d', 'e\nf\tg', 'h\x1fi', 'caf\u00e9', ' x , y '] "
             "WHERE tenant = 'demo' AND version = 4");
  });
  auto both = [&](repo::ListQuery q) {
    q.tenant = "demo";
    return db.pool.with([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      auto objects = repo::list(tx, q);
      q.items_as_json = true;
      auto rendered = repo::list(tx, q);
      CHECK(rendered.items.empty());
      CHECK(rendered.next_cursor == objects.next_cursor);
      CHECK(rendered.total == objects.total);
      rapidjson::StringBuffer buf;
      JsonWriter w(buf);
      w.StartArray();
      for (const auto& lead : objects.items) {
        w.StartObject();
        write_lead_members(w, lead, "id");
        w.EndObject();
      }
      w.EndArray();
      CHECK(rendered.items_json == std::string(buf.GetString(), buf.GetSize()));
      return objects;
    });
  };
  repo::ListQuery q;
  auto first = both(q);
  CHECK(first.items.size() == 7);
  q.limit = 3;  // a full page with a cursor, then the next page through it
  const auto page1 = both(q);
  REQUIRE(page1.next_cursor);
  q.cursor = page1.next_cursor;
  CHECK(both(q).items.size() == 3);
  q = {};
  q.q = "santoso";  // the one-scan search path (lead 1 has no name)
  CHECK(both(q).items.size() == 6);
  q.q = "nobody";  // its empty page
  CHECK(both(q).items.empty());
  q = {};
  q.sort = "score";
  both(q);
}
