#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include "merge_api.hpp"

#include <algorithm>
#include <map>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/json.hpp>

#include "crm_repository.hpp"
#include "crm_service.hpp"
#include "lead_json.hpp"
#include "merge.hpp"
#include "permissions.hpp"
#include "repository.hpp"
#include "sources.hpp"
#include "workflow_metrics.hpp"

namespace leadpipe::leads {
namespace {

using json::opt;
using json::str;
using json::strings;

using boost::asio::awaitable;
using http::FieldError;
using http::HttpError;
using http::Request;
using http::Response;

constexpr std::size_t kMaxMerge = 20;

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

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// uuid[] literal of validated UUIDs.
std::string uuid_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + ids[i];
  return out + "}";
}

std::string merged_event(const Lead& lead, const std::vector<std::string>& ids,
                         const std::string& by, const std::string& at) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  str(w, "lead_id", lead.id);
  w.Key("version");
  w.Int(lead.version);
  strings(w, "merged_lead_ids", ids);
  str(w, "by", by);
  str(w, "merged_at", at);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

std::string merge_in_tx(pqxx::work& tx, const auth::Principal& who, const std::string& survivor_id,
                        const std::vector<std::string>& absorbed_ids, bool dry_run,
                        const std::string& now) {
  std::vector<std::string> ids;
  for (const auto& id : absorbed_ids) ids.push_back(lower(id));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const auto sid = lower(survivor_id);
  if (std::find(ids.begin(), ids.end(), sid) != ids.end()) {
    throw HttpError::unprocessable("a lead cannot be merged into itself",
                                   {{"lead_ids", "contains the lead itself"}});
  }
  // Lock every lead in id order (concurrent merges cannot deadlock), all in scope.
  std::vector<std::string> all = ids;
  all.push_back(sid);
  std::sort(all.begin(), all.end());
  const auto scope = scope_for(who);
  std::map<std::string, Lead> leads;
  for (const auto& id : all) {
    auto l = repo::load(tx, who.tenant, id, true);
    if (!l || !in_scope(scope, *l)) throw HttpError::not_found("no such lead: " + id);
    leads.emplace(id, std::move(*l));
  }
  const Lead survivor = leads.at(sid);
  std::vector<Lead> absorbed;
  for (const auto& id : ids) absorbed.push_back(leads.at(id));
  const auto pipeline = repo::pipeline_for(tx, who.tenant);
  auto m = merge_leads(survivor, absorbed, pipeline, now);

  // extra: the survivor's keys win, then the absorbed leads' in id order.
  std::map<std::string, std::string> extra;
  for (const auto& id : all) {
    const auto row = tx.exec_params1(
        "SELECT extra::text FROM leads.leads WHERE tenant = $1 AND id = $2::uuid", who.tenant, id);
    auto e = parse_extra(row[0].as<std::string>());
    if (id == sid) {
      for (auto& [k, v] : e) extra[k] = v;
    } else {
      extra.merge(e);
    }
  }

  const auto arr = uuid_array(ids);
  std::map<std::string, long long> moved;
  auto repoint = [&](const char* name, const std::string& sql) {
    moved[name] = static_cast<long long>(tx.exec_params(sql, who.tenant, sid, arr).affected_rows());
  };
  repoint("identities",
          "UPDATE leads.lead_identities SET lead_id = $2::uuid WHERE tenant = $1 AND lead_id = "
          "ANY($3::uuid[])");
  // Captures and activities carry no tenant column; their leads were loaded tenant-scoped above.
  repoint("captures",
          "UPDATE leads.lead_captures SET lead_id = $2::uuid WHERE lead_id = ANY($3::uuid[]) AND "
          "$1 <> ''");
  repoint("activities",
          "UPDATE leads.lead_activities SET lead_id = $2::uuid WHERE lead_id = ANY($3::uuid[]) AND "
          "$1 <> ''");
  repoint("stage_history",
          "UPDATE leads.stage_history SET lead_id = $2::uuid WHERE tenant = $1 AND lead_id = "
          "ANY($3::uuid[])");
  repoint("assignments",
          "UPDATE leads.assignment_history SET lead_id = $2::uuid WHERE tenant = $1 AND lead_id = "
          "ANY($3::uuid[])");
  repoint(
      "notes",
      "UPDATE leads.notes SET lead_id = $2::uuid WHERE tenant = $1 AND lead_id = ANY($3::uuid[])");
  repoint("followups",
          "UPDATE leads.followups SET lead_id = $2::uuid WHERE tenant = $1 AND lead_id = "
          "ANY($3::uuid[])");
  // Tags are a column (leads.leads.tags), united by merge_leads and written
  // with the lead below: "moved" reports the tags the survivor gained.
  moved["tags"] = std::count_if(m.lead.tags.begin(), m.lead.tags.end(), [&survivor](const std::string& t) {
    return std::find(survivor.tags.begin(), survivor.tags.end(), t) == survivor.tags.end();
  });
  // Outreach messages follow their timeline entries; the duplicate pairs among
  // the merged leads are resolved (issue 5: merging resolves the candidate).
  tx.exec_params0("UPDATE leads.outreach_messages SET lead_id = $2::uuid WHERE tenant = $1 AND lead_id = ANY($3::uuid[])",
                  who.tenant, sid, arr);
  const auto resolved = tx.exec_params(
      "UPDATE leads.duplicate_candidates SET status = 'merged', resolved_at = $4::timestamptz, resolved_by = $5 "
      "WHERE tenant = $1 AND status = 'open' AND (lead_id = $2::uuid OR lead_id = ANY($3::uuid[])) "
      "AND (other_lead_id = $2::uuid OR other_lead_id = ANY($3::uuid[]))",
      who.tenant, sid, arr, now, who.subject);
  metrics::duplicate_candidates_resolved_after_commit("merged", static_cast<double>(resolved.affected_rows()));

  // The absorbed leads leave the live set first: the survivor may take over a phone.
  tx.exec_params0(
      "UPDATE leads.leads SET deleted_at = $4::timestamptz, merged_into = $2::uuid, updated_at = "
      "$4::timestamptz, "
      "version = version + 1 WHERE tenant = $1 AND id = ANY($3::uuid[])",
      who.tenant, sid, arr, now);
  repo::update(tx, m.lead);
  tx.exec_params0(
      "UPDATE leads.leads SET created_at = $3::timestamptz, source = $4, channel = $5, extra = "
      "$6::jsonb "
      "WHERE tenant = $1 AND id = $2::uuid",
      who.tenant, sid, m.lead.created_at, m.lead.source, m.lead.channel, extra_json(extra));
  repo::write_tags(tx, m.lead);

  rapidjson::StringBuffer act;
  {
    JsonWriter w(act);
    w.StartObject();
    strings(w, "merged_lead_ids", ids);
    strings(w, "changed", m.changed);
    w.EndObject();
  }
  repo::add_activity(tx, sid, "merged", who.subject, {act.GetString(), act.GetSize()}, "");
  repo::publish(tx, std::string(events::topics::lead_merged), m.lead,
                merged_event(m.lead, ids, who.subject, now));
  repo::publish(tx, std::string(events::topics::lead_updated), m.lead,
                lead_event_data(m.lead, &m.changed));
  if (m.previous_stage) {
    repo::add_stage_history(tx, m.lead, *m.previous_stage, who.subject, "merge",
                            survivor.stage_changed_at);
    repo::add_activity(tx, sid, "stage_changed", who.subject,
                       R"({"from":")" + *m.previous_stage + R"(","to":")" + m.lead.stage +
                           R"(","reason":"merge"})",
                       "");
    repo::publish(tx, std::string(events::topics::lead_stage_changed), m.lead,
                  stage_changed_event(m.lead, pipeline, *m.previous_stage, who.subject, "merge"));
  }

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("dry_run");
  w.Bool(dry_run);
  const auto lead = lead_json(m.lead);
  w.Key("lead");
  w.RawValue(lead.c_str(), lead.size(), rapidjson::kObjectType);
  strings(w, "merged_lead_ids", ids);
  strings(w, "changed", m.changed);
  w.Key("fields");
  w.StartArray();
  for (const auto& f : m.fields) {
    w.StartObject();
    str(w, "field", f.field);
    opt(w, "before", f.before);
    opt(w, "after", f.after);
    str(w, "from", f.from);
    w.EndObject();
  }
  w.EndArray();
  w.Key("moved");
  w.StartObject();
  for (const auto& [k, v] : moved) {
    w.Key(k.c_str());
    w.Int64(v);
  }
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

