#include "crm_service.hpp"

#include <algorithm>

#include <leadpipe/events/topics.hpp>

#include "lead_edit.hpp"
#include "lead_json.hpp"
#include "repository.hpp"

namespace leadpipe::leads {
namespace {

using json::opt;
using json::str;
using json::strings;

using events::topics::followup_due;
using events::topics::lead_assigned;
using events::topics::lead_closed;
using events::topics::lead_converted;
using events::topics::lead_stage_changed;
using events::topics::lead_tagged;
using events::topics::lead_updated;

void nullable(JsonWriter& w, const char* key, const std::string& v) {
  opt(w, key, v.empty() ? std::nullopt : std::optional<std::string>(v));
}
void head(JsonWriter& w, const Lead& lead) {
  str(w, "lead_id", lead.id);
  w.Key("version");
  w.Int(lead.version);
}
std::string done(rapidjson::StringBuffer& buf) { return {buf.GetString(), buf.GetSize()}; }

std::string activity(std::initializer_list<std::pair<const char*, std::optional<std::string>>> members) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  for (const auto& [k, v] : members) opt(w, k, v);
  w.EndObject();
  return done(buf);
}

}  // namespace

std::string stage_changed_event(const Lead& lead, const Pipeline& p, const std::string& from, const std::string& by,
                                const std::string& reason) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  head(w, lead);
  str(w, "from", from);
  str(w, "to", lead.stage);
  str(w, "by", by);
  nullable(w, "reason", reason);
  const auto* st = p.find(lead.stage);
  nullable(w, "terminal", st ? st->terminal : "");
  str(w, "at", lead.stage_changed_at);
  w.EndObject();
  return done(buf);
}

std::string terminal_event(const Lead& lead, const Pipeline& p, const std::string& from, const std::string& by,
                           const std::string& reason) {
  const bool won = p.find(lead.stage)->terminal == "won";
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  head(w, lead);
  str(w, "stage", lead.stage);
  str(w, "from", from);
  str(w, "by", by);
  if (won) {
    str(w, "converted_at", lead.stage_changed_at);
    opt(w, "program", lead.program);
  } else {
    nullable(w, "reason", reason);
    str(w, "closed_at", lead.stage_changed_at);
  }
  str(w, "source", lead.source);
  w.EndObject();
  return done(buf);
}

std::string assigned_event(const Lead& lead, const std::string& role, const std::optional<std::string>& previous,
                           const std::optional<std::string>& to, const std::string& by, const std::string& reason,
                           const std::string& at) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  head(w, lead);
  str(w, "role", role);
  opt(w, "assigned_to", to);
  opt(w, "previous", previous);
  str(w, "by", by);
  nullable(w, "reason", reason);
  str(w, "assigned_at", at);
  w.EndObject();
  return done(buf);
}

std::string tagged_event(const Lead& lead, const std::vector<std::string>& added,
                         const std::vector<std::string>& removed, const std::string& by, const std::string& at) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  head(w, lead);
  strings(w, "tags", lead.tags);
  strings(w, "added", added);
  strings(w, "removed", removed);
  str(w, "by", by);
  str(w, "tagged_at", at);
  w.EndObject();
  return done(buf);
}

std::string erased_event(const Lead& lead, const std::string& by, const std::string& reason, const std::string& at) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  head(w, lead);
  str(w, "by", by);
  nullable(w, "reason", reason);
  str(w, "erased_at", at);
  w.EndObject();
  return done(buf);
}

std::string followup_due_event(const Lead& lead, const repo::Followup& f) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  head(w, lead);
  str(w, "followup_id", f.id);
  str(w, "due_at", f.due_at);
  opt(w, "assigned_to", f.assigned_to);
  str(w, "kind", f.kind);
  opt(w, "note", f.note);
  str(w, "stage", lead.stage);
  w.EndObject();
  return done(buf);
}

std::string followup_json(const repo::Followup& f) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  str(w, "id", f.id);
  str(w, "lead_id", f.lead_id);
  str(w, "kind", f.kind);
  str(w, "due_at", f.due_at);
  str(w, "status", f.status);
  w.Key("overdue");
  w.Bool(f.overdue);
  opt(w, "note", f.note);
  opt(w, "assigned_to", f.assigned_to);
  str(w, "created_by", f.created_by);
  str(w, "created_at", f.created_at);
  opt(w, "completed_at", f.completed_at);
  opt(w, "completed_by", f.completed_by);
  opt(w, "outcome_note", f.outcome_note);
  opt(w, "cancel_reason", f.cancel_reason);
  w.Key("snoozes");
  w.Int(f.snoozes);
  w.EndObject();
  return done(buf);
}

