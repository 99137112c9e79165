#pragma once
// SQL for duplicate candidates (leads.duplicate_candidates). Caller's
// transaction, tenant-scoped, parameterised. A pair is stored once whatever
// its order; a dismissed or merged pair is never proposed again. Each pair
// recorded counts in leadpipe_leads_duplicate_candidates_total{reason}, each
// dismissal in ..._resolved_total{resolution="dismissed"}, once the caller's
// transaction commits (workflow_metrics.hpp, pg::after_commit).
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include "lead.hpp"
#include "permissions.hpp"

namespace leadpipe::leads::repo {

// Records a candidate pair for every other live lead of the tenant whose phone
// is a variant of `lead`'s (duplicates.hpp) or whose e-mail equals `lead`'s
// with a different phone. Returns how many new pairs were recorded.
int record_duplicate_candidates(pqxx::work& tx, const Lead& lead,
                                const std::vector<std::string>& regions);

// Records one pair with a reason (e.g. a phone another lead already holds).
bool add_duplicate_candidate(pqxx::work& tx, const std::string& tenant, const std::string& lead_id,
                             const std::string& other_lead_id, const std::string& reason,
                             const std::string& detail_json);

struct DuplicateQuery {
  std::string tenant;
  Scope scope;
  std::string status = "open";        // open | dismissed | merged
  std::optional<std::string> cursor;  // from a previous page
  int limit = 50;
};
// {"items": [...], "next_cursor", "total"}: pairs whose two leads are live and
// inside the scope, newest first. Throws std::invalid_argument for a bad cursor.
std::string list_duplicates_json(pqxx::transaction_base& tx, const DuplicateQuery& q);

// Dismisses an open pair inside the scope (timeline entry on both leads).
struct DismissOutcome {
  bool found = false;  // false: no such pair, or outside the scope
  std::string status;  // its status before (dismissed only when "open")
  std::string json;    // the pair after
};
DismissOutcome dismiss_duplicate(pqxx::work& tx, const std::string& tenant, const Scope& scope,
                                 const std::string& id, const std::string& actor);

}  // namespace leadpipe::leads::repo
