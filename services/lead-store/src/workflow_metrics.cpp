#include "workflow_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <leadpipe/pg/after_commit.hpp>

namespace leadpipe::leads::metrics {
namespace {

// A family with its known series created up front. Values nobody expected
// (a strategy added to the schema later) still count, through Family::Add.
class Counters {
 public:
  Counters(prometheus::Registry& registry, const char* name, const char* help,
           std::vector<std::string> label_names, const std::vector<std::vector<std::string>>& known)
      : family_(&prometheus::BuildCounter().Name(name).Help(help).Register(registry)),
        names_(std::move(label_names)) {
    for (const auto& values : known) series_.push_back({values, &family_->Add(labels(values))});
  }

  void add(std::initializer_list<std::string_view> values, double n) {
    for (const auto& s : series_) {
      if (std::equal(s.values.begin(), s.values.end(), values.begin(), values.end())) {
        s.counter->Increment(n);
        return;
      }
    }
    family_->Add(labels(std::vector<std::string>(values.begin(), values.end()))).Increment(n);
  }

 private:
  std::map<std::string, std::string> labels(const std::vector<std::string>& values) const {
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < names_.size() && i < values.size(); ++i) out[names_[i]] = values[i];
    return out;
  }

  struct Series {
    std::vector<std::string> values;
    prometheus::Counter* counter;
  };
  prometheus::Family<prometheus::Counter>* family_;
  std::vector<std::string> names_;
  std::vector<Series> series_;  // written only by the constructor
};

struct Metrics {
  std::shared_ptr<prometheus::Registry> registry;  // keeps the families alive
  Counters assigned, skipped, candidates, resolved;

  explicit Metrics(std::shared_ptr<prometheus::Registry> r)
      : registry(std::move(r)),
        assigned(*registry, "leadpipe_leads_auto_assigned_total",
                 "New leads given to a team member by an assignment rule, by strategy and the role "
                 "assigned",
                 {"strategy", "role"},
                 {{"round_robin", "telecaller"}, {"least_loaded", "telecaller"}}),
        skipped(
            *registry, "leadpipe_leads_auto_assign_skipped_total",
            "New leads a team's rule matched but left unassigned: every active member at capacity "
            "(capacity_full) or no active member (no_active_member)",
            {"strategy", "reason"},
            {{"round_robin", "capacity_full"},
             {"round_robin", "no_active_member"},
             {"least_loaded", "capacity_full"},
             {"least_loaded", "no_active_member"}}),
        candidates(*registry, "leadpipe_leads_duplicate_candidates_total",
                   "Duplicate-candidate pairs recorded, by reason", {"reason"},
                   {{"brazil_ninth_digit"}, {"country_code"}, {"email"}, {"phone_in_use"}}),
        resolved(*registry, "leadpipe_leads_duplicate_candidates_resolved_total",
                 "Duplicate-candidate pairs closed by a person: dismissed, or merged by a merge",
                 {"resolution"}, {{"dismissed"}, {"merged"}}) {}
};

// Replaced only by install(); an older instance is left alive on purpose (a
// thread may still be counting through it).
std::atomic<Metrics*> current{nullptr};

}  // namespace

void install(const std::shared_ptr<prometheus::Registry>& registry) {
  if (!registry) return;
  if (auto* m = current.load(); m && m->registry == registry) return;
  current.store(new Metrics(registry));
}

void auto_assigned(std::string_view strategy, std::string_view role, double n) {
  if (auto* m = current.load()) m->assigned.add({strategy, role}, n);
}
void auto_assign_skipped(std::string_view strategy, std::string_view reason, double n) {
  if (auto* m = current.load()) m->skipped.add({strategy, reason}, n);
}
void duplicate_candidates(std::string_view reason, double n) {
  if (auto* m = current.load()) m->candidates.add({reason}, n);
}
void duplicate_candidates_resolved(std::string_view resolution, double n) {
  if (auto* m = current.load()) m->resolved.add({resolution}, n);
}

void auto_assigned_after_commit(std::string_view strategy, std::string_view role) {
  pg::after_commit([s = std::string(strategy), r = std::string(role)] { auto_assigned(s, r); });
}
void auto_assign_skipped_after_commit(std::string_view strategy, std::string_view reason) {
  pg::after_commit(
      [s = std::string(strategy), r = std::string(reason)] { auto_assign_skipped(s, r); });
}
void duplicate_candidates_after_commit(std::string_view reason, double n) {
  pg::after_commit([r = std::string(reason), n] { duplicate_candidates(r, n); });
}
void duplicate_candidates_resolved_after_commit(std::string_view resolution, double n) {
  if (n <= 0) return;
  pg::after_commit([r = std::string(resolution), n] { duplicate_candidates_resolved(r, n); });
}

}  // namespace leadpipe::leads::metrics
