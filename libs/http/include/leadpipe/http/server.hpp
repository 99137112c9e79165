#pragma once
// Coroutine HTTP/1.1 server (Boost.Beast / Asio underneath, hidden in the .cpp).
//
//   http::Router router;
//   router.post("/webhooks/whatsapp", handle_whatsapp, "whatsapp_webhook");
//   http::Server server(cfg, std::move(router), registry, log::root());
//   server.set_body_limit("/webhooks/whatsapp", 3 << 20);
//   server.set_readiness([&] { return producer.connected(); });
//   server.run();  // blocks until SIGTERM / SIGINT / stop(), then drains
//
// Built in: GET /healthz, GET /readyz, GET /metrics (unless the router already
// has them). Every response carries X-Request-Id and Server. Errors are
// RFC 9457 problems: 400 malformed request, 404 / 405 (+ Allow) from routing,
// 413 body over limit, 431 header over limit, HttpError → its problem, any
// other exception → 500 without internal text (the what() is logged with the
// request id). A read/idle timeout closes the connection without an answer.
//
// Metrics (on the given registry):
//   leadpipe_http_requests_total{route,method,status}   counter
//   leadpipe_http_request_duration_seconds{route}       histogram
//   leadpipe_http_in_flight                             gauge
//   leadpipe_http_connections                           gauge (open connections)
//   leadpipe_http_connections_rejected_total            counter (over max_connections)
//   leadpipe_http_streams_open                          gauge (streamed bodies being produced)
//   leadpipe_http_streams_ended_total{route,reason}     counter (stream.hpp StreamEnd)
// `route` is the route's name (its pattern by default) or "unmatched", never
// the raw path, so the label set stays bounded.
//
// Threading: `io_threads` threads run one io_context (or, with
// `context_per_thread`, one each); each connection is a coroutine on its own
// strand (or its thread's context), requests on a connection are handled
// strictly one after another (pipelined requests queue in the read buffer).
// Handlers run on those threads and must not block.
//
// Lifecycle: the constructor binds and listens (so port() is known at once);
// run() serves until stop() or, when `handle_signals`, SIGINT/SIGTERM; then it
// stops accepting, closes idle keep-alive connections, lets in-flight requests
// finish (answered with Connection: close), ends streamed responses (their
// producers see write()/wait() return false) and returns once all connections
// are gone or `drain_timeout` passed. A Server runs once.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 need std::exchange declared

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "leadpipe/http/message.hpp"
#include "leadpipe/http/router.hpp"
#include "leadpipe/log/log.hpp"

namespace prometheus {
class Registry;
}

namespace leadpipe::http {

struct ServerConfig {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;  // 0 = ephemeral (tests); read the bound port with Server::port()
  std::size_t body_limit = 1 << 20;  // default per-request body limit (bytes)
  std::size_t header_limit = 16 * 1024;  // request line + headers (bytes)
  std::chrono::milliseconds read_timeout{10000};  // whole request (after its first byte) and each write
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive wait for the next request's first byte
  std::chrono::milliseconds drain_timeout{10000}; // graceful stop bound
  std::chrono::milliseconds stream_write_timeout{15000};  // each chunk of a streamed body (stream.hpp)
  int io_threads = 2;
  // false: the io_threads share one io_context and a connection runs on a
  // strand, so any free thread takes any ready connection (a handler that
  // computes for a while delays nobody else). true: each thread runs an
  // io_context of its own and connections are dealt to them in turn; a
  // connection then never changes thread, which saves the strand and
  // cross-thread hand-offs per request (for services whose handlers are all
  // short, like the ingest gateway).
  bool context_per_thread = false;
  std::size_t max_connections = 10000;  // further connections are closed at once
  std::string service_name;             // Server header "leadpipe-<service_name>"
  bool access_log = true;      // one info line per request; off for benchmarks
  bool handle_signals = true;  // SIGINT/SIGTERM start the graceful stop
};

class Server {
 public:
  // Binds host:port and listens. Throws std::system_error when the address is
  // unusable. `registry` may be null (a private one is created).
  Server(ServerConfig config, Router router, std::shared_ptr<prometheus::Registry> registry,
         log::Logger logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // /readyz answers 200 {"status":"ready"} when `ready()` is true, else a 503
  // problem. Called on an I/O thread per probe: keep it cheap and non-blocking.
  // Thread-safe; may be called while running.
  void set_readiness(std::function<bool()> ready);
  // For an exception a handler lets escape that is not an HttpError: the
  // mapper may answer it with an HttpError (runtime::database_unavailable_as_503
  // turns a database outage or an exhausted pool into a 503 with Retry-After);
  // std::nullopt keeps the 500. Either way nothing of the exception reaches
  // the client and it is logged. Called on an I/O thread; must not throw.
  // Call before run().
  void set_error_mapper(std::function<std::optional<HttpError>(const std::exception&)> mapper);
  // Per-route body limit for every method of `pattern` (e.g. 3 MB webhooks).
  // Call before run(). Throws std::invalid_argument for an unknown pattern.
  void set_body_limit(std::string pattern, std::size_t limit);
  // Called once, on an I/O thread, when the graceful stop begins (signal or
  // stop()): stop consumers, flush producers… Call before run().
  void on_stop(std::function<void()> callback);

  std::uint16_t port() const;
  // Runs the I/O threads (the caller is one of them); returns after the drain.
  void run();
  // Thread-safe and idempotent; returns at once (run() does the draining).
  void stop();
  // For spawning the service's own coroutines on the server's io_context.
  boost::asio::any_io_executor executor();
  std::shared_ptr<prometheus::Registry> registry() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadpipe::http
