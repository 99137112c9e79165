#include "duplicates_repository.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <stdexcept>

#include <leadpipe/events/cloud_event.hpp>

#include "duplicates.hpp"
#include "repository.hpp"
#include "workflow_metrics.hpp"

namespace leadpipe::leads::repo {
namespace {

// Both leads live and inside the scope ($2 owner, $3 person; NULL = no limit).
const char* kVisible =
    "l.deleted_at IS NULL AND o.deleted_at IS NULL "
    "AND ($2::text IS NULL OR (l.owner = $2 AND o.owner = $2)) "
    "AND ($3::text IS NULL OR ((l.assigned_to = $3 OR l.counsellor = $3) AND (o.assigned_to = $3 "
    "OR o.counsellor = $3)))";

const char* kSelect =
    "SELECT json_build_object('id', d.id, 'reason', d.reason, 'detail', d.detail, 'status', "
    "d.status, "
    "'created_at', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "'resolved_at', to_char(d.resolved_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "'resolved_by', d.resolved_by, "
    "'lead', json_build_object('id', l.id, 'name', l.name, 'phone', l.phone, 'email', l.email, "
    "'stage', l.stage, "
    "'source', l.source, 'assigned_to', l.assigned_to, 'created_at', l.created_at), "
    "'other_lead', json_build_object('id', o.id, 'name', o.name, 'phone', o.phone, 'email', "
    "o.email, "
    "'stage', o.stage, 'source', o.source, 'assigned_to', o.assigned_to, 'created_at', "
    "o.created_at))::text, "
    "(extract(epoch FROM d.created_at) * 1000000)::bigint, d.id::text "
    "FROM leads.duplicate_candidates d "
    "JOIN leads.leads l ON l.id = d.lead_id AND l.tenant = d.tenant "
    "JOIN leads.leads o ON o.id = d.other_lead_id AND o.tenant = d.tenant ";

std::string detail(const std::string& phone, const std::string& variant) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("phone");
  w.String(phone.c_str());
  w.Key("variant");
  w.String(variant.c_str());
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

bool add_duplicate_candidate(pqxx::work& tx, const std::string& tenant, const std::string& lead_id,
                             const std::string& other_lead_id, const std::string& reason,
                             const std::string& detail_json) {
  if (lead_id == other_lead_id) return false;
  const bool added =
      tx.exec_params(
            "INSERT INTO leads.duplicate_candidates (id, tenant, lead_id, other_lead_id, "
            "reason, detail) "
            "VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6::jsonb) ON CONFLICT DO NOTHING",
            events::uuid_v4(), tenant, lead_id, other_lead_id, reason, detail_json)
          .affected_rows() > 0;
  if (added) metrics::duplicate_candidates_after_commit(reason);
  return added;
}

int record_duplicate_candidates(pqxx::work& tx, const Lead& lead,
                                const std::vector<std::string>& regions) {
  int added = 0;
  if (lead.phone) {
    for (const auto& v : phone_variants(*lead.phone, regions)) {
      auto r = tx.exec_params(
          "SELECT id::text FROM leads.leads WHERE tenant = $1 AND phone = $2 AND deleted_at IS "
          "NULL AND id <> $3::uuid",
          lead.tenant, v.phone, lead.id);
      for (const auto& row : r) {
        if (add_duplicate_candidate(tx, lead.tenant, lead.id, row[0].as<std::string>(), v.reason,
                                    detail(*lead.phone, v.phone))) {
          ++added;
        }
      }
    }
  }
  if (lead.email) {
    auto r = tx.exec_params(
        "SELECT id::text, COALESCE(phone, '') FROM leads.leads WHERE tenant = $1 AND email = $2 "
        "AND deleted_at IS NULL AND id <> $3::uuid AND phone IS DISTINCT FROM $4",
        lead.tenant, *lead.email, lead.id, lead.phone);
    for (const auto& row : r) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      w.StartObject();
      w.Key("email");
      w.String(lead.email->c_str());
      w.EndObject();
      if (add_duplicate_candidate(tx, lead.tenant, lead.id, row[0].as<std::string>(), "email",
                                  std::string(buf.GetString(), buf.GetSize()))) {
        ++added;
      }
    }
  }
  return added;
}

std::string list_duplicates_json(pqxx::transaction_base& tx, const DuplicateQuery& q) {
  long long cursor_us = 0;
  std::string cursor_id;
  if (q.cursor) {
    const auto colon = q.cursor->find(':');
    if (colon == std::string::npos) throw std::invalid_argument("malformed cursor");
    const auto* b = q.cursor->data();
    auto [p, ec] = std::from_chars(b, b + colon, cursor_us);
    cursor_id = q.cursor->substr(colon + 1);
    if (ec != std::errc() || p != b + colon || !events::is_uuid(cursor_id))
      throw std::invalid_argument("malformed cursor");
  }
  const std::string where = std::string("WHERE d.tenant = $1 AND d.status = $4 AND ") + kVisible;
  const auto total = tx.exec_params1(
                           "SELECT count(*) FROM leads.duplicate_candidates d "
                           "JOIN leads.leads l ON l.id = d.lead_id AND l.tenant = d.tenant "
                           "JOIN leads.leads o ON o.id = d.other_lead_id AND o.tenant = d.tenant " +
                               where,
                           q.tenant, q.scope.owner, q.scope.person, q.status)[0]
                         .as<long long>();
  const std::string page_where =
      where + (q.cursor ? " AND (d.created_at, d.id) < ('epoch'::timestamptz + $6 * interval '1 "
                          "microsecond', $7::uuid)"
                        : " AND $6::bigint IS NULL AND $7::text IS NULL");
  std::optional<long long> p6;
  std::optional<std::string> p7;
  if (q.cursor) {
    p6 = cursor_us;
    p7 = cursor_id;
  }
  auto rows = tx.exec_params(
      std::string(kSelect) + page_where + " ORDER BY d.created_at DESC, d.id DESC LIMIT $5",
      q.tenant, q.scope.owner, q.scope.person, q.status, q.limit + 1, p6, p7);
  std::string out = R"({"items":[)";
  const auto n = std::min<std::size_t>(rows.size(), static_cast<std::size_t>(q.limit));
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ",";
    out += rows[i][0].as<std::string>();
  }
  out += R"(],"next_cursor":)";
  if (rows.size() > n) {
    const auto& last = rows[n - 1];
    out += "\"" + last[1].as<std::string>() + ":" + last[2].as<std::string>() + "\"";
  } else {
    out += "null";
  }
  return out + R"(,"total":)" + std::to_string(total) + "}";
}

DismissOutcome dismiss_duplicate(pqxx::work& tx, const std::string& tenant, const Scope& scope,
                                 const std::string& id, const std::string& actor) {
  DismissOutcome out;
  auto r = tx.exec_params(
      std::string("SELECT d.status, d.lead_id::text, d.other_lead_id::text FROM "
                  "leads.duplicate_candidates d "
                  "JOIN leads.leads l ON l.id = d.lead_id AND l.tenant = d.tenant "
                  "JOIN leads.leads o ON o.id = d.other_lead_id AND o.tenant = d.tenant "
                  "WHERE d.tenant = $1 AND d.id = $4::uuid AND ") +
          kVisible + " FOR UPDATE OF d",
      tenant, scope.owner, scope.person, id);
  if (r.empty()) return out;
  out.found = true;
  out.status = r[0][0].as<std::string>();
  if (out.status != "open") return out;
  tx.exec_params0(
      "UPDATE leads.duplicate_candidates SET status = 'dismissed', resolved_at = now(), "
      "resolved_by = $3 "
      "WHERE tenant = $1 AND id = $2::uuid",
      tenant, id, actor);
  const std::string payload = R"({"duplicate_id":")" + id + R"("})";
  add_activity(tx, r[0][1].as<std::string>(), "duplicate_dismissed", actor, payload, "");
  add_activity(tx, r[0][2].as<std::string>(), "duplicate_dismissed", actor, payload, "");
  metrics::duplicate_candidates_resolved_after_commit("dismissed", 1);
  auto row =
      tx.exec_params1(std::string(kSelect) + "WHERE d.tenant = $1 AND d.id = $2::uuid", tenant, id);
  out.json = row[0].as<std::string>();
  return out;
}

}  // namespace leadpipe::leads::repo
