#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include "assignment_rules_api.hpp"

#include <leadpipe/http/json.hpp>
#include <leadpipe/pg/pool.hpp>

#include "assignment_rules.hpp"

namespace leadpipe::leads {
namespace {

using boost::asio::awaitable;
using http::FieldError;
using http::HttpError;
using http::Request;
using http::Response;

// nullopt = the whole tenant; a sales head = their pool only.
std::optional<std::string> rules_scope(const auth::Principal& who) {
  if (who.role == auth::Role::admin || who.role == auth::Role::admission_admin) return std::nullopt;
  if (who.role == auth::Role::sales_head) return who.subject;
  throw HttpError::forbidden("only admins and sales heads manage assignment rules");
}

awaitable<Response> get_rules(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto owner = rules_scope(who);
  auto job = [tenant = who.tenant, owner](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return assignment_rules_json(repo::load_assignment_rules(tx, tenant, owner),
                                 repo::unassigned_today(tx, tenant, owner));
  };
  co_return Response::json(200, co_await d.pool.async(std::move(job)));
}

awaitable<Response> put_rules(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto owner = rules_scope(who);
  const auto body = http::parse_json_body(req);
  std::vector<FieldError> errors;
  auto teams = parse_assignment_rules(body, errors);
  if (!errors.empty())
    throw HttpError::bad_request("the assignment rules are invalid", std::move(errors));
  if (owner) {
    for (auto& t : teams) t.owner = owner;  // a sales head's teams serve their pool
  }
  auto job = [tenant = who.tenant, owner, teams, actor = who.subject](pqxx::work& tx) {
    // One writer at a time per tenant (team names are unique per tenant).
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('leads.assignment_rules:' || $1))",
                    tenant);
    const auto others = repo::load_assignment_rules(tx, tenant, std::nullopt);
    for (const auto& t : teams) {
      for (const auto& o : others) {
        if (o.team == t.team && owner && o.owner != owner) {
          throw HttpError::conflict("team '" + t.team + "' belongs to another pool");
        }
      }
    }
    repo::save_assignment_rules(tx, tenant, teams, owner, actor);
    return assignment_rules_json(repo::load_assignment_rules(tx, tenant, owner),
                                 repo::unassigned_today(tx, tenant, owner));
  };
  co_return Response::json(200, co_await pg::async_transact(d.pool, std::move(job)));
}

}  // namespace

void add_assignment_rule_routes(http::Router& router, std::shared_ptr<ApiDeps> deps) {
  const std::string pattern = "/api/v1/assignment/rules";
  router.add(
      "GET", pattern, [deps](Request& req) { return get_rules(*deps, req); }, pattern);
  router.add(
      "PUT", pattern, [deps](Request& req) { return put_rules(*deps, req); }, pattern);
}

}  // namespace leadpipe::leads
