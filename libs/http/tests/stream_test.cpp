// Streamed (chunked) responses over real sockets.
#include <utility>

#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/registry.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "leadpipe/http/server.hpp"
#include "leadpipe/http/stream.hpp"
#include "leadpipe/log/log.hpp"
#include "leadpipe/testing/infra.hpp"
#include "test_client.hpp"

using namespace leadpipe;
using namespace leadpipe::http;
using test::RawClient;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

using Awaitable = asio::awaitable<Response>;

ServerConfig stream_config() {
  ServerConfig c;
  c.host = "127.0.0.1";
  c.io_threads = 2;
  c.access_log = false;
  c.handle_signals = false;
  c.drain_timeout = std::chrono::seconds(30);  // a test that ends by this bound has failed
  return c;
}

struct Running {
  explicit Running(Router router, ServerConfig cfg = stream_config())
      : registry(std::make_shared<prometheus::Registry>()),
        server(std::make_unique<Server>(cfg, std::move(router), registry, log::root())) {
    thread = std::thread([this] {
      server->run();
      returned = true;
    });
  }
  ~Running() {
    server->stop();
    if (thread.joinable()) thread.join();
  }
  double streams_ended(const std::string& reason) const {
    for (const auto& family : registry->Collect()) {
      if (family.name != "leadpipe_http_streams_ended_total") continue;
      double n = 0;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.name == "reason" && l.value == reason) n += m.counter.value;
        }
      }
      return n;
    }
    return 0;
  }
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<Server> server;
  std::thread thread;
  std::atomic<bool> returned{false};
};

std::string numbered_line(int i) { return "line " + std::to_string(i) + "\n"; }

}  // namespace

TEST_CASE("a chunked body arrives complete and in order, keep-alive continues", "[unit]") {
  constexpr int kLines = 2000;
  Router r;
  r.get("/export", [](Request&) -> Awaitable {
    auto produce = [](StreamWriter& out) -> asio::awaitable<void> {
      for (int i = 0; i < kLines; ++i) {
        if (!co_await out.write(numbered_line(i))) co_return;
      }
    };
    Response res = stream_response(200, "text/csv; charset=utf-8", std::move(produce));
    res.headers.emplace_back("Content-Disposition", "attachment; filename=\"x.csv\"");
    co_return res;
  });
  Running s(std::move(r));
  std::string expected;
  for (int i = 0; i < kLines; ++i) expected += numbered_line(i);

  RawClient c(s.server->port());
  auto res = c.request("GET", "/export", {}, {{"X-Request-Id", "stream-1"}});
  CHECK(res.result_int() == 200);
  CHECK(res.chunked());
  CHECK(res[bhttp::field::content_type] == "text/csv; charset=utf-8");
  CHECK(res["Content-Disposition"] == "attachment; filename=\"x.csv\"");
  CHECK(res["X-Request-Id"] == "stream-1");
  CHECK(res.body() == expected);
  CHECK(res.keep_alive());
  // Same connection, next request.
  CHECK(c.request("GET", "/healthz").result_int() == 200);
  CHECK(c.request("GET", "/export").body() == expected);
  // (counted just after the last chunk went out: the client may be quicker)
  CHECK(leadpipe::testing::wait_until([&] { return s.streams_ended("done") == 2; }, std::chrono::seconds(5)));

  // HEAD: the headers only.
  auto head = c.request("HEAD", "/export");
  CHECK(head.result_int() == 200);
  CHECK(head.body().empty());
  CHECK(c.request("GET", "/healthz").result_int() == 200);

  // HTTP/1.0: no chunking, the body ends with the connection.
  RawClient old(s.server->port());
  old.send("GET /export HTTP/1.0\r\n\r\n");
  auto res10 = old.read();
  CHECK(res10.body() == expected);
  CHECK_FALSE(res10.chunked());
  // (a body without length or chunking only completes once the server closed)
}

TEST_CASE("a client that disconnects mid-stream ends the producer", "[unit]") {
  std::atomic<int> ended{0};
  std::mutex mu;
  std::vector<StreamEnd> reasons;
  Router r;
  // Idle producer: one chunk, then sleeps (an SSE feed with nothing to say).
  r.get("/idle", [&](Request&) -> Awaitable {
    auto produce = [&](StreamWriter& out) -> asio::awaitable<void> {
      co_await out.write("hello\n");
      while (co_await out.wait(std::chrono::seconds(60))) {
      }
      {
        std::lock_guard lock(mu);
        reasons.push_back(out.end_reason());
      }
      ++ended;
    };
    co_return stream_response(200, "text/event-stream", std::move(produce));
  });
  // Busy producer: writes as fast as the socket takes it (backpressure).
  r.get("/firehose", [&](Request&) -> Awaitable {
    auto produce = [&](StreamWriter& out) -> asio::awaitable<void> {
      const std::string block(16 * 1024, 'x');
      while (co_await out.write(block)) {
      }
      {
        std::lock_guard lock(mu);
        reasons.push_back(out.end_reason());
      }
      ++ended;
    };
    co_return stream_response(200, "application/octet-stream", std::move(produce));
  });
  Running s(std::move(r));

  for (const char* path : {"/idle", "/firehose"}) {
    const int before = ended.load();
    RawClient c(s.server->port());
    c.send(RawClient::build("GET", path));
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(1 << 30);
    c.read_header(p);
    boost::beast::error_code ec;
    while (p.get().body().empty() && c.read_some(p, ec)) {
    }
    REQUIRE_FALSE(p.get().body().empty());
    c.close();
    INFO(path);
    REQUIRE(leadpipe::testing::wait_until([&] { return ended.load() == before + 1; }, std::chrono::seconds(5)));
    std::lock_guard lock(mu);
    CHECK(reasons.back() == StreamEnd::client_gone);
  }
  CHECK(leadpipe::testing::wait_until([&] { return s.streams_ended("client_gone") == 2; }, std::chrono::seconds(5)));
}

