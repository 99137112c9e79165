// The live stream (GET /api/v1/leads/stream, Server-Sent Events) end to end:
// the real lead-store binary, its outbox relay and its live feed on the real
// Kafka. Changes made through the CRM API reach an admin of the tenant, a
// counsellor only for the leads assigned to them, another tenant never;
// Last-Event-ID replays what a reconnecting client missed; ?access_token=
// works where a browser's EventSource cannot send headers, and a missing or
// invalid token is a 401.
//
// The SSE client is a plain socket speaking HTTP/1.1 (chunked, as a browser
// gets it): every read waits in poll() with a deadline, so nothing here can
// hang on a stream that never ends.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <leadpipe/events/cloud_event.hpp>

#include "stack.hpp"

using namespace leadpipe;
using leadpipe::e2e::Stack;
using namespace std::chrono_literals;

namespace {

struct Frame {
  std::string id, event, data;  // data: the CloudEvent JSON
  std::string tenant, lead_id;  // from the CloudEvent
};

// One SSE connection. Single-threaded: the socket is read only inside wait()
// (bounded by its timeout), so the frames seen are those read so far.
class SseClient {
 public:
  SseClient(int port, const std::string& target,
            const std::map<std::string, std::string>& headers = {}) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n";
    REQUIRE(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  }
  ~SseClient() { close(); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Reads until done() holds or `timeout` passes (or the server closes);
  // returns done().
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || fd_ < 0 || eof_) return done();
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100))) <= 0) continue;
      char buf[8192];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      raw_.append(buf, static_cast<std::size_t>(n));
      decode();
    }
    return true;
  }
  bool wait_connected() {
    return wait([this] { return body_.find(": connected\n\n") != std::string::npos; });
  }
  // Waits for a frame of `event` about `lead_id`.
  bool wait_frame(const std::string& event, const std::string& lead_id,
                  std::chrono::milliseconds t = 10s) {
    return wait([&] { return has(event, lead_id); }, t);
  }

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  std::vector<Frame> frames() const {
    std::vector<Frame> out;
    std::size_t at = 0;
    for (auto end = body_.find("\n\n"); end != std::string::npos;
         at = end + 2, end = body_.find("\n\n", at)) {
      Frame f;
      std::size_t line_at = at;
      while (line_at < end) {
        auto eol = body_.find('\n', line_at);
        if (eol == std::string::npos || eol > end) eol = end;
        const auto line = body_.substr(line_at, eol - line_at);
        line_at = eol + 1;
        if (line.rfind("id: ", 0) == 0) f.id = line.substr(4);
        if (line.rfind("event: ", 0) == 0) f.event = line.substr(7);
        if (line.rfind("data: ", 0) == 0) f.data = line.substr(6);
      }
      if (f.id.empty()) continue;  // a comment block (": connected", ": ping") or "retry:"
      const auto ev = events::parse(f.data);
      f.tenant = ev.tenant;
      rapidjson::Document d;
      d.Parse(ev.data.c_str(), ev.data.size());
      if (d.IsObject() && d.HasMember("lead_id") && d["lead_id"].IsString())
        f.lead_id = d["lead_id"].GetString();
      out.push_back(std::move(f));
    }
    return out;
  }
  bool has(const std::string& event, const std::string& lead_id) const {
    for (const auto& f : frames()) {
      if (f.event == event && f.lead_id == lead_id) return true;
    }
    return false;
  }
  std::set<std::string> lead_ids() const {
    std::set<std::string> out;
    for (const auto& f : frames()) out.insert(f.lead_id);
    return out;
  }

 private:
  // Status line and headers, then the chunked body decoded into body_.
  void decode() {
    if (status_ == 0) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end);
      raw_.erase(0, end + 4);
      status_ = std::stoi(head_.substr(head_.find(' ') + 1, 3));
      std::string lower;
      for (char c : head_) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
    }
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    for (;;) {
      const auto eol = raw_.find("\r\n");
      if (eol == std::string::npos) return;
      const auto size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2) return;
      body_.append(raw_, eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
      if (size == 0) eof_ = true;  // the last chunk: the stream ended
    }
  }

  int fd_ = -1;
  bool eof_ = false;
  int status_ = 0;
  bool chunked_ = false;
  std::string raw_, head_, body_;
};

