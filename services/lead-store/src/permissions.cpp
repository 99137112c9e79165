#include "permissions.hpp"

#include <leadpipe/http/message.hpp>

namespace leadpipe::leads {

using auth::Role;

Scope scope_for(const auth::Principal& who) {
  Scope s;
  if (who.role == Role::sales_head) s.owner = who.subject;
  if (who.role == Role::counselor) s.person = who.subject;
  return s;
}

bool in_scope(const Scope& scope, const Lead& lead) {
  if (scope.owner && lead.owner != scope.owner) return false;
  if (scope.person && lead.assigned_to != scope.person && lead.counsellor != scope.person) return false;
  return true;
}

bool allowed(Role role, Action action) {
  switch (action) {
    case Action::edit:
      return role != Role::marketing;
    case Action::assign:
    case Action::remove:
    case Action::bulk:
      return role == Role::admin || role == Role::admission_admin || role == Role::sales_head;
    case Action::transfer:
      return role == Role::admin || role == Role::admission_admin;
    case Action::erase:
    case Action::pipeline:
      return role == Role::admin;
  }
  return false;
}

void require(const auth::Principal& who, Action action) {
  if (!allowed(who.role, action)) {
    throw http::HttpError::forbidden("the role '" + std::string(auth::to_string(who.role)) +
                                     "' may not do this");
  }
}

}  // namespace leadpipe::leads
