// POST /api/v1/vendor/leads — lead vendors push one lead or a batch (≤ 500),
// authenticated by X-Api-Key. Per-item results (207): one bad row never sinks
// the batch; every accepted lead is acknowledged by Kafka before the answer.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 coroutine pitfall

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/json.hpp>

#include "handlers.hpp"
#include "publish.hpp"
#include "routes.hpp"
#include "vendor.hpp"

namespace leadpipe::ingest {
namespace {

using boost::asio::awaitable;
using http::HttpError;
using http::Request;
using http::Response;

constexpr const char* kChannel = "vendor";
constexpr const char* kSource = "/ingest-gateway/vendor";

HttpError unauthorized(std::string detail) {
  HttpError err(401, "Unauthorized", std::move(detail));
  err.headers.emplace_back("WWW-Authenticate", "ApiKey header=\"X-Api-Key\"");
  return err;
}

awaitable<Response> receive_leads(Deps& d, Request& req) {
  auto presented = req.header("X-Api-Key");
  if (!presented || presented->empty()) {
    d.metrics.rejected(kChannel, "api_key");
    throw unauthorized("the X-Api-Key header is missing");
  }
  std::string key_text = std::move(*presented);
  auto key = co_await d.vendor_keys.find(std::move(key_text));
  if (!key) {
    d.metrics.rejected(kChannel, "api_key");
    d.logger.warn("vendor API key rejected", {{"request_id", req.request_id}, {"remote", req.remote_addr}});
    throw unauthorized("the API key is not valid or was revoked");
  }
  const auto content_type = req.header("Content-Type");
  if (!content_type || !http::is_json_content_type(*content_type)) {
    d.metrics.rejected(kChannel, "malformed");
    throw HttpError(415, "Unsupported Media Type", "send the leads as application/json");
  }

  vendor::Context ctx;
  ctx.vendor = key->vendor;
  ctx.api_key_id = key->id;
  ctx.default_region = key->default_region.empty() ? d.config.default_region : key->default_region;
  ctx.received_at = rfc3339(d.now());
  vendor::Batch batch;
  try {
    batch = vendor::parse_batch(req.body, ctx);
  } catch (const vendor::BatchError& e) {
    d.metrics.rejected(kChannel, "malformed");
    std::vector<http::FieldError> errors;
    if (!e.field().empty()) errors.push_back({e.field(), e.what()});
    throw HttpError(400, "Malformed request", e.what(), std::move(errors));
  }

  d.metrics.received(kChannel, static_cast<double>(batch.items.size()));
  const std::string topic(events::topics::ingest_vendor_lead);
  std::vector<std::string> ids(batch.items.size());
  std::vector<kafka::Message> out;
  for (std::size_t i = 0; i < batch.items.size(); ++i) {
    auto& item = batch.items[i];
    if (item.status == vendor::Status::rejected) {
      d.metrics.rejected(kChannel, "invalid_lead");
      continue;
    }
    ids[i] = vendor::event_id(key->tenant, key->vendor, item.vendor_lead_id);
    if (item.status != vendor::Status::accepted) continue;  // in-batch duplicate: published once
    auto ev = events::make(topic, kSource, key->tenant, item.phone, std::move(item.event_data));
    ev.id = ids[i];
    out.push_back(to_message(topic, std::move(ev), key->tenant + ":" + item.phone));
  }
  if (batch.rejected() > 0) {
    d.logger.info("vendor leads rejected", {{"request_id", req.request_id}, {"tenant", key->tenant},
                                            {"vendor", key->vendor}, {"rejected", batch.rejected()},
                                            {"items", batch.items.size()}});
  }
  std::string channel = kChannel;  // named: no temporaries inside a co_await expression (GCC 12)
  co_await publish_all(d, std::move(channel), std::move(out), req.request_id);
  co_return Response::json(207, vendor::results_json(batch, ids));
}

}  // namespace

void add_vendor_routes(http::Router& router, std::shared_ptr<Deps> deps) {
  router.add("POST", std::string(kVendorLeadsPath),
             [deps](Request& req) { return receive_leads(*deps, req); }, std::string(kVendorLeadsPath));
}

}  // namespace leadpipe::ingest