std::string token(const Stack& s, const std::string& tenant, const std::string& role,
                  const std::string& sub) {
  auto t = s.leadctl({"token", "--tenant", tenant, "--role", role, "--sub", sub});
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

int port_of(const Stack& s) {
  return std::stoi(s.leads_url().substr(s.leads_url().rfind(':') + 1));
}

// A CRM API call (JSON in, JSON out) with a bounded wait.
httpclient::ClientResponse call(const Stack& s, const std::string& method, const std::string& path,
                                const std::string& bearer, const std::string& body = "") {
  httpclient::Headers headers{{"Authorization", "Bearer " + bearer}};
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return httpclient::request(method, s.leads_url() + path, headers, body, 10s);
}

std::string create(const Stack& s, const std::string& bearer, const std::string& name,
                   const std::string& phone) {
  auto r = call(s, "POST", "/api/v1/leads", bearer,
                R"({"name":")" + name + R"(","phone":")" + phone + R"("})");
  REQUIRE(r.status == 201);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  return d["id"].GetString();
}

void contacted(const Stack& s, const std::string& bearer, const std::string& id) {
  REQUIRE(call(s, "POST", "/api/v1/leads/" + id + "/stage", bearer, R"({"stage":"contacted"})")
              .status == 200);
}

}  // namespace

