#include "api.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/json.hpp>

#include "assignment_rules.hpp"
#include "crm_repository.hpp"
#include "crm_service.hpp"
#include "duplicates.hpp"
#include "duplicates_repository.hpp"
#include "lead_edit.hpp"
#include "lead_json.hpp"
#include "permissions.hpp"
#include "repository.hpp"

namespace leadpipe::leads {
namespace {

using boost::asio::awaitable;
using http::FieldError;
using http::HttpError;
using http::Request;
using http::Response;
using rapidjson::Value;

constexpr int kMaxBulk = 10000;
// Placeholder stage for view=actionable until the tenant's pipeline is known.
const std::string kActionableView = "\x01" "actionable";
// Placeholders for "no view / sort given": the tenant's pipeline decides (Pipeline::default_view / default_sort).
const std::string kDefaultView = "\x01" "default";
const std::string kDefaultSort = "\x01" "default";

// A read-only transaction whose statements share one snapshot.
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// Well-formed UTF-8 without NUL: what a PostgreSQL text parameter accepts
// (anything else is a database error, not the caller's clear 400).
bool pg_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

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

std::string lead_id_param(const Request& req) {
  auto id = req.path_params.at("id");
  if (!is_uuid(id)) throw not_found();
  return id;
}

// A live lead of the caller's tenant inside the caller's scope, locked; else 404.
Lead load_scoped(pqxx::work& tx, const auth::Principal& who, const std::string& id) {
  auto lead = repo::load(tx, who.tenant, id, true);
  if (!lead || !in_scope(scope_for(who), *lead)) throw not_found();
  return *lead;
}

Response lead_response(int status, const Lead& lead) { return Response::json(status, lead_json(lead)); }

// ---- request parsing -------------------------------------------------------

bool plausible_time(const std::string& s) {
  // Shape only; PostgreSQL's cast is the real check (see canonical_time).
  if (s.size() < 10 || s.size() > 40) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isdigit(c) || c == '-' || c == ':' || c == 'T' || c == 'Z' || c == '+' || c == '.' || c == ' ';
  });
}

// RFC 3339 in UTC with milliseconds, or 400.
std::string canonical_time(pqxx::transaction_base& tx, const std::string& field, const std::string& value) {
  if (!plausible_time(value)) throw HttpError::bad_request("invalid time", {{field, "must be an RFC 3339 time"}});
  try {
    pqxx::subtransaction sub(dynamic_cast<pqxx::dbtransaction&>(tx), "ts");
    auto r = sub.exec_params1(
        "SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')", value);
    sub.commit();
    return r[0].as<std::string>();
  } catch (const pqxx::data_exception&) {
    throw HttpError::bad_request("invalid time", {{field, "must be an RFC 3339 time"}});
  }
}

std::optional<std::string> body_string(const Value& obj, const char* key, std::vector<FieldError>& errors,
                                       std::size_t max = 200) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull()) return std::nullopt;
  if (!it->value.IsString() || it->value.GetStringLength() == 0 || it->value.GetStringLength() > max) {
    errors.push_back({key, "must be a non-empty string of at most " + std::to_string(max) + " characters"});
    return std::nullopt;
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// Present-and-null vs absent, for assignment fields.
std::optional<std::optional<std::string>> body_nullable(const Value& obj, const char* key,
                                                        std::vector<FieldError>& errors) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return std::nullopt;
  if (it->value.IsNull()) return std::optional<std::string>{};
  if (!it->value.IsString() || it->value.GetStringLength() == 0 || it->value.GetStringLength() > 200) {
    errors.push_back({key, "must be a user id (string) or null"});
    return std::nullopt;
  }
  return std::optional<std::string>{std::string(it->value.GetString(), it->value.GetStringLength())};
}

void throw_if(std::vector<FieldError>& errors, const char* detail = "the request is invalid") {
  if (!errors.empty()) throw HttpError::bad_request(detail, std::move(errors));
}

bool valid_tag(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  return std::none_of(t.begin(), t.end(), [](unsigned char c) { return c < 0x20 || c == ',' || c == '"'; });
}

