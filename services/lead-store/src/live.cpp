#include "live.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>

#include <algorithm>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/http/stream.hpp>
#include <leadpipe/kafka/consumer.hpp>

namespace leadpipe::leads {

namespace {

std::optional<std::string> json_str(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

struct LiveHub::Subscriber {
  LiveHub* hub = nullptr;
  std::string tenant;
  Scope scope;
  std::mutex mu;
  std::deque<std::shared_ptr<const LiveEvent>> queue;
  bool overflowed = false;
  std::function<void()> waker;
  ~Subscriber() {
    if (hub) hub->release(tenant, this);
  }
};

std::vector<std::string> live_topics() {
  using namespace events::topics;
  return {std::string(lead_created),  std::string(lead_updated), std::string(lead_stage_changed),
          std::string(lead_assigned), std::string(lead_tagged),  std::string(lead_converted),
          std::string(lead_closed),   std::string(lead_merged),  std::string(lead_erased)};
}

std::optional<LiveEvent> parse_live_event(const kafka::Record& record) {
  const auto topics = live_topics();
  if (std::find(topics.begin(), topics.end(), record.topic) == topics.end()) return std::nullopt;
  events::CloudEvent ev;
  try {
    ev = events::parse(record.value);
  } catch (const events::ParseError&) {
    return std::nullopt;
  }
  if (ev.type != record.topic) return std::nullopt;
  rapidjson::Document data;
  data.Parse(ev.data.c_str(), ev.data.size());
  LiveEvent e;
  e.id = ev.id;
  e.type = ev.type;
  e.tenant = ev.tenant;
  e.lead_id = ev.subject;
  if (auto id = json_str(data, "lead_id"); e.lead_id.empty() && id) e.lead_id = *id;
  if (!events::is_uuid(e.lead_id)) return std::nullopt;
  if (e.type == events::topics::lead_assigned) e.previous = json_str(data, "previous");
  // One line of compact JSON: no raw newline can break the SSE framing.
  e.frame = "id: " + e.id + "\nevent: " + e.type + "\ndata: " + record.value + "\n\n";
  if (record.value.find('\n') != std::string::npos || record.value.find('\r') != std::string::npos) {
    e.frame = "id: " + e.id + "\nevent: " + e.type + "\ndata: " + events::to_json(ev) + "\n\n";
  }
  return e;
}

bool live_visible(const Scope& scope, const LiveEvent& e) {
  if (scope.owner) return e.owner == scope.owner;
  if (scope.person) {
    return e.assigned_to == scope.person || e.counsellor == scope.person || e.previous == scope.person;
  }
  return true;
}

// ---- hub ------------------------------------------------------------------

LiveHub::LiveHub(LiveConfig config, log::Logger logger, std::shared_ptr<prometheus::Registry> registry)
    : cfg_(config), logger_(std::move(logger)), registry_(registry ? std::move(registry)
                                                                     : std::make_shared<prometheus::Registry>()) {
  open_ = &prometheus::BuildGauge()
               .Name("leadpipe_leads_live_streams")
               .Help("Open live-update (SSE) streams")
               .Register(*registry_)
               .Add({});
  auto& events = prometheus::BuildCounter()
                     .Name("leadpipe_leads_live_events_total")
                     .Help("Live-update frames by outcome (delivered|overflow_disconnect|rejected_stream)")
                     .Register(*registry_);
  delivered_ = &events.Add({{"outcome", "delivered"}});
  overflowed_ = &events.Add({{"outcome", "overflow_disconnect"}});
  rejected_ = &events.Add({{"outcome", "rejected_stream"}});
}

LiveHub::~LiveHub() = default;

std::shared_ptr<LiveHub::Subscriber> LiveHub::subscribe(const auth::Principal& who,
                                                        const std::optional<std::string>& last_event_id) {
  auto sub = std::make_shared<Subscriber>();
  sub->tenant = who.tenant;
  sub->scope = scope_for(who);
  std::lock_guard lock(mu_);
  auto& list = subs_[who.tenant];
  std::erase_if(list, [](const auto& w) { return w.expired(); });
  if (list.size() >= cfg_.max_streams_per_tenant) {
    rejected_->Increment();
    throw http::HttpError::too_many_requests("too many live streams for this tenant; try again later")
        .with_header("Retry-After", "30");
  }
  // Best-effort Last-Event-ID: replay what the ring still holds after that id.
  if (last_event_id && !last_event_id->empty()) {
    auto rit = recent_.find(who.tenant);
    if (rit != recent_.end()) {
      const auto& ring = rit->second;
      auto at = std::find_if(ring.begin(), ring.end(), [&](const auto& e) { return e->id == *last_event_id; });
      if (at != ring.end()) {
        for (++at; at != ring.end(); ++at) {
          if (live_visible(sub->scope, **at) && sub->queue.size() < cfg_.queue_limit) sub->queue.push_back(*at);
        }
      }
    }
  }
  list.push_back(sub);
  sub->hub = this;
  open_->Increment();
  return sub;
}

void LiveHub::release(const std::string& tenant, const Subscriber* s) {
  std::lock_guard lock(mu_);
  open_->Decrement();
  auto it = subs_.find(tenant);
  if (it == subs_.end()) return;
  std::erase_if(it->second, [s](const auto& w) {
    auto p = w.lock();
    return !p || p.get() == s;
  });
  if (it->second.empty()) subs_.erase(it);
}

bool LiveHub::needs_assignment(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = subs_.find(tenant);
  if (it == subs_.end()) return false;
  for (const auto& w : it->second) {
    if (auto s = w.lock(); s && (s->scope.owner || s->scope.person)) return true;
  }
  return false;
}

std::size_t LiveHub::streams(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  auto it = subs_.find(tenant);
  if (it == subs_.end()) return 0;
  return static_cast<std::size_t>(
      std::count_if(it->second.begin(), it->second.end(), [](const auto& w) { return !w.expired(); }));
}

void LiveHub::publish(const LiveEvent& e) {
  auto shared = std::make_shared<const LiveEvent>(e);
  std::vector<std::shared_ptr<Subscriber>> targets;
  {
    std::lock_guard lock(mu_);
    auto& ring = recent_[e.tenant];
    ring.push_back(shared);
    while (ring.size() > cfg_.replay_limit) ring.pop_front();
    auto it = subs_.find(e.tenant);
    if (it == subs_.end()) return;
    for (const auto& w : it->second) {
      if (auto s = w.lock()) targets.push_back(std::move(s));
    }
  }
  for (auto& s : targets) {
    if (!live_visible(s->scope, e)) continue;
    std::function<void()> wake;
    {
      std::lock_guard lock(s->mu);
      if (s->overflowed) continue;
      if (s->queue.size() >= cfg_.queue_limit) {
        s->overflowed = true;  // the producer disconnects it
        s->queue.clear();
        overflowed_->Increment();
      } else {
        s->queue.push_back(shared);
        delivered_->Increment();
      }
      wake = s->waker;
    }
    if (wake) wake();
  }
}

std::vector<std::shared_ptr<const LiveEvent>> LiveHub::take(Subscriber& s, bool& overflowed) {
  std::lock_guard lock(s.mu);
  overflowed = s.overflowed;
  std::vector<std::shared_ptr<const LiveEvent>> out(s.queue.begin(), s.queue.end());
  s.queue.clear();
  return out;
}

void LiveHub::set_waker(Subscriber& s, std::function<void()> waker) {
  std::lock_guard lock(s.mu);
  s.waker = std::move(waker);
}

// ---- feed -----------------------------------------------------------------

LiveFeed::LiveFeed(kafka::ClientConfig client, std::string group_base, kafka::Producer& dlq_producer, pg::Pool& pool,
                   LiveHub& hub, log::Logger logger, std::shared_ptr<prometheus::Registry> registry)
    : group_(group_base + "-" + events::uuid_v4().substr(0, 8)) {
  // Offsets are never committed: a restarted instance starts at the latest
  // offset again (clients reconnect and reload anyway).
  client.overrides["enable.auto.commit"] = "false";
  kafka::ConsumerConfig cfg{.client = std::move(client), .group_id = group_, .topics = live_topics()};
  cfg.max_attempts = 1;
  cfg.auto_offset_reset = "latest";
  auto handler = [&hub, &pool](const kafka::Record& r, const log::Logger& l) {
    auto e = parse_live_event(r);
    if (!e) {
      l.warn("live feed: skipped a record that is not a lead event");
      return;
    }
    if (hub.needs_assignment(e->tenant)) {
      try {
        pool.with([&](pqxx::connection& c) {
          pqxx::read_transaction tx(c);
          auto rows = tx.exec_params("SELECT assigned_to, counsellor, owner FROM leads.leads "
                                     "WHERE tenant = $1 AND id = $2::uuid",
                                     e->tenant, e->lead_id);
          if (rows.empty()) return;
          auto opt = [](const pqxx::field& f) {
            return f.is_null() ? std::optional<std::string>() : std::optional<std::string>(f.as<std::string>());
          };
          e->assigned_to = opt(rows[0][0]);
          e->counsellor = opt(rows[0][1]);
          e->owner = opt(rows[0][2]);
        });
      } catch (const std::exception& ex) {
        // Scoped subscribers miss this one (fail closed); unscoped still get it.
        l.warn("live feed: assignment lookup failed", {{"error", ex.what()}});
      }
    }
    hub.publish(*e);
  };
  consumer_ = std::make_unique<kafka::Consumer>(std::move(cfg), dlq_producer, std::move(handler),
                                                logger.with({{"component", "live"}}), registry);
}

LiveFeed::~LiveFeed() { stop(); }
void LiveFeed::start() { consumer_->start(); }
void LiveFeed::stop() { consumer_->stop(); }
bool LiveFeed::healthy() const { return consumer_->healthy(); }

// ---- route ----------------------------------------------------------------

namespace {

using boost::asio::awaitable;

auth::Principal authenticate_stream(const http::Request& req, const auth::JwtVerifier& verifier) {
  if (req.header_view("Authorization")) return auth::authenticate(req, verifier);
  auto token = req.query("access_token");
  if (!token || token->empty()) return auth::authenticate(req, verifier);  // the usual 401
  std::string why;
  auto who = verifier.verify(*token, &why);
  if (!who) throw http::HttpError::unauthorized("invalid access_token: " + why);
  return *who;
}

awaitable<http::Response> stream_leads(ApiDeps& d, const std::shared_ptr<LiveHub>& hub, http::Request& req) {
  const auto who = authenticate_stream(req, d.verifier);
  auto last = req.header("Last-Event-ID");
  if (!last) last = req.query("last_event_id");
  auto sub = hub->subscribe(who, last);  // 429 over the cap
  const auto heartbeat = hub->config().heartbeat;
  auto produce = [sub, heartbeat](http::StreamWriter& out) -> awaitable<void> {
    LiveHub::set_waker(*sub, out.waker());
    if (!co_await out.write("retry: 3000\n: connected\n\n")) co_return;
    auto last_write = std::chrono::steady_clock::now();
    for (;;) {
      bool overflowed = false;
      auto frames = LiveHub::take(*sub, overflowed);
      if (overflowed) {
        out.abort(http::StreamEnd::client_gone);  // too slow: reconnect with Last-Event-ID
        co_return;
      }
      if (!frames.empty()) {
        std::string chunk;
        for (const auto& f : frames) chunk += f->frame;
        if (!co_await out.write(chunk)) co_return;
        last_write = std::chrono::steady_clock::now();
        continue;
      }
      const auto idle = std::chrono::steady_clock::now() - last_write;
      if (idle >= heartbeat) {
        if (!co_await out.write(": ping\n\n")) co_return;
        last_write = std::chrono::steady_clock::now();
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(heartbeat - idle);
      if (!co_await out.wait(left + std::chrono::milliseconds(1))) co_return;
    }
  };
  http::Response res = http::stream_response(200, "text/event-stream; charset=utf-8", std::move(produce));
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("X-Accel-Buffering", "no");
  co_return res;
}

}  // namespace

void add_live_routes(http::Router& router, std::shared_ptr<ApiDeps> deps, std::shared_ptr<LiveHub> hub) {
  router.get(
      "/api/v1/leads/stream",
      [deps, hub](http::Request& req) { return stream_leads(*deps, hub, req); }, "/api/v1/leads/stream");
}

}  // namespace leadpipe::leads
