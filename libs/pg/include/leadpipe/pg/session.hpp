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
#include <pqxx/result>
#include <pqxx/transaction_base>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::pg {

struct SessionOptions {
  std::string application_name;                      // empty: keep the server's / URL's
  std::chrono::milliseconds statement_timeout{0};    // 0: keep the server's / URL's
  std::chrono::seconds connect_timeout{5};           // applied unless the URL sets one
  // plan_cache_mode = force_generic_plan for the session: every statement
  // with parameters, prepared or not, is planned without their values. Only
  // for connections that run nothing but statements whose best plan is the
  // same for every value (see exec_prepared_cached).
  bool generic_plans = false;
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

// Runs `sql` with its text parameters as a named prepared statement of tx's
// connection, prepared there on first use (named after the text's SHA-256,
// so the same text is the same statement on every call). PostgreSQL then
// skips parsing and analysis, and after five executions it may keep a
// generic plan instead of planning again: for a list page at 1M leads that
// halves the server's CPU per statement (bench/README.md, Leads).
//
// Use it only for statements whose best plan does not depend on the
// parameters' values (an equality the index serves in order, not a tag or
// a search term whose frequency decides between two plans), and only for a
// bounded set of texts: every text stays prepared on its connection for the
// connection's lifetime. A statement whose result type a migration changed
// ("cached plan must not change result type") is dropped and run unprepared.
pqxx::result exec_prepared_cached(pqxx::transaction_base& tx, const std::string& sql,
                                  const std::vector<std::string>& params);

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