// Filters shared by the list, the counts and bulk actions. `get` reads one
// value, `get_all` a repeatable one.
template <typename Get, typename GetAll>
repo::ListQuery parse_filter(const auth::Principal& who, Get get, GetAll get_all, std::vector<FieldError>& errors) {
  repo::ListQuery q;
  q.tenant = who.tenant;
  const auto scope = scope_for(who);
  q.scope_owner = scope.owner;
  q.scope_person = scope.person;
  q.stages = get_all("stage");
  if (auto view = get("view")) {
    if (*view != "actionable" && *view != "all") errors.push_back({"view", "must be actionable or all"});
    if (*view == "actionable" && q.stages.empty()) q.stages.push_back(kActionableView);  // resolved with the pipeline
  }
  auto one_of = [&](const char* key, std::initializer_list<const char*> values) -> std::optional<std::string> {
    auto v = get(key);
    if (!v) return std::nullopt;
    for (const char* ok : values) {
      if (*v == ok) return v;
    }
    std::string msg = "must be one of:";
    for (const char* ok : values) msg += std::string(" ") + ok;
    errors.push_back({key, msg});
    return std::nullopt;
  };
  q.tier = one_of("tier", {"hot", "warm", "cold"});
  q.interest = one_of("interest", {"hot", "warm", "cold"});
  for (auto& t : get_all("tag")) {
    if (!valid_tag(t)) {
      errors.push_back({"tag", "not a tag"});
    } else {
      q.tags.push_back(std::move(t));
    }
  }
  q.assigned_to = get("assignee");
  q.counsellor = get("counsellor");
  q.owner = get("owner");
  q.source = get("source");
  q.session_year = get("session_year");
  auto time = [&](const char* key, std::optional<std::string>& out) {
    if (auto v = get(key)) {
      if (plausible_time(*v)) {
        out = v;
      } else {
        errors.push_back({key, "must be an RFC 3339 time"});
      }
    }
  };
  time("created_from", q.created_from);
  time("created_to", q.created_to);
  time("updated_from", q.updated_from);
  time("updated_to", q.updated_to);
  if (auto o = one_of("has_overdue_followup", {"true", "false"})) q.overdue = *o == "true";
  if (auto text = get("q")) {
    if (text->size() > 200) {
      errors.push_back({"q", "at most 200 characters"});
    } else {
      q.q = *text;
    }
  }
  return q;
}

repo::ListQuery parse_list_query(const Request& req, const auth::Principal& who) {
  std::vector<FieldError> errors;
  auto get = [&req, &errors](const char* k) -> std::optional<std::string> {
    auto v = req.query(k);
    if (v && v->empty()) return std::nullopt;
    if (v && !pg_text(*v)) {
      errors.push_back({k, "must be UTF-8 text"});
      return std::nullopt;
    }
    return v;
  };
  auto get_all = [&req, &errors](const char* k) {
    std::vector<std::string> out;
    for (auto& v : req.query_all(k)) {
      if (!pg_text(v)) {
        errors.push_back({k, "must be UTF-8 text"});
      } else if (!v.empty()) {
        out.push_back(std::move(v));
      }
    }
    return out;
  };
  auto q = parse_filter(who, get, get_all, errors);
  if (!get("view") && q.stages.empty()) q.stages.push_back(kDefaultView);
  q.sort = kDefaultSort;
  if (auto limit = req.query("limit")) {
    int n = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || p != limit->data() + limit->size() || n < 1 || n > 200) {
      errors.push_back({"limit", "must be an integer between 1 and 200"});
    } else {
      q.limit = n;
    }
  }
  if (auto sort = get("sort")) {
    if (*sort != "recent" && *sort != "score" && *sort != "updated") {
      errors.push_back({"sort", "must be recent, score or updated"});
    } else {
      q.sort = *sort;
    }
  }
  if (auto cursor = req.query("cursor"); cursor && !cursor->empty()) q.cursor = *cursor;
  if (!errors.empty()) {
    throw HttpError(400, "Invalid query", "one or more query parameters are invalid", std::move(errors));
  }
  return q;
}

