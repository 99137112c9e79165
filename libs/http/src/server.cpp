// The only translation unit of the server that sees Beast.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 need std::exchange declared

#include "leadpipe/http/server.hpp"
#include "leadpipe/http/stream.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <csignal>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace leadpipe::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kFirstReadChunk = 4096;
// Buffers above this are released after a request, so one 3 MB webhook does
// not pin 3 MB per idle keep-alive connection.
constexpr std::size_t kRetainedBufferBytes = 64 * 1024;
// Lingering close after an early error answer (413, 400, 431): read and drop
// what the client is still sending, so our answer is not destroyed by a TCP
// reset, but only this long and this much.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 8 << 20;

const std::string kUnmatched = "unmatched";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A client's X-Request-Id is echoed only when it is short and plain, so it
// is safe in logs and headers.
bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// UUID v4 text from a per-thread PRNG: unique enough to correlate logs, not a
// secret (never use it for anything security-relevant).
void generate_request_id(std::string& out) {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(36);
  int pos = 0;
  auto put = [&](std::uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) out[pos++] = kHex[(v >> (i * 4)) & 0xf];
  };
  put(hi >> 32, 8);
  out[pos++] = '-';
  put(hi >> 16, 4);
  out[pos++] = '-';
  put(hi, 4);
  out[pos++] = '-';
  put(lo >> 48, 4);
  out[pos++] = '-';
  put(lo, 12);
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' ||
         c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '-' ||
         c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
}

bool valid_header(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Metric label for a method: the standard ones as sent, anything else
// "OTHER", so clients cannot mint label values.
const std::string& method_label(std::string_view m) {
  static const std::array<std::string, 9> known = {"GET",     "HEAD",    "POST",  "PUT",  "PATCH",
                                                   "DELETE",  "OPTIONS", "TRACE", "CONNECT"};
  static const std::string other = "OTHER";
  for (const auto& k : known) {
    if (k == m) return k;
  }
  return other;
}

// A protocol violation by the client (answered with 400), as opposed to the
// connection ending or timing out (closed without an answer).
bool is_parse_error(const beast::error_code& ec) {
  if (ec.category() != bhttp::make_error_code(bhttp::error::bad_target).category()) return false;
  switch (static_cast<bhttp::error>(ec.value())) {
    case bhttp::error::end_of_stream:
    case bhttp::error::partial_message:
    case bhttp::error::need_more:
    case bhttp::error::need_buffer:
    case bhttp::error::header_limit:
    case bhttp::error::body_limit:
    case bhttp::error::short_read:
      return false;
    default:
      return true;
  }
}

Response internal_error() {
  return problem(500, "Internal Server Error", "The server failed to handle the request.");
}

// Per-route metrics, resolved once; counters by status are created on first
// use and cached in atomics so the hot path takes no lock.
struct RouteStats {
  std::string label;
  std::string method;
  prometheus::Histogram* duration = nullptr;
  std::array<std::atomic<prometheus::Counter*>, 500> by_status{};  // index: status - 100
};

struct StreamState;

struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  // True while waiting for the first byte of a request. Touched only on the
  // connection's strand; the graceful stop closes idle connections.
  bool idle = false;
  // Set while a streamed body is being produced (strand only); the graceful
  // stop ends it.
  std::shared_ptr<StreamState> streaming;
};

// The StreamWriter of one streamed response. Lives on the connection's strand;
// only the waker crosses threads (an atomic flag plus a post to the strand).
struct StreamState final : StreamWriter, std::enable_shared_from_this<StreamState> {
  StreamState(Connection& c, std::chrono::milliseconds timeout, bool chunk)
      : conn(c), write_timeout(timeout), chunked(chunk),
        wake_timer(c.stream.get_executor()), watch_done(c.stream.get_executor()) {}

  Connection& conn;
  std::chrono::milliseconds write_timeout;
  bool chunked;
  StreamEnd end = StreamEnd::open;
  std::atomic<bool> wake_pending{false};
  asio::steady_timer wake_timer;   // wait() sleeps on it; close() and the waker cancel it
  asio::steady_timer watch_done;   // join of the disconnect watcher
  bool watching = false;
  std::uint64_t bytes = 0;

  void close(StreamEnd why) {
    if (end == StreamEnd::open) end = why;
    wake_timer.cancel();
  }

