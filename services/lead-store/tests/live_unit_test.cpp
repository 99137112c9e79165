// The live-update hub without Kafka or sockets: event parsing, scope
// filtering, the per-client bound, the per-tenant cap and Last-Event-ID replay.
#include <catch2/catch.hpp>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/log/log.hpp>

#include "live.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

kafka::Record record(const std::string& type, const std::string& tenant, const std::string& lead_id,
                     const std::string& data = "{}") {
  auto ev = events::make(type, "/lead-store", tenant, lead_id, data);
  kafka::Record r;
  r.topic = type;
  r.value = events::to_json(ev);
  return r;
}

LiveEvent event(const std::string& tenant, const std::optional<std::string>& assigned_to = {},
                const std::optional<std::string>& owner = {}) {
  auto e = *parse_live_event(record("lead.updated", tenant, events::uuid_v4()));
  e.assigned_to = assigned_to;
  e.owner = owner;
  return e;
}

}  // namespace

TEST_CASE("a lead event becomes one SSE frame, anything else is skipped", "[unit]") {
  const auto id = events::uuid_v4();
  auto e = parse_live_event(record("lead.assigned", "acme", id, R"({"lead_id":")" + id + R"(","previous":"c9"})"));
  REQUIRE(e);
  CHECK(e->tenant == "acme");
  CHECK(e->lead_id == id);
  CHECK(e->previous == "c9");
  CHECK(e->frame.rfind("id: " + e->id + "\nevent: lead.assigned\ndata: {", 0) == 0);
  CHECK(e->frame.size() > 2);
  CHECK(e->frame.substr(e->frame.size() - 2) == "\n\n");
  CHECK(std::count(e->frame.begin(), e->frame.end(), '\n') == 4);  // id, event, data, blank
  CHECK_FALSE(parse_live_event(record("followup.due", "acme", id)));  // not a lead change
  kafka::Record junk;
  junk.topic = "lead.updated";
  junk.value = "not json";
  CHECK_FALSE(parse_live_event(junk));
}

TEST_CASE("scope: counselors see their leads, sales heads their pool, others everything", "[unit]") {
  auto mine = event("acme", "c1", "sh1");
  auto theirs = event("acme", "c2", "sh2");
  CHECK(live_visible(Scope{}, mine));
  CHECK(live_visible(Scope{.person = "c1"}, mine));
  CHECK_FALSE(live_visible(Scope{.person = "c1"}, theirs));
  CHECK(live_visible(Scope{.owner = "sh2"}, theirs));
  CHECK_FALSE(live_visible(Scope{.owner = "sh2"}, mine));
  theirs.previous = "c1";  // taken away from c1: c1 is told
  CHECK(live_visible(Scope{.person = "c1"}, theirs));
}

TEST_CASE("hub: tenant isolation, scope, slow-client cut-off, per-tenant cap, replay", "[unit]") {
  LiveHub hub({.queue_limit = 3, .max_streams_per_tenant = 3, .replay_limit = 10}, log::root());
  auto a = hub.subscribe({"u1", "acme", auth::Role::marketing}, std::nullopt);
  auto b = hub.subscribe({"u2", "other", auth::Role::admin}, std::nullopt);
  auto c1 = hub.subscribe({"c1", "acme", auth::Role::counselor}, std::nullopt);
  CHECK(hub.needs_assignment("acme"));
  CHECK_FALSE(hub.needs_assignment("other"));

  const auto e1 = event("acme", "c1");
  const auto e2 = event("acme", "c2");
  hub.publish(e1);
  hub.publish(e2);
  bool over = false;
  auto got_a = LiveHub::take(*a, over);
  REQUIRE(got_a.size() == 2);
  CHECK(got_a[0]->id == e1.id);
  CHECK(got_a[1]->id == e2.id);
  CHECK(LiveHub::take(*b, over).empty());  // another tenant
  auto got_c1 = LiveHub::take(*c1, over);
  REQUIRE(got_c1.size() == 1);  // only their lead
  CHECK(got_c1[0]->id == e1.id);

  // Waker is called on delivery.
  int woken = 0;
  LiveHub::set_waker(*a, [&] { ++woken; });
  hub.publish(event("acme"));
  CHECK(woken == 1);

  // A client that does not drain is cut off rather than queueing without bound.
  for (int i = 0; i < 5; ++i) hub.publish(event("acme"));
  LiveHub::take(*a, over);
  CHECK(over);

  // Cap per tenant: acme has 2 (a, c1); a third is fine, a fourth is 429.
  auto third = hub.subscribe({"u3", "acme", auth::Role::admin}, std::nullopt);
  CHECK(hub.streams("acme") == 3);
  try {
    hub.subscribe({"u4", "acme", auth::Role::admin}, std::nullopt);
    FAIL("expected 429");
  } catch (const http::HttpError& e) {
    CHECK(e.status == 429);
  }
  third.reset();  // a closed stream frees its slot
  CHECK(hub.streams("acme") == 2);

  // Last-Event-ID: the events after it that the ring still holds.
  const auto r1 = event("acme");
  const auto r2 = event("acme");
  const auto r3 = event("acme");
  hub.publish(r1);
  hub.publish(r2);
  hub.publish(r3);
  auto again = hub.subscribe({"u5", "acme", auth::Role::admin}, r1.id);
  auto replay = LiveHub::take(*again, over);
  REQUIRE(replay.size() == 2);
  CHECK(replay[0]->id == r2.id);
  CHECK(replay[1]->id == r3.id);
  again.reset();
  auto unknown = hub.subscribe({"u6", "acme", auth::Role::admin}, std::string("no-such-id"));
  CHECK(LiveHub::take(*unknown, over).empty());
}
