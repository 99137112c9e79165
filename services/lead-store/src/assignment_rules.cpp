#include "assignment_rules.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <set>

#include <leadpipe/events/cloud_event.hpp>

#include "crm_service.hpp"
#include "lead_edit.hpp"
#include "repository.hpp"
#include "sql_values.hpp"
#include "workflow_metrics.hpp"

namespace leadpipe::leads {
namespace {

using rapidjson::Value;

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 200 &&
         std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20; });
}

std::optional<int> capacity(const Value& obj, const std::string& field,
                            std::vector<http::FieldError>& errors) {
  auto it = obj.FindMember("capacity_per_day");
  if (it == obj.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsInt() || it->value.GetInt() < 1 || it->value.GetInt() > 100000) {
    errors.push_back({field + ".capacity_per_day", "must be a positive integer or null"});
    return std::nullopt;
  }
  return it->value.GetInt();
}

bool flag(const Value& obj, const char* key, const std::string& field,
          std::vector<http::FieldError>& errors) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return true;
  if (!it->value.IsBool()) {
    errors.push_back({field + "." + key, "must be true or false"});
    return true;
  }
  return it->value.GetBool();
}

std::optional<std::string> text(const Value& obj, const char* key, const std::string& field,
                                std::vector<http::FieldError>& errors, bool required) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    if (required) errors.push_back({field + "." + key, "required"});
    return std::nullopt;
  }
  if (!it->value.IsString() ||
      !valid_name(std::string(it->value.GetString(), it->value.GetStringLength()))) {
    errors.push_back({field + "." + key, "must be a non-empty string of at most 200 characters"});
    return std::nullopt;
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::vector<std::string> pg_text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

}  // namespace

std::vector<Team> parse_assignment_rules(const Value& body, std::vector<http::FieldError>& errors) {
  std::vector<Team> teams;
  if (!body.IsObject() || !body.HasMember("teams") || !body["teams"].IsArray()) {
    errors.push_back({"teams", "required: an array of teams"});
    return teams;
  }
  const auto& arr = body["teams"];
  if (arr.Size() > 50) errors.push_back({"teams", "at most 50 teams"});
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < arr.Size() && i < 50; ++i) {
    const auto field = "teams[" + std::to_string(i) + "]";
    const auto& t = arr[i];
    if (!t.IsObject()) {
      errors.push_back({field, "must be an object"});
      continue;
    }
    Team team;
    team.team = text(t, "team", field, errors, true).value_or("");
    if (!team.team.empty() && !names.insert(team.team).second)
      errors.push_back({field + ".team", "duplicate team"});
    team.strategy = text(t, "strategy", field, errors, false).value_or("round_robin");
    if (team.strategy != "round_robin" && team.strategy != "least_loaded") {
      errors.push_back({field + ".strategy", "must be round_robin or least_loaded"});
    }
    team.active = flag(t, "active", field, errors);
    team.capacity_per_day = capacity(t, field, errors);
    team.owner = text(t, "owner", field, errors, false);
    if (auto it = t.FindMember("sources"); it != t.MemberEnd() && !it->value.IsNull()) {
      if (!it->value.IsArray()) {
        errors.push_back({field + ".sources", "must be an array of lead sources"});
      } else {
        for (const auto& s : it->value.GetArray()) {
          if (!s.IsString() || !valid_name(std::string(s.GetString(), s.GetStringLength()))) {
            errors.push_back({field + ".sources", "must be an array of lead sources"});
            break;
          }
          team.sources.emplace_back(s.GetString(), s.GetStringLength());
        }
      }
    }
    auto members = t.FindMember("members");
    if (members == t.MemberEnd() || !members->value.IsArray() || members->value.Size() > 500) {
      errors.push_back({field + ".members", "required: an array of at most 500 members"});
    } else {
      std::set<std::string> seen;
      for (rapidjson::SizeType j = 0; j < members->value.Size(); ++j) {
        const auto mfield = field + ".members[" + std::to_string(j) + "]";
        const auto& m = members->value[j];
        TeamMember tm;
        if (m.IsString()) {
          tm.member.assign(m.GetString(), m.GetStringLength());
          if (!valid_name(tm.member)) errors.push_back({mfield, "not a user id"});
        } else if (m.IsObject()) {
          tm.member = text(m, "member", mfield, errors, true).value_or("");
          tm.active = flag(m, "active", mfield, errors);
          tm.capacity_per_day = capacity(m, mfield, errors);
        } else {
          errors.push_back({mfield, "a user id or {member, active, capacity_per_day}"});
          continue;
        }
        if (!tm.member.empty() && !seen.insert(tm.member).second)
          errors.push_back({mfield, "duplicate member"});
        team.members.push_back(std::move(tm));
      }
    }
    teams.push_back(std::move(team));
  }
  return teams;
}

