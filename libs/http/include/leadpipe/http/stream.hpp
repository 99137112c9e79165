#pragma once
// Streamed response bodies (HTTP/1.1 chunked transfer coding).
//
// A handler that cannot (or should not) build its whole body in memory — a
// CSV export, a Server-Sent Events feed — returns a streamed Response:
//
//   co_return http::stream_response(200, "text/csv; charset=utf-8",
//       [state](http::StreamWriter& out) -> boost::asio::awaitable<void> {
//         while (auto chunk = next_page(state)) {
//           if (!co_await out.write(*chunk)) co_return;   // client gone, timeout or shutdown
//         }
//       });
//
// The server sends the status line and headers (X-Request-Id, Server,
// Content-Type, the Response's extra headers, Transfer-Encoding: chunked),
// then runs the producer on the connection's strand. Each write() is one
// chunk and completes only when the bytes are on the socket (backpressure: a
// slow client slows the producer down, memory stays bounded) or the per-write
// timeout (`ServerConfig::stream_write_timeout`) passed. When the producer
// returns normally the terminating chunk is written and the connection stays
// usable for keep-alive. When it throws after the headers were sent, the
// connection is closed without the terminating chunk, so the client sees a
// truncated (failed) transfer rather than a silently short body.
//
// The stream ends early — write() and wait() return false, open() turns
// false — when the client closes the connection (detected even while the
// producer is idle: the server keeps a read pending on the socket), a write
// times out, or the server's graceful stop begins (drain ends open streams
// instead of waiting for them). The producer is expected to return promptly
// then; anything it still writes is discarded.
//
// HTTP/1.0 clients get the body without chunking, delimited by closing the
// connection. A HEAD request gets the headers only; the producer is not run.
//
// Threading: the producer and every StreamWriter member except waker() run on
// the connection's strand. waker() returns a thread-safe callable (e.g. for a
// Kafka consumer thread feeding an event queue) that cuts a pending or the
// next wait() short; it stays safe to call after the stream ended.
#include <utility>  // before Asio: GCC 12 + Boost 1.74 need std::exchange declared

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "leadpipe/http/message.hpp"

namespace leadpipe::http {

// Why a stream ended (metrics label `reason`, access log `stream_end`).
enum class StreamEnd {
  open,         // not ended yet
  done,         // the producer returned
  client_gone,  // the client closed the connection or a write failed
  timeout,      // a write did not complete within stream_write_timeout
  shutdown,     // the server's graceful stop
  error,        // the producer threw after the headers were sent
};
std::string_view to_string(StreamEnd e);

class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Sends `data` as one chunk (an empty view sends nothing and returns open()).
  // Returns false when the stream has ended; the data was then not sent.
  virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
  // Sleeps until `max` passed, the waker was called, or the stream ended.
  // Returns open(). A waker call made before wait() makes it return at once.
  virtual boost::asio::awaitable<bool> wait(std::chrono::milliseconds max) = 0;
  virtual bool open() const = 0;
  virtual StreamEnd end_reason() const = 0;
  // Thread-safe wake-up of wait(); a no-op once the stream is gone.
  virtual std::function<void()> waker() = 0;
  // Ends the stream from the producer's side with a reason other than `done`
  // (e.g. a slow SSE consumer overflowed its queue: counted as client_gone).
  virtual void abort(StreamEnd reason) = 0;
  // Bytes of body written so far (without chunk framing).
  virtual std::uint64_t bytes_written() const = 0;
};

using StreamProducer = std::function<boost::asio::awaitable<void>(StreamWriter&)>;

// What Response::stream points to.
struct StreamBody {
  StreamProducer produce;
};

// A Response whose body is produced by `produce` (see above). Extra headers
// may be added to the result's `headers` before returning it.
Response stream_response(int status, std::string content_type, StreamProducer produce);

}  // namespace leadpipe::http
