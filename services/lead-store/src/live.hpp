#pragma once
// Live lead updates: GET /api/v1/leads/stream (Server-Sent Events).
//
// Source: every lead-store instance runs its own Kafka consumer (group
// "<base>-<instance id>", auto.offset.reset=latest, offsets never committed)
// on the lead.* topics, so each replica sees every change from the moment it
// started and fans it out to its own SSE clients; nothing needs a shared
// in-memory bus. (The outbox already orders a lead's events; per-partition
// order is kept.) The LiveHub keeps the subscribers per tenant, filters by
// role scope, and a short per-tenant replay ring for Last-Event-ID.
//
// Scope: admin / admission_admin / marketing see every lead of the tenant; a
// sales_head the leads whose owner they are; a counselor the leads where they
// are telecaller (assigned_to) or counsellor — plus the lead.assigned event
// that took a lead away from them. Events do not all carry the assignment, so
// the current assignment is read from leads.leads (only when the tenant has
// scoped subscribers).
//
// Bounds: a client's queue holds `queue_limit` frames; a client that falls
// further behind is disconnected (it reconnects with Last-Event-ID) instead of
// growing memory. At most `max_streams_per_tenant` concurrent streams per
// tenant (429 beyond). A comment ": ping" every `heartbeat` keeps proxies
// from closing an idle stream.
//
// Threading: publish() runs on the consumer thread, subscribers' producers on
// HTTP I/O threads; the hub is internally locked. The hub must outlive the
// HTTP server and the LiveFeed.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <leadpipe/kafka/client.hpp>
#include <leadpipe/log/log.hpp>

#include "api.hpp"
#include "permissions.hpp"

namespace prometheus {
class Registry;
class Gauge;
class Counter;
}  // namespace prometheus
namespace leadpipe::kafka {
class Consumer;
class Producer;
}  // namespace leadpipe::kafka

namespace leadpipe::leads {

struct LiveConfig {
  std::size_t queue_limit = 256;             // frames waiting per client before it is cut off
  std::size_t max_streams_per_tenant = 100;  // concurrent SSE streams per tenant
  std::chrono::milliseconds heartbeat{15000};
  std::size_t replay_limit = 256;            // recent events per tenant for Last-Event-ID
};

// One lead change, ready to send.
struct LiveEvent {
  std::string id;       // CloudEvent id (SSE `id:`)
  std::string type;     // lead.created … (SSE `event:`)
  std::string tenant;
  std::string lead_id;
  std::string frame;    // the whole SSE frame: "id: …\nevent: …\ndata: <CloudEvent JSON>\n\n"
  // The lead's current assignment (filled when scoped subscribers need it).
  std::optional<std::string> assigned_to, counsellor, owner;
  std::optional<std::string> previous;  // lead.assigned: who had it before
};

// The topics the feed consumes (unprefixed).
std::vector<std::string> live_topics();
// A consumed lead.* record as a LiveEvent; nullopt when it is not a valid
// CloudEvent of a lead topic (it is then skipped: the live feed is best-effort
// and never dead-letters).
std::optional<LiveEvent> parse_live_event(const kafka::Record& record);
// Whether a subscriber with this scope may see the event.
bool live_visible(const Scope& scope, const LiveEvent& e);

class LiveHub {
 public:
  struct Subscriber;

  LiveHub(LiveConfig config, log::Logger logger, std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~LiveHub();
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  const LiveConfig& config() const { return cfg_; }
  // Registers a client; the subscription ends when the returned pointer is
  // released. Events after `last_event_id` still in the replay ring are queued
  // at once. Throws http::HttpError 429 over the per-tenant cap.
  std::shared_ptr<Subscriber> subscribe(const auth::Principal& who, const std::optional<std::string>& last_event_id);
  // Fans an event out to the tenant's subscribers in scope (any thread).
  void publish(const LiveEvent& e);
  // Whether any subscriber of the tenant has a role scope (needs the lookup).
  bool needs_assignment(const std::string& tenant) const;
  std::size_t streams(const std::string& tenant) const;

  // ---- used by the SSE producer ----
  // Takes the queued frames; `overflowed` is set when the client fell behind.
  static std::vector<std::shared_ptr<const LiveEvent>> take(Subscriber& s, bool& overflowed);
  static void set_waker(Subscriber& s, std::function<void()> waker);

 private:
  void release(const std::string& tenant, const Subscriber* s);

  LiveConfig cfg_;
  log::Logger logger_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::weak_ptr<Subscriber>>> subs_;
  std::map<std::string, std::deque<std::shared_ptr<const LiveEvent>>> recent_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* open_ = nullptr;
  prometheus::Counter* delivered_ = nullptr;
  prometheus::Counter* overflowed_ = nullptr;
  prometheus::Counter* rejected_ = nullptr;
};

// The per-instance consumer feeding a hub. Reads the current assignment of a
// lead through `pool` when the tenant has scoped subscribers.
class LiveFeed {
 public:
  LiveFeed(kafka::ClientConfig client, std::string group_base, kafka::Producer& dlq_producer, pg::Pool& pool,
           LiveHub& hub, log::Logger logger, std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~LiveFeed();
  void start();
  void stop();
  bool healthy() const;
  const std::string& group_id() const { return group_; }

 private:
  std::string group_;
  std::unique_ptr<kafka::Consumer> consumer_;
};

// GET /api/v1/leads/stream. JWT from "Authorization: Bearer" or, because
// browsers' EventSource cannot set headers, from ?access_token= (this route
// only).
void add_live_routes(http::Router& router, std::shared_ptr<ApiDeps> deps, std::shared_ptr<LiveHub> hub);

}  // namespace leadpipe::leads
