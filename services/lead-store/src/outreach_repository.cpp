#include "outreach_repository.hpp"

#include "sql_values.hpp"

namespace leadpipe::leads::repo {
namespace {

const char* kColumns =
    "m.id, m.tenant, m.lead_id::text, m.activity_id, m.request_id, m.message_id, m.purpose, "
    "m.channel, m.status, "
    "m.retryable, m.contacted, a.payload::text";

OutreachMessage from_row(const pqxx::row& r) {
  OutreachMessage m;
  m.id = r[0].as<long long>();
  m.tenant = r[1].as<std::string>();
  m.lead_id = r[2].as<std::string>();
  m.activity_id = r[3].as<long long>();
  m.request_id = sql::opt(r[4]);
  m.message_id = sql::opt(r[5]);
  m.purpose = sql::opt(r[6]);
  m.channel = r[7].as<std::string>();
  m.status = r[8].as<std::string>();
  m.retryable = r[9].as<bool>();
  m.contacted = r[10].as<bool>();
  m.payload = r[11].as<std::string>();
  return m;
}

}  // namespace

std::optional<OutreachMessage> find_message(pqxx::work& tx, const std::string& tenant,
                                            const std::optional<std::string>& message_id,
                                            const std::optional<std::string>& request_id) {
  const std::string base =
      std::string("SELECT ") + kColumns +
      " FROM leads.outreach_messages m JOIN leads.lead_activities a ON a.id = m.activity_id "
      "WHERE m.tenant = $1 AND ";
  if (message_id) {
    auto r = tx.exec_params(base + "m.message_id = $2 FOR UPDATE OF m", tenant, *message_id);
    if (!r.empty()) return from_row(r[0]);
  }
  if (request_id) {
    auto r = tx.exec_params(base + "m.request_id = $2 FOR UPDATE OF m", tenant, *request_id);
    if (!r.empty()) return from_row(r[0]);
  }
  return std::nullopt;
}

OutreachMessage insert_message(pqxx::work& tx, OutreachMessage m, const std::string& actor,
                               const std::string& event_id) {
  m.activity_id =
      tx.exec_params1(
            "INSERT INTO leads.lead_activities (lead_id, kind, actor, payload, event_id) "
            "VALUES ($1::uuid, 'outreach', $2, $3::jsonb, NULLIF($4, '')) RETURNING id",
            m.lead_id, actor, m.payload, event_id)[0]
          .as<long long>();
  m.id = tx.exec_params1(
               "INSERT INTO leads.outreach_messages (tenant, lead_id, activity_id, request_id, "
               "message_id, channel, "
               "purpose, status, retryable) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9) "
               "RETURNING id",
               m.tenant, m.lead_id, m.activity_id, m.request_id, m.message_id, m.channel, m.purpose,
               m.status, m.retryable)[0]
             .as<long long>();
  return m;
}

void update_message(pqxx::work& tx, const OutreachMessage& m) {
  tx.exec_params0(
      "UPDATE leads.outreach_messages SET status = $2, retryable = $3, message_id = $4, purpose = "
      "$5, "
      "updated_at = now() WHERE id = $1",
      m.id, m.status, m.retryable, m.message_id, m.purpose);
  tx.exec_params0("UPDATE leads.lead_activities SET payload = $2::jsonb WHERE id = $1",
                  m.activity_id, m.payload);
}

void mark_message_contacted(pqxx::work& tx, OutreachMessage& m) {
  tx.exec_params0("UPDATE leads.outreach_messages SET contacted = true WHERE id = $1", m.id);
  m.contacted = true;
}

std::optional<std::string> live_lead_or_survivor(pqxx::work& tx, const std::string& tenant,
                                                 const std::string& id) {
  // A merge soft-deletes the absorbed lead with merged_into = the survivor.
  auto r = tx.exec_params(
      "SELECT CASE WHEN l.deleted_at IS NULL THEN l.id::text "
      "WHEN s.deleted_at IS NULL THEN s.id::text END "
      "FROM leads.leads l LEFT JOIN leads.leads s ON s.id = l.merged_into AND s.tenant = l.tenant "
      "WHERE l.tenant = $1 AND l.id = $2::uuid",
      tenant, id);
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return r[0][0].as<std::string>();
}

}  // namespace leadpipe::leads::repo