  asio::awaitable<bool> write(std::string_view data) override {
    if (end != StreamEnd::open) co_return false;
    if (data.empty()) co_return true;
    beast::error_code ec;
    conn.stream.expires_after(write_timeout);
    if (chunked) {
      co_await asio::async_write(conn.stream, bhttp::make_chunk(asio::const_buffer(data.data(), data.size())),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(conn.stream, asio::const_buffer(data.data(), data.size()),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      close(ec == beast::error::timeout ? StreamEnd::timeout : StreamEnd::client_gone);
      co_return false;
    }
    bytes += data.size();
    co_return end == StreamEnd::open;
  }

  asio::awaitable<bool> wait(std::chrono::milliseconds max) override {
    if (end != StreamEnd::open) co_return false;
    if (wake_pending.exchange(false)) co_return true;
    wake_timer.expires_after(max);
    beast::error_code ec;
    co_await wake_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    wake_pending.store(false);
    co_return end == StreamEnd::open;
  }

  bool open() const override { return end == StreamEnd::open; }
  StreamEnd end_reason() const override { return end; }
  void abort(StreamEnd reason) override { close(reason == StreamEnd::open ? StreamEnd::error : reason); }
  std::uint64_t bytes_written() const override { return bytes; }

  std::function<void()> waker() override {
    std::weak_ptr<StreamState> weak = shared_from_this();
    return [weak] {
      if (auto self = weak.lock()) {
        self->wake_pending.store(true);
        asio::post(self->wake_timer.get_executor(), [self] { self->wake_timer.cancel(); });
      }
    };
  }
};

enum class Outcome { keep_alive, close };

// How far serving one request got, for metrics and the access log.
struct Exchange {
  const Route* route = nullptr;
  std::string_view route_label = kUnmatched;
  int status = 0;
  bool keep_alive = false;
  bool linger = false;  // the request was not read completely
  bool head = false;
};

}  // namespace

struct Server::Impl {
  Impl(ServerConfig c, Router r, std::shared_ptr<prometheus::Registry> reg, log::Logger l)
      : cfg(std::move(c)),
        router(std::move(r)),
        registry(reg ? std::move(reg) : std::make_shared<prometheus::Registry>()),
        logger(std::move(l)),
        server_header(cfg.service_name.empty() ? std::string("leadpipe") : "leadpipe-" + cfg.service_name),
        ioc(cfg.context_per_thread || cfg.io_threads <= 1 ? 1 : cfg.io_threads),
        accept_strand(asio::make_strand(ioc)),
        acceptor(accept_strand),
        drain_timer(accept_strand) {}

  // ---- configuration and state (outlive the io_context, see member order) --
  ServerConfig cfg;
  Router router;
  std::shared_ptr<prometheus::Registry> registry;
  log::Logger logger;
  std::string server_header;

  prometheus::Family<prometheus::Counter>* requests_family = nullptr;
  prometheus::Family<prometheus::Histogram>* duration_family = nullptr;
  prometheus::Gauge* in_flight = nullptr;
  prometheus::Gauge* open_connections = nullptr;
  prometheus::Counter* rejected_connections = nullptr;
  prometheus::Histogram* unmatched_duration = nullptr;
  prometheus::Gauge* open_streams = nullptr;
  prometheus::Family<prometheus::Counter>* streams_family = nullptr;
  std::vector<std::unique_ptr<RouteStats>> route_stats;  // by Route::index

  std::mutex readiness_mu;
  std::shared_ptr<const std::function<bool()>> readiness;
  std::function<void()> on_stop_cb;
  std::function<std::optional<HttpError>(const std::exception&)> error_mapper;

  std::mutex conns_mu;
  // Weak: connections are owned by their coroutines only, so that destroying
  // the io_context destroys them before any of this state goes away.
  std::unordered_map<Connection*, std::weak_ptr<Connection>> conns;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> ran{false};
  std::uint16_t bound_port = 0;
  bool finished = false;  // accept_strand only

  // ---- I/O: destroyed first (reverse order), taking pending coroutines along
  asio::io_context ioc;
  // context_per_thread: the other threads' contexts, each kept running by a
  // work guard until finish(); connections are dealt to ioc and these in turn.
  std::vector<std::unique_ptr<asio::io_context>> worker_contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_guards;
  std::size_t next_context = 0;  // accept_strand only
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;
  asio::steady_timer drain_timer;
  std::optional<asio::signal_set> signals;

  // Where the next accepted connection runs.
  asio::any_io_executor next_connection_executor() {
    if (worker_contexts.empty()) return asio::make_strand(ioc);
    const std::size_t i = next_context++ % (worker_contexts.size() + 1);
    return i == 0 ? ioc.get_executor() : worker_contexts[i - 1]->get_executor();
  }

  void init_metrics();
  void add_builtin_routes();
  void listen();

