#pragma once
// Forward-only schema migrations.
//
// Each service ships its migrations inside its binary (leadpipe_embed) as
// files named `NNNN_description.sql` (four digits, then [A-Za-z0-9_-]), and
// calls migrate() at start-up (or `leadctl migrate`):
//
//   LEADPIPE_DECLARE_EMBEDDED(leads_migrations)
//   pg::migrate(cfg.pg_url, "leads", leadpipe::embedded::leads_migrations(), log);
//
// What it guarantees:
// - files run in version order, each in its own transaction with
//   `search_path` set to the schema only (qualify anything from elsewhere,
//   e.g. extensions in public), and are recorded in
//   <schema>.schema_migrations(version, name, checksum sha256 hex, applied_at);
// - replicas may start together: the run holds a session advisory lock keyed
//   by the schema, so the second waits and then finds nothing to do;
// - the schema is created when missing (checked in pg_namespace first, so a
//   role without CREATE on the database works once the schema exists);
// - an applied file whose contents changed, a renamed applied file, a new file
//   numbered below an applied one, a bad or duplicate file name: MigrationError
//   naming the file, before anything is applied. A failing file: MigrationError
//   naming it (the pqxx error nested), with that file rolled back and earlier
//   files kept.
// Statements that refuse to run inside a transaction (CREATE INDEX
// CONCURRENTLY, ALTER TYPE ... ADD VALUE before PG 12) are not supported.
//
// Blocking; opens its own connection. Safe to call from several threads or
// processes at once.
#include <leadpipe/embedded.hpp>
#include <leadpipe/log/log.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::pg {

struct MigrationError : std::runtime_error {
  using runtime_error::runtime_error;
};

// One migration file, validated.
struct Migration {
  int version = 0;          // NNNN
  std::string name;         // the file name, e.g. "0001_create_leads.sql"
  std::string_view sql;     // the file's contents (points into the embedded file)
  std::string checksum;     // sha256 hex of sql
};

// Validates names (NNNN_description.sql), rejects duplicate versions and
// sorts by version. Pure; throws MigrationError naming the offending file.
std::vector<Migration> plan_migrations(const std::vector<embedded::File>& files);

// Applies what is pending; returns the names applied, in order (empty when up
// to date). Throws MigrationError (see above), std::invalid_argument for a
// schema that is not a plain lower-case identifier, and pqxx exceptions when
// the database cannot be reached.
std::vector<std::string> migrate(const std::string& url, const std::string& schema,
                                 const std::vector<embedded::File>& files,
                                 const log::Logger& logger);

}  // namespace leadpipe::pg
