// POST /webhooks/calls — finished calls from telephony / voice-AI platforms,
// HMAC-signed per integration. One call → one ingest.call.completed event,
// acknowledged by Kafka before the 200.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 coroutine pitfall

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>

#include "call_integrations.hpp"
#include "calls.hpp"
#include "handlers.hpp"
#include "publish.hpp"
#include "routes.hpp"

namespace leadpipe::ingest {
namespace {

using boost::asio::awaitable;
using http::HttpError;
using http::Request;
using http::Response;

constexpr const char* kChannel = "call";
constexpr const char* kSource = "/ingest-gateway/calls";

HttpError unauthorized(std::string detail) {
  return HttpError(401, "Unauthorized", std::move(detail));
}

awaitable<Response> receive_call(Deps& d, Request& req) {
  d.metrics.received(kChannel);
  std::string integration_id = req.header("X-Leadpipe-Integration").value_or("");
  std::optional<CallIntegration> integration;
  if (!integration_id.empty()) integration = co_await d.calls.find(std::move(integration_id));
  const auto check =
      integration ? calls::check_signature(integration->secret, req.header("X-Leadpipe-Timestamp").value_or(""),
                                           req.header("X-Leadpipe-Signature").value_or(""), req.body, d.now(),
                                           d.config.call_signature_tolerance)
                  : calls::SignatureCheck::missing;
  if (check != calls::SignatureCheck::ok) {
    const char* reason = !integration ? "unknown_integration"
                         : check == calls::SignatureCheck::stale ? "stale_timestamp"
                                                                 : "signature";
    d.metrics.rejected(kChannel, reason);
    d.logger.warn("call webhook rejected", {{"request_id", req.request_id}, {"reason", reason},
                                            {"remote", req.remote_addr}});
    if (check == calls::SignatureCheck::stale) {
      throw unauthorized("X-Leadpipe-Timestamp is outside the accepted window; sign with the current time");
    }
    throw unauthorized(
        "X-Leadpipe-Integration, X-Leadpipe-Timestamp or X-Leadpipe-Signature is missing or does not match");
  }

  calls::Call call;
  try {
    call = calls::parse_call(req.body, {integration->id, integration->provider}, d.config.default_region,
                             rfc3339(d.now()));
  } catch (const calls::CallError& e) {
    d.metrics.rejected(kChannel, "malformed");
    throw HttpError(400, "Malformed call", e.what(), e.errors());
  }
  const std::string topic(events::topics::ingest_call_completed);
  const std::string subject = call.customer_phone.empty() ? call.call_id : call.customer_phone;
  auto ev = events::make(topic, kSource, integration->tenant, subject, std::move(call.data));
  ev.id = calls::event_id(integration->tenant, integration->id, call.call_id);
  std::vector<kafka::Message> out;
  out.push_back(to_message(topic, ev, integration->tenant + ":" + subject));  // ev.id is answered below
  std::string channel = kChannel;  // named: no temporaries inside a co_await expression (GCC 12)
  co_await publish_all(d, std::move(channel), std::move(out), req.request_id);
  co_return Response::json(200, "{\"status\":\"accepted\",\"event_id\":\"" + ev.id + "\"}");
}

}  // namespace

void add_call_routes(http::Router& router, std::shared_ptr<Deps> deps) {
  router.add("POST", std::string(kCallsPath), [deps](Request& req) { return receive_call(*deps, req); },
             std::string(kCallsPath));
}

}  // namespace leadpipe::ingest