// A filter given as a JSON object (bulk actions): same names as the list's
// query parameters; `stage` and `tag` may be arrays.
repo::ListQuery parse_body_filter(const Value& filter, const auth::Principal& who, std::vector<FieldError>& errors) {
  std::set<std::string> seen;
  auto get = [&](const char* k) -> std::optional<std::string> {
    seen.insert(k);
    auto it = filter.FindMember(k);
    if (it == filter.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (it->value.IsBool()) return std::string(it->value.GetBool() ? "true" : "false");
    if (!it->value.IsString()) {
      errors.push_back({std::string("filter.") + k, "must be a string"});
      return std::nullopt;
    }
    std::string v(it->value.GetString(), it->value.GetStringLength());
    if (v.empty()) return std::nullopt;
    return v;
  };
  auto get_all = [&](const char* k) {
    seen.insert(k);
    std::vector<std::string> out;
    auto it = filter.FindMember(k);
    if (it == filter.MemberEnd() || it->value.IsNull()) return out;
    if (it->value.IsString()) {
      if (it->value.GetStringLength()) out.emplace_back(it->value.GetString(), it->value.GetStringLength());
    } else if (it->value.IsArray()) {
      for (const auto& v : it->value.GetArray()) {
        if (v.IsString() && v.GetStringLength()) out.emplace_back(v.GetString(), v.GetStringLength());
      }
    } else {
      errors.push_back({std::string("filter.") + k, "must be a string or an array of strings"});
    }
    return out;
  };
  auto q = parse_filter(who, get, get_all, errors);
  for (const auto& m : filter.GetObject()) {
    std::string k(m.name.GetString(), m.name.GetStringLength());
    if (!seen.count(k)) errors.push_back({"filter." + k, "unknown filter"});
  }
  return q;
}

// Resolves view=actionable and checks stage names against the tenant's pipeline.
void resolve_stages(repo::ListQuery& q, const Pipeline& p) {
  if (q.sort == kDefaultSort) q.sort = p.default_sort;
  if (q.stages.size() == 1 && q.stages[0] == kDefaultView) {
    q.stages.clear();
    if (p.default_view == "actionable") q.stages = p.open_stages();
    return;
  }
  if (q.stages.size() == 1 && q.stages[0] == kActionableView) {
    q.stages = p.open_stages();
    return;
  }
  std::vector<FieldError> errors;
  for (const auto& s : q.stages) {
    if (!p.has(s)) errors.push_back({"stage", "unknown stage '" + s + "'"});
  }
  if (!errors.empty()) throw HttpError(400, "Invalid query", "unknown stage", std::move(errors));
}

std::vector<std::string> id_list(const Value& body, std::vector<FieldError>& errors) {
  std::vector<std::string> ids;
  auto it = body.FindMember("ids");
  if (it == body.MemberEnd()) return ids;
  if (!it->value.IsArray() || it->value.Empty() || it->value.Size() > 1000) {
    errors.push_back({"ids", "must be an array of 1 to 1000 lead ids"});
    return ids;
  }
  for (const auto& v : it->value.GetArray()) {
    if (!v.IsString() || !is_uuid(std::string(v.GetString(), v.GetStringLength()))) {
      errors.push_back({"ids", "every id must be a lead id (uuid)"});
      return {};
    }
    ids.emplace_back(v.GetString(), v.GetStringLength());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// ---- handlers --------------------------------------------------------------

awaitable<Response> list_leads(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  auto query = parse_list_query(req, who);
  query.items_as_json = true;  // rendered straight from the rows (repo::list)
  query.estimates = d.estimates.get();
  // A page with one plan for every value (repo::plan_is_value_independent)
  // runs on the board pool's generic-plan connections. Which it is shows once
  // the tenant's pipeline has resolved the view and sort: from the cache here,
  // or, on a miss, in the general pool's run below (which fills the cache).
  pg::Pool* pool = &d.pool;
  bool resolved = false;
  if (auto hit = d.pipelines->get(query.tenant); hit && *hit) {
    resolve_stages(query, **hit);
    resolved = true;
    if (d.board_pool && repo::plan_is_value_independent(query)) pool = d.board_pool;
  }
  // Callables passed to co_await'ed calls are named locals: GCC 12 destroys
  // lambda temporaries inside a co_await expression twice.
  auto run = [query, resolved, &d](pqxx::connection& c) mutable {
    // No BEGIN/COMMIT: a list is the page plus, only when the page is full,
    // the total (an EXPLAIN, or a capped count); a search adds its word
    // expansion and counts with its page (repo::list). The total may then see
    // a lead committed after the page was read; totals above
    // repo::kExactTotalLimit are estimates anyway, and later pages are read at
    // later moments whatever we do.
    pqxx::nontransaction tx(c);
    if (!resolved) resolve_stages(query, cached_pipeline(d, tx, query.tenant));
    try {
      return repo::list(tx, query);
    } catch (const std::invalid_argument&) {
      throw HttpError(400, "Invalid query", "the cursor is malformed or expired",
                      {{"cursor", "not a cursor returned by this API for this sort"}});
    }
  };
  auto page = co_await pool->async(std::move(run));
  // The items are already JSON (repo::list renders them from the rows);
  // they are appended as one block — rapidjson's RawValue copies byte by
  // byte, which for a 50-lead page was 3.5 % of the request's CPU.
  rapidjson::StringBuffer tail_buf;
  JsonWriter w(tail_buf);
  w.StartObject();
  w.Key("next_cursor");
  if (page.next_cursor) {
    w.String(page.next_cursor->c_str());
  } else {
    w.Null();
  }
  w.Key("total");
  w.Int64(page.total);
  w.Key("total_exact");
  w.Bool(page.total_exact);
  w.EndObject();
  const std::string_view tail(tail_buf.GetString() + 1, tail_buf.GetSize() - 1);  // without its '{'
  std::string body;
  body.reserve(page.items_json.size() + tail.size() + 16);
  body += "{\"items\":";
  body += page.items_json;
  body += ',';
  body += tail;
  co_return Response::json(200, std::move(body));
}

awaitable<Response> lead_counts(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  auto query = parse_list_query(req, who);
  auto run = [query, &d](pqxx::connection& c) mutable {
    Snapshot tx(c);
    resolve_stages(query, cached_pipeline(d, tx, query.tenant));
    return repo::counts(tx, query);
  };
  auto counts = co_await d.pool.async(std::move(run));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  auto group = [&w](const char* key, const std::vector<std::pair<std::string, long long>>& rows) {
    w.Key(key);
    w.StartArray();
    for (const auto& [k, n] : rows) {
      w.StartObject();
      w.Key("key");
      if (k.empty()) {
        w.Null();
      } else {
        w.String(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
      }
      w.Key("count");
      w.Int64(n);
      w.EndObject();
    }
    w.EndArray();
  };
  w.StartObject();
  w.Key("total");
  w.Int64(counts.total);
  group("by_stage", counts.by_stage);
  group("by_assignee", counts.by_assignee);
  group("by_counsellor", counts.by_counsellor);
  group("by_tag", counts.by_tag);
  w.EndObject();
  co_return Response::json(200, std::string(buf.GetString(), buf.GetSize()));
}

awaitable<Response> get_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  struct Full {
    repo::Detail detail;
    std::string tags, stages, assignments, notes, followups;
  };
  auto load = [who, id](pqxx::connection& c) -> std::optional<Full> {
    pqxx::read_transaction tx(c);
    auto found = repo::detail(tx, who.tenant, id);
    // Another tenant's lead, or one outside the caller's scope, is simply not found.
    if (!found || !in_scope(scope_for(who), found->lead)) return std::nullopt;
    Full f{*found, repo::tags_with_categories_json(tx, who.tenant, found->lead.tags),
           repo::stage_history_json(tx, who.tenant, id), repo::assignment_history_json(tx, who.tenant, id),
           repo::notes_json(tx, who.tenant, id), "["};
    bool first = true;
    for (const auto& fu : repo::list_followups(tx, who.tenant, id)) {
      if (!first) f.followups += ",";
      first = false;
      f.followups += followup_json(fu);
    }
    f.followups += "]";
    return f;
  };
  auto found = co_await d.pool.async(std::move(load));
  if (!found) throw not_found();

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  write_lead_members(w, found->detail.lead, "id");
  auto raw = [&w, &buf](const char* key, const std::string& json) {
    w.Key(key);
    http::write_raw_json(w, buf, json, rapidjson::kArrayType);
  };
  raw("tag_details", found->tags);
  raw("identities", found->detail.identities_json);
  raw("captures", found->detail.captures_json);
  raw("stage_history", found->stages);
  raw("assignments", found->assignments);
  raw("notes", found->notes);
  raw("followups", found->followups);
  raw("timeline", found->detail.timeline_json);
  w.EndObject();
  co_return Response::json(200, std::string(buf.GetString(), buf.GetSize()));
}

awaitable<Response> create_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  const auto in = parse_lead_input(body, true, d.default_region);
  auto job = [who, in](pqxx::work& tx) {
    if (in.phone && *in.phone) {
      if (auto existing = repo::find_by_phone(tx, who.tenant, **in.phone)) {
        throw HttpError::conflict("a lead with this phone number exists",
                                  R"({"existing_id":")" + *existing + R"("})");
      }
    }
    const auto pipeline = repo::pipeline_for(tx, who.tenant);
    const auto now = events::now_rfc3339();
    Lead lead;
    lead.id = events::uuid_v4();
    lead.tenant = who.tenant;
    apply_edit(lead, in);
    lead.source = in.source.value_or("manual");
    lead.created_by = who.subject;
    if (who.role == auth::Role::sales_head) lead.owner = who.subject;   // into the creator's pool
    if (who.role == auth::Role::counselor) lead.assigned_to = who.subject;  // stays visible to them
    lead.stage = pipeline.initial_stage(contact_complete(lead));
    lead.version = 1;
    lead.created_at = lead.updated_at = lead.stage_changed_at = now;
    repo::insert(tx, lead);
    repo::add_activity(tx, lead.id, "lead_created", who.subject, R"({"source":"manual"})", "");
    repo::publish(tx, std::string(events::topics::lead_created), lead, lead_event_data(lead, nullptr));
    repo::record_duplicate_candidates(tx, lead, default_variant_regions());
    apply_assignment_rules(tx, lead, pipeline.open_stages());
    return lead;
  };
  std::optional<Lead> created;
  bool raced = false;
  try {
    created = co_await pg::async_transact(d.pool, std::move(job));
  } catch (const pqxx::unique_violation&) {
    raced = true;  // another request or a capture took the phone meanwhile
  }
  if (raced) {
    auto phone = **in.phone;
    auto find = [tenant = who.tenant, phone](pqxx::connection& c) {
      pqxx::work tx(c);
      return repo::find_by_phone(tx, tenant, phone);
    };
    auto existing = co_await d.pool.async(std::move(find));
    throw HttpError::conflict("a lead with this phone number exists",
                              existing ? R"({"existing_id":")" + *existing + R"("})" : std::string());
  }
  auto r = lead_response(201, *created);
  r.headers.emplace_back("Location", "/api/v1/leads/" + created->id);
  co_return r;
}

awaitable<Response> patch_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  const auto in = parse_lead_input(body, false, d.default_region);
  auto job = [who, id, in](pqxx::work& tx) {
    auto lead = load_scoped(tx, who, id);
    if (in.expected_version && *in.expected_version != lead.version) {
      throw HttpError::conflict("the lead changed since you read it",
                                R"({"current_version":)" + std::to_string(lead.version) + "}");
    }
    if (in.phone && *in.phone && **in.phone != lead.phone) {
      if (auto existing = repo::find_by_phone(tx, who.tenant, **in.phone); existing && *existing != lead.id) {
        throw HttpError::conflict("another lead has this phone number", R"({"existing_id":")" + *existing + R"("})");
      }
    }
    auto changed = apply_edit(lead, in);
    if (changed.empty()) return lead;
    const auto pipeline = repo::pipeline_for(tx, who.tenant);
    const auto now = events::now_rfc3339();
    const auto previous_changed_at = lead.stage_changed_at;
    const auto left = auto_complete(lead, pipeline, now);
    if (left) changed.emplace_back("stage");
    touch(lead, now);
    save_update(tx, lead, changed, who.subject, "edited");
    if (std::find(changed.begin(), changed.end(), "phone") != changed.end() ||
        std::find(changed.begin(), changed.end(), "email") != changed.end()) {
      repo::record_duplicate_candidates(tx, lead, default_variant_regions());
    }
    if (left) {
      repo::add_stage_history(tx, lead, *left, "system", "contact data complete", previous_changed_at);
      repo::add_activity(tx, lead.id, "stage_changed", "system",
                         R"({"from":")" + *left + R"(","to":")" + lead.stage + R"(","reason":"contact data complete"})",
                         "");
      repo::publish(tx, std::string(events::topics::lead_stage_changed), lead,
                    stage_changed_event(lead, pipeline, *left, "system", "contact data complete"));
    }
    return lead;
  };
  auto lead = co_await pg::async_transact(d.pool, std::move(job));
  co_return lead_response(200, lead);
}

awaitable<Response> delete_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  const auto erase_param = req.query("erase");
  if (erase_param && *erase_param != "true" && *erase_param != "false") {
    throw HttpError::bad_request("invalid query", {{"erase", "must be true or false"}});
  }
  const bool erase = erase_param && *erase_param == "true";
  require(who, erase ? Action::erase : Action::remove);
  std::string reason;
  if (auto r = req.query("reason")) reason = r->substr(0, 200);
  auto job = [who, id, erase, reason](pqxx::work& tx) {
    const auto now = events::now_rfc3339();
    if (erase) {
      auto lead = repo::load_unerased(tx, who.tenant, id);
      if (!lead) throw not_found();
      touch(*lead, now);
      repo::erase(tx, *lead);
      repo::add_activity(tx, lead->id, "erased", who.subject, "{}", "");
      repo::publish(tx, std::string(events::topics::lead_erased), *lead, erased_event(*lead, who.subject, reason, now));
      return;
    }
    auto lead = load_scoped(tx, who, id);
    touch(lead, now);
    repo::soft_delete(tx, lead);
    repo::cancel_pending_followups(tx, lead.tenant, lead.id, who.subject, "lead deleted");
    repo::add_activity(tx, lead.id, "deleted", who.subject, "{}", "");
    const std::vector<std::string> changed{"deleted"};
    repo::publish(tx, std::string(events::topics::lead_updated), lead, lead_event_data(lead, &changed));
  };
  co_await pg::async_transact(d.pool, std::move(job));
  co_return Response::empty(204);
}

