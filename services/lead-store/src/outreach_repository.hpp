#pragma once
// SQL for outreach messages on the timeline (leads.outreach_messages, whose
// activity_id is the lead_activities entry updated in place). Caller's
// transaction, tenant-scoped, parameterised.
#include <pqxx/pqxx>

#include <optional>
#include <string>

namespace leadpipe::leads::repo {

struct OutreachMessage {
  long long id = 0;
  std::string tenant, lead_id;
  long long activity_id = 0;
  std::optional<std::string> request_id, message_id, purpose;
  std::string channel, status;
  bool retryable = false;
  bool contacted = false;
  std::string payload;  // the timeline entry's payload (JSON)
};

// The message with this message_id, else with this request_id; locked.
std::optional<OutreachMessage> find_message(pqxx::work& tx, const std::string& tenant,
                                            const std::optional<std::string>& message_id,
                                            const std::optional<std::string>& request_id);
// Writes the timeline entry (kind "outreach", `payload`) and the row; returns it with ids.
OutreachMessage insert_message(pqxx::work& tx, OutreachMessage m, const std::string& actor,
                               const std::string& event_id);
// Saves status, retryable, message_id, purpose and the timeline payload.
void update_message(pqxx::work& tx, const OutreachMessage& m);
void mark_message_contacted(pqxx::work& tx, OutreachMessage& m);

// The live lead `id`, or the live lead it was merged into; nullopt otherwise.
std::optional<std::string> live_lead_or_survivor(pqxx::work& tx, const std::string& tenant,
                                                 const std::string& id);

}  // namespace leadpipe::leads::repo
