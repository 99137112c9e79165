#pragma once
// Transaction-level CRM operations shared by the HTTP handlers, the follow-up
// scheduler and (later) the outreach / call consumers. Each writes the lead,
// its journal and its lifecycle events to the outbox in the caller's
// transaction, so the change and its events commit together, in order.
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include "crm_repository.hpp"
#include "lead.hpp"

namespace leadpipe::leads {

// Moves `lead` to `to` (already checked with check_transition): journal,
// timeline, lead.stage_changed, plus lead.converted (won terminal) or
// lead.closed (lost terminal, with reason); a terminal cancels the pending
// follow-ups. Bumps the version and saves the lead.
void change_stage(pqxx::work& tx, Lead& lead, const Pipeline& pipeline, const std::string& to,
                  const std::string& actor, const std::string& reason, const std::string& now);

// Saves an edited lead (version already bumped) and publishes lead.updated
// with `changed`.
void save_update(pqxx::work& tx, const Lead& lead, const std::vector<std::string>& changed,
                 const std::string& actor, const std::string& activity_kind);

// Hook for the automatic `contacted` move: call it when the first outreach is
// sent or a call is logged (consumers of outreach.sent / ingest.call.completed,
// not built yet). Records last_contacted_at and moves the lead to the
// pipeline's contacted stage when it is still in the incomplete or complete
// (initial) stage and the pipeline allows it. Saves the lead.
void record_contact(pqxx::work& tx, Lead& lead, const Pipeline& pipeline, const std::string& actor,
                    const std::string& at);

// Assigns a role ("telecaller" → assigned_to, "counsellor", "owner") when it
// differs: history, timeline, lead.assigned. Returns whether it changed; the
// caller saves the lead (one version bump for several roles).
bool assign(pqxx::work& tx, Lead& lead, const std::string& role, const std::optional<std::string>& to,
            const std::string& actor, const std::string& reason, const std::string& now);

// Adds / removes tags (catalogue kept up to date): timeline, lead.tagged.
// Returns whether the lead's tags changed (then version bumped and saved).
bool retag(pqxx::work& tx, Lead& lead, const std::vector<std::pair<std::string, std::optional<std::string>>>& add,
           const std::vector<std::string>& remove, const std::string& actor, const std::string& now);

// The follow-up scheduler's unit of work: claims up to `limit` due follow-ups
// and writes one followup.due per follow-up to the outbox. Returns how many.
int publish_due_followups(pqxx::work& tx, const std::string& now, int limit);

// Event data (proto/events/*.json).
std::string stage_changed_event(const Lead& lead, const Pipeline& p, const std::string& from, const std::string& by,
                                const std::string& reason);
std::string terminal_event(const Lead& lead, const Pipeline& p, const std::string& from, const std::string& by,
                           const std::string& reason);
std::string assigned_event(const Lead& lead, const std::string& role, const std::optional<std::string>& previous,
                           const std::optional<std::string>& to, const std::string& by, const std::string& reason,
                           const std::string& at);
std::string tagged_event(const Lead& lead, const std::vector<std::string>& added,
                         const std::vector<std::string>& removed, const std::string& by, const std::string& at);
std::string erased_event(const Lead& lead, const std::string& by, const std::string& reason, const std::string& at);
std::string followup_due_event(const Lead& lead, const repo::Followup& f);
std::string followup_json(const repo::Followup& f);

}  // namespace leadpipe::leads
