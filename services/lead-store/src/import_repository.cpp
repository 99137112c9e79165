#include "import_repository.hpp"

#include <pqxx/stream_to>
#include <rapidjson/document.h>

#include <algorithm>
#include <future>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>
#include <unordered_map>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/outbox/outbox.hpp>

#include "assignment_rules.hpp"
#include "crm_service.hpp"
#include "duplicates.hpp"
#include "lead_json.hpp"
#include "crm_repository.hpp"
#include "repository.hpp"
#include "sql_values.hpp"

namespace leadpipe::leads::import {
namespace {

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

using Opt = std::optional<std::string>;

std::string json_object(const std::map<std::string, std::string>& m) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  for (const auto& [k, v] : m) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string imported_payload(const std::string& batch_id, const Row& row, const Change& c) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("batch_id");
  w.String(batch_id.c_str());
  w.Key("row");
  w.Int(row.row);
  w.Key("created");
  w.Bool(c.created);
  w.Key("fields");
  std::vector<std::string> fields;
  if (c.created) {
    for (const auto& cap : c.captures) fields.push_back(cap.field);
  } else {
    fields = c.changed;
  }
  w.StartArray();
  for (const auto& f : fields) w.String(f.c_str());
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

struct OutboxRow {
  std::string topic, key, payload, headers;
};

OutboxRow event_row(const std::string& type, const Lead& lead, const std::string& data) {
  auto ev = events::make(type, "/lead-store", lead.tenant, lead.id, data);
  std::map<std::string, std::string> headers{{"ce_type", ev.type}, {"ce_id", ev.id}, {"tenantid", lead.tenant}};
  return {type, lead.tenant + ":" + lead.id, events::to_json(ev), json_object(headers)};
}

std::vector<std::string> text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

std::string json_pair(const char* k1, const std::string& v1, const char* k2 = nullptr, const std::string& v2 = {}) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key(k1);
  w.String(v1.c_str(), static_cast<rapidjson::SizeType>(v1.size()));
  if (k2) {
    w.Key(k2);
    w.String(v2.c_str(), static_cast<rapidjson::SizeType>(v2.size()));
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// The timeline entry of an assignment (crm_service's assign()).
std::string assigned_payload(const std::string& member) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("role");
  w.String("telecaller");
  w.Key("previous");
  w.Null();
  w.Key("assigned_to");
  w.String(member.c_str(), static_cast<rapidjson::SizeType>(member.size()));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string rule_reason(const Change& c) { return "assignment rule: " + *c.rule_team; }

#define TODAY "(now() AT TIME ZONE 'UTC')::date"

}  // namespace

void plan_assignments(pqxx::transaction_base& tx, const std::string& tenant, Plan& plan,
                      const std::vector<std::string>& open_stages, bool for_update) {
  if (plan.inserted == 0) return;
  // Cheap check first: most tenants have no rules (one query per import).
  const auto rows = tx.exec_params(
      "SELECT team, sources, owner FROM leads.assignment_teams WHERE tenant = $1 AND active ORDER BY position",
      tenant);
  if (rows.empty()) return;
  std::vector<Team> teams;
  for (const auto& r : rows) {
    Team t;
    t.team = r[0].as<std::string>();
    t.sources = text_array(r[1]);
    if (!r[2].is_null()) t.owner = r[2].as<std::string>();
    teams.push_back(std::move(t));
  }
  // The first matching team per created lead (the import sets no telecaller).
  std::vector<int> team_of(plan.changes.size(), -1);
  std::vector<bool> used(teams.size(), false);
  for (std::size_t i = 0; i < plan.changes.size(); ++i) {
    const auto& c = plan.changes[i];
    if (!c.created || c.lead.assigned_to) continue;
    for (std::size_t t = 0; t < teams.size(); ++t) {
      if (team_matches(teams[t], c.lead)) {
        team_of[i] = static_cast<int>(t);
        used[t] = true;
        break;
      }
    }
  }
  const std::string lock = for_update ? " FOR UPDATE" : "";
  struct TeamState {
    std::string strategy;
    int rr_next = 0;
    bool assigned_any = false;
    std::vector<std::string> names;
    std::vector<Candidate> base;  // active + capacity; counts live in `load`
  };
  std::vector<std::optional<TeamState>> state(teams.size());
  std::vector<std::string> members;
  bool least_loaded = false;
  // Teams in position order: the same lock order as concurrent imports.
  for (std::size_t t = 0; t < teams.size(); ++t) {
    if (!used[t]) continue;
    TeamState s;
    const auto team = tx.exec_params1(
        "SELECT strategy, rr_next FROM leads.assignment_teams WHERE tenant = $1 AND team = $2" + lock, tenant,
        teams[t].team);
    s.strategy = team[0].as<std::string>();
    s.rr_next = team[1].as<int>();
    least_loaded |= s.strategy == "least_loaded";
    const auto ms = tx.exec_params(
        "SELECT m.member, m.active, COALESCE(m.capacity_per_day, t.capacity_per_day) "
        "FROM leads.assignment_members m JOIN leads.assignment_teams t ON t.tenant = m.tenant AND t.team = m.team "
        "WHERE m.tenant = $1 AND m.team = $2 ORDER BY m.position",
        tenant, teams[t].team);
    for (const auto& m : ms) {
      s.names.push_back(m[0].as<std::string>());
      Candidate cand;
      cand.active = m[1].as<bool>();
      if (!m[2].is_null()) cand.capacity = m[2].as<int>();
      s.base.push_back(cand);
      members.push_back(s.names.back());
    }
    state[t] = std::move(s);
  }
  // Members' counters for the day (across teams), locked on a real run so a
  // concurrent conditional increment (apply_assignment_rules) waits for us.
  std::unordered_map<std::string, std::pair<int, long long>> load;  // member → (today, open leads)
  if (!members.empty()) {
    if (for_update) {
      tx.exec_params0(
          "INSERT INTO leads.assignment_daily (tenant, member, day, assigned) "
          "SELECT $1, m, " TODAY ", 0 FROM unnest($2::text[]) m ON CONFLICT DO NOTHING",
          tenant, sql::pg_array(members));
    }
    const auto daily = tx.exec_params(
        "SELECT member, assigned FROM leads.assignment_daily WHERE tenant = $1 AND member = ANY($2::text[]) "
        "AND day = " TODAY " ORDER BY member" + lock,
        tenant, sql::pg_array(members));
    for (const auto& d : daily) load[d[0].as<std::string>()].first = d[1].as<int>();
    if (least_loaded) {
      const auto open = tx.exec_params(
          "SELECT assigned_to, count(*) FROM leads.leads WHERE tenant = $1 AND assigned_to = ANY($2::text[]) "
          "AND deleted_at IS NULL AND stage = ANY($3::text[]) GROUP BY assigned_to",
          tenant, sql::pg_array(members), sql::pg_array(open_stages));
      for (const auto& o : open) load[o[0].as<std::string>()].second = o[1].as<long long>();
    }
  }
  const std::set<std::string> open(open_stages.begin(), open_stages.end());
  std::vector<Candidate> cands;
  for (std::size_t i = 0; i < plan.changes.size(); ++i) {
    if (team_of[i] < 0) continue;
    auto& c = plan.changes[i];
    auto& s = *state[static_cast<std::size_t>(team_of[i])];
    c.rule_team = teams[static_cast<std::size_t>(team_of[i])].team;
    c.rule_strategy = s.strategy;
    cands = s.base;
    for (std::size_t k = 0; k < cands.size(); ++k) {
      const auto& l = load[s.names[k]];
      cands[k].assigned_today = l.first;
      cands[k].open_leads = l.second;
    }
    const auto pick = choose_member(s.strategy, cands, s.rr_next);
    if (!pick) {
      c.rule_skipped = unassigned_reason(cands);
      continue;
    }
    auto& l = load[s.names[*pick]];
    l.first += 1;
    if (open.count(c.lead.stage)) l.second += 1;
    s.rr_next = static_cast<int>((*pick + 1) % cands.size());
    s.assigned_any = true;
    c.rule_member = s.names[*pick];
    plan.rows[c.row_index].assigned_to = c.rule_member;
    ++plan.assigned;
  }
  for (std::size_t t = 0; t < teams.size(); ++t) {
    if (state[t] && state[t]->assigned_any) plan.rr_next.emplace_back(teams[t].team, state[t]->rr_next);
  }
}

void plan_duplicate_candidates(pqxx::transaction_base& tx, const std::string& tenant, Plan& plan,
                               const std::vector<Existing>& existing) {
  struct Keys {
    const Opt* phone;
    const Opt* email;
  };
  std::vector<const Change*> subjects;  // leads whose contact keys are new
  for (const auto& c : plan.changes) {
    const auto has = [&c](const char* f) { return std::find(c.changed.begin(), c.changed.end(), f) != c.changed.end(); };
    if (c.created || has("phone") || has("email")) subjects.push_back(&c);
  }
  if (subjects.empty()) return;
  std::unordered_map<std::string, Keys> keys;  // lead id → its contact keys after the import
  keys.reserve(existing.size() + plan.changes.size());
  for (const auto& e : existing) keys[e.lead.id] = {&e.lead.phone, &e.lead.email};
  for (const auto& c : plan.changes) keys[c.lead.id] = {&c.lead.phone, &c.lead.email};
  std::set<std::pair<std::string, std::string>> seen;  // unordered pair, smaller id first
  const auto add = [&](const std::string& a, const std::string& b, const char* reason, std::string detail) {
    if (a == b || !seen.emplace(std::min(a, b), std::max(a, b)).second) return;
    plan.candidates.push_back({a, b, reason, std::move(detail)});
  };

  // The same e-mail on another lead with a different phone: every such lead
  // of the tenant is in `existing` (loaded by the rows' e-mails) or the plan.
  std::unordered_map<std::string, std::vector<std::string>> by_email;
  for (const auto& [id, k] : keys) {
    if (*k.email) by_email[**k.email].push_back(id);
  }
  for (const auto* c : subjects) {
    if (!c->lead.email) continue;
    const auto& ids = by_email[*c->lead.email];
    if (ids.size() < 2) continue;
    for (const auto& other : ids) {
      if (other != c->lead.id && *keys[other].phone != c->lead.phone)
        add(c->lead.id, other, "email", json_pair("email", *c->lead.email));
    }
  }

  // Phone variants, for Brazilian numbers only (the 9th digit): cheap to test,
  // and the country-code variant of every row would mean ten libphonenumber
  // validations per row.
  struct Probe {
    const Change* c;
    PhoneVariant v;
  };
  std::vector<Probe> probes;
  std::vector<std::string> variant_phones;
  for (const auto* c : subjects) {
    if (!c->lead.phone || c->lead.phone->rfind("+55", 0) != 0) continue;
    for (auto& v : phone_variants(*c->lead.phone, default_variant_regions())) {
      variant_phones.push_back(v.phone);
      probes.push_back({c, std::move(v)});
    }
  }
  if (!probes.empty()) {
    std::unordered_multimap<std::string, std::string> holders;  // phone → lead id
    for (const auto& c : plan.changes) {
      if (c.lead.phone) holders.emplace(*c.lead.phone, c.lead.id);
    }
    // A join with the list, not `phone = ANY(list)`: see load_existing.
    const auto r = tx.exec_params(
        "SELECT l.phone, l.id::text FROM unnest($2::text[]) AS v(phone) "
        "JOIN leads.leads l ON l.tenant = $1 AND l.phone = v.phone WHERE l.deleted_at IS NULL",
        tenant, sql::pg_array(variant_phones));
    for (const auto& row : r) holders.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    for (const auto& p : probes) {
      const auto [b, e] = holders.equal_range(p.v.phone);
      for (auto it = b; it != e; ++it) {
        add(p.c->lead.id, it->second, p.v.reason.c_str(), json_pair("phone", *p.c->lead.phone, "variant", p.v.phone));
      }
    }
  }

  // Pairs between two leads that existed before may already be recorded (or
  // dismissed): those are not new.
  std::set<std::string> created;
  for (const auto& c : plan.changes) {
    if (c.created) created.insert(c.lead.id);
  }
  std::vector<std::string> as, bs;
  for (const auto& p : plan.candidates) {
    if (!created.count(p.lead_id) && !created.count(p.other_lead_id)) {
      as.push_back(p.lead_id);
      bs.push_back(p.other_lead_id);
    }
  }
  if (!as.empty()) {
    std::set<std::pair<std::string, std::string>> known;
    const auto r = tx.exec_params(
        "SELECT x.a::text, x.b::text FROM unnest($2::uuid[], $3::uuid[]) AS x(a, b) WHERE EXISTS ("
        "SELECT 1 FROM leads.duplicate_candidates d WHERE d.tenant = $1 "
        "AND LEAST(d.lead_id, d.other_lead_id) = LEAST(x.a, x.b) "
        "AND GREATEST(d.lead_id, d.other_lead_id) = GREATEST(x.a, x.b))",
        tenant, sql::pg_array(as), sql::pg_array(bs));
    for (const auto& row : r) known.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    if (!known.empty()) {
      plan.candidates.erase(std::remove_if(plan.candidates.begin(), plan.candidates.end(),
                                           [&known](const CandidatePair& p) {
                                             return known.count({p.lead_id, p.other_lead_id}) > 0;
                                           }),
                            plan.candidates.end());
    }
  }
}

void lock_tenant(pqxx::transaction_base& tx, const std::string& tenant) {
  tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended('leadpipe.leads.import:' || $1, 0))", tenant);
}

std::vector<Existing> load_existing(pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::vector<Row>& rows, bool for_update) {
  std::vector<std::string> phones, emails;
  for (const auto& r : rows) {
    if (!r.status.empty()) continue;
    if (r.phone) phones.push_back(*r.phone);
    if (r.email) emails.push_back(*r.email);
  }
  std::vector<Existing> out;
  if (phones.empty() && emails.empty()) return out;
  // One statement for all rows: the file's phones and e-mails joined with
  // the table (the (tenant, phone) and (tenant, email) b-trees), then locked
  // in created_at order. Not `phone = ANY($2) OR email = ANY($3)`: for a
  // 10,000-row file into a million-lead tenant the planner answered that
  // from the phone *trigram* index (gin_trgm_ops also serves =), 9,500
  // trigram searches, and the import hit the 10 s statement timeout (500).
  // ORDER BY is table-qualified: a bare `id` binds to the `id::text` output
  // column. The columns are what decide() needs; events of updated leads are
  // built from a full repo::load_many after the update (write()).
  const std::string cols =
      "id::text, name, phone, email, program, stage, source, channel, assigned_to, version, "
      "capture_confidence::text, " TS("stage_changed_at") ", " TS("created_at") ", " TS("updated_at") ", "
      "owner, session_year, array_to_json(tags)::text, extra::text";
  const std::string lock = for_update ? " FOR UPDATE" : "";
  const auto r = tx.exec_params(
      "SELECT " + cols + " FROM leads.leads WHERE tenant = $1 AND deleted_at IS NULL AND id IN ("
          "SELECT x.id FROM unnest($2::text[]) AS p(v) JOIN leads.leads x ON x.tenant = $1 AND x.phone = p.v "
          "UNION ALL "
          "SELECT x.id FROM unnest($3::text[]) AS e(v) JOIN leads.leads x ON x.tenant = $1 AND x.email = e.v) "
          "ORDER BY leads.created_at, leads.id" + lock,
      tenant, sql::pg_array(phones), sql::pg_array(emails));
  out.reserve(r.size());
  const auto opt = [](const pqxx::field& f) -> Opt {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
  };
  for (const auto& row : r) {
    Existing e;
    Lead& l = e.lead;
    l.id = row[0].as<std::string>();
    l.tenant = tenant;
    l.name = opt(row[1]);
    l.phone = opt(row[2]);
    l.email = opt(row[3]);
    l.program = opt(row[4]);
    l.stage = row[5].as<std::string>();
    l.source = row[6].as<std::string>();
    l.channel = opt(row[7]);
    l.assigned_to = opt(row[8]);
    l.version = row[9].as<int>();
    l.confidence = sql::json_confidence_map(row[10].as<std::string>());
    l.stage_changed_at = row[11].as<std::string>();
    l.created_at = row[12].as<std::string>();
    l.updated_at = row[13].as<std::string>();
    e.owner = opt(row[14]);
    e.session_year = opt(row[15]);
    e.tags = sql::json_strings(row[16].as<std::string>());
    e.extra = sql::json_string_map(row[17].as<std::string>());
    out.push_back(std::move(e));
  }
  return out;
}

void write(pqxx::work& tx, const Batch& batch, Plan& plan, Phases* phases) {
  const auto mark = [phases](const char* name) {
    if (phases) phases->mark(name);
  };
  // One statement may take a while for 100k rows; the pool's default
  // statement_timeout is meant for interactive queries.
  tx.exec("SET LOCAL statement_timeout = '120s'");
  for (auto& c : plan.changes) c.lead.tenant = batch.tenant;

  // lead.created events need nothing from the database: they are built on
  // another thread while PostgreSQL ingests the leads, captures and timeline
  // (5 s of a 100k-row import under load). `plan` is only read from here on.
  const auto build_created = [&plan] {
    std::vector<std::optional<OutboxRow>> out(plan.changes.size());
    for (std::size_t i = 0; i < plan.changes.size(); ++i) {
      const auto& c = plan.changes[i];
      if (c.created) out[i] = event_row(std::string(events::topics::lead_created), c.lead, lead_event_data(c.lead, nullptr));
    }
    return out;
  };
  std::future<std::vector<std::optional<OutboxRow>>> created_events;
  try {
    created_events = std::async(std::launch::async, build_created);
  } catch (const std::system_error&) {
    created_events = std::async(std::launch::deferred, build_created);
  }


  tx.exec_params0(
      "INSERT INTO leads.import_batches (id, tenant, created_by, options, total, inserted, updated, duplicates, "
      "invalid) VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)",
      batch.id, batch.tenant, batch.created_by, batch.options_json, static_cast<int>(plan.rows.size()),
      plan.inserted, plan.updated, plan.duplicates, plan.invalid);

  {
    pqxx::stream_to s(tx, "leads.leads",
                      std::vector<std::string>{"id", "tenant", "name", "phone", "email", "program", "stage", "source",
                                               "channel", "owner", "version", "capture_confidence",
                                               "stage_changed_at", "created_at", "updated_at", "session_year", "tags",
                                               "extra", "created_by", "assigned_to"});
    for (const auto& c : plan.changes) {
      if (!c.created) continue;
      const auto& l = c.lead;
      // A lead an assignment rule gives a telecaller is written as it is once
      // assigned (version 2); lead.created still carries version 1 (the
      // sequence of a lead created, then assigned by apply_assignment_rules).
      s << std::make_tuple(Opt(l.id), Opt(l.tenant), l.name, l.phone, l.email, l.program, Opt(l.stage),
                           Opt(l.source), l.channel, c.owner, Opt(std::to_string(l.version + (c.rule_member ? 1 : 0))),
                           Opt(sql::json_confidence(l.confidence)), Opt(l.stage_changed_at), Opt(l.created_at),
                           Opt(l.updated_at), c.session_year, Opt(sql::pg_array(c.tags)), Opt(json_object(c.extra)),
                           Opt(batch.created_by), c.rule_member);
    }
    s.complete();
  }
  mark("write_leads");

  if (plan.assigned > 0) {
    // Journaled like apply_assignment_rules: history here, timeline and
    // lead.assigned below, with the counters of the day and the rotation.
    pqxx::stream_to s(tx, "leads.assignment_history",
                      std::vector<std::string>{"tenant", "lead_id", "role", "previous", "assigned_to", "actor",
                                               "reason"});
    std::map<std::string, int> per_member;
    for (const auto& c : plan.changes) {
      if (!c.rule_member) continue;
      ++per_member[*c.rule_member];
      s << std::make_tuple(Opt(batch.tenant), Opt(c.lead.id), Opt("telecaller"), Opt(), c.rule_member,
                           Opt("system"), Opt(rule_reason(c)));
    }
    s.complete();
    std::vector<std::string> names, counts, teams, next;
    for (const auto& [m, n] : per_member) {
      names.push_back(m);
      counts.push_back(std::to_string(n));
    }
    tx.exec_params0(
        "INSERT INTO leads.assignment_daily (tenant, member, day, assigned) "
        "SELECT $1, x.m, " TODAY ", x.n FROM unnest($2::text[], $3::int[]) AS x(m, n) "
        "ON CONFLICT (tenant, member, day) DO UPDATE SET assigned = leads.assignment_daily.assigned + EXCLUDED.assigned",
        batch.tenant, sql::pg_array(names), sql::pg_array(counts));
    for (const auto& [t, n] : plan.rr_next) {
      teams.push_back(t);
      next.push_back(std::to_string(n));
    }
    tx.exec_params0(
        "UPDATE leads.assignment_teams t SET rr_next = x.n FROM unnest($2::text[], $3::int[]) AS x(team, n) "
        "WHERE t.tenant = $1 AND t.team = x.team",
        batch.tenant, sql::pg_array(teams), sql::pg_array(next));
  }
  {
    std::map<std::string, int> unassigned;  // team → leads nobody could take
    for (const auto& c : plan.changes) {
      if (c.rule_team && !c.rule_member) ++unassigned[*c.rule_team];
    }
    if (!unassigned.empty()) {
      std::vector<std::string> teams, counts;
      for (const auto& [t, n] : unassigned) {
        teams.push_back(t);
        counts.push_back(std::to_string(n));
      }
      tx.exec_params0(
          "INSERT INTO leads.assignment_unassigned (tenant, team, day, leads) "
          "SELECT $1, x.t, " TODAY ", x.n FROM unnest($2::text[], $3::int[]) AS x(t, n) "
          "ON CONFLICT (tenant, team, day) DO UPDATE SET leads = leads.assignment_unassigned.leads + EXCLUDED.leads",
          batch.tenant, sql::pg_array(teams), sql::pg_array(counts));
    }
  }
  if (!plan.candidates.empty()) {
    tx.exec(
        "CREATE TEMP TABLE import_candidates (id uuid, lead_id uuid, other_lead_id uuid, reason text, detail jsonb) "
        "ON COMMIT DROP");
    {
      pqxx::stream_to s(tx, "import_candidates",
                        std::vector<std::string>{"id", "lead_id", "other_lead_id", "reason", "detail"});
      for (const auto& p : plan.candidates) {
        s << std::make_tuple(Opt(events::uuid_v4()), Opt(p.lead_id), Opt(p.other_lead_id), Opt(p.reason),
                             Opt(p.detail));
      }
      s.complete();
    }
    tx.exec_params0(
        "INSERT INTO leads.duplicate_candidates (id, tenant, lead_id, other_lead_id, reason, detail) "
        "SELECT id, $1, lead_id, other_lead_id, reason, detail FROM import_candidates ORDER BY lead_id, other_lead_id "
        "ON CONFLICT DO NOTHING",
        batch.tenant);
  }
  mark("write_rules");

  if (plan.updated > 0) {
    tx.exec(
        "CREATE TEMP TABLE import_updates (id uuid, name text, phone text, email text, program text, stage text, "
        "version integer, capture_confidence jsonb, stage_changed_at timestamptz, updated_at timestamptz, "
        "session_year text, tags text[], extra jsonb) ON COMMIT DROP");
    {
      pqxx::stream_to s(tx, "import_updates",
                        std::vector<std::string>{"id", "name", "phone", "email", "program", "stage", "version",
                                                 "capture_confidence", "stage_changed_at", "updated_at",
                                                 "session_year", "tags", "extra"});
      for (const auto& c : plan.changes) {
        if (c.created) continue;
        const auto& l = c.lead;
        s << std::make_tuple(Opt(l.id), l.name, l.phone, l.email, l.program, Opt(l.stage),
                             Opt(std::to_string(l.version)), Opt(sql::json_confidence(l.confidence)),
                             Opt(l.stage_changed_at), Opt(l.updated_at), c.session_year, Opt(sql::pg_array(c.tags)),
                             Opt(json_object(c.extra)));
      }
      s.complete();
    }
    tx.exec_params0(
        "UPDATE leads.leads l SET name = u.name, phone = u.phone, email = u.email, program = u.program, "
        "stage = u.stage, version = u.version, capture_confidence = u.capture_confidence, "
        "stage_changed_at = u.stage_changed_at, updated_at = u.updated_at, session_year = u.session_year, "
        "tags = u.tags, extra = u.extra FROM import_updates u WHERE l.id = u.id AND l.tenant = $1",
        batch.tenant);
  }
  mark("write_updates");

  // Tags: leads.tags (written above) is what the list filter, the tag API and
  // the detail read; the import adds new names to the catalogue (category
  // "import"). (It used to write leads.lead_tags too, dropped in migration
  // 0010: nothing read that table and the CRM tag API never wrote it.)
  tx.exec_params0(
      "CREATE TEMP TABLE import_tags (lead_id uuid, tag text) ON COMMIT DROP");
  {
    pqxx::stream_to s(tx, "import_tags", std::vector<std::string>{"lead_id", "tag"});
    for (const auto& c : plan.changes) {
      for (const auto& t : c.tags) s << std::make_tuple(Opt(c.lead.id), Opt(t));
    }
    s.complete();
  }
  tx.exec_params0(
      "INSERT INTO leads.tags (tenant, name, category) SELECT DISTINCT $1, tag, 'import' FROM import_tags "
      "ON CONFLICT DO NOTHING",
      batch.tenant);
  mark("write_tags");

  {
    pqxx::stream_to s(tx, "leads.lead_captures",
                      std::vector<std::string>{"lead_id", "field", "value", "source_event_id", "message_id", "layer",
                                               "confidence", "detected_at", "applied"});
    for (const auto& c : plan.changes) {
      for (const auto& cap : c.captures) {
        const auto& e = cap.captured.evidence;
        s << std::make_tuple(Opt(c.lead.id), Opt(cap.field), Opt(cap.captured.value), Opt(batch.id),
                             Opt(e.message_id), Opt(e.layer), Opt(std::to_string(e.confidence)), Opt(e.detected_at),
                             Opt(cap.applied ? "t" : "f"));
      }
    }
    s.complete();
  }
  mark("write_captures");

  {
    pqxx::stream_to s(tx, "leads.lead_activities",
                      std::vector<std::string>{"lead_id", "kind", "actor", "payload", "event_id"});
    for (const auto& c : plan.changes) {
      const auto& row = plan.rows[c.row_index];
      s << std::make_tuple(Opt(c.lead.id), Opt(c.created ? "lead_created" : "imported"), Opt(batch.created_by),
                           Opt(imported_payload(batch.id, row, c)), Opt());
      if (c.rule_member) {
        s << std::make_tuple(Opt(c.lead.id), Opt("assigned"), Opt("system"),
                             Opt(assigned_payload(*c.rule_member)), Opt());
      } else if (c.rule_team) {
        s << std::make_tuple(Opt(c.lead.id), Opt("auto_assign_skipped"), Opt("system"),
                             Opt(R"({"reason":"no member with capacity left today"})"), Opt());
      }
      if (c.previous_stage) {
        s << std::make_tuple(Opt(c.lead.id), Opt("stage_changed"), Opt(batch.created_by),
                             Opt(R"({"from":")" + *c.previous_stage + R"(","to":")" + c.lead.stage +
                                 R"x(","reason":"contact data complete (import)"})x"),
                             Opt());
      }
    }
    s.complete();
  }
  mark("write_timeline");

  // Events in plan order. An updated lead's snapshot is read back in full
  // (every field, not only those the import touches): one statement for all
  // updated leads, none per inserted one.
  std::unordered_map<std::string, Lead> snapshots;
  {
    std::vector<std::string> updated_ids;
    for (const auto& c : plan.changes) {
      if (!c.created) updated_ids.push_back(c.lead.id);
    }
    for (auto& l : repo::load_many(tx, batch.tenant, updated_ids)) {
      auto id = l.id;
      snapshots.emplace(std::move(id), std::move(l));
    }
  }
  auto created = created_events.get();
  std::vector<OutboxRow> outbox;
  outbox.reserve(plan.changes.size());
  for (std::size_t i = 0; i < plan.changes.size(); ++i) {
    const auto& c = plan.changes[i];
    Lead snapshot = c.lead;
    if (c.created) {
      outbox.push_back(std::move(*created[i]));
      if (c.rule_member) {
        Lead next = c.lead;
        next.assigned_to = c.rule_member;
        next.version += 1;
        outbox.push_back(event_row(std::string(events::topics::lead_assigned), next,
                                   assigned_event(next, "telecaller", std::nullopt, c.rule_member, "system",
                                                  rule_reason(c), c.lead.created_at)));
      }
    } else {
      if (auto full = snapshots.find(c.lead.id); full != snapshots.end()) snapshot = full->second;
      outbox.push_back(
          event_row(std::string(events::topics::lead_updated), snapshot, lead_event_data(snapshot, &c.changed)));
    }
    if (c.previous_stage) {
      repo::add_stage_history(tx, snapshot, *c.previous_stage, batch.created_by, "contact data complete (import)",
                              c.previous_stage_changed_at);
      outbox.push_back(event_row(std::string(events::topics::lead_stage_changed), snapshot,
                                 stage_changed_data(snapshot, *c.previous_stage, batch.created_by,
                                                    "contact data complete (import)")));
    }
  }
  mark("build_events");
  if (!outbox.empty()) {
    {
      pqxx::stream_to s(tx, "leads.outbox", std::vector<std::string>{"topic", "key", "payload", "headers"});
      for (const auto& o : outbox) s << std::make_tuple(Opt(o.topic), Opt(o.key), Opt(o.payload), Opt(o.headers));
      s.complete();
    }
    tx.exec_params("SELECT pg_notify($1, '')", outbox::channel(repo::kSchema));
  }
  mark("write_outbox");

  {
    pqxx::stream_to s(tx, "leads.import_rows",
                      std::vector<std::string>{"batch_id", "row_no", "status", "reason", "lead_id"});
    for (const auto& r : plan.rows) {
      s << std::make_tuple(Opt(batch.id), Opt(std::to_string(r.row)), Opt(r.status),
                           r.reason.empty() ? Opt() : Opt(r.reason), r.lead_id.empty() ? Opt() : Opt(r.lead_id));
    }
    s.complete();
  }
  mark("write_rows");
}

