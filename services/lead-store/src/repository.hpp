#pragma once
// SQL for the leads schema. Every function takes the caller's transaction, so
// a consumer or handler composes them into one atomic unit with its outbox
// rows. Every query is scoped by tenant. Parameterised SQL only.
#include <pqxx/pqxx>

#include <leadpipe/runtime/ttl_cache.hpp>

#include <optional>
#include <string>
#include <vector>

#include "lead.hpp"

namespace leadpipe::leads::repo {

inline constexpr const char* kSchema = "leads";

std::optional<std::string> find_by_identity(pqxx::work& tx, const std::string& tenant,
                                            const std::string& channel, const std::string& external_id);
std::optional<std::string> find_by_phone(pqxx::work& tx, const std::string& tenant, const std::string& phone);
std::optional<std::string> find_by_email(pqxx::work& tx, const std::string& tenant, const std::string& email);
// The lead with this e-mail unless it has a different phone than `phone`: an
// e-mail alone never joins two different phones (that pair becomes a
// duplicate candidate instead).
std::optional<std::string> find_by_email_compatible(pqxx::work& tx, const std::string& tenant, const std::string& email,
                                                    const std::optional<std::string>& phone);

// Loads a live lead of the tenant; `for_update` locks its row.
std::optional<Lead> load(pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                         bool for_update);
// Live leads of the tenant among `ids` (one statement; any order, missing ids skipped).
std::vector<Lead> load_many(pqxx::transaction_base& tx, const std::string& tenant, const std::vector<std::string>& ids);
// Same, but also a soft-deleted lead that is not erased yet (for erasure).
std::optional<Lead> load_unerased(pqxx::work& tx, const std::string& tenant, const std::string& id);
void insert(pqxx::work& tx, const Lead& lead);
void update(pqxx::work& tx, const Lead& lead);
void add_identity(pqxx::work& tx, const std::string& tenant, const std::string& channel,
                  const std::string& external_id, const std::string& lead_id);
void add_capture(pqxx::work& tx, const std::string& lead_id, const CaptureRecord& c,
                 const std::string& source_event_id);
void add_activity(pqxx::work& tx, const std::string& lead_id, const std::string& kind,
                  const std::string& actor, const std::string& payload_json,
                  const std::string& event_id);

// Writes a lead.* CloudEvent to the outbox (key tenant:lead_id).
void publish(pqxx::work& tx, const std::string& type, const Lead& lead, const std::string& data_json);

// Planner row estimates of list filters, kept between requests (key: the
// filter's SQL and parameters, the tenant among them). An estimate is only
// as fresh as the table's last ANALYZE anyway, so reusing it for a few
// seconds spares a board refresh the EXPLAIN round trip for its total.
using EstimateCache = runtime::TtlCache<long long>;

struct ListQuery {
  std::string tenant;
  // Role scope (permissions.hpp): a sales head's pool, a counsellor's own leads.
  std::optional<std::string> scope_owner;
  std::optional<std::string> scope_person;     // assigned_to or counsellor
  std::vector<std::string> stages;             // any of (view=actionable → the open stages)
  std::optional<std::string> tier;
  std::optional<std::string> interest;
  std::vector<std::string> tags;               // all of
  std::optional<std::string> assigned_to;      // telecaller
  std::optional<std::string> counsellor;
  std::optional<std::string> owner;
  std::optional<std::string> source;
  std::optional<std::string> session_year;
  std::optional<std::string> created_from, created_to;   // RFC 3339, [from, to)
  std::optional<std::string> updated_from, updated_to;
  std::optional<bool> overdue;                 // has a pending follow-up past due
  std::optional<std::string> q;                // name / email / phone digits
  std::string sort = "recent";                 // recent | score | updated
  std::optional<std::string> cursor;           // opaque, from a previous page
  int limit = 50;
  bool with_total = true;                      // false: skip the count (CSV export pages)
  // true: the page's leads are written as JSON straight from the rows into
  // ListPage::items_json (the API's list), and `items` stays empty.
  bool items_as_json = false;
  // Where the total's planner estimate may be kept and found (the API's
  // list); nullptr: EXPLAIN every time.
  EstimateCache* estimates = nullptr;
  // True when nothing narrows the set beyond tenant and scope (bulk-by-filter refuses it).
  bool empty_filter() const;
  // True when a filter other than the stages and the tier narrows the set
  // (the role's scope aside): one list of the filters for both questions.
  bool filters_beyond_stage_and_tier() const;
};
struct ListPage {
  std::vector<Lead> items;
  std::string items_json;  // ListQuery::items_as_json: a JSON array of lead objects (the API's shape)
  std::optional<std::string> next_cursor;
  long long total = 0;
  bool total_exact = true;  // false: more than repo::kExactTotalLimit matched, `total` is an estimate
};
// Throws std::invalid_argument for a malformed cursor.
ListPage list(pqxx::transaction_base& tx, const ListQuery& q);

// True when list(q)'s page has one best plan whatever the values of its
// parameters (tenant, stages, a single stage's tier; no other filter): list()
// then runs it as a prepared statement, and it may run on a connection with
// generic plans (pg::PoolConfig::generic_plans). Stages must be resolved
// (no view placeholder).
bool plan_is_value_independent(const ListQuery& q);

// Ids of every live lead matching the filter (no pagination; for bulk actions),
// at most `max`.
std::vector<std::string> matching_ids(pqxx::transaction_base& tx, const ListQuery& q, int max);

// Filter chips: counts of the matching leads by stage, telecaller, counsellor, tag.
struct Counts {
  long long total = 0;
  std::vector<std::pair<std::string, long long>> by_stage, by_assignee, by_counsellor, by_tag;
};
Counts counts(pqxx::transaction_base& tx, const ListQuery& q);

struct Detail {
  Lead lead;
  std::string identities_json;   // [{channel, external_id, created_at}]
  std::string captures_json;     // [{field, value, message_id, layer, confidence, detected_at, applied}]
  std::string timeline_json;     // [{kind, actor, payload, at}]
};
std::optional<Detail> detail(pqxx::transaction_base& tx, const std::string& tenant, const std::string& id);

}  // namespace leadpipe::leads::repo