awaitable<Response> change_stage_handler(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  std::vector<FieldError> errors;
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  auto stage = body_string(body, "stage", errors, 64);
  auto reason = body_string(body, "reason", errors, 500);
  if (!stage && errors.empty()) errors.push_back({"stage", "required"});
  throw_if(errors);
  auto job = [who, id, to = *stage, reason = reason.value_or("")](pqxx::work& tx) {
    auto lead = load_scoped(tx, who, id);
    const auto pipeline = repo::pipeline_for(tx, who.tenant);
    const auto check = check_transition(pipeline, lead.stage, to, auth::to_string(who.role), reason);
    if (check.status == 403) throw HttpError::forbidden(check.detail);
    if (!check.ok()) throw HttpError::unprocessable(check.detail, {{check.field, check.detail}});
    change_stage(tx, lead, pipeline, to, who.subject, reason, events::now_rfc3339());
    return lead;
  };
  auto lead = co_await pg::async_transact(d.pool, std::move(job));
  co_return lead_response(200, lead);
}

struct AssignRequest {
  std::vector<std::pair<std::string, std::optional<std::string>>> roles;  // role → user (null = unassign)
  std::string reason;
};

AssignRequest parse_assign(const Value& body, const auth::Principal& who, std::vector<FieldError>& errors) {
  AssignRequest a;
  for (const char* role : {"telecaller", "counsellor", "owner"}) {
    if (auto v = body_nullable(body, role, errors)) a.roles.emplace_back(role, *v);
  }
  a.reason = body_string(body, "reason", errors, 200).value_or("");
  if (a.roles.empty() && errors.empty()) errors.push_back({"telecaller", "name a telecaller, counsellor or owner"});
  for (const auto& [role, _] : a.roles) {
    if (role == "owner" && !allowed(who.role, Action::transfer)) {
      throw HttpError::forbidden("only admins move leads between sales heads' pools");
    }
  }
  return a;
}

