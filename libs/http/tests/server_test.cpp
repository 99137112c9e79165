// The server over real sockets on ephemeral ports.
#include <utility>

#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/registry.h>
#include <rapidjson/document.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "leadpipe/http/json.hpp"
#include "leadpipe/http/server.hpp"
#include "leadpipe/log/log.hpp"
#include "leadpipe/testing/infra.hpp"
#include "test_client.hpp"

using namespace leadpipe;
using namespace leadpipe::http;
using test::RawClient;
namespace asio = boost::asio;

namespace {

using Awaitable = asio::awaitable<Response>;

ServerConfig test_config() {
  ServerConfig c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.io_threads = 2;
  c.access_log = false;
  c.handle_signals = false;
  c.service_name = "test";
  return c;
}

// A server running on a background thread; stopped and joined on scope exit.
struct TestServer {
  explicit TestServer(Router router, ServerConfig cfg = test_config(),
                      const std::function<void(Server&)>& setup = {})
      : registry(std::make_shared<prometheus::Registry>()),
        server(std::make_unique<Server>(cfg, std::move(router), registry, log::root())) {
    if (setup) setup(*server);
    thread = std::thread([this] {
      server->run();
      returned = true;
    });
  }
  ~TestServer() { stop_and_join(); }
  void stop_and_join() {
    server->stop();
    if (thread.joinable()) thread.join();
  }
  std::uint16_t port() const { return server->port(); }

  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<Server> server;
  std::thread thread;
  std::atomic<bool> returned{false};
};

rapidjson::Document json_of(const test::Resp& r) {
  rapidjson::Document d;
  d.Parse(r.body().c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

double gauge_value(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric.front().gauge.value;
  }
  return -1;
}

void require_problem(const test::Resp& r, int status) {
  CHECK(r.result_int() == static_cast<unsigned>(status));
  CHECK(r[boost::beast::http::field::content_type] == "application/problem+json");
  auto d = json_of(r);
  REQUIRE(d.IsObject());
  CHECK((d["status"].IsInt() && d["status"].GetInt() == status));
  CHECK(d["title"].IsString());
  CHECK(std::string(d["type"].GetString()) == "about:blank");
}

Router echo_router() {
  Router r;
  r.get("/api/v1/leads/{id}", [](Request& req) -> Awaitable {
    rapidjson::Document d(rapidjson::kObjectType);
    auto& a = d.GetAllocator();
    d.AddMember("id", rapidjson::Value(req.path_params.at("id").c_str(), a), a);
    d.AddMember("path", rapidjson::Value(req.path.c_str(), a), a);
    d.AddMember("route", rapidjson::Value(req.route.c_str(), a), a);
    d.AddMember("q", rapidjson::Value(req.query("q").value_or("-").c_str(), a), a);
    co_return Response::json(200, to_json(d));
  });
  r.get("/api/v1/leads/export", [](Request&) -> Awaitable { co_return Response::text(200, "export"); });
  r.post("/echo", [](Request& req) -> Awaitable {
    Response res = Response::text(201, req.body);
    res.headers.emplace_back("X-Body-Size", std::to_string(req.body.size()));
    co_return res;
  });
  r.post("/big", [](Request& req) -> Awaitable { co_return Response::text(200, std::to_string(req.body.size())); });
  r.post("/json", [](Request& req) -> Awaitable {
    auto d = parse_json_body(req);
    co_return Response::json(200, to_json(d));
  });
  r.get("/boom", [](Request&) -> Awaitable {
    throw std::runtime_error("secret db password=hunter2 at 10.0.0.7");
    co_return Response::json(200, "{}");
  });
  r.get("/conflict", [](Request&) -> Awaitable {
    throw HttpError::conflict("lead exists", R"({"existing_id":"L-7"})").with_header("X-Hint", "dedupe");
    co_return Response::json(200, "{}");
  });
  r.del("/items/{id}", [](Request&) -> Awaitable { co_return Response::empty(204); });
  return r;
}

}  // namespace

TEST_CASE("routes with path params, literals first, query decoding", "[unit]") {
  TestServer s(echo_router());
  RawClient c(s.port());
  auto r = c.request("GET", "/api/v1/leads/L%2042?q=a+b");
  REQUIRE(r.result_int() == 200);
  CHECK(r[boost::beast::http::field::content_type] == "application/json");
  auto d = json_of(r);
  CHECK(std::string(d["id"].GetString()) == "L 42");
  CHECK(std::string(d["path"].GetString()) == "/api/v1/leads/L 42");
  CHECK(std::string(d["route"].GetString()) == "/api/v1/leads/{id}");
  CHECK(std::string(d["q"].GetString()) == "a b");
  CHECK(r[boost::beast::http::field::server] == "leadpipe-test");

  auto e = c.request("GET", "/api/v1/leads/export");
  CHECK(e.result_int() == 200);
  CHECK(e.body() == "export");

  auto del = c.request("DELETE", "/items/9");
  CHECK(del.result_int() == 204);
  CHECK(del.find(boost::beast::http::field::content_length) == del.end());
  CHECK(del.body().empty());
  // The connection survived a body-less 204: one more request on it.
  CHECK(c.request("GET", "/healthz").result_int() == 200);
}

TEST_CASE("404 and 405 are problems, 405 lists Allow", "[unit]") {
  TestServer s(echo_router());
  RawClient c(s.port());
  auto nf = c.request("GET", "/nope");
  require_problem(nf, 404);
  CHECK(nf.keep_alive());

  auto na = c.request("PUT", "/api/v1/leads/1", "{}");
  require_problem(na, 405);
  CHECK(na[boost::beast::http::field::allow] == "GET, HEAD");

  // A 404 with a body keeps the connection usable (the body was consumed).
  auto nf2 = c.request("POST", "/nope", R"({"x":1})");
  require_problem(nf2, 404);
  CHECK(c.request("GET", "/healthz").result_int() == 200);
}

TEST_CASE("body over the limit is 413, per-route limits override", "[unit]") {
  ServerConfig cfg = test_config();
  cfg.body_limit = 1024;
  TestServer s(echo_router(), cfg, [](Server& srv) { srv.set_body_limit("/big", 8192); });

  const std::string body(2000, 'x');
  {
    RawClient c(s.port());
    auto r = c.request("POST", "/echo", body);
    require_problem(r, 413);
    CHECK_FALSE(r.keep_alive());
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(s.port());
    auto r = c.request("POST", "/big", body);
    CHECK(r.result_int() == 200);
    CHECK(r.body() == "2000");
    auto over = c.request("POST", "/big", std::string(9000, 'y'));
    require_problem(over, 413);
  }
  {
    // Chunked: no Content-Length up front, the limit trips while reading.
    RawClient c(s.port());
    std::string raw = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) raw += "200\r\n" + std::string(512, 'z') + "\r\n";
    raw += "0\r\n\r\n";
    c.send(raw);
    require_problem(c.read(), 413);
  }
  {
    // Under the limit, chunked works and keeps the connection.
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    auto r = c.read();
    CHECK(r.result_int() == 201);
    CHECK(r.body() == "hello");
    CHECK(c.request("GET", "/healthz").result_int() == 200);
  }
  {
    // A body that arrives after its header, in pieces, is read to the end.
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhel");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.send("lo");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.send("world");
    auto r = c.read();
    CHECK(r.result_int() == 201);
    CHECK(r.body() == "helloworld");
  }
  {
    // Two requests with bodies in one write: the first body is taken from the
    // buffer without eating into the second request.
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none"
           "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n");
    auto first = c.read();
    CHECK(first.body() == "one");
    auto second = c.read();
    CHECK(second.result_int() == 201);
    CHECK(second.body() == "two");
  }
  CHECK_THROWS_AS(s.server->set_body_limit("/unknown", 1), std::invalid_argument);
}