  prometheus::Counter& status_counter(RouteStats& rs, int status);
  void record(const Exchange& x, std::string_view method, double seconds);

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(std::shared_ptr<Connection> conn);
  asio::awaitable<Outcome> serve_one(Connection& conn, beast::flat_buffer& buffer, Request& req);
  asio::awaitable<Response> invoke(const Route& route, Request& req);
  asio::awaitable<bool> serve_stream(Connection& conn, beast::flat_buffer& buffer, const Request& req,
                                     Response& res, Exchange& x, unsigned version, StreamEnd& end,
                                     std::uint64_t& bytes);
  asio::awaitable<void> watch_disconnect(std::shared_ptr<StreamState> st, beast::flat_buffer& buffer);
  void build_response(bhttp::response<bhttp::string_body>& out, const Request& req, Response& r, Exchange& x,
                      unsigned version);
  asio::awaitable<void> linger(Connection& conn);

  void begin_shutdown(std::string_view reason);
  void finish();
  void on_session_end();
  void run_thread(asio::io_context& context);
};

// ---- setup -------------------------------------------------------------------

void Server::Impl::init_metrics() {
  requests_family = &prometheus::BuildCounter()
                         .Name("leadpipe_http_requests_total")
                         .Help("HTTP requests answered, by route pattern, method and status")
                         .Register(*registry);
  duration_family = &prometheus::BuildHistogram()
                         .Name("leadpipe_http_request_duration_seconds")
                         .Help("Time from a request's first byte to the end of its response, by route")
                         .Register(*registry);
  in_flight = &prometheus::BuildGauge()
                   .Name("leadpipe_http_in_flight")
                   .Help("Requests being read, handled or answered")
                   .Register(*registry)
                   .Add({});
  open_connections = &prometheus::BuildGauge()
                          .Name("leadpipe_http_connections")
                          .Help("Open HTTP connections")
                          .Register(*registry)
                          .Add({});
  rejected_connections = &prometheus::BuildCounter()
                              .Name("leadpipe_http_connections_rejected_total")
                              .Help("Connections closed at accept because max_connections was reached")
                              .Register(*registry)
                              .Add({});
  open_streams = &prometheus::BuildGauge()
                      .Name("leadpipe_http_streams_open")
                      .Help("Streamed responses being produced")
                      .Register(*registry)
                      .Add({});
  streams_family = &prometheus::BuildCounter()
                        .Name("leadpipe_http_streams_ended_total")
                        .Help("Streamed responses by route and how they ended (done|client_gone|timeout|shutdown|error)")
                        .Register(*registry);
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  unmatched_duration = &duration_family->Add({{"route", kUnmatched}}, buckets);
  for (const auto& r : router.routes()) {
    auto rs = std::make_unique<RouteStats>();
    rs->label = r->name;
    rs->method = r->method;
    rs->duration = &duration_family->Add({{"route", r->name}}, buckets);
    route_stats.push_back(std::move(rs));
  }
}

void Server::Impl::add_builtin_routes() {
  if (!router.contains("GET", "/healthz")) {
    router.get("/healthz", [](Request&) -> asio::awaitable<Response> {
      co_return Response::json(200, R"({"status":"ok"})");
    });
  }
  if (!router.contains("GET", "/readyz")) {
    router.get("/readyz", [this](Request&) -> asio::awaitable<Response> {
      std::shared_ptr<const std::function<bool()>> check;
      {
        std::lock_guard lock(readiness_mu);
        check = readiness;
      }
      if (!check || (*check)()) co_return Response::json(200, R"({"status":"ready"})");
      co_return problem(503, "Service Unavailable", "A dependency is not ready.");
    });
  }
  if (!router.contains("GET", "/metrics")) {
    router.get("/metrics", [this](Request&) -> asio::awaitable<Response> {
      Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = prometheus::TextSerializer().Serialize(registry->Collect());
      co_return r;
    });
  }
}

void Server::Impl::listen() {
  const tcp::endpoint ep(asio::ip::make_address(cfg.host), cfg.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
  bound_port = acceptor.local_endpoint().port();
}

// ---- metrics -------------------------------------------------------------------

prometheus::Counter& Server::Impl::status_counter(RouteStats& rs, int status) {
  auto& slot = rs.by_status[static_cast<std::size_t>(status - 100)];
  if (auto* c = slot.load(std::memory_order_acquire)) return *c;
  // Family::Add returns the existing series for equal labels, so a race here
  // only repeats a lookup.
  auto* c = &requests_family->Add({{"route", rs.label}, {"method", rs.method}, {"status", std::to_string(status)}});
  slot.store(c, std::memory_order_release);
  return *c;
}

void Server::Impl::record(const Exchange& x, std::string_view method, double seconds) {
  const int status = x.status >= 100 && x.status <= 599 ? x.status : 500;
  if (x.route) {
    auto& rs = *route_stats[x.route->index];
    rs.duration->Observe(seconds);
    if (method == rs.method) {
      status_counter(rs, status).Increment();
      return;
    }
    // HEAD served by a GET route: rare, take the locked path.
    requests_family->Add({{"route", rs.label}, {"method", method_label(method)}, {"status", std::to_string(status)}})
        .Increment();
    return;
  }
  unmatched_duration->Observe(seconds);
  requests_family->Add({{"route", kUnmatched}, {"method", method_label(method)}, {"status", std::to_string(status)}})
      .Increment();
}

// ---- connections -------------------------------------------------------------------

asio::awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(next_connection_executor(), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE/ENFILE and friends: back off briefly instead of spinning.
      logger.warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer backoff(accept_strand, std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (stopping) {
      socket.close(ec);
      co_return;
    }
    if (active.load() >= cfg.max_connections) {
      rejected_connections->Increment();
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(conns_mu);
      conns.emplace(conn.get(), conn);
    }
    ++active;
    open_connections->Increment();
    auto executor = conn->stream.get_executor();
    Connection* key = conn.get();
    asio::co_spawn(executor, session(std::move(conn)), [this, key](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          logger.error("connection task failed", {{"error", ex.what()}});
        } catch (...) {
          logger.error("connection task failed", {{"error", "unknown exception"}});
        }
      }
      {
        std::lock_guard lock(conns_mu);
        conns.erase(key);
      }
      on_session_end();
    });
  }
}