// Applies an assignment to one lead; returns whether anything changed.
bool apply_assignment(pqxx::work& tx, Lead& lead, const AssignRequest& a, const std::string& actor) {
  const auto now = events::now_rfc3339();
  bool changed = false;
  for (const auto& [role, to] : a.roles) changed = assign(tx, lead, role, to, actor, a.reason, now) || changed;
  if (changed) {
    touch(lead, now);
    repo::update(tx, lead);
  }
  return changed;
}

awaitable<Response> assign_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  require(who, Action::assign);
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  auto a = parse_assign(body, who, errors);
  throw_if(errors);
  auto job = [who, id, a](pqxx::work& tx) {
    auto lead = load_scoped(tx, who, id);
    apply_assignment(tx, lead, a, who.subject);
    return lead;
  };
  auto lead = co_await pg::async_transact(d.pool, std::move(job));
  co_return lead_response(200, lead);
}

std::string bulk_result(std::size_t matched, int changed, const std::vector<std::string>& missing) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("matched");
  w.Uint64(matched);
  w.Key("changed");
  w.Int(changed);
  w.Key("not_found");
  w.StartArray();
  for (const auto& id : missing) w.String(id.c_str());
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

awaitable<Response> assign_bulk(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  require(who, Action::bulk);
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  auto ids = id_list(body, errors);
  if (ids.empty() && errors.empty()) errors.push_back({"ids", "required"});
  auto a = parse_assign(body, who, errors);
  throw_if(errors);
  auto job = [who, ids, a](pqxx::work& tx) {
    int changed = 0;
    std::vector<std::string> missing;
    for (const auto& id : ids) {
      auto lead = repo::load(tx, who.tenant, id, true);
      if (!lead || !in_scope(scope_for(who), *lead)) {
        missing.push_back(id);
        continue;
      }
      if (apply_assignment(tx, *lead, a, who.subject)) ++changed;
    }
    return bulk_result(ids.size(), changed, missing);
  };
  auto result = co_await pg::async_transact(d.pool, std::move(job));
  co_return Response::json(200, std::move(result));
}

