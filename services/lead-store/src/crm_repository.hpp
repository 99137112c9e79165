#pragma once
// SQL of the CRM features (pipelines, stage journal, assignment history,
// tags, notes, follow-ups, delete / erase). Same rules as repository.hpp:
// the caller's transaction, tenant-scoped, parameterised.
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include "lead.hpp"
#include "repository.hpp"  // EstimateCache

namespace leadpipe::leads::repo {

// The tenant's pipeline, or the built-in admissions pipeline when it has none.
Pipeline pipeline_for(pqxx::transaction_base& tx, const std::string& tenant);
// Whether the tenant has its own definition stored.
bool has_own_pipeline(pqxx::transaction_base& tx, const std::string& tenant);
void save_pipeline(pqxx::work& tx, const std::string& tenant, const Pipeline& p, const std::string& by);
// Stages live leads of the tenant are in (a new pipeline must keep them).
std::vector<std::string> stages_in_use(pqxx::transaction_base& tx, const std::string& tenant);

// Journals a transition; the time spent in `from` is at − previous_changed_at.
void add_stage_history(pqxx::work& tx, const Lead& lead, const std::string& from, const std::string& actor,
                       const std::string& reason, const std::string& previous_changed_at);
// [{from, to, by, reason, at, seconds_in_previous}], oldest first.
std::string stage_history_json(pqxx::transaction_base& tx, const std::string& tenant, const std::string& lead_id);

void add_assignment(pqxx::work& tx, const std::string& tenant, const std::string& lead_id, const std::string& role,
                    const std::optional<std::string>& previous, const std::optional<std::string>& assigned_to,
                    const std::string& actor, const std::string& reason);
// [{role, previous, assigned_to, by, reason, at}], oldest first.
std::string assignment_history_json(pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::string& lead_id);

// Tag catalogue: adds missing tags (category given or "general"); an existing
// tag's category changes only when `category` is given.
void upsert_tag(pqxx::work& tx, const std::string& tenant, const std::string& name,
                const std::optional<std::string>& category);
// [{name, category, leads}] of the tenant, by category then name.
std::string tag_catalog_json(pqxx::transaction_base& tx, const std::string& tenant);
// [{name, category}] of the given tags (missing from the catalogue → "general").
std::string tags_with_categories_json(pqxx::transaction_base& tx, const std::string& tenant,
                                      const std::vector<std::string>& tags);
void write_tags(pqxx::work& tx, const Lead& lead);

struct Note {
  std::string id, author, body, created_at;
};
Note add_note(pqxx::work& tx, const std::string& tenant, const std::string& lead_id, const std::string& author,
              const std::string& body);
// [{id, author, body, created_at}], newest first.
std::string notes_json(pqxx::transaction_base& tx, const std::string& tenant, const std::string& lead_id);

struct Followup {
  std::string id, tenant, lead_id, kind, due_at, status, created_by, created_at;
  std::optional<std::string> note, assigned_to, completed_at, completed_by, outcome_note, cancel_reason;
  int snoozes = 0;
  bool overdue = false;   // pending and past due (derived, never stored)
};
void insert_followup(pqxx::work& tx, const Followup& f);
std::optional<Followup> load_followup(pqxx::transaction_base& tx, const std::string& tenant,
                                      const std::string& lead_id, const std::string& id, bool for_update);
// done / snooze / cancel: writes status, completion, due_at; a snooze (new
// due_at) re-arms the reminder.
void update_followup(pqxx::work& tx, const Followup& f, bool rearm);
std::vector<Followup> list_followups(pqxx::transaction_base& tx, const std::string& tenant,
                                     const std::string& lead_id);
// Cancels the lead's pending follow-ups (closing a lead); returns how many.
int cancel_pending_followups(pqxx::work& tx, const std::string& tenant, const std::string& lead_id,
                             const std::string& by, const std::string& reason);
// The scheduler's claim: pending follow-ups due at `now` not yet announced,
// marked announced in this transaction (SKIP LOCKED: replicas share the work).
std::vector<Followup> claim_due_followups(pqxx::work& tx, const std::string& now, int limit);

void soft_delete(pqxx::work& tx, const Lead& lead);
// Removes personal data: contact fields, identities, capture values, notes,
// follow-up notes; keeps the row (stage, source, dates) for statistics.
void erase(pqxx::work& tx, const Lead& lead);

// Total of a filtered list (GET /api/v1/leads): exact up to kExactTotalLimit
// matches, counted from at most that many + 1 rows; above it the planner's
// estimate (never below the limit + 1) with `exact` false. An exact count of a
// million leads took longer than the page itself on every board refresh. A
// filter the planner estimates at kEstimateFirst matches or more is not
// counted at all: its estimate is the answer. With an EstimateCache
// (repository.hpp) the planner's estimate of the same filter is reused while
// it is cached; a count, when one is needed, is never cached.
inline constexpr long long kExactTotalLimit = 1000;
inline constexpr long long kEstimateFirst = 10 * kExactTotalLimit;
struct Total {
  long long value = 0;
  bool exact = true;
};
Total bounded_total(pqxx::transaction_base& tx, const std::string& where_sql, const std::vector<std::string>& params,
                    EstimateCache* estimates = nullptr);
// Only the planner's estimate (never below kExactTotalLimit + 1), for a filter
// already known to match more than the limit.
Total estimated_total(pqxx::transaction_base& tx, const std::string& where_sql, const std::vector<std::string>& params,
                      EstimateCache* estimates = nullptr);
// The planner's row estimate of `SELECT 1 FROM leads.leads WHERE where_sql` (EXPLAIN, nothing read).
long long planner_estimate(pqxx::transaction_base& tx, const std::string& where_sql,
                           const std::vector<std::string>& params, EstimateCache* estimates = nullptr);

}  // namespace leadpipe::leads::repo
