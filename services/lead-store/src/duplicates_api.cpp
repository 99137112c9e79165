#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include "duplicates_api.hpp"

#include <charconv>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/pg/pool.hpp>

#include "duplicates_repository.hpp"
#include "permissions.hpp"

namespace leadpipe::leads {
namespace {

using boost::asio::awaitable;
using http::FieldError;
using http::HttpError;
using http::Request;
using http::Response;

awaitable<Response> list_duplicates(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  repo::DuplicateQuery q;
  q.tenant = who.tenant;
  q.scope = scope_for(who);
  std::vector<FieldError> errors;
  if (auto s = req.query("status"); s && !s->empty()) {
    if (*s != "open" && *s != "dismissed" && *s != "merged") {
      errors.push_back({"status", "must be open, dismissed or merged"});
    } else {
      q.status = *s;
    }
  }
  if (auto limit = req.query("limit"); limit && !limit->empty()) {
    int n = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || p != limit->data() + limit->size() || n < 1 || n > 200) {
      errors.push_back({"limit", "must be an integer between 1 and 200"});
    } else {
      q.limit = n;
    }
  }
  if (auto c = req.query("cursor"); c && !c->empty()) q.cursor = *c;
  if (!errors.empty())
    throw HttpError(400, "Invalid query", "one or more query parameters are invalid",
                    std::move(errors));
  auto job = [q](pqxx::connection& c) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    try {
      return repo::list_duplicates_json(tx, q);
    } catch (const std::invalid_argument&) {
      throw HttpError(400, "Invalid query", "the cursor is malformed",
                      {{"cursor", "not a cursor returned by this API"}});
    }
  };
  co_return Response::json(200, co_await d.pool.async(std::move(job)));
}

awaitable<Response> dismiss(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = req.path_params.at("id");
  if (!events::is_uuid(id)) throw HttpError::not_found("no such duplicate candidate");
  require(who, Action::remove);  // the roles that may merge
  auto job = [who, id](pqxx::work& tx) {
    auto out = repo::dismiss_duplicate(tx, who.tenant, scope_for(who), id, who.subject);
    if (!out.found) throw HttpError::not_found("no such duplicate candidate");
    if (out.status != "open") throw HttpError::conflict("the pair is already " + out.status);
    return out.json;
  };
  co_return Response::json(200, co_await pg::async_transact(d.pool, std::move(job)));
}

}  // namespace

void add_duplicate_routes(http::Router& router, std::shared_ptr<ApiDeps> deps) {
  const std::string list = "/api/v1/leads/duplicates";
  router.add(
      "GET", list, [deps](Request& req) { return list_duplicates(*deps, req); }, list);
  const std::string act = "/api/v1/leads/duplicates/{id}/dismiss";
  router.add(
      "POST", act, [deps](Request& req) { return dismiss(*deps, req); }, act);
}

}  // namespace leadpipe::leads