void Server::Impl::on_session_end() {
  open_connections->Decrement();
  if (--active == 0 && stopping) asio::post(accept_strand, [this] { finish(); });
}

asio::awaitable<void> Server::Impl::session(std::shared_ptr<Connection> conn) {
  auto& stream = conn->stream;
  beast::flat_buffer buffer;
  Request req;  // reused for every request of this connection (keeps capacity)
  {
    beast::error_code ec;
    const auto ep = stream.socket().remote_endpoint(ec);
    if (!ec) req.remote_addr = ep.address().to_string();
  }
  bool first = true;
  for (;;) {
    if (buffer.size() == 0) {
      // Wait for the next request's first byte; this is the idle state the
      // graceful stop may cut short.
      if (stopping) break;
      conn->idle = true;
      stream.expires_after(first ? cfg.read_timeout : cfg.idle_timeout);
      beast::error_code ec;
      const std::size_t n = co_await stream.async_read_some(buffer.prepare(kFirstReadChunk),
                                                            asio::redirect_error(asio::use_awaitable, ec));
      conn->idle = false;
      if (ec) break;  // EOF, timeout, reset, or closed by stop()
      buffer.commit(n);
    }
    first = false;
    const Outcome outcome = co_await serve_one(*conn, buffer, req);
    if (outcome == Outcome::close || stopping) break;
    if (buffer.capacity() > kRetainedBufferBytes && buffer.size() <= kRetainedBufferBytes) buffer.shrink_to_fit();
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

asio::awaitable<void> Server::Impl::linger(Connection& conn) {
  beast::error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  conn.stream.expires_after(kLingerTime);
  std::array<char, 8192> scratch;
  std::size_t total = 0;
  while (total < kLingerBytes) {
    const std::size_t n =
        co_await conn.stream.async_read_some(asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    total += n;
  }
}

asio::awaitable<Response> Server::Impl::invoke(const Route& route, Request& req) {
  std::optional<Response> res;
  try {
    res.emplace(co_await route.handler(req));
  } catch (const HttpError& e) {
    try {
      res.emplace(e.to_response());
    } catch (const std::exception& bad) {
      logger.error("invalid HttpError from handler",
                   {{"request_id", req.request_id}, {"route", route.name}, {"error", bad.what()}});
      res.emplace(internal_error());
    }
  } catch (const std::exception& e) {
    std::optional<HttpError> mapped;
    if (error_mapper) mapped = error_mapper(e);
    if (mapped) {
      logger.warn("handler failed", {{"request_id", req.request_id},
                                     {"route", route.name},
                                     {"status", mapped->status},
                                     {"error", e.what()}});
      res.emplace(mapped->to_response());
    } else {
      logger.error("handler failed", {{"request_id", req.request_id}, {"route", route.name}, {"error", e.what()}});
      res.emplace(internal_error());
    }
  } catch (...) {
    logger.error("handler failed",
                 {{"request_id", req.request_id}, {"route", route.name}, {"error", "unknown exception"}});
    res.emplace(internal_error());
  }
  co_return std::move(*res);
}

// Turns a handler's Response into the Beast message to write. Drops (and
// logs) header lines a handler could not legally send.
void Server::Impl::build_response(bhttp::response<bhttp::string_body>& res, const Request& req, Response& r,
                                  Exchange& x, unsigned version) {
  if (r.status < 200 || r.status > 599) {
    logger.error("handler returned an invalid status",
                 {{"request_id", req.request_id}, {"route", std::string(x.route_label)}, {"status", r.status}});
    r = internal_error();
  }
  x.status = r.status;
  const bool no_body = r.status == 204 || r.status == 304;

  res.version(version == 10 ? 10 : 11);
  res.result(static_cast<unsigned>(r.status));
  res.set(bhttp::field::server, server_header);
  res.set("X-Request-Id", req.request_id);
  if (!no_body && !r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
  for (const auto& header : r.headers) {
    if (!valid_header(header.first, header.second)) {
      logger.error("handler set an invalid response header; dropped",
                   {{"request_id", req.request_id}, {"header", header.first.substr(0, 64)}});
      continue;
    }
    res.insert(header.first, header.second);
  }
  res.keep_alive(x.keep_alive);
  if (no_body) {
    // RFC 9110: no body and no Content-Length on 204/304.
    res.body().clear();
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
    // HEAD: same headers (Content-Length of the GET answer), no body bytes.
    if (x.head) res.body().clear();
  }
}

namespace {

// Feeds `p` what `buffer` already holds, without I/O. True when that ended
// the message, or failed (`ec` says why: a body over the limit, malformed
// chunking); false when more bytes must be read (`ec` clear).
template <class Parser>
bool parse_buffered(Parser& p, beast::flat_buffer& buffer, beast::error_code& ec) {
  p.eager(true);  // past each chunk, as http::read does
  while (!p.is_done() && buffer.size() > 0) {
    const std::size_t used = p.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return false;
  }
  return p.is_done();
}

}  // namespace

asio::awaitable<Outcome> Server::Impl::serve_one(Connection& conn, beast::flat_buffer& buffer, Request& req) {
  auto& stream = conn.stream;
  const auto started = Clock::now();
  beast::error_code ec;
  Exchange x;
  std::optional<Response> early;  // an answer decided before the handler
  unsigned version = 11;

  req.clear();
  stream.expires_after(cfg.read_timeout);
  bhttp::request_parser<bhttp::empty_body> hp;
  hp.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(cfg.header_limit, UINT32_MAX)));
  // The body limit is enforced below, once the route is known. (An unset
  // optional here would reject every Content-Length in Boost 1.74.)
  hp.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await bhttp::async_read_header(stream, buffer, hp, asio::redirect_error(asio::use_awaitable, ec));

  in_flight->Increment();
  struct InFlight {
    prometheus::Gauge* g;
    ~InFlight() { g->Decrement(); }
  } in_flight_guard{in_flight};

  if (ec) {
    if (ec == bhttp::error::header_limit) {
      early = problem(431, "Request Header Fields Too Large",
                      "The request line and headers exceed " + std::to_string(cfg.header_limit) + " bytes.");
    } else if (is_parse_error(ec)) {
      early = problem(400, "Bad Request", "Malformed HTTP request.");
    } else {
      co_return Outcome::close;  // EOF mid-request, timeout, reset: nobody to answer
    }
    generate_request_id(req.request_id);
    x.linger = true;
  } else {
    const auto& h = hp.get();
    version = h.version();
    req.method.assign(h.method_string().data(), h.method_string().size());
    req.target.assign(h.target().data(), h.target().size());
    for (const auto& f : h) req.add_header(f.name_string(), f.value());
    if (auto id = h["X-Request-Id"]; sane_request_id(id)) {
      req.request_id.assign(id.data(), id.size());
    } else {
      generate_request_id(req.request_id);
    }
    x.keep_alive = h.keep_alive();
    x.head = h.method() == bhttp::verb::head;

    // Route on the raw path (so "%2F" stays inside a parameter), expose the
    // decoded one.
    std::string_view target(req.target);
    const std::string_view raw_path = target.substr(0, target.find_first_of("?#"));
    Router::Match match;
    if (raw_path.empty() || raw_path.front() != '/') {
      early = problem(400, "Bad Request", "The request target must be an absolute path.");
    } else if (!percent_decode(raw_path, req.path, false)) {
      early = problem(400, "Bad Request", "Malformed percent-encoding in the request path.");
    } else {
      try {
        match = router.match(req.method, raw_path, req.path_params);
      } catch (const HttpError& e) {
        early = e.to_response();
      }
    }
    if (match.route) {
      x.route = match.route;
      x.route_label = match.route->name;
      req.route = match.route->name;
    }

    // Body: the limit of the route (or the default for unrouted requests,
    // whose body we still read to keep the connection usable).
    const std::size_t limit = match.route && match.route->body_limit ? *match.route->body_limit : cfg.body_limit;
    if (!early && hp.content_length() && *hp.content_length() > limit) {
      early = problem(413, "Content Too Large",
                      "The request body exceeds the limit of " + std::to_string(limit) + " bytes.");
      x.linger = true;
    }
    if (early && !hp.is_done()) x.linger = true;  // the body is still on the wire

    if (!early && !hp.is_done()) {
      if (iequals(h[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        co_await bhttp::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return Outcome::close;
      }
      bhttp::request_parser<bhttp::string_body> p(std::move(hp));
      p.body_limit(limit);
      // Reuse the previous body's allocation when it is modest.
      if (req.body.capacity() <= kRetainedBufferBytes) p.get().body().swap(req.body);
      p.get().body().clear();
      // Usually the whole body came with the header: parse it from the buffer
      // without an asynchronous read (a composed operation and a trip through
      // the scheduler per request with a body); read only what is missing.
      if (!parse_buffered(p, buffer, ec)) {
        co_await bhttp::async_read(stream, buffer, p, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec == bhttp::error::body_limit) {
        early = problem(413, "Content Too Large",
                        "The request body exceeds the limit of " + std::to_string(limit) + " bytes.");
        x.linger = true;
      } else if (ec && is_parse_error(ec)) {
        early = problem(400, "Bad Request", "Malformed HTTP request body.");
        x.linger = true;
      } else if (ec) {
        co_return Outcome::close;
      } else {
        req.body = std::move(p.get().body());
      }
    }

    if (!early && !match.route) {
      if (match.path_matched) {
        early = problem(405, "Method Not Allowed", "The resource does not support " + method_label(req.method) + ".");
        early->headers.emplace_back("Allow", match.allow);
      } else {
        early = problem(404, "Not Found", "No resource at this path.");
      }
    }
  }

  if (x.linger || stopping) x.keep_alive = false;
  // (No co_await inside a conditional expression: GCC 12 miscompiles that
  // into a double destruction.)
  Response res;
  if (early) {
    res = std::move(*early);
  } else {
    res = co_await invoke(*x.route, req);
  }
  // The graceful stop may have begun while the handler ran: say goodbye.
  if (stopping) x.keep_alive = false;
  bool written = false;
  const bool streamed = res.stream != nullptr;
  StreamEnd stream_end = StreamEnd::open;
  std::uint64_t stream_bytes = 0;
  if (streamed) {
    written = co_await serve_stream(conn, buffer, req, res, x, version, stream_end, stream_bytes);
  } else {
    bhttp::response<bhttp::string_body> out;
    build_response(out, req, res, x, version);
    stream.expires_after(cfg.read_timeout);
    co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
    written = !ec;
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  record(x, req.method, seconds);
  if (cfg.access_log && logger.enabled(log::Level::info)) {
    if (streamed) {
      logger.info("request", {{"method", req.method},
                              {"route", std::string(x.route_label)},
                              {"status", x.status},
                              {"duration_ms", seconds * 1000.0},
                              {"request_id", req.request_id},
                              {"remote", req.remote_addr},
                              {"stream_end", std::string(to_string(stream_end))},
                              {"bytes", static_cast<double>(stream_bytes)}});
    } else {
      logger.info("request", {{"method", req.method},
                              {"route", std::string(x.route_label)},
                              {"status", x.status},
                              {"duration_ms", seconds * 1000.0},
                              {"request_id", req.request_id},
                              {"remote", req.remote_addr}});
    }
  }
  if (!written) co_return Outcome::close;
  if (x.linger) {
    co_await linger(conn);
    co_return Outcome::close;
  }
  co_return x.keep_alive ? Outcome::keep_alive : Outcome::close;
}

// ---- streamed responses ----------------------------------------------------------

// Keeps a read pending on the socket while a body is streamed, so a client
// that goes away is noticed even while the producer sleeps. Bytes that do
// arrive (a pipelined next request) are kept in the connection's buffer.
asio::awaitable<void> Server::Impl::watch_disconnect(std::shared_ptr<StreamState> st, beast::flat_buffer& buffer) {
  auto& socket = st->conn.stream.socket();
  for (;;) {
    beast::error_code ec;
    const std::size_t n =
        co_await socket.async_read_some(buffer.prepare(kFirstReadChunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // operation_aborted: the stream ended and the server cancelled us.
      if (ec != asio::error::operation_aborted) st->close(StreamEnd::client_gone);
      break;
    }
    buffer.commit(n);
    if (buffer.size() > cfg.header_limit) break;  // stop reading; the next request is answered after the stream
  }
  st->watching = false;
  st->watch_done.cancel();
}

// Sends the header of a streamed response, runs its producer, then ends the
// body. Returns whether the connection may be reused.
asio::awaitable<bool> Server::Impl::serve_stream(Connection& conn, beast::flat_buffer& buffer, const Request& req,
                                                 Response& res, Exchange& x, unsigned version, StreamEnd& end,
                                                 std::uint64_t& bytes) {
  auto body = std::move(res.stream);
  const bool chunked = version != 10;
  if (!chunked) x.keep_alive = false;  // HTTP/1.0: the body ends when the connection does
  bhttp::response<bhttp::empty_body> hdr;
  hdr.version(chunked ? 11 : 10);
  if (res.status < 200 || res.status > 599 || res.status == 204 || res.status == 304) {
    logger.error("handler returned an invalid status for a stream",
                 {{"request_id", req.request_id}, {"route", std::string(x.route_label)}, {"status", res.status}});
    res.status = 500;
  }
  x.status = res.status;
  hdr.result(static_cast<unsigned>(res.status));
  hdr.set(bhttp::field::server, server_header);
  hdr.set("X-Request-Id", req.request_id);
  if (!res.content_type.empty()) hdr.set(bhttp::field::content_type, res.content_type);
  for (const auto& header : res.headers) {
    if (!valid_header(header.first, header.second)) {
      logger.error("handler set an invalid response header; dropped",
                   {{"request_id", req.request_id}, {"header", header.first.substr(0, 64)}});
      continue;
    }
    hdr.insert(header.first, header.second);
  }
  hdr.keep_alive(x.keep_alive);
  if (chunked) hdr.chunked(true);

  beast::error_code ec;
  conn.stream.expires_after(cfg.stream_write_timeout);
  bhttp::response_serializer<bhttp::empty_body> sr{hdr};
  co_await bhttp::async_write_header(conn.stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    end = StreamEnd::client_gone;
    streams_family->Add({{"route", std::string(x.route_label)}, {"reason", std::string(to_string(end))}}).Increment();
    co_return false;
  }
  if (x.head) {
    end = StreamEnd::done;
    co_return x.keep_alive;
  }

  auto st = std::make_shared<StreamState>(conn, cfg.stream_write_timeout, chunked);
  conn.streaming = st;
  if (stopping) st->close(StreamEnd::shutdown);
  open_streams->Increment();
  st->watching = true;
  st->watch_done.expires_at(asio::steady_timer::time_point::max());
  asio::co_spawn(conn.stream.get_executor(), watch_disconnect(st, buffer), [this](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      logger.error("stream watcher failed", {{"error", ex.what()}});
    } catch (...) {
    }
  });

  try {
    co_await body->produce(*st);
  } catch (const std::exception& e) {
    logger.error("stream producer failed",
                 {{"request_id", req.request_id}, {"route", std::string(x.route_label)}, {"error", e.what()}});
    st->close(StreamEnd::error);
  } catch (...) {
    logger.error("stream producer failed",
                 {{"request_id", req.request_id}, {"route", std::string(x.route_label)}, {"error", "unknown exception"}});
    st->close(StreamEnd::error);
  }
  const bool complete = st->open();
  if (complete) st->end = StreamEnd::done;
  conn.streaming.reset();

  // Stop the watcher and wait for it, so the buffer is ours again.
  if (st->watching) {
    beast::error_code ignored;
    conn.stream.socket().cancel(ignored);
    co_await st->watch_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  bool reusable = false;
  if (complete && chunked) {
    // Only a producer that finished gets the terminating chunk: an export cut
    // short must not look complete to the client.
    conn.stream.expires_after(cfg.stream_write_timeout);
    co_await asio::async_write(conn.stream, bhttp::make_chunk_last(), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      st->end = ec == beast::error::timeout ? StreamEnd::timeout : StreamEnd::client_gone;
    } else {
      reusable = x.keep_alive && !stopping;
    }
  }
  end = st->end;
  bytes = st->bytes;
  open_streams->Decrement();
  streams_family->Add({{"route", std::string(x.route_label)}, {"reason", std::string(to_string(end))}}).Increment();
  co_return reusable;
}

// ---- lifecycle -------------------------------------------------------------------

void Server::Impl::begin_shutdown(std::string_view reason) {
  // Runs on accept_strand: acceptor, signals and drain timer live there.
  if (stopping.exchange(true)) return;
  logger.info("http server stopping", {{"reason", reason}, {"connections", active.load()}});
  beast::error_code ec;
  acceptor.close(ec);
  if (signals) signals->cancel(ec);
  if (on_stop_cb) {
    try {
      on_stop_cb();
    } catch (const std::exception& e) {
      logger.error("on_stop callback failed", {{"error", e.what()}});
    }
  }
  // Close idle keep-alive connections; busy ones close after their answer.
  {
    std::lock_guard lock(conns_mu);
    for (auto& [key, weak] : conns) {
      if (auto conn = weak.lock()) {
        asio::post(conn->stream.get_executor(), [conn] {
          if (conn->idle) conn->stream.cancel();
          if (conn->streaming) conn->streaming->close(StreamEnd::shutdown);
        });
      }
    }
  }
  drain_timer.expires_after(cfg.drain_timeout);
  drain_timer.async_wait([this](beast::error_code wait_ec) {
    if (wait_ec) return;  // cancelled by finish()
    logger.warn("http drain timed out; abandoning connections", {{"connections", active.load()}});
    finish();
  });
  if (active == 0) finish();
}

void Server::Impl::finish() {
  if (finished) return;
  finished = true;
  drain_timer.cancel();
  logger.info("http server stopped");
  worker_guards.clear();
  for (auto& c : worker_contexts) c->stop();
  ioc.stop();
}

void Server::Impl::run_thread(asio::io_context& context) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      // Completion handlers here do not throw; anything that does is a bug,
      // logged and survived rather than taking the process down mid-drain.
      logger.error("exception escaped the io_context", {{"error", e.what()}});
    }
  }
}

// ---- Server ---------------------------------------------------------------------

Server::Server(ServerConfig config, Router router, std::shared_ptr<prometheus::Registry> registry,
               log::Logger logger)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(router), std::move(registry), std::move(logger))) {
  auto& im = *impl_;
  im.add_builtin_routes();
  im.init_metrics();
  if (im.cfg.context_per_thread) {
    for (int i = 1; i < im.cfg.io_threads; ++i) {
      im.worker_contexts.push_back(std::make_unique<asio::io_context>(1));
      im.worker_guards.push_back(asio::make_work_guard(*im.worker_contexts.back()));
    }
  }
  im.listen();
  asio::co_spawn(im.accept_strand, im.accept_loop(), [&im](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      im.logger.error("accept loop failed", {{"error", ex.what()}});
    } catch (...) {
      im.logger.error("accept loop failed", {{"error", "unknown exception"}});
    }
  });
}

Server::~Server() = default;

void Server::set_readiness(std::function<bool()> ready) {
  auto p = ready ? std::make_shared<const std::function<bool()>>(std::move(ready)) : nullptr;
  std::lock_guard lock(impl_->readiness_mu);
  impl_->readiness = std::move(p);
}

void Server::set_body_limit(std::string pattern, std::size_t limit) {
  if (!impl_->router.set_body_limit(pattern, limit)) {
    throw std::invalid_argument("set_body_limit: no route with pattern '" + pattern + "'");
  }
}

void Server::on_stop(std::function<void()> callback) { impl_->on_stop_cb = std::move(callback); }

void Server::set_error_mapper(std::function<std::optional<HttpError>(const std::exception&)> mapper) {
  impl_->error_mapper = std::move(mapper);
}

std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::run() {
  auto& im = *impl_;
  if (im.ran.exchange(true)) throw std::logic_error("Server::run() called twice");
  // Signals are taken over only while serving, so a process that has built
  // the server but not started it still dies on SIGTERM as usual.
  if (im.cfg.handle_signals) {
    im.signals.emplace(im.accept_strand, SIGINT, SIGTERM);
    im.signals->async_wait([&im](beast::error_code ec, int signo) {
      if (ec) return;
      im.begin_shutdown(signo == SIGINT ? "SIGINT" : "SIGTERM");
    });
  }
  im.logger.info("http server listening", {{"host", im.cfg.host}, {"port", static_cast<int>(port())}});
  std::vector<std::thread> threads;
  if (im.cfg.context_per_thread) {
    for (auto& c : im.worker_contexts) threads.emplace_back([&im, &c] { im.run_thread(*c); });
  } else {
    for (int i = 1; i < im.cfg.io_threads; ++i) threads.emplace_back([&im] { im.run_thread(im.ioc); });
  }
  im.run_thread(im.ioc);
  for (auto& t : threads) t.join();
}

void Server::stop() {
  auto* im = impl_.get();
  asio::post(im->accept_strand, [im] { im->begin_shutdown("stop() called"); });
}

boost::asio::any_io_executor Server::executor() { return impl_->ioc.get_executor(); }

std::shared_ptr<prometheus::Registry> Server::registry() const { return impl_->registry; }

}  // namespace leadpipe::http
