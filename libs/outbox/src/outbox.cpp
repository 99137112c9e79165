#include "leadpipe/outbox/outbox.hpp"

#include "schema_name.hpp"

#include <pqxx/pqxx>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

namespace leadpipe::outbox {

namespace {

std::string headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [k, v] : headers) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string channel(const std::string& schema) { return detail::checked_schema(schema) + "_outbox"; }

std::string ddl(const std::string& schema) {
  const std::string s = "\"" + detail::checked_schema(schema) + "\"";
  return "CREATE TABLE " + s +
         ".outbox (\n"
         "  id bigserial PRIMARY KEY,\n"
         "  topic text NOT NULL,\n"
         "  key text NOT NULL,\n"
         "  payload text NOT NULL,\n"
         "  headers jsonb NOT NULL DEFAULT '{}',\n"
         "  created_at timestamptz NOT NULL DEFAULT now(),\n"
         "  published_at timestamptz\n"
         ");\n"
         "CREATE INDEX outbox_unpublished ON " + s + ".outbox (id) WHERE published_at IS NULL;\n"
         "CREATE TABLE " + s + ".processed_events (\n"
         "  consumer text NOT NULL,\n"
         "  event_id text NOT NULL,\n"
         "  processed_at timestamptz NOT NULL DEFAULT now(),\n"
         "  PRIMARY KEY (consumer, event_id)\n"
         ");\n";
}

void enqueue(pqxx::work& tx, const std::string& schema, const OutboxMessage& message) {
  const std::string s = "\"" + detail::checked_schema(schema) + "\"";
  if (message.topic.empty()) throw std::invalid_argument("outbox message without a topic");
  // One round trip: insert, then notify. PostgreSQL folds identical
  // notifications of one transaction into one and sends it at commit.
  tx.exec_params(
      "WITH ins AS (INSERT INTO " + s +
          ".outbox (topic, key, payload, headers) VALUES ($1, $2, $3, $4::jsonb) RETURNING id) "
          "SELECT pg_notify($5, '') FROM ins",
      message.topic, message.key, message.payload, headers_json(message.headers),
      channel(schema));
}

bool claim(pqxx::work& tx, const std::string& schema, const std::string& consumer,
           const std::string& event_id) {
  const std::string s = "\"" + detail::checked_schema(schema) + "\"";
  const pqxx::result r = tx.exec_params(
      "INSERT INTO " + s +
          ".processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      consumer, event_id);
  return r.affected_rows() == 1;
}

}  // namespace leadpipe::outbox
