#pragma once
// Pipelines are data: ordered stages, won / lost terminals, allowed
// transitions, which roles may enter a stage, and the stages automatic moves
// land in. A tenant's pipeline is a JSON document (see pipelines/*.json and
// README.md); the built-in default is seed 000's admissions pipeline.
//
// Pure: no I/O. Thread-safety: immutable values.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::leads {

struct Stage {
  std::string key;
  std::string label;
  std::string terminal;              // "" | "won" | "lost"
  std::vector<std::string> roles;    // roles allowed to enter it; empty = every writing role
};

struct Pipeline {
  std::string name;
  std::vector<std::string> stages;    // keys, in board order
  std::string incomplete_stage;       // where a lead waits until its contact data is complete ("" = none)
  std::string complete_stage;         // where a complete lead starts / moves automatically
  std::string contacted_stage;        // automatic move on the first outreach or call ("" = none)
  // Outreach purposes that are not a contact (no `contacted` move, no
  // last_contacted_at): an OTP or the bot's own slot prompts. JSON:
  // automatic.not_contact (default ["otp", "slot_prompt"]).
  std::vector<std::string> not_contact_purposes{"otp", "slot_prompt"};
  // Stage suggestion (never a move): when a capture brings one of `intents`
  // while the lead is in one of `from`, the lead gets suggested_stage = stage
  // and a timeline entry; a person accepts it with the normal stage change.
  // JSON: automatic.suggest {"stage", "intents", "from"}.
  struct Suggestion {
    std::string stage;
    std::vector<std::string> intents;
    std::vector<std::string> from;
  };
  std::optional<Suggestion> suggest;
  // The board's defaults when a list request names no view / sort (JSON:
  // "list": {"view": "actionable"|"all", "sort": "recent"|"score"|"updated"}).
  // Seed 000's board opens on actionable; seed 001's shows all leads by score
  // then oldest contact. Without "list": all, recent.
  std::string default_view = "all";
  std::string default_sort = "recent";
  std::vector<Stage> stage_defs;      // same order as `stages`
  std::map<std::string, std::set<std::string>> transitions;  // from → allowed targets

  // Seed 000: incomplete → new → contacted → qualified → enrolled | lost.
  static const Pipeline& admissions();
  // Parses and validates a definition; throws std::invalid_argument naming
  // the problem (unknown stage in a transition, duplicate key, no won or no
  // lost terminal, …).
  static Pipeline from_json(std::string_view json);
  // The definition as JSON (round-trips through from_json).
  std::string to_json() const;

  const Stage* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  bool is_terminal(std::string_view key) const;
  // Stages that are neither won nor lost (the "actionable" board view).
  std::vector<std::string> open_stages() const;
  // The stage a newly created lead starts in.
  std::string initial_stage(bool contact_complete) const;
  // Whether an outreach message with this purpose counts as contacting the lead.
  bool is_contact(std::string_view purpose) const;
  // The stage to suggest for a lead in `stage` whose capture brought
  // `new_intents`, or nullopt (no suggestion configured, wrong stage, no
  // matching intent, or the lead can't move there).
  std::optional<std::string> suggestion_for(const std::string& stage,
                                            const std::vector<std::string>& new_intents) const;
};

// Built-in definitions shipped with the service (pipelines/*.json): name → JSON.
const std::map<std::string, std::string>& builtin_pipelines();

// The outcome of asking for a stage change.
struct TransitionCheck {
  int status = 200;          // 200 allowed; 403 role-gated; 422 invalid
  std::string field;         // the offending input for 422 ("stage" / "reason")
  std::string detail;        // client-visible explanation
  bool ok() const { return status == 200; }
};

// Whether a user with `role` may move a lead from `from` to `to`. Leaving a
// terminal stage (re-opening) is only possible where the pipeline lists it,
// and only this explicit way. Entering a lost terminal needs a reason.
TransitionCheck check_transition(const Pipeline& p, const std::string& from, const std::string& to,
                                 std::string_view role, const std::string& reason);

}  // namespace leadpipe::leads
