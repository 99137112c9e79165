// The libcurl client against a real libs/http server on an ephemeral port.
#include <utility>

#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

#include "leadpipe/http/server.hpp"
#include "leadpipe/httpclient/client.hpp"
#include "leadpipe/log/log.hpp"

using namespace leadpipe;
using httpclient::Client;
using httpclient::ClientOptions;
using httpclient::Error;
namespace asio = boost::asio;
using Awaitable = asio::awaitable<http::Response>;

namespace {

struct Fixture {
  Fixture() {
    http::Router r;
    r.get("/hello", [](http::Request&) -> Awaitable {
      http::Response res = http::Response::json(200, R"({"hello":"world"})");
      res.headers.emplace_back("X-Custom", "one");
      res.headers.emplace_back("X-Custom", "two");
      co_return res;
    });
    auto echo = [](http::Request& req) -> Awaitable {
      http::Response res = http::Response::text(200, req.method + " " + req.body);
      res.headers.emplace_back("X-Seen-Type", req.header("Content-Type").value_or("-"));
      res.headers.emplace_back("X-Seen-Token", req.header("X-Token").value_or("-"));
      res.headers.emplace_back("X-Seen-Expect", req.header("Expect").value_or("-"));
      co_return res;
    };
    r.post("/echo", echo);
    r.put("/echo", echo);
    r.patch("/echo", echo);
    r.del("/echo", echo);
    r.get("/echo", echo);
    r.get("/large", [](http::Request&) -> Awaitable { co_return http::Response::text(200, std::string(5000, 'L')); });
    r.post("/upload", [](http::Request& req) -> Awaitable {
      co_return http::Response::text(200, std::to_string(req.body.size()));
    });
    r.get("/slow", [](http::Request&) -> Awaitable {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(3));
      co_await t.async_wait(asio::use_awaitable);
      co_return http::Response::json(200, "{}");
    });
    http::ServerConfig cfg;
    cfg.host = "127.0.0.1";
    cfg.access_log = false;
    cfg.handle_signals = false;
    cfg.body_limit = 1 << 20;
    cfg.drain_timeout = std::chrono::milliseconds(500);
    server = std::make_unique<http::Server>(cfg, std::move(r), nullptr, log::root());
    server->set_body_limit("/upload", 3 << 20);
    thread = std::thread([this] { server->run(); });
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~Fixture() {
    server->stop();
    thread.join();
  }
  std::unique_ptr<http::Server> server;
  std::thread thread;
  std::string base;
};

}  // namespace

TEST_CASE("GET returns status, body and lower-cased headers", "[unit]") {
  Fixture f;
  Client client;
  auto r = client.request("GET", f.base + "/hello");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"hello":"world"})");
  CHECK(r.headers.at("content-type") == "application/json");
  CHECK(r.headers.at("x-custom") == "one, two");
  CHECK(r.headers.at("x-request-id").size() == 36);
  REQUIRE(r.header("Content-Type"));
  CHECK(*r.header("CONTENT-TYPE") == "application/json");
  CHECK(r.header("nope") == nullptr);

  // The free function works the same way.
  auto again = httpclient::request("GET", f.base + "/hello");
  CHECK(again.status == 200);
}

TEST_CASE("methods, bodies and request headers reach the server", "[unit]") {
  Fixture f;
  Client client;
  const httpclient::Headers hdrs = {{"Content-Type", "application/json"}, {"X-Token", "t0k"}};
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    auto r = client.request(method, f.base + "/echo", hdrs, R"({"a":1})");
    CHECK(r.status == 200);
    CHECK(r.body == std::string(method) + R"( {"a":1})");
    CHECK(r.headers.at("x-seen-type") == "application/json");
    CHECK(r.headers.at("x-seen-token") == "t0k");
    CHECK(r.headers.at("x-seen-expect") == "-");
  }
  auto del = client.request("DELETE", f.base + "/echo");
  CHECK(del.body == "DELETE ");
  auto empty_post = client.request("POST", f.base + "/echo");
  CHECK(empty_post.body == "POST ");
  auto head = client.request("HEAD", f.base + "/hello");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.headers.at("content-length") == "17");

  // A 2 MB upload (the route allows 3 MB).
  auto up = client.request("POST", f.base + "/upload", {{"Content-Type", "application/octet-stream"}},
                           std::string(2 << 20, 'u'));
  CHECK(up.status == 200);
  CHECK(up.body == std::to_string(2 << 20));
}

TEST_CASE("HTTP error statuses are results, not exceptions", "[unit]") {
  Fixture f;
  Client client;
  auto nf = client.request("GET", f.base + "/missing");
  CHECK(nf.status == 404);
  CHECK(nf.headers.at("content-type") == "application/problem+json");
  // 1.5 MB to a 1 MB route: the server answers 413 early; the client still
  // gets the answer, not a broken pipe.
  auto big = client.request("POST", f.base + "/echo", {{"Content-Type", "text/plain"}}, std::string(1536 * 1024, 'b'));
  CHECK(big.status == 413);
}

TEST_CASE("transport failures throw Error with a kind", "[unit]") {
  Fixture f;
  Client client;
  SECTION("timeout") {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      client.request("GET", f.base + "/slow", {}, {}, std::chrono::milliseconds(200));
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::timeout);
      CHECK(e.retryable());
      CHECK_THAT(std::string(e.what()), Catch::Contains("GET http://127.0.0.1:"));
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  }
  SECTION("connection refused") {
    // A port that was just bound and released: nothing listens there.
    std::uint16_t port;
    {
      asio::io_context ioc;
      asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
      port = a.local_endpoint().port();
    }
    try {
      client.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/x?token=secret");
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::connect);
      CHECK_THAT(std::string(e.what()), !Catch::Contains("secret"));  // query redacted
    }
  }
  SECTION("response too large") {
    Client small(ClientOptions{.max_response_bytes = 1000});
    try {
      small.request("GET", f.base + "/large");
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::too_large);
      CHECK_FALSE(e.retryable());
    }
    // The handle is reusable after the failure.
    CHECK(small.request("GET", f.base + "/hello").status == 200);
  }
  SECTION("invalid input") {
    CHECK_THROWS_AS(client.request("GET", f.base + "/hello", {{"X-Evil", "a\r\nInjected: yes"}}), Error);
    try {
      client.request("GET", "ftp://127.0.0.1/file");
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.kind() == Error::Kind::invalid);
    }
    CHECK_THROWS_AS(client.request("GE T", f.base + "/hello"), Error);
  }
}

TEST_CASE("one Client is safe to share between threads", "[unit]") {
  Fixture f;
  Client client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto r = client.request("POST", f.base + "/echo", {{"Content-Type", "text/plain"}}, body);
        if (r.status == 200 && r.body == "POST " + body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 100);
}
