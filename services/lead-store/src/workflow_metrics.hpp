#pragma once
// Counters of what lead-store does on its own — automatic assignment and
// duplicate candidates — declared in one place:
//
// - leadpipe_leads_auto_assigned_total{strategy, role}: a rule gave a new lead
//   to a member (strategy round_robin | least_loaded; role telecaller).
// - leadpipe_leads_auto_assign_skipped_total{strategy, reason}: a team matched
//   but nobody was eligible, the lead stays unassigned (reason capacity_full |
//   no_active_member).
// - leadpipe_leads_duplicate_candidates_total{reason}: pairs recorded
//   (brazil_ninth_digit | country_code | email | phone_in_use).
// - leadpipe_leads_duplicate_candidates_resolved_total{resolution}: pairs
//   closed by a person (dismissed | merged).
//
// The families are registered once (install(), from main) and every series
// above is created there too, so counting is an atomic add on a cached
// Counter, never a label-map lookup. Until install() is called (unit tests)
// counting does nothing.
//
// Who counts: the transactional code where the event happens —
// apply_assignment_rules, the duplicate-candidate repository (record,
// dismiss), merge_in_tx — through the `*_after_commit` helpers
// (pg::after_commit: a rolled-back, aborted (dry run) or retried transaction
// counts nothing; the committer must open a pg::CommitHooks scope, which
// pg::transact does), and the CSV import handler once its transaction has
// committed. The pure choices (choose_member, phone_variants) stay pure.
// Thread-safe.
#include <memory>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace leadpipe::leads::metrics {

// Registers the families in `registry` (once per process; a second call with
// another registry moves the counting there — tests only).
void install(const std::shared_ptr<prometheus::Registry>& registry);

// Count now (the caller's transaction has committed, or there is none).
void auto_assigned(std::string_view strategy, std::string_view role = "telecaller", double n = 1);
void auto_assign_skipped(std::string_view strategy, std::string_view reason, double n = 1);
void duplicate_candidates(std::string_view reason, double n = 1);
void duplicate_candidates_resolved(std::string_view resolution, double n = 1);

// Count when the transaction running on this thread commits (pg::after_commit).
void auto_assigned_after_commit(std::string_view strategy, std::string_view role = "telecaller");
void auto_assign_skipped_after_commit(std::string_view strategy, std::string_view reason);
void duplicate_candidates_after_commit(std::string_view reason, double n = 1);
void duplicate_candidates_resolved_after_commit(std::string_view resolution, double n);

}  // namespace leadpipe::leads::metrics
