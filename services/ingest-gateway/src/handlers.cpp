#include "handlers.hpp"

#include <utility>  // before Asio: GCC 12 + Boost 1.74 coroutine pitfall

#include <chrono>
#include <map>
#include <set>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/runtime/runtime.hpp>

#include "publish.hpp"
#include "routes.hpp"
#include "whatsapp.hpp"

namespace leadpipe::ingest {
namespace {

using boost::asio::awaitable;
using http::HttpError;
using http::Request;
using http::Response;

constexpr const char* kChannel = "whatsapp";
constexpr const char* kSource = "/ingest-gateway/whatsapp";

awaitable<Response> verify(Deps& d, Request& req) {
  auto challenge = whatsapp::verify_handshake(
      req.query("hub.mode").value_or(""), req.query("hub.verify_token").value_or(""),
      req.query("hub.challenge").value_or(""), d.config.whatsapp_verify_token);
  if (!challenge) {
    d.metrics.rejected(kChannel, "verify_token");
    throw HttpError(403, "Forbidden", "verification token or mode does not match");
  }
  co_return Response::text(200, *challenge);
}

awaitable<Response> receive(Deps& d, Request& req) {
  const auto signature = req.header("X-Hub-Signature-256");
  const bool signed_ok =
      signature && !d.config.whatsapp_app_secret.empty() &&
      (d.whatsapp_key ? hub_signature_valid(*d.whatsapp_key, req.body, *signature)
                      : whatsapp::signature_valid(d.config.whatsapp_app_secret, req.body, *signature));
  if (!signed_ok) {
    d.metrics.rejected(kChannel, "signature");
    d.logger.warn("webhook signature rejected", {{"request_id", req.request_id},
                                                 {"has_signature", signature.has_value()}});
    HttpError err(401, "Unauthorized", "X-Hub-Signature-256 is missing or does not match the body");
    throw err;
  }

  whatsapp::Webhook hook;
  try {
    hook = whatsapp::parse_webhook(req.body);
  } catch (const whatsapp::ParseFailure& e) {
    d.metrics.rejected(kChannel, "malformed");
    std::vector<http::FieldError> errors;
    if (!e.field().empty()) errors.push_back({e.field(), e.what()});
    throw HttpError(400, "Malformed webhook", std::string("the payload is not a WhatsApp webhook: ") + e.what(),
                    std::move(errors));
  }

  // Resolve each business number once per request.
  std::map<std::string, std::optional<std::string>> tenants;
  for (const auto& m : hook.messages) tenants.emplace(m.phone_number_id, std::nullopt);
  for (const auto& s : hook.statuses) tenants.emplace(s.phone_number_id, std::nullopt);
  for (auto& [id, tenant] : tenants) tenant = co_await d.tenants.tenant_for(id);

  std::vector<kafka::Message> out;
  out.reserve(hook.messages.size() + hook.statuses.size());
  std::size_t unknown = 0;
  for (const auto& m : hook.messages) {
    d.metrics.received(kChannel);
    const auto& tenant = tenants[m.phone_number_id];
    if (!tenant) {
      ++unknown;
      d.metrics.rejected(kChannel, "unknown_phone_number_id");
      d.logger.warn("message for an unmapped WhatsApp number dropped",
                    {{"request_id", req.request_id}, {"phone_number_id", m.phone_number_id},
                     {"message_id", m.message_id}});
      continue;
    }
    // Meta retries for days: the same wamid always yields the same event id.
    auto ev = new_event(std::string(events::topics::ingest_whatsapp_inbound), kSource, *tenant, m.wa_id,
                        whatsapp::inbound_event_data(m),
                        events::uuid_v5(events::kNamespace, *tenant + ":whatsapp:" + m.message_id));
    out.push_back(to_message(std::string(events::topics::ingest_whatsapp_inbound), ev, *tenant + ":" + m.wa_id));
  }
  for (const auto& s : hook.statuses) {
    d.metrics.received("whatsapp_status");
    const auto& tenant = tenants[s.phone_number_id];
    if (!tenant) {
      ++unknown;
      d.metrics.rejected(kChannel, "unknown_phone_number_id");
      d.logger.warn("status for an unmapped WhatsApp number dropped",
                    {{"request_id", req.request_id}, {"phone_number_id", s.phone_number_id}});
      continue;
    }
    auto ev = new_event(std::string(events::topics::ingest_whatsapp_status), kSource, *tenant, s.recipient_id,
                        whatsapp::status_event_data(s),
                        events::uuid_v5(events::kNamespace, *tenant + ":whatsapp-status:" + s.message_id + ":" + s.status));
    out.push_back(to_message(std::string(events::topics::ingest_whatsapp_status), ev, *tenant + ":" + s.recipient_id));
  }

  const std::size_t count = out.size();
  std::string channel = kChannel;  // named: no temporaries inside a co_await expression (GCC 12)
  co_await publish_all(d, std::move(channel), std::move(out), req.request_id);
  co_return Response::json(200, "{\"status\":\"accepted\",\"events\":" + std::to_string(count) +
                                    ",\"unknown_number\":" + std::to_string(unknown) + "}");
}

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<Deps> deps) {
  router.add("GET", "/webhooks/whatsapp",
             [deps](Request& req) { return verify(*deps, req); }, "/webhooks/whatsapp");
  router.add("POST", "/webhooks/whatsapp",
             [deps](Request& req) { return receive(*deps, req); }, "/webhooks/whatsapp");
  add_vendor_routes(router, deps);
  add_call_routes(router, deps);
  add_form_routes(router, deps);
}

void set_body_limits(http::Server& server, const Config& config) {
  server.set_body_limit("/webhooks/whatsapp", config.webhook_body_limit);
  server.set_body_limit(std::string(kVendorLeadsPath), config.vendor_body_limit);
  server.set_body_limit(std::string(kCallsPath), config.call_body_limit);
  for (auto path : {kFormOtpSendPath, kFormOtpVerifyPath, kFormSubmitPath}) {
    server.set_body_limit(std::string(path), config.form_body_limit);
  }
}

}  // namespace leadpipe::ingest
