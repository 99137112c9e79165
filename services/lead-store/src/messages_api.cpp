#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include "messages_api.hpp"

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/json.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/pg/pool.hpp>

#include "outreach.hpp"
#include "outreach_repository.hpp"
#include "permissions.hpp"
#include "repository.hpp"

namespace leadpipe::leads {

using boost::asio::awaitable;
using http::FieldError;
using http::HttpError;
using http::Request;
using http::Response;

std::string request_message_in_tx(pqxx::work& tx, const auth::Principal& who, const std::string& id,
                                  const MessageRequest& message) {
  auto lead = repo::load(tx, who.tenant, id, true);
  if (!lead || !in_scope(scope_for(who), *lead)) throw HttpError::not_found("no such lead");
  if (!lead->phone) {
    throw HttpError::unprocessable("the lead has no phone number to send a message to",
                                   {{"phone", "the lead has no phone number"}});
  }
  const auto request_id = events::uuid_v4();
  const auto now = events::now_rfc3339();
  repo::OutreachMessage m;
  m.tenant = who.tenant;
  m.lead_id = lead->id;
  m.request_id = request_id;
  m.channel = message.channel;
  m.purpose = "crm";
  m.status = "pending";
  m.payload = pending_message_payload(request_id, message, who.subject, now);
  repo::insert_message(tx, m, who.subject, "");
  const std::string type(events::topics::outreach_requested);
  auto ev = events::make(
      type, "/lead-store", who.tenant, lead->id,
      outreach_requested_data(request_id, message, *lead->phone, lead->id, who.subject));
  outbox::OutboxMessage out;
  out.topic = type;
  out.key = who.tenant + ":" + *lead->phone;  // outreach's key: the recipient
  out.payload = events::to_json(ev);
  out.headers = {{"ce_type", ev.type}, {"ce_id", ev.id}, {"tenantid", who.tenant}};
  outbox::enqueue(tx, repo::kSchema, out);
  return request_id;
}

namespace {

awaitable<Response> send_message(ApiDeps& d, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  const auto id = req.path_params.at("id");
  if (!events::is_uuid(id)) throw HttpError::not_found("no such lead");
  require(who, Action::edit);
  const auto body = http::parse_json_body(req);
  std::vector<FieldError> errors;
  auto message = parse_message_request(body, errors);
  if (!errors.empty()) throw HttpError::bad_request("the message is invalid", std::move(errors));
  auto job = [who, id, message](pqxx::work& tx) {
    return request_message_in_tx(tx, who, id, message);
  };
  const auto request_id = co_await pg::async_transact(d.pool, std::move(job));
  auto r = Response::json(202, R"({"request_id":")" + request_id + R"(","status":"pending"})");
  co_return r;
}

}  // namespace

void add_message_routes(http::Router& router, std::shared_ptr<ApiDeps> deps) {
  const std::string pattern = "/api/v1/leads/{id}/messages";
  router.add(
      "POST", pattern, [deps](Request& req) { return send_message(*deps, req); }, pattern);
}

}  // namespace leadpipe::leads
