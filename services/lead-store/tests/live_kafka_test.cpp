// Live updates end to end through the real Kafka and PostgreSQL: API writes
// → outbox → relay → lead.* topics → this instance's live feed (its own
// consumer group, latest offset) → SSE clients, filtered by tenant and scope.
#include <utility>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <leadpipe/auth/jwt.hpp>
#include <leadpipe/http/server.hpp>
#include <leadpipe/httpclient/client.hpp>
#include <leadpipe/kafka/admin.hpp>
#include <leadpipe/kafka/producer.hpp>
#include <leadpipe/log/log.hpp>
#include <leadpipe/migrations.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/pg/migrate.hpp>
#include <leadpipe/pg/pool.hpp>
#include <leadpipe/runtime/runtime.hpp>
#include <leadpipe/testing/infra.hpp>

#include "api.hpp"
#include "live.hpp"

using namespace leadpipe;
using namespace leadpipe::leads;

namespace {

const std::string kSecret = "live-test-secret-0123456789abcdef012345";

std::string token(const std::string& tenant, auth::Role role, const std::string& sub) {
  return auth::issue_token(kSecret, {sub, tenant, role}, std::chrono::minutes(10));
}

// A raw SSE client: a background thread appends everything it reads.
class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& request) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::send(fd_, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    reader_ = std::thread([this] {
      char buf[8192];
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) break;
        std::lock_guard lock(mu_);
        data_.append(buf, static_cast<std::size_t>(n));
      }
      closed_ = true;
    });
  }
  ~SseClient() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }
  std::string data() const {
    std::lock_guard lock(mu_);
    return data_;
  }
  bool has(const std::string& s) const { return data().find(s) != std::string::npos; }
  bool wait_for(const std::string& s, std::chrono::seconds t = std::chrono::seconds(15)) const {
    return testing::wait_until([&] { return has(s); }, t);
  }

 private:
  int fd_ = -1;
  std::thread reader_;
  std::atomic<bool> stop_{false}, closed_{false};
  mutable std::mutex mu_;
  std::string data_;
};

std::string sse_request(const std::string& target, const std::string& auth_header = {}) {
  std::string r = "GET " + target + " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n";
  if (!auth_header.empty()) r += "Authorization: Bearer " + auth_header + "\r\n";
  return r + "\r\n";
}

}  // namespace

