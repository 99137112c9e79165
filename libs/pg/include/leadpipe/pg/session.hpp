#pragma once
// One PostgreSQL connection opened the way every Leadpipe component wants it:
// bounded connect time, session settings applied, server notices routed to the
// JSON log instead of raw stderr, and libpqxx's silent auto-reconnect turned
// off (a reconnect would drop session state such as advisory locks and LISTEN
// registrations without anyone noticing; we would rather see the error and
// open a fresh connection deliberately).
//
// Not thread-safe: a Session is used by one thread at a time (the pool hands
// it out exclusively; the outbox relay owns its sessions).
#include <leadpipe/log/log.hpp>

#include <pqxx/connection>
#include <pqxx/errorhandler>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace leadpipe::pg {

struct SessionOptions {
  std::string application_name;                      // empty: keep the server's / URL's
  std::chrono::milliseconds statement_timeout{0};    // 0: keep the server's / URL's
  std::chrono::seconds connect_timeout{5};           // applied unless the URL sets one
};

class Session {
 public:
  // Connects now (blocking, bounded by connect_timeout). Throws
  // pqxx::broken_connection when the server cannot be reached.
  Session(const std::string& url, const SessionOptions& options, log::Logger logger);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  pqxx::connection& conn() { return conn_; }

  // Cheap liveness check without a round trip: consumes whatever the server
  // sent while the session was idle (a FATAL "terminating connection" or EOF
  // after pg_terminate_backend / a server restart) and reports whether the
  // connection is still usable. Must not be called inside a transaction.
  bool alive() noexcept;

 private:
  class Notices : public pqxx::errorhandler {
   public:
    Notices(pqxx::connection_base& c, log::Logger logger)
        : pqxx::errorhandler(c), logger_(std::move(logger)) {}
    bool operator()(const char msg[]) noexcept override;

   private:
    log::Logger logger_;
  };

  pqxx::connection conn_;
  Notices notices_;
};

// `url` (a libpq key=value string or a postgres:// URI) with connect_timeout
// added when it does not set one already.
std::string with_connect_timeout(const std::string& url, std::chrono::seconds timeout);

// Lower-case hex SHA-256 of `data` (OpenSSL).
std::string sha256_hex(std::string_view data);

// A stable 64-bit advisory-lock key for a name: the first 8 bytes of its
// SHA-256. Computed client-side so it does not depend on PostgreSQL's
// internal hash functions, and namespaced by the caller ("leadpipe.migrate:" +
// schema, "leadpipe.outbox:" + schema) so different uses never collide.
std::int64_t advisory_lock_key(std::string_view name);

// True for a plain lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63
// bytes); schema names are restricted to these so that they read the same
// quoted and unquoted, and in NOTIFY channel names.
bool is_simple_identifier(std::string_view name) noexcept;

}  // namespace leadpipe::pg
