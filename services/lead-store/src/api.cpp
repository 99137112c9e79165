#include "api.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <algorithm>
#include <charconv>

#include "lead_json.hpp"
#include "repository.hpp"

namespace leadpipe::leads {
namespace {

using boost::asio::awaitable;
using http::HttpError;
using http::Request;
using http::Response;

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

HttpError not_found() { return HttpError(404, "Not Found", "no such lead"); }

// Counsellors see only their own leads; everyone else the whole tenant.
std::optional<std::string> scope_assignee(const auth::Principal& p) {
  if (p.role == auth::Role::counselor) return p.subject;
  return std::nullopt;
}

repo::ListQuery parse_list_query(const Request& req, const auth::Principal& who, const Pipeline& pipeline) {
  repo::ListQuery q;
  q.tenant = who.tenant;
  std::vector<http::FieldError> errors;
  if (auto limit = req.query("limit")) {
    int n = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || p != limit->data() + limit->size() || n < 1 || n > 200) {
      errors.push_back({"limit", "must be an integer between 1 and 200"});
    } else {
      q.limit = n;
    }
  }
  if (auto stage = req.query("stage")) {
    if (std::find(pipeline.stages.begin(), pipeline.stages.end(), *stage) == pipeline.stages.end()) {
      errors.push_back({"stage", "unknown stage '" + *stage + "'"});
    } else {
      q.stage = *stage;
    }
  }
  if (auto tier = req.query("tier")) {
    if (*tier != "hot" && *tier != "warm" && *tier != "cold") {
      errors.push_back({"tier", "must be hot, warm or cold"});
    } else {
      q.tier = *tier;
    }
  }
  if (auto q_text = req.query("q")) {
    if (q_text->size() > 200) {
      errors.push_back({"q", "at most 200 characters"});
    } else {
      q.q = *q_text;
    }
  }
  if (auto cursor = req.query("cursor"); cursor && !cursor->empty()) q.cursor = *cursor;
  q.assigned_to = req.query("assignee");
  if (auto scoped = scope_assignee(who)) q.assigned_to = scoped;
  if (!errors.empty()) {
    throw HttpError(400, "Invalid query", "one or more query parameters are invalid", std::move(errors));
  }
  return q;
}

awaitable<Response> list_leads(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  auto query = parse_list_query(req, who, d.pipeline);
  // Callables passed to co_await'ed calls are named locals: GCC 12 destroys
  // lambda temporaries inside a co_await expression twice.
  auto run = [query](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    try {
      return repo::list(tx, query);
    } catch (const std::invalid_argument&) {
      throw HttpError(400, "Invalid query", "the cursor is malformed or expired",
                      {{"cursor", "not a cursor returned by this API"}});
    }
  };
  auto page = co_await d.pool.async(std::move(run));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const auto& lead : page.items) {
    w.StartObject();
    write_lead_members(w, lead, "id");
    w.EndObject();
  }
  w.EndArray();
  w.Key("next_cursor");
  if (page.next_cursor) {
    w.String(page.next_cursor->c_str());
  } else {
    w.Null();
  }
  w.Key("total");
  w.Int64(page.total);
  w.EndObject();
  co_return Response::json(200, std::string(buf.GetString(), buf.GetSize()));
}

awaitable<Response> get_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = req.path_params.at("id");
  if (!is_uuid(id)) throw not_found();
  auto load = [tenant = who.tenant, id](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return repo::detail(tx, tenant, id);
  };
  auto found = co_await d.pool.async(std::move(load));
  // Another tenant's lead, or a counsellor's colleague's, is simply not found.
  if (!found) throw not_found();
  if (auto scoped = scope_assignee(who); scoped && found->lead.assigned_to != scoped) throw not_found();

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_lead_members(w, found->lead, "id");
  w.Key("identities");
  w.RawValue(found->identities_json.c_str(), found->identities_json.size(), rapidjson::kArrayType);
  w.Key("captures");
  w.RawValue(found->captures_json.c_str(), found->captures_json.size(), rapidjson::kArrayType);
  w.Key("timeline");
  w.RawValue(found->timeline_json.c_str(), found->timeline_json.size(), rapidjson::kArrayType);
  w.EndObject();
  co_return Response::json(200, std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace

void add_api_routes(http::Router& router, std::shared_ptr<ApiDeps> deps) {
  router.add("GET", "/api/v1/leads", [deps](Request& req) { return list_leads(*deps, req); },
             "/api/v1/leads");
  router.add("GET", "/api/v1/leads/{id}", [deps](Request& req) { return get_lead(*deps, req); },
             "/api/v1/leads/{id}");
}

}  // namespace leadpipe::leads
