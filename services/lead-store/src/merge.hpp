#pragma once
// Merging duplicate leads into one survivor (POST /api/v1/leads/{id}/merge):
// the field-by-field winner rules. Pure: the SQL that moves identities,
// captures, timeline, notes, follow-ups and tags lives with the endpoint.
//
// Winner rules, field by field (survivor = the lead the merge is called on):
//   name, email, program   the value with the higher capture confidence; a tie
//                          keeps the survivor's; an empty field takes the other's
//   phone                  the survivor's; an empty one takes the first absorbed
//                          lead's (the phone is the identity key: never replaced)
//   session_year, interest,
//   assigned_to, counsellor,
//   owner                  the survivor's; an empty one takes the first absorbed
//                          lead's that has one
//   score, tier,
//   score_reasons          from the lead with the highest score
//   intents, tags          union (survivor's first)
//   stage                  the furthest open stage in board order; a survivor in
//                          a terminal stage keeps it, an absorbed lead's terminal
//                          stage is never taken over (re-opening is explicit)
//   last_contacted_at      the latest; created_at the earliest, with that lead's
//                          source and channel (where the person came from first)
#include <optional>
#include <string>
#include <vector>

#include "lead.hpp"

namespace leadpipe::leads {

struct FieldDecision {
  std::string field;
  std::optional<std::string> before;  // the survivor's value
  std::optional<std::string> after;   // the merged value
  std::string from;                   // id of the lead the merged value came from
};

struct LeadMerge {
  Lead lead;                                  // the survivor after the merge (version bumped)
  std::vector<FieldDecision> fields;          // every field the rules looked at
  std::vector<std::string> changed;           // fields whose value changed on the survivor
  std::optional<std::string> previous_stage;  // set when the stage moved
};

// Throws std::invalid_argument when `absorbed` is empty, contains the
// survivor, or a lead of another tenant.
LeadMerge merge_leads(const Lead& survivor, const std::vector<Lead>& absorbed,
                      const Pipeline& pipeline, const std::string& now);

}  // namespace leadpipe::leads
