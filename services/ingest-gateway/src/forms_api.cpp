// Public campaign-form API for tenants' websites: WhatsApp OTP send / verify
// and the interest / application form. CORS per tenant (campaign_sites), rate
// limits answered 429 + Retry-After, the OTP handed to outreach through
// outreach.requested (the gateway never calls Meta's send API), submissions
// published to ingest.campaign.submission after Kafka's ack.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 coroutine pitfall

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/json.hpp>

#include "client_ip.hpp"
#include "form_store.hpp"
#include "forms.hpp"
#include "handlers.hpp"
#include "phone.hpp"
#include "publish.hpp"
#include "routes.hpp"

namespace leadpipe::ingest {
namespace {

using boost::asio::awaitable;
using http::HttpError;
using http::Request;
using http::Response;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kChannel = "campaign_form";
constexpr const char* kSource = "/ingest-gateway/forms";

otp::Policy policy_of(const Config& c) {
  return {c.otp_ttl,           c.otp_resend_cooldown, c.otp_window,      c.otp_max_per_phone,
          c.otp_max_per_ip,    c.otp_max_attempts,    c.otp_verified_ttl};
}

HttpError too_many(std::string detail, std::chrono::seconds retry_after) {
  HttpError err(429, "Too Many Requests", std::move(detail));
  err.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return err;
}

// The client address the per-IP limits count (proxies only if trusted).
std::string client_address(const Deps& d, const Request& req) {
  return client_ip(req.remote_addr, req.header("Forwarded"), req.header("X-Forwarded-For"),
                   d.config.trusted_proxies);
}

std::string member_string(const rapidjson::Value& doc, const char* name) {
  auto it = doc.FindMember(name);
  return it != doc.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
}

// The tenant's site; enforces the Origin (browsers) and fills the CORS headers.
awaitable<Site> open_site(Deps& d, Request& req, Headers& cors) {
  std::string tenant = req.path_params.at("tenant");
  auto site = co_await d.forms.site(std::move(tenant));
  if (!site) {
    d.metrics.rejected(kChannel, "unknown_tenant");
    throw HttpError::not_found("no campaign site is configured for this tenant");
  }
  if (auto origin = req.header("Origin")) {
    if (!site->allows(*origin)) {
      d.metrics.rejected(kChannel, "origin");
      throw HttpError(403, "Forbidden", "this origin may not use the form API of this tenant");
    }
    cors = {{"Access-Control-Allow-Origin", *origin},
            {"Vary", "Origin"},
            {"Access-Control-Expose-Headers", "Retry-After, X-Request-Id"}};
  }
  co_return *site;
}

struct Who {
  std::string campaign;
  std::string phone;  // E.164
};

// campaign + phone (+ optional country hint) of a send/verify body.
Who campaign_and_phone(Deps& d, const rapidjson::Value& doc) {
  std::vector<http::FieldError> errors;
  Who who;
  if (!doc.IsObject()) throw HttpError::bad_request("the body must be a JSON object");
  who.campaign = member_string(doc, "campaign");
  if (!forms::valid_campaign(who.campaign)) errors.push_back({"campaign", "missing or not a campaign slug"});
  std::string region = member_string(doc, "country");
  if (region.empty()) region = d.config.default_region;
  auto phone = phone::normalise(member_string(doc, "phone"), region);
  if (!phone) errors.push_back({"phone", "missing or not a valid phone number"});
  if (!errors.empty()) {
    d.metrics.rejected(kChannel, "malformed");
    throw HttpError::bad_request("the request is not valid", std::move(errors));
  }
  who.phone = phone->e164;
  return who;
}

awaitable<Response> send_otp(Deps& d, Request& req, const Site& site) {
  const auto doc = http::parse_json_body(req);
  const Who who = campaign_and_phone(d, doc);
  d.metrics.received("campaign_form_otp");
  const std::string& tenant = req.path_params.at("tenant");
  FormKey key{tenant, who.campaign, who.phone};
  const std::string code = otp::generate_code();
  std::string hash = otp::hash_code(d.config.otp_pepper, tenant, who.campaign, who.phone, code);
  const auto now = d.now();
  const auto policy = policy_of(d.config);
  std::string ip = client_address(d, req);
  auto result = co_await d.forms.begin_send(key, std::move(ip), std::move(hash), now, policy);
  if (result.kind == SendResult::Kind::already_verified) {
    co_return Response::json(200, R"({"status":"verified"})");
  }
  if (result.kind == SendResult::Kind::refused) {
    d.metrics.rejected(kChannel, "rate_limited_" + result.decision.reason);
    d.logger.info("otp send refused", {{"request_id", req.request_id}, {"tenant", tenant},
                                       {"reason", result.decision.reason}});
    throw too_many(result.decision.reason == "cooldown" ? "a code was sent moments ago; wait before asking again"
                                                        : "too many codes requested; try again later",
                   result.decision.retry_after);
  }

  const std::string topic(events::topics::outreach_requested);
  const std::string request_id = events::uuid_v4();
  const std::string template_name = site.otp_template.empty() ? d.config.otp_template : site.otp_template;
  const std::string language = site.otp_language.empty() ? d.config.otp_language : site.otp_language;
  auto ev = events::make(topic, kSource, tenant, who.phone,
                         forms::otp_request_data(request_id, who.phone, code, template_name, language,
                                                 rfc3339(now + policy.ttl), who.campaign));
  ev.id = request_id;
  std::vector<kafka::Message> out;
  out.push_back(to_message(topic, std::move(ev), tenant + ":" + who.phone));
  bool published = true;
  std::optional<HttpError> failure;
  try {
    std::string channel = kChannel;  // named: no temporaries inside a co_await expression (GCC 12)
    co_await publish_all(d, std::move(channel), std::move(out), req.request_id);
  } catch (const HttpError& e) {
    published = false;
    failure = e;
  }
  if (!published) {
    // Nobody will receive this code: forget it, and do not charge the limits.
    co_await d.forms.cancel_send(key, result.send_ids);
    throw *failure;
  }
  co_return Response::json(200, "{\"status\":\"sent\",\"expires_in\":" + std::to_string(policy.ttl.count()) +
                                    ",\"resend_after\":" + std::to_string(policy.resend_cooldown.count()) + "}");
}

awaitable<Response> verify_otp(Deps& d, Request& req, const Site&) {
  const auto doc = http::parse_json_body(req);
  const Who who = campaign_and_phone(d, doc);
  const std::string code = member_string(doc, "code");
  if (!otp::well_formed_code(code)) {
    d.metrics.rejected(kChannel, "malformed");
    throw HttpError::bad_request("the request is not valid", {{"code", "must be the 6 digits received"}});
  }
  const std::string& tenant = req.path_params.at("tenant");
  FormKey key{tenant, who.campaign, who.phone};
  const auto now = d.now();
  const bool already = co_await d.forms.is_verified(key, now);
  if (already) co_return Response::json(200, R"({"status":"verified"})");
  std::string hash = otp::hash_code(d.config.otp_pepper, tenant, who.campaign, who.phone, code);
  const auto policy = policy_of(d.config);
  const auto result = co_await d.forms.verify(key, std::move(hash), now, policy);
  switch (result.outcome) {
    case otp::VerifyOutcome::verified:
      co_return Response::json(200, R"({"status":"verified"})");
    case otp::VerifyOutcome::wrong_code:
      d.metrics.rejected(kChannel, "otp_wrong");
      throw HttpError(422, "Wrong code", "the code does not match",
                      {{"code", "does not match"}},
                      "{\"attempts_left\":" + std::to_string(result.attempts_left) + "}");
    case otp::VerifyOutcome::too_many_attempts:
      d.metrics.rejected(kChannel, "otp_attempts");
      throw too_many("too many wrong codes; request a new code", policy.resend_cooldown);
    case otp::VerifyOutcome::expired:
    case otp::VerifyOutcome::no_code:
      break;
  }
  d.metrics.rejected(kChannel, "otp_expired");
  throw HttpError(422, "No valid code", "there is no valid code for this phone; request a new one",
                  {{"code", "expired or never sent"}});
}

awaitable<Response> submit_form(Deps& d, Request& req, const Site&) {
  const auto doc = http::parse_json_body(req);
  d.metrics.received(kChannel);
  auto errors = forms::validate_submission(doc);
  std::optional<phone::Normalised> phone;
  if (errors.empty()) {
    std::string region = member_string(doc, "country");
    if (region.empty()) region = d.config.default_region;
    phone = phone::normalise(member_string(doc, "phone"), region);
    if (!phone) errors.push_back({"phone", "not a valid phone number"});
  }
  if (!errors.empty()) {
    d.metrics.rejected(kChannel, "malformed");
    throw HttpError::bad_request("the form is not valid", std::move(errors));
  }
  const std::string& tenant = req.path_params.at("tenant");
  const std::string campaign = member_string(doc, "campaign");
  FormKey key{tenant, campaign, phone->e164};
  const auto now = d.now();
  {
    const otp::SubmitPolicy limits{d.config.form_submit_window, d.config.form_submit_max_per_phone,
                                   d.config.form_submit_max_per_ip};
    std::string ip = client_address(d, req);
    const auto decision = co_await d.forms.charge_submit(key, std::move(ip), now, limits);
    if (!decision.allowed) {
      d.metrics.rejected(kChannel, "rate_limited_" + decision.reason);
      d.logger.info("form submit refused", {{"request_id", req.request_id}, {"tenant", tenant},
                                            {"reason", decision.reason}});
      throw too_many("too many form submissions; try again later", decision.retry_after);
    }
  }
  const bool verified = co_await d.forms.is_verified(key, now);
  if (!verified) {
    d.metrics.rejected(kChannel, "not_verified");
    throw HttpError(403, "Phone not verified",
                    "verify this phone for this campaign with the WhatsApp code first (otp/send, otp/verify)");
  }
  const std::string form_type = member_string(doc, "form_type");
  std::string hash = forms::content_hash(doc, phone->e164);
  const std::string event_id = forms::submission_event_id(tenant, campaign, phone->e164, form_type, hash);
  std::string form_type_arg = form_type;
  const auto state = co_await d.forms.record_submission(key, std::move(form_type_arg), std::move(hash), now);

  const std::string topic(events::topics::ingest_campaign_submission);
  auto ev = events::make(topic, kSource, tenant, phone->e164,
                         forms::submission_data(doc, phone->e164, state, rfc3339(now)));
  ev.id = event_id;
  std::vector<kafka::Message> out;
  out.push_back(to_message(topic, std::move(ev), tenant + ":" + phone->e164));
  // Published again on a duplicate submit (same id): a retry after a 503 still lands.
  std::string channel = kChannel;  // named: no temporaries inside a co_await expression (GCC 12)
  co_await publish_all(d, std::move(channel), std::move(out), req.request_id);
  co_return Response::json(200, std::string("{\"status\":\"accepted\",\"event_id\":\"") + event_id +
                                    "\",\"form_status\":\"" + (state.did_application ? "applied" : "interested") +
                                    "\",\"duplicate\":" + (state.duplicate ? "true" : "false") + "}");
}

using Inner = awaitable<Response> (*)(Deps&, Request&, const Site&);

// Site + Origin check, then the handler; CORS headers on answers and errors.
awaitable<Response> with_site(Deps& d, Request& req, Inner inner) {
  Headers cors;
  const Site site = co_await open_site(d, req, cors);
  try {
    Response r = co_await inner(d, req, site);
    r.headers.insert(r.headers.end(), cors.begin(), cors.end());
    co_return r;
  } catch (HttpError& e) {
    e.headers.insert(e.headers.end(), cors.begin(), cors.end());
    throw;
  }
}

// CORS preflight (OPTIONS) from the tenant's allowed origins.
awaitable<Response> preflight(Deps& d, Request& req) {
  Headers cors;
  co_await open_site(d, req, cors);
  if (cors.empty()) throw HttpError::bad_request("a CORS preflight needs an Origin header");
  Response r = Response::empty(204);
  r.headers = std::move(cors);
  r.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type, X-Request-Id");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  co_return r;
}

}  // namespace

void add_form_routes(http::Router& router, std::shared_ptr<Deps> deps) {
  const std::pair<std::string_view, Inner> routes[] = {
      {kFormOtpSendPath, &send_otp}, {kFormOtpVerifyPath, &verify_otp}, {kFormSubmitPath, &submit_form}};
  for (const auto& [path, inner] : routes) {
    const std::string p(path);
    router.add("POST", p, [deps, inner = inner](Request& req) { return with_site(*deps, req, inner); }, p);
    router.add("OPTIONS", p, [deps](Request& req) { return preflight(*deps, req); }, p);
  }
}

}  // namespace leadpipe::ingest
