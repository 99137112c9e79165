#pragma once
// SQL of the CSV import. Bulk by design: leads, captures, timeline entries,
// outbox rows and the batch's rows go in with COPY (one round trip each, not
// one per row), updates through a COPY'd temp table. Everything runs in the
// caller's transaction, so the leads and their lead.* events commit together.
#include <pqxx/pqxx>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "import.hpp"

namespace leadpipe::leads::import {

// Serialises imports of one tenant (transaction-scoped advisory lock), so two
// uploads of overlapping files cannot both insert the same phone.
void lock_tenant(pqxx::transaction_base& tx, const std::string& tenant);

// Live leads of the tenant whose phone or e-mail appears in a pending row,
// locked FOR UPDATE when `for_update` (a real run).
std::vector<Existing> load_existing(pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::vector<Row>& rows, bool for_update);

// Automatic assignment rules for the plan's created leads (the import has no
// assignee column: every created lead is without a telecaller; updated leads
// are left alone). One query when the tenant has no active team; otherwise the
// matching teams' rows (and their members' daily counters, when `for_update`)
// are locked and the choice runs in memory, lead by lead, as
// apply_assignment_rules would. Sets Change::rule_team / rule_member,
// Row::assigned_to and Plan::assigned; writes nothing (write() does).
void plan_assignments(pqxx::transaction_base& tx, const std::string& tenant, Plan& plan,
                      const std::vector<std::string>& open_stages, bool for_update);

// Duplicate candidates of the plan's created leads and of updated leads that got
// a phone or an e-mail: the same e-mail on another lead with a different phone
// (existing or created by this import), and Brazil mobiles' phone variants
// (duplicates.hpp; only +55 numbers are looked at: the country-code variant of
// every row would cost libphonenumber validations per row). Pairs already
// recorded are skipped at write time. Sets Plan::candidates; writes nothing.
void plan_duplicate_candidates(pqxx::transaction_base& tx, const std::string& tenant, Plan& plan,
                               const std::vector<Existing>& existing);

// Wall time of an import's phases, in order (logged with the import; the
// benchmark reads them): {"parse", ms}, {"prepare", ms}, {"load_existing", ms}, …
class Phases {
 public:
  // Records the time since the previous mark (or construction) as `name`.
  void mark(const std::string& name) {
    const auto now = std::chrono::steady_clock::now();
    list_.emplace_back(name, std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }
  const std::vector<std::pair<std::string, double>>& list() const { return list_; }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, double>> list_;
};

struct Batch {
  std::string id;            // uuid
  std::string tenant;
  std::string created_by;    // JWT sub
  std::string options_json;  // what the caller asked for
};

// Writes `plan` and records the batch. Sets each created lead's tenant.
void write(pqxx::work& tx, const Batch& batch, Plan& plan, Phases* phases = nullptr);

struct Outcome {
  Plan plan;
  std::optional<std::string> batch_id;  // none for a dry run
};
// The whole import on one connection (the tenant's own pipeline): lock, load, decide, and (unless
// `dry_run`) write and commit. A dry run reads the same data and runs the same
// decision, without the lock or any write. A unique-phone race with a
// concurrent writer re-plans (up to 3 attempts), then throws
// pqxx::unique_violation.
Outcome run(pqxx::connection& c, const std::string& tenant, const std::string& user,
            const std::vector<Row>& rows, const Options& options, const std::string& options_json, bool dry_run,
            Phases* phases = nullptr);

}  // namespace leadpipe::leads::import