TEST_CASE("live stream: a tenant sees its lead changes within seconds, never another tenant's, counselors only theirs", "[kafka]") {
  const auto url = testing::create_database("live");
  pg::migrate(url, "leads", embedded::leads_migrations(), log::root());
  pg::Pool pool({.url = url, .size = 4, .application_name = "live-test"}, log::root());
  kafka::ClientConfig kcfg{.brokers = testing::kafka_brokers(), .client_id = "live-test",
                           .topic_prefix = testing::unique_name("live") + "."};
  kafka::create_topics(kcfg, live_topics(), 3);
  kafka::Producer producer({.client = kcfg}, log::root());
  outbox::Relay relay({.url = url, .schema = "leads", .poll_interval = std::chrono::milliseconds(100)},
                      runtime::outbox_publisher(producer), log::root());
  auto hub = std::make_shared<LiveHub>(LiveConfig{.heartbeat = std::chrono::milliseconds(700)}, log::root());
  LiveFeed feed(kcfg, "lead-store-live-test", producer, pool, *hub, log::root());

  auth::JwtVerifier verifier(kSecret);
  http::Router router;
  auto deps = std::make_shared<ApiDeps>(ApiDeps{pool, verifier, log::root(), "ID"});
  add_api_routes(router, deps);
  add_live_routes(router, deps, hub);
  http::ServerConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.handle_signals = false;
  cfg.access_log = false;
  http::Server server(cfg, std::move(router), nullptr, log::root());
  std::thread server_thread([&] { server.run(); });
  relay.start();
  feed.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  const auto admin_a = token("acme", auth::Role::admin, "boss");
  const auto admin_b = token("other", auth::Role::admin, "boss");
  auto create = [&](const std::string& bearer, const std::string& name, const std::string& phone) {
    auto r = httpclient::request("POST", base + "/api/v1/leads",
                                 {{"Authorization", "Bearer " + bearer}, {"Content-Type", "application/json"}},
                                 R"({"name":")" + name + R"(","phone":")" + phone + R"(","source":"manual"})",
                                 std::chrono::seconds(10));
    REQUIRE(r.status == 201);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    return std::string(d["id"].GetString());
  };

  {
    // No token: 401; a bad ?access_token=: 401.
    auto r = httpclient::request("GET", base + "/api/v1/leads/stream", {}, {}, std::chrono::seconds(5));
    CHECK(r.status == 401);
    r = httpclient::request("GET", base + "/api/v1/leads/stream?access_token=nope", {}, {}, std::chrono::seconds(5));
    CHECK(r.status == 401);
  }

  // Browsers' EventSource: token in the query; the others use the header.
  SseClient a(server.port(), sse_request("/api/v1/leads/stream?access_token=" + admin_a));
  SseClient b(server.port(), sse_request("/api/v1/leads/stream", admin_b));
  SseClient c1(server.port(), sse_request("/api/v1/leads/stream", token("acme", auth::Role::counselor, "c1")));
  REQUIRE(a.wait_for(": connected"));
  REQUIRE(b.wait_for(": connected"));
  REQUIRE(c1.wait_for(": connected"));
  CHECK(a.has("text/event-stream"));

  // The feed's group starts at the latest offset once it has joined: write
  // until the first change shows up (bounded).
  std::vector<std::string> a_ids;
  bool flowing = false;
  for (int i = 0; i < 30 && !flowing; ++i) {
    a_ids.push_back(create(admin_a, "Warmup " + std::to_string(i), "+6281230000" + std::to_string(100 + i)));
    flowing = a.wait_for(a_ids.back(), std::chrono::seconds(2));
  }
  REQUIRE(flowing);

  // Now a change must arrive within a few seconds.
  const auto t0 = std::chrono::steady_clock::now();
  const auto lead_a = create(admin_a, "Ana", "+6281234500001");
  REQUIRE(a.wait_for(lead_a, std::chrono::seconds(5)));
  const auto latency = std::chrono::steady_clock::now() - t0;
  CHECK(latency < std::chrono::seconds(5));
  WARN("create → SSE latency ms: " << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count());
  CHECK(a.has("event: lead.created"));

  const auto lead_b = create(admin_b, "Bob", "+6281234500002");
  REQUIRE(b.wait_for(lead_b));

  // Assign lead_a's telecaller to c1: c1 sees that lead (lead.assigned), not the others.
  auto r = httpclient::request("POST", base + "/api/v1/leads/" + lead_a + "/assignment",
                               {{"Authorization", "Bearer " + admin_a}, {"Content-Type", "application/json"}},
                               R"({"telecaller":"c1"})", std::chrono::seconds(10));
  REQUIRE(r.status == 200);
  REQUIRE(c1.wait_for("event: lead.assigned"));
  CHECK(c1.has(lead_a));
  REQUIRE(a.wait_for("event: lead.assigned"));

  // Heartbeats keep flowing while idle.
  CHECK(a.wait_for(": ping", std::chrono::seconds(5)));

  // Give stray deliveries a moment, then check isolation both ways.
  const auto last_a = create(admin_a, "Last", "+6281234500003");
  REQUIRE(a.wait_for(last_a));
  REQUIRE(testing::wait_until([&] { return b.has(lead_b); }, std::chrono::seconds(1)));
  for (const auto& id : a_ids) CHECK_FALSE(b.has(id));
  CHECK_FALSE(b.has(lead_a));
  CHECK_FALSE(b.has(last_a));
  CHECK_FALSE(a.has(lead_b));
  CHECK_FALSE(c1.has(lead_b));
  CHECK_FALSE(c1.has(last_a));
  for (const auto& id : a_ids) CHECK_FALSE(c1.has(id));

  feed.stop();
  relay.stop();
  server.stop();
  server_thread.join();
}