std::string assignment_rules_json(const std::vector<Team>& teams, long long unassigned) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto s = [&w](const std::string& v) {
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto cap = [&w](const std::optional<int>& c) {
    w.Key("capacity_per_day");
    if (c) {
      w.Int(*c);
    } else {
      w.Null();
    }
  };
  w.StartObject();
  w.Key("teams");
  w.StartArray();
  for (const auto& t : teams) {
    w.StartObject();
    w.Key("team");
    s(t.team);
    w.Key("strategy");
    s(t.strategy);
    w.Key("active");
    w.Bool(t.active);
    cap(t.capacity_per_day);
    w.Key("sources");
    w.StartArray();
    for (const auto& x : t.sources) s(x);
    w.EndArray();
    w.Key("owner");
    if (t.owner) {
      s(*t.owner);
    } else {
      w.Null();
    }
    w.Key("members");
    w.StartArray();
    for (const auto& m : t.members) {
      w.StartObject();
      w.Key("member");
      s(m.member);
      w.Key("active");
      w.Bool(m.active);
      cap(m.capacity_per_day);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("unassigned_today");
  w.Int64(unassigned);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

bool team_matches(const Team& team, const Lead& lead) {
  if (!team.active) return false;
  if (!team.sources.empty() &&
      std::find(team.sources.begin(), team.sources.end(), lead.source) == team.sources.end()) {
    return false;
  }
  return !team.owner || team.owner == lead.owner;
}

std::optional<std::size_t> choose_member(const std::string& strategy,
                                         const std::vector<Candidate>& members, int rr_next) {
  auto eligible = [](const Candidate& c) {
    return c.active && (!c.capacity || c.assigned_today < *c.capacity);
  };
  const auto n = members.size();
  if (n == 0) return std::nullopt;
  if (strategy == "least_loaded") {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < n; ++i) {
      if (!eligible(members[i])) continue;
      if (!best || members[i].open_leads < members[*best].open_leads ||
          (members[i].open_leads == members[*best].open_leads &&
           members[i].assigned_today < members[*best].assigned_today)) {
        best = i;
      }
    }
    return best;
  }
  const auto start = static_cast<std::size_t>(rr_next < 0 ? 0 : rr_next) % n;
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = (start + k) % n;
    if (eligible(members[i])) return i;
  }
  return std::nullopt;
}

const char* unassigned_reason(const std::vector<Candidate>& members) {
  const bool any_active =
      std::any_of(members.begin(), members.end(), [](const Candidate& c) { return c.active; });
  return any_active ? "capacity_full" : "no_active_member";
}

namespace repo {

std::vector<Team> load_assignment_rules(pqxx::transaction_base& tx, const std::string& tenant,
                                        const std::optional<std::string>& owner_only) {
  std::vector<Team> teams;
  auto rows = tx.exec_params(
      "SELECT team, strategy, active, capacity_per_day, sources, owner FROM leads.assignment_teams "
      "WHERE tenant = $1 AND ($2::text IS NULL OR owner = $2) ORDER BY position",
      tenant, owner_only);
  for (const auto& r : rows) {
    Team t;
    t.team = r[0].as<std::string>();
    t.strategy = r[1].as<std::string>();
    t.active = r[2].as<bool>();
    if (!r[3].is_null()) t.capacity_per_day = r[3].as<int>();
    t.sources = pg_text_array(r[4]);
    t.owner = sql::opt(r[5]);
    auto ms = tx.exec_params(
        "SELECT member, active, capacity_per_day FROM leads.assignment_members WHERE tenant = $1 "
        "AND team = $2 "
        "ORDER BY position",
        tenant, t.team);
    for (const auto& m : ms) {
      TeamMember tm;
      tm.member = m[0].as<std::string>();
      tm.active = m[1].as<bool>();
      if (!m[2].is_null()) tm.capacity_per_day = m[2].as<int>();
      t.members.push_back(std::move(tm));
    }
    teams.push_back(std::move(t));
  }
  return teams;
}

void save_assignment_rules(pqxx::work& tx, const std::string& tenant,
                           const std::vector<Team>& teams,
                           const std::optional<std::string>& owner_only, const std::string& actor) {
  // A sales head replaces their own teams only; positions follow the existing ones.
  tx.exec_params0(
      "DELETE FROM leads.assignment_teams WHERE tenant = $1 AND ($2::text IS NULL OR owner = $2)",
      tenant, owner_only);
  int base =
      tx.exec_params1(
            "SELECT COALESCE(max(position) + 1, 0) FROM leads.assignment_teams WHERE tenant = $1",
            tenant)[0]
          .as<int>();
  for (const auto& t : teams) {
    tx.exec_params0(
        "INSERT INTO leads.assignment_teams (tenant, team, strategy, active, capacity_per_day, "
        "sources, owner, "
        "position, updated_by) VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9)",
        tenant, t.team, t.strategy, t.active, t.capacity_per_day, sql::pg_array(t.sources), t.owner,
        base++, actor);
    int pos = 0;
    for (const auto& m : t.members) {
      tx.exec_params0(
          "INSERT INTO leads.assignment_members (tenant, team, member, active, capacity_per_day, "
          "position) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          tenant, t.team, m.member, m.active, m.capacity_per_day, pos++);
    }
  }
}

long long unassigned_today(pqxx::transaction_base& tx, const std::string& tenant,
                           const std::optional<std::string>& owner_only) {
  return tx
      .exec_params1(
          "SELECT COALESCE(sum(u.leads), 0) FROM leads.assignment_unassigned u "
          "WHERE u.tenant = $1 AND u.day = (now() AT TIME ZONE 'UTC')::date AND ($2::text IS NULL "
          "OR EXISTS "
          "(SELECT 1 FROM leads.assignment_teams t WHERE t.tenant = u.tenant AND t.team = u.team "
          "AND t.owner = $2))",
          tenant, owner_only)[0]
      .as<long long>();
}

}  // namespace repo

AutoAssignOutcome apply_assignment_rules(pqxx::work& tx, Lead& lead,
                                         const std::vector<std::string>& open_stages) {
  AutoAssignOutcome out;
  if (lead.assigned_to) return out;
  // Cheap check first: most tenants have no rules.
  auto teams = tx.exec_params(
      "SELECT team, sources, owner, active FROM leads.assignment_teams WHERE tenant = $1 AND "
      "active ORDER BY position",
      lead.tenant);
  std::optional<std::string> team_name;
  for (const auto& r : teams) {
    Team t;
    t.team = r[0].as<std::string>();
    t.sources = pg_text_array(r[1]);
    t.owner = sql::opt(r[2]);
    if (team_matches(t, lead)) {
      team_name = t.team;
      break;
    }
  }
  if (!team_name) return out;
  out.team = team_name;
  // The team's row lock serialises concurrent assignments to it.
  auto team = tx.exec_params1(
      "SELECT strategy, rr_next, capacity_per_day FROM leads.assignment_teams WHERE tenant = $1 "
      "AND team = $2 FOR UPDATE",
      lead.tenant, *team_name);
  const auto strategy = team[0].as<std::string>();
  const int rr_next = team[1].as<int>();
  auto rows = tx.exec_params(
      "SELECT m.member, m.active, COALESCE(m.capacity_per_day, t.capacity_per_day), "
      "COALESCE(d.assigned, 0), "
      "(SELECT count(*) FROM leads.leads l WHERE l.tenant = m.tenant AND l.assigned_to = m.member "
      " AND l.deleted_at IS NULL AND l.stage = ANY($3::text[])) "
      "FROM leads.assignment_members m JOIN leads.assignment_teams t ON t.tenant = m.tenant AND "
      "t.team = m.team "
      "LEFT JOIN leads.assignment_daily d ON d.tenant = m.tenant AND d.member = m.member "
      " AND d.day = (now() AT TIME ZONE 'UTC')::date "
      "WHERE m.tenant = $1 AND m.team = $2 ORDER BY m.position",
      lead.tenant, *team_name, sql::pg_array(open_stages));
  std::vector<std::string> names;
  std::vector<Candidate> candidates;
  for (const auto& r : rows) {
    names.push_back(r[0].as<std::string>());
    Candidate c;
    c.active = r[1].as<bool>();
    if (!r[2].is_null()) c.capacity = r[2].as<int>();
    c.assigned_today = r[3].as<int>();
    c.open_leads = r[4].as<long long>();
    candidates.push_back(c);
  }
  const auto reason_if_nobody = unassigned_reason(candidates);  // before the loop marks full members
  bool filled_meanwhile = false;
  int next = rr_next;
  while (auto i = choose_member(strategy, candidates, next)) {
    // Capacity holds across teams: the increment is conditional, a member
    // another team filled meanwhile is skipped.
    const auto cap = candidates[*i].capacity;
    auto inc = tx.exec_params(
        "INSERT INTO leads.assignment_daily (tenant, member, day, assigned) "
        "VALUES ($1, $2, (now() AT TIME ZONE 'UTC')::date, 1) "
        "ON CONFLICT (tenant, member, day) DO UPDATE SET assigned = "
        "leads.assignment_daily.assigned + 1 "
        "WHERE $3::int IS NULL OR leads.assignment_daily.assigned < $3::int RETURNING assigned",
        lead.tenant, names[*i], cap);
    if (inc.empty()) {
      candidates[*i].active = false;
      filled_meanwhile = true;
      next = static_cast<int>(*i) + 1;
      continue;
    }
    tx.exec_params0(
        "UPDATE leads.assignment_teams SET rr_next = $3 WHERE tenant = $1 AND team = $2",
        lead.tenant, *team_name, static_cast<int>((*i + 1) % candidates.size()));
    const auto now = events::now_rfc3339();
    if (assign(tx, lead, "telecaller", names[*i], "system", "assignment rule: " + *team_name,
               now)) {
      touch(lead, now);
      repo::update(tx, lead);
    }
    out.member = names[*i];
    metrics::auto_assigned_after_commit(strategy);
    return out;
  }
  tx.exec_params0(
      "INSERT INTO leads.assignment_unassigned (tenant, team, day, leads) "
      "VALUES ($1, $2, (now() AT TIME ZONE 'UTC')::date, 1) "
      "ON CONFLICT (tenant, team, day) DO UPDATE SET leads = leads.assignment_unassigned.leads + 1",
      lead.tenant, *team_name);
  repo::add_activity(tx, lead.id, "auto_assign_skipped", "system",
                     R"({"reason":"no member with capacity left today"})", "");
  metrics::auto_assign_skipped_after_commit(strategy,
                                            filled_meanwhile ? "capacity_full" : reason_if_nobody);
  return out;
}

}  // namespace leadpipe::leads
