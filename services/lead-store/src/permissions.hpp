#pragma once
// Who may see and change which leads. Pure functions of the token's role.
//
//   admin, admission_admin  the whole tenant, every action (admin alone erases
//                           and edits the pipeline)
//   sales_head              only their pool (leads whose owner is them); works
//                           and assigns inside it
//   counselor               only leads where they are the telecaller
//                           (assigned_to) or the counsellor; works them, does
//                           not assign or delete
//   marketing               reads the whole tenant, changes nothing (403)
#include <optional>
#include <string>

#include <leadpipe/auth/jwt.hpp>

#include "lead.hpp"

namespace leadpipe::leads {

struct Scope {
  std::optional<std::string> owner;   // sales head: owner = this
  std::optional<std::string> person;  // counselor: assigned_to or counsellor = this
};

Scope scope_for(const auth::Principal& who);
// Whether the lead is visible to the scope (outside it, a lead is a 404).
bool in_scope(const Scope& scope, const Lead& lead);

enum class Action {
  edit,         // create, patch, stage, tags, notes, follow-ups
  assign,       // telecaller / counsellor
  transfer,     // move a lead to another sales head's pool
  remove,       // soft delete
  erase,        // erase personal data
  bulk,         // bulk tag / assign by ids or filter
  pipeline,     // replace the tenant's pipeline
};
bool allowed(auth::Role role, Action action);
// Throws http::HttpError 403 (problem) unless allowed.
void require(const auth::Principal& who, Action action);

}  // namespace leadpipe::leads