Outcome run(pqxx::connection& c, const std::string& tenant, const std::string& user,
            const std::vector<Row>& rows, const Options& options, const std::string& options_json, bool dry_run,
            Phases* phases) {
  const auto mark = [phases](const char* name) {
    if (phases) phases->mark(name);
  };
  const auto now = events::now_rfc3339();
  const auto new_id = [] { return events::uuid_v4(); };
  for (int attempt = 1;; ++attempt) {
    try {
      if (dry_run) {
        pqxx::read_transaction tx(c);
        const auto pipeline = repo::pipeline_for(tx, tenant);
        auto existing = load_existing(tx, tenant, rows, false);
        auto plan = decide(rows, existing, options, pipeline, new_id, now);
        plan_duplicate_candidates(tx, tenant, plan, existing);
        plan_assignments(tx, tenant, plan, pipeline.open_stages(), false);
        return Outcome{std::move(plan), std::nullopt};
      }
      pqxx::work tx(c);
      lock_tenant(tx, tenant);
      const auto pipeline = repo::pipeline_for(tx, tenant);
      mark("lock");
      auto existing = load_existing(tx, tenant, rows, true);
      mark("load_existing");
      auto plan = decide(rows, existing, options, pipeline, new_id, now);
      mark("decide");
      plan_duplicate_candidates(tx, tenant, plan, existing);
      plan_assignments(tx, tenant, plan, pipeline.open_stages(), true);
      mark("rules");
      Batch batch{events::uuid_v4(), tenant, user, options_json};
      write(tx, batch, plan, phases);
      tx.commit();
      mark("commit");
      return Outcome{std::move(plan), batch.id};
    } catch (const pqxx::unique_violation&) {
      if (attempt >= 3) throw;
    }
  }
}

}  // namespace leadpipe::leads::import
