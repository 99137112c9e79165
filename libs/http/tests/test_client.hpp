#pragma once
// A deliberately low-level HTTP client for the server tests: raw bytes out,
// Beast-parsed responses in, every operation bounded by a deadline (a broken
// server fails the test instead of hanging it).
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::http::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Resp = bhttp::response<bhttp::string_body>;

class RawClient {
 public:
  explicit RawClient(std::uint16_t port, std::chrono::milliseconds deadline = std::chrono::seconds(10))
      : stream_(ioc_), deadline_(deadline) {
    beast::error_code ec;
    connect(port, ec);
    if (ec) throw std::runtime_error("connect failed: " + ec.message());
  }
  RawClient(std::uint16_t port, beast::error_code& ec) : stream_(ioc_), deadline_(std::chrono::seconds(10)) {
    connect(port, ec);
  }

  void send(std::string_view bytes) {
    beast::error_code result;
    stream_.expires_after(deadline_);
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) throw std::runtime_error("send failed: " + result.message());
  }

  // Reads one response; `head` for responses to HEAD (no body follows).
  Resp read(bool head = false) {
    beast::error_code ec;
    Resp r = read(ec, head);
    if (ec) throw std::runtime_error("read failed: " + ec.message());
    return r;
  }
  Resp read(beast::error_code& result, bool head = false) {
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(64 << 20);
    if (head) p.skip(true);
    stream_.expires_after(deadline_);
    bhttp::async_read(stream_, buffer_, p, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return p.release();
  }
  // Reads only a response header (e.g. the interim "100 Continue").
  Resp read_interim() {
    bhttp::response_parser<bhttp::empty_body> p;
    beast::error_code result;
    stream_.expires_after(deadline_);
    bhttp::async_read_header(stream_, buffer_, p, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) throw std::runtime_error("read failed: " + result.message());
    Resp r;
    r.result(p.get().result_int());
    return r;
  }

  // True once the server has closed the connection (EOF or reset) before the
  // deadline; false if bytes arrive or the deadline passes.
  bool closed_by_peer() {
    if (buffer_.size() > 0) return false;
    beast::error_code result;
    char c;
    stream_.expires_after(deadline_);
    stream_.async_read_some(asio::buffer(&c, 1), [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return result == asio::error::eof || result == asio::error::connection_reset;
  }

  // Incremental reading of a streamed response: one read_some into `p`
  // (header first, then body bytes as they arrive). False on error/deadline.
  template <typename Parser>
  bool read_some(Parser& p, beast::error_code& result) {
    stream_.expires_after(deadline_);
    bhttp::async_read_some(stream_, buffer_, p, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return !result;
  }
  template <typename Parser>
  void read_header(Parser& p) {
    beast::error_code result;
    stream_.expires_after(deadline_);
    bhttp::async_read_header(stream_, buffer_, p, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) throw std::runtime_error("read failed: " + result.message());
  }
  // Closes the socket (a client going away mid-response).
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }
  // Shrinks the receive buffer so the server's writes back up quickly.
  void small_receive_buffer() {
    stream_.socket().set_option(asio::socket_base::receive_buffer_size(4096));
  }

  Resp request(std::string_view method, std::string_view target, std::string_view body = {},
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    send(build(method, target, body, headers));
    return read(method == "HEAD");
  }

  static std::string build(std::string_view method, std::string_view target, std::string_view body = {},
                           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::string raw;
    raw.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
    bool has_type = false;
    for (const auto& [k, v] : headers) {
      raw.append(k).append(": ").append(v).append("\r\n");
      if (k == "Content-Type") has_type = true;
    }
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      if (!has_type) raw.append("Content-Type: application/json\r\n");
      raw.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    raw.append("\r\n").append(body);
    return raw;
  }

 private:
  void connect(std::uint16_t port, beast::error_code& result) {
    stream_.expires_after(deadline_);
    stream_.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code ec) { result = ec; });
    run();
  }
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds deadline_;
};

}  // namespace leadpipe::http::test