TEST_CASE("shutdown ends an open stream without waiting for the drain bound", "[unit]") {
  std::atomic<bool> started{false};
  std::atomic<int> reason{-1};
  Router r;
  r.get("/live", [&](Request&) -> Awaitable {
    auto produce = [&](StreamWriter& out) -> asio::awaitable<void> {
      started = true;
      co_await out.write(": hello\n\n");
      while (co_await out.wait(std::chrono::milliseconds(100))) {
        co_await out.write(": ping\n\n");
      }
      reason = static_cast<int>(out.end_reason());
    };
    co_return stream_response(200, "text/event-stream", std::move(produce));
  });
  Running s(std::move(r));
  RawClient c(s.server->port());
  c.send(RawClient::build("GET", "/live"));
  bhttp::response_parser<bhttp::string_body> p;
  c.read_header(p);
  REQUIRE(leadpipe::testing::wait_until([&] { return started.load(); }, std::chrono::seconds(5)));
  CHECK(p.get().chunked());

  const auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  REQUIRE(leadpipe::testing::wait_until([&] { return s.returned.load(); }, std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));  // drain_timeout is 30 s
  CHECK(reason.load() == static_cast<int>(StreamEnd::shutdown));
  // The client sees the stream cut (no terminating chunk), not a complete body.
  boost::beast::error_code ec;
  while (c.read_some(p, ec)) {
  }
  CHECK_FALSE(p.is_done());
}

TEST_CASE("the waker wakes a waiting producer from another thread", "[unit]") {
  std::mutex mu;
  std::vector<std::string> queue;
  std::function<void()> wake;
  std::atomic<bool> subscribed{false};
  Router r;
  r.get("/events", [&](Request&) -> Awaitable {
    auto produce = [&](StreamWriter& out) -> asio::awaitable<void> {
      {
        std::lock_guard lock(mu);
        wake = out.waker();
      }
      subscribed = true;
      for (;;) {
        std::vector<std::string> batch;
        {
          std::lock_guard lock(mu);
          batch.swap(queue);
        }
        for (const auto& e : batch) {
          if (e == "end") co_return;
          co_await out.write(e);
        }
        if (!co_await out.wait(std::chrono::seconds(60))) co_return;
      }
    };
    co_return stream_response(200, "text/event-stream", std::move(produce));
  });
  Running s(std::move(r));
  auto reader = std::async(std::launch::async, [&] {
    RawClient c(s.server->port(), std::chrono::seconds(10));
    return c.request("GET", "/events");
  });
  REQUIRE(leadpipe::testing::wait_until([&] { return subscribed.load(); }, std::chrono::seconds(5)));
  const auto t0 = std::chrono::steady_clock::now();
  for (const char* e : {"data: 1\n\n", "data: 2\n\n", "end"}) {
    std::lock_guard lock(mu);
    queue.emplace_back(e);
    wake();
  }
  auto res = reader.get();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));  // not the 60 s wait
  CHECK(res.body() == "data: 1\n\ndata: 2\n\n");
}

TEST_CASE("a producer that throws cuts the stream, a stalled reader times the write out", "[unit]") {
  std::atomic<int> reason{-1};
  Router r;
  r.get("/fails", [](Request&) -> Awaitable {
    auto produce = [](StreamWriter& out) -> asio::awaitable<void> {
      co_await out.write("a,b\n");
      throw std::runtime_error("database went away");
    };
    co_return stream_response(200, "text/csv", std::move(produce));
  });
  r.get("/big", [&](Request&) -> Awaitable {
    auto produce = [&](StreamWriter& out) -> asio::awaitable<void> {
      const std::string block(64 * 1024, 'y');
      while (co_await out.write(block)) {
      }
      reason = static_cast<int>(out.end_reason());
    };
    co_return stream_response(200, "application/octet-stream", std::move(produce));
  });
  auto cfg = stream_config();
  cfg.stream_write_timeout = std::chrono::milliseconds(300);
  Running s(std::move(r), cfg);
  {
    RawClient c(s.server->port());
    boost::beast::error_code ec;
    c.send(RawClient::build("GET", "/fails"));
    auto res = c.read(ec);
    CHECK(ec);  // partial message: the client can tell the body is incomplete
    CHECK(leadpipe::testing::wait_until([&] { return s.streams_ended("error") == 1; }, std::chrono::seconds(5)));
  }
  {
    RawClient c(s.server->port(), std::chrono::seconds(10));
    c.small_receive_buffer();
    c.send(RawClient::build("GET", "/big"));
    // Never read: the server's writes back up and time out.
    REQUIRE(leadpipe::testing::wait_until([&] { return reason.load() >= 0; }, std::chrono::seconds(10)));
    CHECK(reason.load() == static_cast<int>(StreamEnd::timeout));
  }
}