struct TagRequest {
  std::vector<std::pair<std::string, std::optional<std::string>>> add;  // name, category
  std::vector<std::string> remove;
};

TagRequest parse_tags(const Value& body, std::vector<FieldError>& errors) {
  TagRequest t;
  if (auto it = body.FindMember("add"); it != body.MemberEnd()) {
    if (!it->value.IsArray() || it->value.Size() > 50) {
      errors.push_back({"add", "must be an array of at most 50 tags"});
    } else {
      for (const auto& v : it->value.GetArray()) {
        std::string name;
        std::optional<std::string> category;
        if (v.IsString()) {
          name.assign(v.GetString(), v.GetStringLength());
        } else if (v.IsObject()) {
          name = body_string(v, "name", errors, 64).value_or("");
          category = body_string(v, "category", errors, 64);
        }
        if (!valid_tag(name)) {
          errors.push_back({"add", "a tag is a name (1-64 characters) or {name, category}"});
          continue;
        }
        t.add.emplace_back(std::move(name), std::move(category));
      }
    }
  }
  if (auto it = body.FindMember("remove"); it != body.MemberEnd()) {
    if (!it->value.IsArray() || it->value.Size() > 50) {
      errors.push_back({"remove", "must be an array of at most 50 tag names"});
    } else {
      for (const auto& v : it->value.GetArray()) {
        if (!v.IsString() || !valid_tag(std::string(v.GetString(), v.GetStringLength()))) {
          errors.push_back({"remove", "must be tag names"});
          continue;
        }
        t.remove.emplace_back(v.GetString(), v.GetStringLength());
      }
    }
  }
  if (t.add.empty() && t.remove.empty() && errors.empty()) errors.push_back({"add", "add or remove at least one tag"});
  return t;
}

awaitable<Response> tag_lead(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  auto t = parse_tags(body, errors);
  throw_if(errors);
  auto job = [who, id, t](pqxx::work& tx) {
    auto lead = load_scoped(tx, who, id);
    retag(tx, lead, t.add, t.remove, who.subject, events::now_rfc3339());
    return lead;
  };
  auto lead = co_await pg::async_transact(d.pool, std::move(job));
  co_return lead_response(200, lead);
}

awaitable<Response> tag_bulk(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  require(who, Action::bulk);
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  auto ids = id_list(body, errors);
  std::optional<repo::ListQuery> filter;
  if (auto it = body.FindMember("filter"); it != body.MemberEnd()) {
    if (!it->value.IsObject()) {
      errors.push_back({"filter", "must be an object of list filters"});
    } else {
      filter = parse_body_filter(it->value, who, errors);
      if (errors.empty() && filter->empty_filter()) {
        errors.push_back({"filter", "an empty filter would match every lead; narrow it"});
      }
    }
  }
  if (ids.empty() == !filter && errors.empty()) errors.push_back({"ids", "give either ids or a filter"});
  auto t = parse_tags(body, errors);
  throw_if(errors);
  auto job = [who, ids, filter, t](pqxx::work& tx) mutable {
    auto targets = ids;
    if (filter) {
      resolve_stages(*filter, repo::pipeline_for(tx, who.tenant));
      targets = repo::matching_ids(tx, *filter, kMaxBulk + 1);
      if (targets.size() > static_cast<std::size_t>(kMaxBulk)) {
        throw HttpError(413, "Too many leads", "the filter matches more than 10000 leads; narrow it");
      }
    }
    const auto now = events::now_rfc3339();
    int changed = 0;
    std::vector<std::string> missing;
    for (const auto& id : targets) {
      auto lead = repo::load(tx, who.tenant, id, true);
      if (!lead || !in_scope(scope_for(who), *lead)) {
        missing.push_back(id);
        continue;
      }
      if (retag(tx, *lead, t.add, t.remove, who.subject, now)) ++changed;
    }
    return bulk_result(targets.size(), changed, missing);
  };
  auto result = co_await pg::async_transact(d.pool, std::move(job));
  co_return Response::json(200, std::move(result));
}

awaitable<Response> list_tags(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  auto job = [tenant = who.tenant](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return repo::tag_catalog_json(tx, tenant);
  };
  auto items = co_await d.pool.async(std::move(job));
  co_return Response::json(200, R"({"items":)" + items + "}");
}

