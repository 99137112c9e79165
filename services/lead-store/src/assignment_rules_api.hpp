#pragma once
// GET / PUT /api/v1/assignment/rules (assignment_rules.hpp): admin and
// admission_admin read and replace every team of the tenant; a sales_head
// reads and replaces only the teams of their own pool (owner forced to them).
// Other roles: 403. PUT answers like GET.
#include <memory>

#include "api.hpp"

namespace leadpipe::leads {

void add_assignment_rule_routes(http::Router& router, std::shared_ptr<ApiDeps> deps);

}  // namespace leadpipe::leads