void change_stage(pqxx::work& tx, Lead& lead, const Pipeline& pipeline, const std::string& to,
                  const std::string& actor, const std::string& reason, const std::string& now) {
  const auto from = lead.stage;
  const auto previous_changed_at = lead.stage_changed_at;
  lead.stage = to;
  lead.stage_changed_at = now;
  lead.suggested_stage.reset();  // accepted, or overtaken by the move
  touch(lead, now);
  repo::update(tx, lead);
  repo::add_stage_history(tx, lead, from, actor, reason, previous_changed_at);
  repo::add_activity(tx, lead.id, "stage_changed", actor,
                     activity({{"from", from}, {"to", to}, {"reason", reason.empty() ? std::nullopt : std::optional(reason)}}),
                     "");
  repo::publish(tx, std::string(lead_stage_changed), lead, stage_changed_event(lead, pipeline, from, actor, reason));
  const auto& terminal = pipeline.find(to)->terminal;
  if (terminal.empty()) return;
  repo::publish(tx, std::string(terminal == "won" ? lead_converted : lead_closed), lead,
                terminal_event(lead, pipeline, from, actor, reason));
  // A converted or closed lead has nothing left to follow up.
  repo::cancel_pending_followups(tx, lead.tenant, lead.id, actor,
                                 terminal == "won" ? "lead converted" : "lead closed");
}

void save_update(pqxx::work& tx, const Lead& lead, const std::vector<std::string>& changed,
                 const std::string& actor, const std::string& activity_kind) {
  repo::update(tx, lead);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  strings(w, "fields", changed);
  w.EndObject();
  repo::add_activity(tx, lead.id, activity_kind, actor, done(buf), "");
  repo::publish(tx, std::string(lead_updated), lead, lead_event_data(lead, &changed));
}

void record_contact(pqxx::work& tx, Lead& lead, const Pipeline& pipeline, const std::string& actor,
                    const std::string& at) {
  lead.last_contacted_at = at;
  const bool early = lead.stage == pipeline.complete_stage ||
                     (!pipeline.incomplete_stage.empty() && lead.stage == pipeline.incomplete_stage);
  if (!pipeline.contacted_stage.empty() && early) {
    auto it = pipeline.transitions.find(lead.stage);
    if (it != pipeline.transitions.end() && it->second.count(pipeline.contacted_stage)) {
      change_stage(tx, lead, pipeline, pipeline.contacted_stage, actor, "first contact", at);
      return;
    }
  }
  touch(lead, at);
  save_update(tx, lead, {"last_contacted_at"}, actor, "contacted");
}

bool assign(pqxx::work& tx, Lead& lead, const std::string& role, const std::optional<std::string>& to,
            const std::string& actor, const std::string& reason, const std::string& now) {
  auto& field = role == "telecaller" ? lead.assigned_to : role == "counsellor" ? lead.counsellor : lead.owner;
  if (field == to) return false;
  const auto previous = field;
  field = to;
  repo::add_assignment(tx, lead.tenant, lead.id, role, previous, to, actor, reason);
  repo::add_activity(tx, lead.id, "assigned", actor,
                     activity({{"role", role}, {"previous", previous}, {"assigned_to", to}}), "");
  // The version in the event is the one the lead will have once saved.
  Lead next = lead;
  next.version += 1;
  repo::publish(tx, std::string(lead_assigned), next, assigned_event(next, role, previous, to, actor, reason, now));
  return true;
}

bool retag(pqxx::work& tx, Lead& lead, const std::vector<std::pair<std::string, std::optional<std::string>>>& add,
           const std::vector<std::string>& remove, const std::string& actor, const std::string& now) {
  std::vector<std::string> added, removed;
  for (const auto& [name, category] : add) {
    repo::upsert_tag(tx, lead.tenant, name, category);
    if (std::find(lead.tags.begin(), lead.tags.end(), name) == lead.tags.end()) {
      lead.tags.push_back(name);
      added.push_back(name);
    }
  }
  for (const auto& name : remove) {
    auto it = std::find(lead.tags.begin(), lead.tags.end(), name);
    if (it != lead.tags.end()) {
      lead.tags.erase(it);
      removed.push_back(name);
    }
  }
  if (added.empty() && removed.empty()) return false;
  touch(lead, now);
  repo::update(tx, lead);
  repo::write_tags(tx, lead);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  strings(w, "added", added);
  strings(w, "removed", removed);
  w.EndObject();
  repo::add_activity(tx, lead.id, "tagged", actor, done(buf), "");
  repo::publish(tx, std::string(lead_tagged), lead, tagged_event(lead, added, removed, actor, now));
  return true;
}

int publish_due_followups(pqxx::work& tx, const std::string& now, int limit) {
  auto due = repo::claim_due_followups(tx, now, limit);
  int n = 0;
  for (const auto& f : due) {
    auto lead = repo::load(tx, f.tenant, f.lead_id, false);
    if (!lead) continue;  // deleted meanwhile: nobody to call
    repo::add_activity(tx, lead->id, "followup_due", "system",
                       activity({{"followup_id", f.id}, {"due_at", f.due_at}, {"assigned_to", f.assigned_to}}), "");
    repo::publish(tx, std::string(followup_due), *lead, followup_due_event(*lead, f));
    ++n;
  }
  return n;
}

}  // namespace leadpipe::leads