// Read access to a lead's sub-resources: 404 outside tenant and scope.
void check_readable(pqxx::transaction_base& tx, const auth::Principal& who, const std::string& id) {
  auto lead = repo::load(tx, who.tenant, id, false);
  if (!lead || !in_scope(scope_for(who), *lead)) throw not_found();
}

awaitable<Response> list_notes(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  auto job = [who, id](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    check_readable(tx, who, id);
    return repo::notes_json(tx, who.tenant, id);
  };
  auto items = co_await d.pool.async(std::move(job));
  co_return Response::json(200, R"({"items":)" + items + "}");
}

awaitable<Response> add_note(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  auto text = body_string(body, "body", errors, 5000);
  if (!text && errors.empty()) errors.push_back({"body", "required"});
  throw_if(errors);
  auto job = [who, id, text = *text](pqxx::work& tx) {
    auto lead = load_scoped(tx, who, id);
    auto note = repo::add_note(tx, who.tenant, lead.id, who.subject, text);
    // The timeline points at the note; its text stays in one place (erasure).
    repo::add_activity(tx, lead.id, "note_added", who.subject, R"({"note_id":")" + note.id + R"("})", "");
    return note;
  };
  auto note = co_await pg::async_transact(d.pool, std::move(job));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  for (auto [k, v] : {std::pair{"id", &note.id}, {"author", &note.author}, {"body", &note.body},
                      {"created_at", &note.created_at}}) {
    w.Key(k);
    w.String(v->c_str(), static_cast<rapidjson::SizeType>(v->size()));
  }
  w.EndObject();
  co_return Response::json(201, std::string(buf.GetString(), buf.GetSize()));
}

awaitable<Response> list_followups(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  auto job = [who, id](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    check_readable(tx, who, id);
    std::string out = R"({"items":[)";
    bool first = true;
    for (const auto& f : repo::list_followups(tx, who.tenant, id)) {
      if (!first) out += ",";
      first = false;
      out += followup_json(f);
    }
    return out + "]}";
  };
  co_return Response::json(200, co_await d.pool.async(std::move(job)));
}

awaitable<Response> add_followup(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  auto due = body_string(body, "due_at", errors, 40);
  if (!due && errors.empty()) errors.push_back({"due_at", "required"});
  auto kind = body_string(body, "kind", errors, 20).value_or("call");
  static const std::set<std::string> kKinds{"call", "whatsapp", "sms", "email", "meeting", "visit", "other"};
  if (!kKinds.count(kind)) errors.push_back({"kind", "must be call, whatsapp, sms, email, meeting, visit or other"});
  auto note = body_string(body, "note", errors, 2000);
  auto assignee = body_string(body, "assigned_to", errors, 200);
  throw_if(errors);
  auto job = [who, id, due = *due, kind, note, assignee](pqxx::work& tx) {
    auto lead = load_scoped(tx, who, id);
    const auto pipeline = repo::pipeline_for(tx, who.tenant);
    if (pipeline.is_terminal(lead.stage)) {
      throw HttpError::unprocessable("the lead is closed; re-open it before scheduling a follow-up",
                                     {{"lead", "in terminal stage '" + lead.stage + "'"}});
    }
    repo::Followup f;
    f.id = events::uuid_v4();
    f.tenant = who.tenant;
    f.lead_id = lead.id;
    f.kind = kind;
    f.note = note;
    f.assigned_to = assignee ? *assignee : default_followup_assignee(lead, who.subject);
    f.due_at = canonical_time(tx, "due_at", due);
    f.created_by = who.subject;
    repo::insert_followup(tx, f);
    repo::add_activity(tx, lead.id, "followup_scheduled", who.subject,
                       R"({"followup_id":")" + f.id + R"(","due_at":")" + f.due_at + R"("})", "");
    return *repo::load_followup(tx, who.tenant, lead.id, f.id, false);
  };
  auto f = co_await pg::async_transact(d.pool, std::move(job));
  co_return Response::json(201, followup_json(f));
}

awaitable<Response> followup_action(ApiDeps& d, Request& req, std::string action) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = lead_id_param(req);
  const auto fid = req.path_params.at("followup_id");
  if (!is_uuid(fid)) throw HttpError::not_found("no such follow-up");
  require(who, Action::edit);
  std::vector<FieldError> errors;
  std::optional<std::string> note, until;
  if (!req.body.empty()) {
    const auto body = http::parse_json_body(req);
    if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
    note = body_string(body, action == "cancel" ? "reason" : "note", errors, 2000);
    if (action == "snooze") until = body_string(body, "until", errors, 40);
  }
  if (action == "snooze" && !until && errors.empty()) errors.push_back({"until", "required"});
  throw_if(errors);
  auto job = [who, id, fid, action, note, until](pqxx::work& tx) {
    load_scoped(tx, who, id);
    auto f = repo::load_followup(tx, who.tenant, id, fid, true);
    if (!f) throw HttpError::not_found("no such follow-up");
    if (f->status != "pending") throw HttpError::conflict("the follow-up is already " + f->status);
    const auto now = events::now_rfc3339();
    bool rearm = false;
    if (action == "done") {
      f->status = "done";
      f->completed_at = now;
      f->completed_by = who.subject;
      f->outcome_note = note;
    } else if (action == "cancel") {
      f->status = "cancelled";
      f->completed_at = now;
      f->completed_by = who.subject;
      f->cancel_reason = note;
    } else {
      f->due_at = canonical_time(tx, "until", *until);
      f->snoozes += 1;
      rearm = true;
    }
    repo::update_followup(tx, *f, rearm);
    repo::add_activity(tx, id, "followup_" + action, who.subject,
                       R"({"followup_id":")" + f->id + R"(","due_at":")" + f->due_at + R"("})", "");
    return *repo::load_followup(tx, who.tenant, id, fid, false);
  };
  auto f = co_await pg::async_transact(d.pool, std::move(job));
  co_return Response::json(200, followup_json(f));
}

