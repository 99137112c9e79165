#include "handlers.hpp"

#include <utility>  // before Asio: GCC 12 + Boost 1.74 coroutine pitfall

#include <chrono>
#include <cstdio>
#include <initializer_list>
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

// The signature check and the parse: plain functions, not part of the
// coroutine below, so their locals (error objects, the parse's buffers) are
// not in its frame. A coroutine frame lives on the heap for as long as the
// request waits for Kafka; receive()'s was 1.6 KB — past glibc's per-thread
// cache, so every webhook took and gave back a chunk through the slow path
// (measured before the gateway was linked with mimalloc; a smaller frame is
// still less memory per waiting request).
whatsapp::Webhook verified_webhook(Deps& d, const Request& req) {
  const auto signature = req.header_view("X-Hub-Signature-256");
  const bool signed_ok =
      signature && !d.config.whatsapp_app_secret.empty() &&
      (d.whatsapp_key ? hub_signature_valid(*d.whatsapp_key, req.body, *signature)
                      : whatsapp::signature_valid(d.config.whatsapp_app_secret, req.body, *signature));
  if (!signed_ok) {
    d.metrics.rejected(kChannel, "signature");
    d.logger.warn("webhook signature rejected", {{"request_id", req.request_id},
                                                 {"has_signature", signature.has_value()}});
    throw HttpError(401, "Unauthorized", "X-Hub-Signature-256 is missing or does not match the body");
  }
  try {
    return whatsapp::parse_webhook(req.body);
  } catch (const whatsapp::ParseFailure& e) {
    d.metrics.rejected(kChannel, "malformed");
    std::vector<http::FieldError> errors;
    if (!e.field().empty()) errors.push_back({e.field(), e.what()});
    throw HttpError(400, "Malformed webhook", std::string("the payload is not a WhatsApp webhook: ") + e.what(),
                    std::move(errors));
  }
}

using Tenants = std::map<std::string, std::optional<std::string>>;

// One event per message and per status whose business number maps to a
// tenant; the others are counted, logged and dropped (`unknown`).
std::vector<kafka::Message> webhook_events(Deps& d, const Request& req, const whatsapp::Webhook& hook,
                                           const Tenants& tenants, std::size_t& unknown) {
  std::vector<kafka::Message> out;
  out.reserve(hook.messages.size() + hook.statuses.size());
  for (const auto& m : hook.messages) {
    d.metrics.received(kChannel);
    const auto& tenant = tenants.at(m.phone_number_id);
    if (!tenant) {
      ++unknown;
      d.metrics.rejected(kChannel, "unknown_phone_number_id");
      d.logger.warn("message for an unmapped WhatsApp number dropped",
                    {{"request_id", req.request_id}, {"phone_number_id", m.phone_number_id},
                     {"message_id", m.message_id}});
      continue;
    }
    out.push_back(whatsapp_inbound_message(*tenant, m));
  }
  for (const auto& s : hook.statuses) {
    d.metrics.received("whatsapp_status");
    const auto& tenant = tenants.at(s.phone_number_id);
    if (!tenant) {
      ++unknown;
      d.metrics.rejected(kChannel, "unknown_phone_number_id");
      d.logger.warn("status for an unmapped WhatsApp number dropped",
                    {{"request_id", req.request_id}, {"phone_number_id", s.phone_number_id}});
      continue;
    }
    out.push_back(whatsapp_status_message(*tenant, s));
  }
  return out;
}

awaitable<Response> receive(Deps& d, Request& req) {
  const whatsapp::Webhook hook = verified_webhook(d, req);

  // Resolve each business number once per request.
  Tenants tenants;
  for (const auto& m : hook.messages) tenants.emplace(m.phone_number_id, std::nullopt);
  for (const auto& s : hook.statuses) tenants.emplace(s.phone_number_id, std::nullopt);
  for (auto& [id, tenant] : tenants) {
    if (auto cached = d.tenants.cached(id)) {
      tenant = std::move(*cached);
    } else {
      tenant = co_await d.tenants.tenant_for(id);
    }
  }

  std::size_t unknown = 0;
  std::vector<kafka::Message> out = webhook_events(d, req, hook, tenants, unknown);
  const std::size_t count = out.size();
  std::string channel = kChannel;  // named: no temporaries inside a co_await expression (GCC 12)
  co_await publish_all(d, std::move(channel), std::move(out), req.request_id);
  char answer[96];
  const int len = std::snprintf(answer, sizeof answer, "{\"status\":\"accepted\",\"events\":%zu,\"unknown_number\":%zu}",
                                count, unknown);
  co_return Response::json(200, std::string(answer, static_cast<std::size_t>(len)));
}

}  // namespace

namespace {

// a + b + c (+ d …) in one allocation.
std::string joined(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (auto p : parts) out.append(p);
  return out;
}

}  // namespace

kafka::Message whatsapp_inbound_message(const std::string& tenant, const whatsapp::InboundMessage& m) {
  const std::string topic(events::topics::ingest_whatsapp_inbound);
  // Meta retries for days: the same wamid always yields the same event id.
  auto ev = new_event(topic, kSource, tenant, m.wa_id, whatsapp::inbound_event_data(m),
                      events::uuid_v5(events::kNamespace, joined({tenant, ":whatsapp:", m.message_id})));
  return to_message(topic, std::move(ev), joined({tenant, ":", m.wa_id}));
}

kafka::Message whatsapp_status_message(const std::string& tenant, const whatsapp::StatusUpdate& s) {
  const std::string topic(events::topics::ingest_whatsapp_status);
  auto ev = new_event(topic, kSource, tenant, s.recipient_id, whatsapp::status_event_data(s),
                      events::uuid_v5(events::kNamespace, joined({tenant, ":whatsapp-status:", s.message_id, ":", s.status})));
  return to_message(topic, std::move(ev), joined({tenant, ":", s.recipient_id}));
}

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