TEST_CASE(
    "live stream of the real binary: tenant and counsellor scope / Last-Event-ID replay / "
    "access_token / 401",
    "[e2e]") {
  Stack stack;
  const int port = port_of(stack);
  const auto admin = token(stack, "demo", "admin", "admin-1");
  const auto c1 = token(stack, "demo", "counselor", "c1");
  const auto acme = token(stack, "acme", "admin", "acme-admin");
  const auto warm = token(stack, "warm", "admin", "warm-admin");
  const std::string stream = "/api/v1/leads/stream";

  // No token, an invalid ?access_token=, an invalid bearer: 401 problem+json, no stream.
  for (const auto& [target, headers] : std::vector<std::pair<std::string, httpclient::Headers>>{
           {stream, {}},
           {stream + "?access_token=not-a-jwt", {}},
           {stream + "?access_token=" + admin + "x", {}},
           {stream, {{"Authorization", "Bearer not-a-jwt"}}}}) {
    INFO(target);
    const auto r = httpclient::request("GET", stack.leads_url() + target, headers, {}, 5s);
    CHECK(r.status == 401);
    REQUIRE(r.header("content-type"));
    CHECK(r.header("content-type")->find("application/problem+json") != std::string::npos);
  }

  // The admin as a browser's EventSource (token in the query), the others with the header.
  SseClient a(port, stream + "?access_token=" + admin);
  SseClient counsellor(port, stream, {{"Authorization", "Bearer " + c1}});
  SseClient other(port, stream, {{"Authorization", "Bearer " + acme}});
  SseClient w(port, stream, {{"Authorization", "Bearer " + warm}});
  for (auto* s : {&a, &counsellor, &other, &w}) {
    REQUIRE(s->wait_connected());
    CHECK(s->status() == 200);
    CHECK(s->head().find("text/event-stream") != std::string::npos);
  }

  // The live feed reads from the latest offset once its consumer group has
  // its partitions (after /readyz): change a lead of a tenant of its own
  // until one shows up, so nothing the test does later can be missed.
  bool flowing = false;
  for (int i = 0; i < 40 && !flowing; ++i) {
    const auto id =
        create(stack, warm, "Warmup " + std::to_string(i), "+6281300000" + std::to_string(100 + i));
    flowing = w.wait_frame("lead.created", id, 500ms);
  }
  REQUIRE(flowing);

  // The admin creates A; the counsellor creates C (assigned to them); both move to contacted.
  const auto lead_a = create(stack, admin, "Ana Admin", "+6281311110001");
  const auto lead_c = create(stack, c1, "Citra Counsellor", "+6281311110002");
  contacted(stack, admin, lead_a);
  contacted(stack, c1, lead_c);
  CHECK(a.wait_frame("lead.created", lead_a));
  CHECK(a.wait_frame("lead.created", lead_c));
  CHECK(a.wait_frame("lead.stage_changed", lead_a));
  CHECK(a.wait_frame("lead.stage_changed", lead_c));
  CHECK(counsellor.wait_frame("lead.created", lead_c));
  CHECK(counsellor.wait_frame("lead.stage_changed", lead_c));
  // Sentinels: a lead of c1's created and moved after A's events, on the same
  // topics (one partition each): once c1 has them, A's events were decided.
  const auto sentinel = create(stack, c1, "Sari Sentinel", "+6281311110003");
  contacted(stack, c1, sentinel);
  for (auto* s : {&a, &counsellor}) {
    REQUIRE(s->wait_frame("lead.created", sentinel));
    REQUIRE(s->wait_frame("lead.stage_changed", sentinel));
  }

  // The admin saw its tenant's changes, only its tenant's, as frames carrying the CloudEvent.
  const auto admin_frames = a.frames();
  for (const auto& f : admin_frames) {
    CHECK(f.tenant == "demo");
    CHECK(f.event == events::parse(f.data).type);
    CHECK(events::is_uuid(f.id));
  }
  CHECK(a.lead_ids() == std::set<std::string>{lead_a, lead_c, sentinel});
  // The counsellor only the leads assigned to them; the other tenant nothing at all.
  CHECK(counsellor.lead_ids() == std::set<std::string>{lead_c, sentinel});
  CHECK_FALSE(counsellor.has("lead.created", lead_a));
  CHECK_FALSE(counsellor.has("lead.stage_changed", lead_a));
  CHECK(other.frames().empty());

  // Last-Event-ID: the admin drops off; B is created and moved meanwhile (an
  // observer stream shows the feed has them); the reconnect replays exactly those.
  const auto last_seen = admin_frames.back().id;
  a.close();
  SseClient observer(port, stream, {{"Authorization", "Bearer " + admin}});
  REQUIRE(observer.wait_connected());
  const auto lead_b = create(stack, admin, "Bayu Missed", "+6281311110004");
  contacted(stack, admin, lead_b);
  REQUIRE(observer.wait_frame("lead.created", lead_b));
  REQUIRE(observer.wait_frame("lead.stage_changed", lead_b));
  SseClient fresh(port, stream + "?access_token=" + admin);  // no Last-Event-ID: no replay
  SseClient back(port, stream + "?access_token=" + admin, {{"Last-Event-ID", last_seen}});
  REQUIRE(back.wait_frame("lead.created", lead_b, 5s));
  REQUIRE(back.wait_frame("lead.stage_changed", lead_b, 5s));
  std::vector<std::string> replayed, missed;
  for (const auto& f : back.frames()) replayed.push_back(f.id);
  for (const auto& f : observer.frames()) missed.push_back(f.id);
  CHECK(replayed == missed);  // B's two events, in order, nothing seen before
  CHECK(back.lead_ids() == std::set<std::string>{lead_b});
  REQUIRE(fresh.wait_connected());
  CHECK(fresh.frames().empty());

  // The counsellor's replay (?last_event_id=, the query form) is scoped too:
  // after its first event, exactly the ones it was sent live — never A's or B's.
  const auto seen = counsellor.frames();
  REQUIRE(seen.size() == 4);
  std::vector<std::string> expected;
  for (std::size_t i = 1; i < seen.size(); ++i) expected.push_back(seen[i].id);
  SseClient counsellor_back(port, stream + "?last_event_id=" + seen.front().id,
                            {{"Authorization", "Bearer " + c1}});
  REQUIRE(
      counsellor_back.wait([&] { return counsellor_back.frames().size() >= expected.size(); }, 5s));
  std::vector<std::string> got;
  for (const auto& f : counsellor_back.frames()) got.push_back(f.id);
  CHECK(got == expected);
  CHECK(counsellor.frames().size() == 4);  // B's changes never reached it live either
  CHECK(other.frames().empty());
}