namespace {

awaitable<Response> merge_handler(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = req.path_params.at("id");
  if (!is_uuid(id)) throw HttpError(404, "Not Found", "no such lead");
  require(who, Action::remove);
  const auto dry_param = req.query("dry_run");
  if (dry_param && *dry_param != "true" && *dry_param != "false") {
    throw HttpError::bad_request("invalid query", {{"dry_run", "must be true or false"}});
  }
  const bool dry_run = dry_param && *dry_param == "true";
  const auto body = http::parse_json_body(req);
  if (!body.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  std::vector<FieldError> errors;
  std::vector<std::string> ids;
  for (const auto& m : body.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (name != "lead_ids") errors.push_back({name, "unknown member"});
  }
  auto it = body.FindMember("lead_ids");
  if (it == body.MemberEnd() || !it->value.IsArray() || it->value.Empty()) {
    errors.push_back({"lead_ids", "required: a non-empty array of lead ids"});
  } else if (it->value.Size() > kMaxMerge) {
    errors.push_back({"lead_ids", "at most " + std::to_string(kMaxMerge) + " leads per merge"});
  } else {
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsString() || !is_uuid(v.GetString())) {
        errors.push_back({"lead_ids", "every item must be a lead id (UUID)"});
        break;
      }
      ids.emplace_back(v.GetString(), v.GetStringLength());
    }
  }
  if (!errors.empty()) throw HttpError::bad_request("the request is invalid", std::move(errors));
  const auto now = events::now_rfc3339();
  std::string out;
  if (dry_run) {
    // The same transaction as the real merge, rolled back.
    auto job = [who, id, ids, now](pqxx::connection& c) {
      pqxx::work tx(c);
      auto result = merge_in_tx(tx, who, id, ids, true, now);
      tx.abort();
      return result;
    };
    out = co_await d.pool.async(std::move(job));
  } else {
    auto job = [who, id, ids, now](pqxx::work& tx) {
      return merge_in_tx(tx, who, id, ids, false, now);
    };
    out = co_await pg::async_transact(d.pool, std::move(job));
    d.logger.info("leads merged",
                  {{"tenant", who.tenant}, {"lead_id", id}, {"merged", ids.size()}});
  }
  co_return Response::json(200, out);
}

}  // namespace

void add_merge_routes(http::Router& router, std::shared_ptr<ApiDeps> deps) {
  const std::string pattern = "/api/v1/leads/{id}/merge";
  router.add(
      "POST", pattern, [deps](Request& req) { return merge_handler(*deps, req); }, pattern);
}

}  // namespace leadpipe::leads
