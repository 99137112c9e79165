#include "leadpipe/pg/session.hpp"

#include <openssl/evp.h>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction_base>

#include <poll.h>

#include <bit>
#include <cerrno>
#include <stdexcept>

namespace leadpipe::pg {

Session::Session(const std::string& url, const SessionOptions& options, log::Logger logger)
    : conn_(with_connect_timeout(url, options.connect_timeout)), notices_(conn_, std::move(logger)) {
  // libpqxx 6 would transparently reconnect a broken connection on next use,
  // silently losing session state (advisory locks, LISTEN, SET). Deprecated
  // API, but the only switch for it in 6.4; libpqxx 7 dropped reactivation.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn_.inhibit_reactivation(true);
#pragma GCC diagnostic pop

  const bool set_timeout = options.statement_timeout.count() > 0;
  const bool set_name = !options.application_name.empty();
  if (set_timeout || set_name) {
    pqxx::nontransaction tx(conn_);
    const std::string timeout = std::to_string(options.statement_timeout.count());
    if (set_timeout && set_name) {
      tx.exec_params(
          "SELECT set_config('statement_timeout', $1, false), "
          "set_config('application_name', $2, false)",
          timeout, options.application_name);
    } else if (set_timeout) {
      tx.exec_params("SELECT set_config('statement_timeout', $1, false)", timeout);
    } else {
      tx.exec_params("SELECT set_config('application_name', $1, false)",
                     options.application_name);
    }
    tx.commit();
  }
  if (options.generic_plans) {
    pqxx::nontransaction tx(conn_);
    tx.exec("SELECT set_config('plan_cache_mode', 'force_generic_plan', false)");
    tx.commit();
  }
}

Session::~Session() = default;

bool Session::alive() noexcept {
  try {
    // Without a round trip: a backend that was terminated (pg_terminate_backend,
    // server restart, idle_session_timeout, a proxy dropping us) has sent a
    // FATAL message and closed its end. An idle healthy session has nothing to
    // read, except LISTEN notifications, which are consumed here.
    for (int round = 0; round < 8; ++round) {
      if (!conn_.is_open()) return false;
      pollfd p{conn_.sock(), POLLIN | POLLRDHUP, 0};
      const int ready = ::poll(&p, 1, 0);
      if (ready < 0) return errno == EINTR ? conn_.is_open() : false;
      if (ready == 0) return true;
      if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return false;
      conn_.get_notifs();  // PQconsumeInput: reads what arrived
    }
    return conn_.is_open();
  } catch (...) {
    return false;
  }
}

bool Session::Notices::operator()(const char msg[]) noexcept {
  try {
    std::string_view text(msg ? msg : "");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    if (text.rfind("WARNING", 0) == 0 || text.rfind("FATAL", 0) == 0 || text.rfind("ERROR", 0) == 0) {
      logger_.warn("postgres notice", {{"notice", text}});
    } else {
      logger_.debug("postgres notice", {{"notice", text}});
    }
  } catch (...) {
  }
  return false;  // handled: do not fall through to libpq's stderr printer
}

std::string with_connect_timeout(const std::string& url, std::chrono::seconds timeout) {
  if (url.find("connect_timeout") != std::string::npos || timeout.count() <= 0) return url;
  const std::string param = "connect_timeout=" + std::to_string(timeout.count());
  const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (uri) return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
  return url.empty() ? param : url + " " + param;
}

pqxx::result exec_prepared_cached(pqxx::transaction_base& tx, const std::string& sql,
                                  const std::vector<std::string>& params) {
  const std::string name = "lp_" + sha256_hex(sql).substr(0, 32);
  auto& conn = tx.conn();
  conn.prepare(name, sql);  // a no-op when this connection has it already
  try {
    return tx.exec_prepared(name, pqxx::prepare::make_dynamic_params(params));
  } catch (const pqxx::feature_not_supported&) {
    // "cached plan must not change result type": a migration altered a column
    // the statement returns. This execution failed without effect; forget the
    // statement (prepared again on next use) and run this one unprepared.
    conn.unprepare(name);
    return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
  }
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256: EVP_Digest failed");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0x0f]);
  }
  return out;
}

std::int64_t advisory_lock_key(std::string_view name) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(name.data(), name.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256: EVP_Digest failed");
  }
  std::uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | md[i];
  return std::bit_cast<std::int64_t>(key);
}

bool is_simple_identifier(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  const auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!lower(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!lower(c) && !digit(c) && c != '_') return false;
  }
  return true;
}

}  // namespace leadpipe::pg