awaitable<Response> get_pipeline(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  auto job = [tenant = who.tenant](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const bool own = repo::has_own_pipeline(tx, tenant);
    return R"({"custom":)" + std::string(own ? "true" : "false") +
           R"(,"definition":)" + repo::pipeline_for(tx, tenant).to_json() + "}";
  };
  co_return Response::json(200, co_await d.pool.async(std::move(job)));
}

awaitable<Response> put_pipeline(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  require(who, Action::pipeline);
  const auto body = http::parse_json_body(req);
  Pipeline p;
  if (body.IsObject() && body.HasMember("builtin")) {
    const auto& b = body["builtin"];
    const auto& all = builtin_pipelines();
    auto it = b.IsString() ? all.find(std::string(b.GetString(), b.GetStringLength())) : all.end();
    if (it == all.end()) throw HttpError::bad_request("unknown built-in pipeline", {{"builtin", "admissions, clinic or funnel"}});
    p = Pipeline::from_json(it->second);
  } else {
    try {
      p = Pipeline::from_json(http::to_json(body));
    } catch (const std::invalid_argument& e) {
      throw HttpError::bad_request(e.what(), {{"definition", e.what()}});
    }
  }
  auto job = [who, p](pqxx::work& tx) {
    std::vector<std::string> orphans;
    for (const auto& s : repo::stages_in_use(tx, who.tenant)) {
      if (!p.has(s)) orphans.push_back(s);
    }
    if (!orphans.empty()) {
      std::string list;
      for (const auto& s : orphans) list += (list.empty() ? "" : ", ") + s;
      throw HttpError::conflict("leads are in stages the new pipeline lacks: " + list);
    }
    repo::save_pipeline(tx, who.tenant, p, who.subject);
  };
  co_await pg::async_transact(d.pool, std::move(job));
  d.pipelines->erase(who.tenant);
  co_return Response::json(200, R"({"custom":true,"definition":)" + p.to_json() + "}");
}

}  // namespace

Pipeline cached_pipeline(const ApiDeps& deps, pqxx::transaction_base& tx, const std::string& tenant) {
  if (auto hit = deps.pipelines->get(tenant); hit && *hit) return **hit;
  auto p = repo::pipeline_for(tx, tenant);
  deps.pipelines->put(tenant, p);
  return p;
}

repo::ListQuery parse_list_request(const Request& req, const auth::Principal& who) {
  return parse_list_query(req, who);
}
void resolve_list_stages(repo::ListQuery& q, const Pipeline& pipeline) { resolve_stages(q, pipeline); }

void add_api_routes(http::Router& router, std::shared_ptr<ApiDeps> deps) {
  auto route = [&](const char* method, const char* pattern, auto fn) {
    router.add(method, pattern, [deps, fn](Request& req) { return fn(*deps, req); }, pattern);
  };
  route("GET", "/api/v1/leads", list_leads);
  route("POST", "/api/v1/leads", create_lead);
  route("GET", "/api/v1/leads/counts", lead_counts);
  route("POST", "/api/v1/leads/assignment", assign_bulk);
  route("POST", "/api/v1/leads/tags", tag_bulk);
  route("GET", "/api/v1/leads/{id}", get_lead);
  route("PATCH", "/api/v1/leads/{id}", patch_lead);
  route("DELETE", "/api/v1/leads/{id}", delete_lead);
  route("POST", "/api/v1/leads/{id}/stage", change_stage_handler);
  route("POST", "/api/v1/leads/{id}/assignment", assign_lead);
  route("POST", "/api/v1/leads/{id}/tags", tag_lead);
  route("GET", "/api/v1/leads/{id}/notes", list_notes);
  route("POST", "/api/v1/leads/{id}/notes", add_note);
  route("GET", "/api/v1/leads/{id}/followups", list_followups);
  route("POST", "/api/v1/leads/{id}/followups", add_followup);
  for (const char* action : {"done", "snooze", "cancel"}) {
    const std::string pattern = std::string("/api/v1/leads/{id}/followups/{followup_id}/") + action;
    router.add("POST", pattern,
               [deps, a = std::string(action)](Request& req) { return followup_action(*deps, req, a); }, pattern);
  }
  route("GET", "/api/v1/tags", list_tags);
  route("GET", "/api/v1/pipeline", get_pipeline);
  route("PUT", "/api/v1/pipeline", put_pipeline);
}

}  // namespace leadpipe::leads
