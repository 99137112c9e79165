#pragma once
// Automatic assignment rules per team (migration 0007).
//
// Configuration: teams, evaluated in order; a team takes a lead when it is
// active and its filters match (`sources` empty or holding the lead's source;
// `owner` empty or the lead's pool). Within the team a member is chosen by the
// strategy — round_robin (rotate over the active members) or least_loaded
// (fewest open leads as telecaller, then fewest assigned today, then order) —
// among the active members below their capacity for the day (UTC).
// Nobody eligible: the lead stays unassigned and is counted per team and day.
//
// The choice is pure (choose_member); apply_assignment_rules runs it in the
// caller's transaction under a row lock on the team (concurrent creations
// queue on it) and re-checks capacity with a conditional increment, so two
// transactions never over-fill a member across teams either.
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include <leadpipe/http/message.hpp>

#include "lead.hpp"

namespace leadpipe::leads {

struct TeamMember {
  std::string member;
  bool active = true;
  std::optional<int> capacity_per_day;  // overrides the team's
};

struct Team {
  std::string team;
  std::string strategy = "round_robin";  // round_robin | least_loaded
  bool active = true;
  std::optional<int> capacity_per_day;
  std::vector<std::string> sources;
  std::optional<std::string> owner;
  std::vector<TeamMember> members;
};

// Parses PUT /api/v1/assignment/rules: {"teams": [Team…]}. Appends to errors.
std::vector<Team> parse_assignment_rules(const rapidjson::Value& body,
                                         std::vector<http::FieldError>& errors);
std::string assignment_rules_json(const std::vector<Team>& teams, long long unassigned_today);

// Whether `team` takes `lead`.
bool team_matches(const Team& team, const Lead& lead);

// A member's standing for the choice.
struct Candidate {
  bool active = true;
  std::optional<int> capacity;  // effective capacity per day (nullopt = unlimited)
  int assigned_today = 0;
  long long open_leads = 0;
};
// The index of the member to assign, or nullopt when none is eligible.
// `rr_next` is the round-robin position to try first.
std::optional<std::size_t> choose_member(const std::string& strategy,
                                         const std::vector<Candidate>& members, int rr_next);
// Why nobody was eligible (choose_member gave nullopt): "capacity_full" when
// some member is active (all of them at capacity), else "no_active_member"
// (the team has no member, or none active).
const char* unassigned_reason(const std::vector<Candidate>& members);

namespace repo {
std::vector<Team> load_assignment_rules(pqxx::transaction_base& tx, const std::string& tenant,
                                        const std::optional<std::string>& owner_only);
// Replaces the teams (all of the tenant's, or only those of `owner_only`).
void save_assignment_rules(pqxx::work& tx, const std::string& tenant,
                           const std::vector<Team>& teams,
                           const std::optional<std::string>& owner_only, const std::string& actor);
long long unassigned_today(pqxx::transaction_base& tx, const std::string& tenant,
                           const std::optional<std::string>& owner_only);
}  // namespace repo

struct AutoAssignOutcome {
  std::optional<std::string> team;    // the matching team, if any
  std::optional<std::string> member;  // who got the lead (nullopt: unassigned)
};
// For a lead just created without a telecaller: applies the first matching
// team (assignment history, timeline, lead.assigned, lead saved with its
// version bumped). No-op when the lead has a telecaller or no team matches.
// Counts leadpipe_leads_auto_assigned_total / _auto_assign_skipped_total when
// the caller's transaction commits (workflow_metrics.hpp).
AutoAssignOutcome apply_assignment_rules(pqxx::work& tx, Lead& lead,
                                         const std::vector<std::string>& open_stages);

}  // namespace leadpipe::leads