TEST_CASE("oversized headers are 431, malformed requests 400", "[unit]") {
  TestServer s(echo_router());
  {
    RawClient c(s.port());
    auto r = c.request("GET", "/healthz", {}, {{"X-Huge", std::string(20000, 'h')}});
    require_problem(r, 431);
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(s.port());
    c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n");
    require_problem(c.read(), 400);
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(s.port());
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n");
    require_problem(c.read(), 400);
  }
  {
    RawClient c(s.port());
    c.send("GET http://elsewhere/healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    require_problem(c.read(), 400);
  }
  {
    RawClient c(s.port());
    c.send("GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n");
    require_problem(c.read(), 400);
  }
}

TEST_CASE("keep-alive, pipelining and Connection: close", "[unit]") {
  TestServer s(echo_router());
  RawClient c(s.port());
  auto a = c.request("POST", "/echo", "first");
  auto b = c.request("POST", "/echo", "second");
  CHECK(a.body() == "first");
  CHECK(b.body() == "second");
  CHECK(a.keep_alive());
  CHECK(b[std::string_view("X-Body-Size")] == "6");

  // Two requests in one write: answered in order.
  c.send(RawClient::build("POST", "/echo", "p1") + RawClient::build("POST", "/echo", "p2"));
  CHECK(c.read().body() == "p1");
  CHECK(c.read().body() == "p2");

  auto last = c.request("GET", "/healthz", {}, {{"Connection", "close"}});
  CHECK(last.result_int() == 200);
  CHECK_FALSE(last.keep_alive());
  CHECK(c.closed_by_peer());
}

TEST_CASE("HTTP/1.0 and HEAD", "[unit]") {
  TestServer s(echo_router());
  {
    RawClient c(s.port());
    c.send("GET /healthz HTTP/1.0\r\n\r\n");
    auto r = c.read();
    CHECK(r.result_int() == 200);
    CHECK(r.version() == 10);
    CHECK(c.closed_by_peer());
  }
  {
    RawClient c(s.port());
    auto h = c.request("HEAD", "/healthz");
    CHECK(h.result_int() == 200);
    CHECK(h[boost::beast::http::field::content_length] == "15");  // {"status":"ok"}
    CHECK(h.body().empty());
    CHECK(c.request("GET", "/healthz").body() == R"({"status":"ok"})");
  }
}

TEST_CASE("Expect: 100-continue gets an interim answer", "[unit]") {
  TestServer s(echo_router());
  RawClient c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  CHECK(c.read_interim().result_int() == 100);
  c.send("hello");
  auto r = c.read();
  CHECK(r.result_int() == 201);
  CHECK(r.body() == "hello");
}

TEST_CASE("request ids are echoed when sane, generated otherwise", "[unit]") {
  TestServer s(echo_router());
  RawClient c(s.port());
  auto echoed = c.request("GET", "/healthz", {}, {{"X-Request-Id", "abc-123_x.y:z"}});
  CHECK(echoed[std::string_view("X-Request-Id")] == "abc-123_x.y:z");

  auto generated = c.request("GET", "/healthz");
  const std::string id(generated[std::string_view("X-Request-Id")]);
  REQUIRE(id.size() == 36);
  CHECK(id[8] == '-');
  CHECK(id[14] == '4');
  auto other = c.request("GET", "/healthz");
  CHECK(std::string(other[std::string_view("X-Request-Id")]) != id);

  auto insane = c.request("GET", "/healthz", {}, {{"X-Request-Id", "evil\"id with spaces"}});
  CHECK(insane[std::string_view("X-Request-Id")].size() == 36);
  auto too_long = c.request("GET", "/healthz", {}, {{"X-Request-Id", std::string(200, 'a')}});
  CHECK(too_long[std::string_view("X-Request-Id")].size() == 36);

  // Error answers carry it too.
  auto nf = c.request("GET", "/missing", {}, {{"X-Request-Id", "trace-1"}});
  CHECK(nf[std::string_view("X-Request-Id")] == "trace-1");
}

TEST_CASE("healthz, readyz toggle and metrics", "[unit]") {
  std::atomic<bool> ready{false};
  TestServer s(echo_router(), test_config(), [&](Server& srv) { srv.set_readiness([&] { return ready.load(); }); });
  RawClient c(s.port());

  auto h = c.request("GET", "/healthz");
  CHECK(h.result_int() == 200);
  CHECK(h.body() == R"({"status":"ok"})");

  require_problem(c.request("GET", "/readyz"), 503);
  ready = true;
  auto r = c.request("GET", "/readyz");
  CHECK(r.result_int() == 200);
  CHECK(r.body() == R"({"status":"ready"})");

  c.request("GET", "/api/v1/leads/1");
  c.request("GET", "/api/v1/leads/2");
  c.request("GET", "/no/such/path");
  c.request("BREW", "/no/such/path");
  auto m = c.request("GET", "/metrics");
  CHECK(m.result_int() == 200);
  CHECK(m[boost::beast::http::field::content_type] == "text/plain; version=0.0.4");
  const std::string& body = m.body();
  CHECK_THAT(body, Catch::Contains(
                       R"(leadpipe_http_requests_total{method="GET",route="/api/v1/leads/{id}",status="200"} 2)"));
  CHECK_THAT(body, Catch::Contains(R"(leadpipe_http_requests_total{method="GET",route="unmatched",status="404"} 1)"));
  CHECK_THAT(body, Catch::Contains(R"(leadpipe_http_requests_total{method="OTHER",route="unmatched",status="404"} 1)"));
  CHECK_THAT(body, Catch::Contains(R"(leadpipe_http_requests_total{method="GET",route="/readyz",status="503"} 1)"));
  CHECK_THAT(body, Catch::Contains(R"(leadpipe_http_request_duration_seconds_count{route="/api/v1/leads/{id}"} 2)"));
  CHECK_THAT(body, Catch::Contains("leadpipe_http_in_flight 1"));  // the /metrics request itself
  CHECK_THAT(body, Catch::Contains("leadpipe_http_connections 1"));
  // The raw paths never become labels.
  CHECK_THAT(body, !Catch::Contains("/api/v1/leads/1\""));
  CHECK_THAT(body, !Catch::Contains("/no/such/path"));
}

TEST_CASE("an error mapper answers the exceptions it knows, the rest stay a bare 500", "[unit]") {
  struct Outage : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  Router r = echo_router();
  r.get("/outage", [](Request&) -> Awaitable {
    throw Outage("pool exhausted at 10.0.0.7");
    co_return Response::json(200, "{}");
  });
  TestServer s(std::move(r), test_config(), [](Server& server) {
    server.set_error_mapper([](const std::exception& e) -> std::optional<HttpError> {
      if (dynamic_cast<const Outage*>(&e) == nullptr) return std::nullopt;
      return HttpError(503, "Service Unavailable", "retry shortly").with_header("Retry-After", "1");
    });
  });
  RawClient c(s.port());
  auto outage = c.request("GET", "/outage");
  require_problem(outage, 503);
  CHECK(outage[std::string_view("Retry-After")] == "1");
  CHECK_THAT(outage.body(), !Catch::Contains("10.0.0.7"));
  auto boom = c.request("GET", "/boom");
  require_problem(boom, 500);
  CHECK_THAT(boom.body(), !Catch::Contains("hunter2"));
}

TEST_CASE("handler exceptions: HttpError is its problem, anything else a bare 500", "[unit]") {
  std::vector<std::string> lines;
  log::set_sink_for_tests(&lines);
  std::string request_id;
  {
    ServerConfig cfg = test_config();
    cfg.access_log = true;
    TestServer s(echo_router(), cfg);
    RawClient c(s.port());
    auto boom = c.request("GET", "/boom", {}, {{"X-Request-Id", "req-boom-1"}});
    require_problem(boom, 500);
    CHECK_THAT(boom.body(), !Catch::Contains("hunter2"));
    CHECK_THAT(boom.body(), !Catch::Contains("10.0.0.7"));
    CHECK(json_of(boom)["title"].GetString() == std::string("Internal Server Error"));
    // The connection is still fine after a handler failure.
    CHECK(c.request("GET", "/healthz").result_int() == 200);

    auto conflict = c.request("GET", "/conflict");
    require_problem(conflict, 409);
    CHECK(conflict[std::string_view("X-Hint")] == "dedupe");
    CHECK(std::string(json_of(conflict)["existing_id"].GetString()) == "L-7");

    auto bad_json = c.request("POST", "/json", "{oops");
    require_problem(bad_json, 400);
    auto good_json = c.request("POST", "/json", R"({"k":"v"})");
    CHECK(good_json.body() == R"({"k":"v"})");
    s.stop_and_join();  // all log lines written before we read them
  }
  log::set_sink_for_tests(nullptr);

  bool logged_error = false, logged_access = false;
  for (const auto& l : lines) {
    rapidjson::Document d;
    d.Parse(l.c_str());
    REQUIRE_FALSE(d.HasParseError());
    const std::string msg = d["msg"].GetString();
    if (msg == "handler failed" && d.HasMember("request_id") &&
        std::string(d["request_id"].GetString()) == "req-boom-1") {
      CHECK_THAT(std::string(d["error"].GetString()), Catch::Contains("hunter2"));
      CHECK(std::string(d["level"].GetString()) == "error");
      logged_error = true;
    }
    if (msg == "request" && std::string(d["request_id"].GetString()) == "req-boom-1") {
      CHECK(std::string(d["method"].GetString()) == "GET");
      CHECK(std::string(d["route"].GetString()) == "/boom");
      CHECK((d["status"].IsInt64() && d["status"].GetInt64() == 500));
      CHECK(d["duration_ms"].IsNumber());
      logged_access = true;
    }
  }
  CHECK(logged_error);
  CHECK(logged_access);
}

TEST_CASE("graceful stop drains an in-flight request, closes idle ones", "[unit]") {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  Router r;
  r.get("/slow", [&](Request&) -> Awaitable {
    started = true;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
    co_await t.async_wait(asio::use_awaitable);
    finished = true;
    co_return Response::json(200, R"({"slow":true})");
  });
  TestServer s(std::move(r));

  RawClient idle(s.port());
  CHECK(idle.request("GET", "/healthz").result_int() == 200);  // now idle on keep-alive

  auto slow = std::async(std::launch::async, [&] {
    RawClient c(s.port());
    return c.request("GET", "/slow");
  });
  REQUIRE(leadpipe::testing::wait_until([&] { return started.load(); }, std::chrono::seconds(5)));
  s.server->stop();

  // The idle connection is closed promptly; the slow one still gets its answer.
  CHECK(idle.closed_by_peer());
  auto res = slow.get();
  CHECK(res.result_int() == 200);
  CHECK(res.body() == R"({"slow":true})");
  CHECK_FALSE(res.keep_alive());  // told to go away
  CHECK(finished.load());
  REQUIRE(leadpipe::testing::wait_until([&] { return s.returned.load(); }, std::chrono::seconds(5)));

  boost::beast::error_code ec;
  RawClient refused(s.port(), ec);
  CHECK(ec);  // no longer accepting
}

TEST_CASE("drain is bounded by drain_timeout", "[unit]") {
  std::atomic<bool> started{false};
  Router r;
  r.get("/stuck", [&](Request&) -> Awaitable {
    started = true;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(30));
    co_await t.async_wait(asio::use_awaitable);
    co_return Response::json(200, "{}");
  });
  ServerConfig cfg = test_config();
  cfg.drain_timeout = std::chrono::milliseconds(200);
  TestServer s(std::move(r), cfg);
  RawClient c(s.port());
  c.send(RawClient::build("GET", "/stuck"));
  REQUIRE(leadpipe::testing::wait_until([&] { return started.load(); }, std::chrono::seconds(5)));
  const auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  REQUIRE(leadpipe::testing::wait_until([&] { return s.returned.load(); }, std::chrono::seconds(5)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("read timeout closes a stalled request, max_connections is enforced", "[unit]") {
  ServerConfig cfg = test_config();
  cfg.read_timeout = std::chrono::milliseconds(200);
  cfg.max_connections = 1;
  TestServer s(echo_router(), cfg);
  {
    RawClient c(s.port());
    c.send("GET /healthz HTTP/1.1\r\nHost: t\r\n");  // never finished
    CHECK(c.closed_by_peer());
  }
  // The slot is free again once the server has let go of the stalled connection.
  REQUIRE(leadpipe::testing::wait_until([&] { return gauge_value(*s.registry, "leadpipe_http_connections") == 0; }));
  RawClient holder(s.port());
  CHECK(holder.request("GET", "/healthz").result_int() == 200);
  RawClient extra(s.port());  // accepted by the kernel, closed by the server
  CHECK(extra.closed_by_peer());
  CHECK(holder.request("GET", "/healthz").result_int() == 200);
  CHECK_THAT(holder.request("GET", "/metrics").body(),
             Catch::Contains("leadpipe_http_connections_rejected_total 1"));
}

TEST_CASE("stop() before run() returns promptly, SIGTERM starts the drain", "[unit]") {
  {
    Server srv(test_config(), Router{}, nullptr, log::root());
    CHECK(srv.port() != 0);
    srv.stop();
    srv.run();  // nothing in flight: returns at once
  }
  {
    ServerConfig cfg = test_config();
    cfg.handle_signals = true;
    std::atomic<bool> stop_called{false};
    Server srv(cfg, Router{}, nullptr, log::root());
    srv.on_stop([&] { stop_called = true; });
    std::atomic<bool> returned{false};
    std::thread t([&] {
      srv.run();
      returned = true;
    });
    RawClient c(srv.port());
    CHECK(c.request("GET", "/healthz").result_int() == 200);
    std::raise(SIGTERM);
    REQUIRE(leadpipe::testing::wait_until([&] { return returned.load(); }, std::chrono::seconds(5)));
    t.join();
    CHECK(stop_called.load());
  }
}

TEST_CASE("context_per_thread - connections are dealt to every thread and keep theirs, stop drains them all",
          "[unit]") {
  std::mutex mu;
  std::map<std::string, std::set<std::thread::id>> threads_of;  // connection tag -> threads that served it
  std::atomic<int> slow_started{0};
  Router r;
  r.get("/who/{conn}", [&](Request& req) -> Awaitable {
    {
      std::lock_guard lock(mu);
      threads_of[req.path_params.at("conn")].insert(std::this_thread::get_id());
    }
    co_return Response::json(200, R"({"ok":true})");
  });
  r.get("/slow", [&](Request&) -> Awaitable {
    ++slow_started;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
    co_await t.async_wait(asio::use_awaitable);
    co_return Response::json(200, R"({"slow":true})");
  });
  ServerConfig cfg = test_config();
  cfg.io_threads = 3;
  cfg.context_per_thread = true;
  TestServer s(std::move(r), cfg);

  constexpr int kConnections = 6;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kConnections; ++i) clients.push_back(std::make_unique<RawClient>(s.port()));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < kConnections; ++i) {
      CHECK(clients[i]->request("GET", "/who/c" + std::to_string(i)).result_int() == 200);
    }
  }
  std::set<std::thread::id> all;
  {
    std::lock_guard lock(mu);
    REQUIRE(threads_of.size() == static_cast<std::size_t>(kConnections));
    for (const auto& [conn, ids] : threads_of) {
      CHECK(ids.size() == 1);  // a connection never changes thread
      all.insert(ids.begin(), ids.end());
    }
  }
  CHECK(all.size() == 3);  // and every thread got connections

  // Two slow requests land on two different threads' contexts (dealt in
  // turn); the rest of the connections sit idle on all three.
  auto slow1 = std::async(std::launch::async, [&] { return RawClient(s.port()).request("GET", "/slow"); });
  auto slow2 = std::async(std::launch::async, [&] { return RawClient(s.port()).request("GET", "/slow"); });
  REQUIRE(leadpipe::testing::wait_until([&] { return slow_started.load() == 2; }, std::chrono::seconds(5)));
  s.server->stop();
  for (auto& c : clients) CHECK(c->closed_by_peer());
  for (auto* f : {&slow1, &slow2}) {
    auto res = f->get();
    CHECK(res.result_int() == 200);
    CHECK_FALSE(res.keep_alive());
  }
  REQUIRE(leadpipe::testing::wait_until([&] { return s.returned.load(); }, std::chrono::seconds(5)));
}

TEST_CASE("context_per_thread - the drain bound also ends connections stuck on other threads", "[unit]") {
  std::atomic<int> started{0};
  Router r;
  r.get("/stuck", [&](Request&) -> Awaitable {
    ++started;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(30));
    co_await t.async_wait(asio::use_awaitable);
    co_return Response::json(200, "{}");
  });
  ServerConfig cfg = test_config();
  cfg.io_threads = 2;
  cfg.context_per_thread = true;
  cfg.drain_timeout = std::chrono::milliseconds(200);
  TestServer s(std::move(r), cfg);
  RawClient a(s.port()), b(s.port());  // one on each thread
  a.send(RawClient::build("GET", "/stuck"));
  b.send(RawClient::build("GET", "/stuck"));
  REQUIRE(leadpipe::testing::wait_until([&] { return started.load() == 2; }, std::chrono::seconds(5)));
  const auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  REQUIRE(leadpipe::testing::wait_until([&] { return s.returned.load(); }, std::chrono::seconds(5)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
