#include "leadpipe/pg/migrate.hpp"

#include "leadpipe/pg/session.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace leadpipe::pg {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_description_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

// "NNNN_description.sql" -> NNNN, or -1.
int parse_version(std::string_view name) {
  constexpr std::string_view suffix = ".sql";
  if (name.size() < 4 + 1 + 1 + suffix.size()) return -1;
  if (name.substr(name.size() - suffix.size()) != suffix) return -1;
  for (int i = 0; i < 4; ++i) {
    if (!is_digit(name[i])) return -1;
  }
  if (name[4] != '_') return -1;
  const std::string_view description = name.substr(5, name.size() - 5 - suffix.size());
  if (description.empty() || !std::all_of(description.begin(), description.end(), is_description_char)) {
    return -1;
  }
  return (name[0] - '0') * 1000 + (name[1] - '0') * 100 + (name[2] - '0') * 10 + (name[3] - '0');
}

struct Applied {
  std::string name;
  std::string checksum;
};

// Holds the schema's migration lock for the lifetime of the object. The lock
// is session-level, so it also ends if the connection dies.
class MigrationLock {
 public:
  MigrationLock(pqxx::connection& conn, const std::string& schema, const log::Logger& logger)
      : conn_(conn), key_(advisory_lock_key("leadpipe.migrate:" + schema)) {
    pqxx::nontransaction tx(conn_);
    if (!tx.exec_params1("SELECT pg_try_advisory_lock($1)", key_)[0].as<bool>()) {
      logger.info("another process is migrating this schema; waiting for it");
      tx.exec_params("SELECT pg_advisory_lock($1)", key_);
    }
  }
  ~MigrationLock() {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
    } catch (...) {
      // Connection gone: the server released the lock with the session.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  pqxx::connection& conn_;
  const std::int64_t key_;
};

void ensure_schema(pqxx::connection& conn, const std::string& schema, const log::Logger& logger) {
  pqxx::work tx(conn);
  const std::string q = tx.quote_name(schema);
  if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema).empty()) {
    tx.exec0("CREATE SCHEMA " + q);
    logger.info("created schema");
  }
  // Checked first for the same reason as the schema: CREATE TABLE IF NOT
  // EXISTS still demands CREATE on the schema.
  if (tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", q + ".schema_migrations")[0].as<bool>() ==
      false) {
    tx.exec0("CREATE TABLE " + q +
             ".schema_migrations ("
             "version integer PRIMARY KEY, "
             "name text NOT NULL, "
             "checksum text NOT NULL, "
             "applied_at timestamptz NOT NULL DEFAULT now())");
  }
  tx.commit();
}

std::map<int, Applied> applied_migrations(pqxx::connection& conn, const std::string& schema) {
  pqxx::read_transaction tx(conn);
  std::map<int, Applied> out;
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM " + tx.quote_name(schema) +
                                 ".schema_migrations")) {
    out.emplace(row[0].as<int>(), Applied{row[1].as<std::string>(), row[2].as<std::string>()});
  }
  return out;
}

}  // namespace

std::vector<Migration> plan_migrations(const std::vector<embedded::File>& files) {
  std::vector<Migration> plan;
  plan.reserve(files.size());
  std::map<int, std::string> seen;
  for (const auto& file : files) {
    const int version = parse_version(file.name);
    if (version < 0) {
      throw MigrationError("migration file name '" + std::string(file.name) +
                           "' does not match NNNN_description.sql");
    }
    if (auto [it, inserted] = seen.emplace(version, std::string(file.name)); !inserted) {
      throw MigrationError("migrations '" + it->second + "' and '" + std::string(file.name) +
                           "' share version " + std::to_string(version));
    }
    plan.push_back(Migration{version, std::string(file.name), file.contents, sha256_hex(file.contents)});
  }
  std::sort(plan.begin(), plan.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return plan;
}

std::vector<std::string> migrate(const std::string& url, const std::string& schema,
                                 const std::vector<embedded::File>& files,
                                 const log::Logger& base_logger) {
  if (!is_simple_identifier(schema)) {
    throw std::invalid_argument("schema name '" + schema +
                                "' must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)");
  }
  const log::Logger logger = base_logger.with({{"schema", schema}});
  // Validate the files before touching the database: a bad build fails fast.
  const std::vector<Migration> plan = plan_migrations(files);

  Session session(url, SessionOptions{.application_name = "leadpipe-migrate:" + schema}, logger);
  pqxx::connection& conn = session.conn();
  MigrationLock lock(conn, schema, logger);
  ensure_schema(conn, schema, logger);

  // Under the lock, so this is the state nobody else is changing.
  const std::map<int, Applied> applied = applied_migrations(conn, schema);
  const int latest_applied = applied.empty() ? -1 : applied.rbegin()->first;

  std::vector<const Migration*> pending;
  std::set<int> known;
  for (const Migration& m : plan) {
    known.insert(m.version);
    if (auto it = applied.find(m.version); it != applied.end()) {
      if (it->second.name != m.name) {
        throw MigrationError("migration " + m.name + " has version " + std::to_string(m.version) +
                             ", which was applied as " + it->second.name +
                             "; applied migrations must never be renamed");
      }
      if (it->second.checksum != m.checksum) {
        throw MigrationError("migration " + m.name +
                             " was changed after it was applied (checksum " + m.checksum +
                             ", applied " + it->second.checksum +
                             "); add a new migration instead of editing one");
      }
      continue;
    }
    if (m.version < latest_applied) {
      throw MigrationError("migration " + m.name + " is new but numbered below " +
                           applied.rbegin()->second.name +
                           ", which is already applied; renumber it after the latest");
    }
    pending.push_back(&m);
  }
  for (const auto& [version, a] : applied) {
    if (!known.count(version)) {
      // A newer binary ran first (rolling deploy, rollback): not ours to undo.
      logger.warn("database has a migration this binary does not know",
                  {{"migration", a.name}});
    }
  }

  std::vector<std::string> done;
  for (const Migration* m : pending) {
    const auto started = std::chrono::steady_clock::now();
    try {
      pqxx::work tx(conn);
      tx.exec0("SET LOCAL search_path TO " + tx.quote_name(schema));
      tx.exec(std::string(m->sql));
      tx.exec_params0("INSERT INTO " + tx.quote_name(schema) +
                          ".schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                      m->version, m->name, m->checksum);
      tx.commit();
    } catch (const std::exception& e) {
      logger.error("migration failed", {{"migration", m->name}, {"error", e.what()}});
      std::throw_with_nested(MigrationError("migration " + m->name + " failed: " + e.what()));
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    logger.info("applied migration", {{"migration", m->name}, {"duration_ms", ms}});
    done.push_back(m->name);
  }
  if (done.empty()) logger.debug("schema up to date", {{"migrations", plan.size()}});
  return done;
}

}  // namespace leadpipe::pg
