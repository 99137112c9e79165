#pragma once
// CSV import, the pure part: header mapping, per-row normalisation and
// validation, in-file duplicates (prepare), then the decision per row against
// the tenant's existing leads (decide). No I/O: import_repository.cpp loads
// the existing leads and writes the plan; api_import.cpp is the HTTP glue. A
// dry run and a real run share prepare + decide, so they report the same.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "csv.hpp"
#include "lead.hpp"

namespace leadpipe::leads::import {

// What an existing lead matched by a row gets.
enum class OnExisting {
  update,  // empty fields are filled, tags added (nothing filled → "duplicate")
  skip,    // left alone: the row is a "duplicate"
};

struct Options {
  std::string default_region = "ID";           // ISO 3166 region for numbers without +country
  std::map<std::string, std::string> mapping;  // file column (case-insensitive) → field name
  std::vector<std::string> tags;               // added to every row's tags
  std::optional<std::string> owner;            // sales head whose pool the created leads join
  // A sales head imports into their own pool only: a row matching a lead of
  // another pool is reported as a duplicate and that lead is left alone.
  std::optional<std::string> restrict_owner;
  OnExisting on_existing = OnExisting::update;
};

// Fields a column can map to. Any other column lands in the lead's `extra`.
inline const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> f{"name", "phone", "email", "session_year", "program", "source", "tags"};
  return f;
}

// Confidence given to values from a file in capture metadata: above the
// WhatsApp profile name and the LLM, below a rule hit ("nama saya …").
inline constexpr double kImportConfidence = 0.9;
inline constexpr const char* kStatusInserted = "inserted";
inline constexpr const char* kStatusUpdated = "updated";
inline constexpr const char* kStatusDuplicate = "duplicate";
inline constexpr const char* kStatusInvalid = "invalid";

struct Row {
  int row = 0;             // 1 = the first record after the header
  std::string status;      // empty while pending; then inserted | updated | duplicate | invalid
  std::string reason;      // why invalid / duplicate (client-visible)
  std::optional<std::string> name, phone, email, session_year, program, source;
  std::vector<std::string> tags;
  std::map<std::string, std::string> extra;
  std::string lead_id;     // the lead inserted / updated / matched
  std::optional<std::string> assigned_to;  // telecaller an assignment rule gives the inserted lead
};

// A client error in the file or the options as a whole (400).
struct FileError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Maps the header (after `mapping`), normalises every row (phone → E.164 in
// `default_region`, e-mail trimmed + lower-cased, tags split on , or ;) and
// marks invalid rows (no phone and no e-mail, unparsable phone, malformed
// e-mail, over-long values) and in-file duplicates (same phone, else same
// e-mail, as an earlier valid row). Throws FileError when the header is
// missing, names a column twice, has neither phone nor email, or a mapping
// names a column the file lacks or a field that does not exist.
std::vector<Row> prepare(const std::vector<csv::Record>& records, const Options& options);

// An existing live lead of the tenant that rows may match.
struct Existing {
  Lead lead;
  std::optional<std::string> owner;
  std::optional<std::string> session_year;
  std::vector<std::string> tags;
  std::map<std::string, std::string> extra;
};

// A lead the import writes: inserted or updated, with what changed.
struct Change {
  std::size_t row_index = 0;  // into Plan::rows
  bool created = false;
  Lead lead;                  // after the change (version already bumped)
  std::optional<std::string> owner;
  std::optional<std::string> session_year;
  std::vector<std::string> tags;
  std::map<std::string, std::string> extra;
  std::vector<std::string> changed;           // fields that changed (updates)
  std::vector<CaptureRecord> captures;        // file values with their evidence
  std::optional<std::string> previous_stage;  // set when incomplete → complete moved it
  std::string previous_stage_changed_at;      // when the lead had entered previous_stage
  // Assignment rules (created leads only; set by import::plan_assignments).
  std::optional<std::string> rule_team;    // the first active team that takes the lead
  std::optional<std::string> rule_member;  // its member who gets it (nullopt: nobody eligible)
  std::string rule_strategy;               // the team's strategy (with rule_team)
  std::string rule_skipped;                // why nobody got it (unassigned_reason), when rule_member is empty
};

// A pair of leads that may be one person (leads.duplicate_candidates).
struct CandidatePair {
  std::string lead_id, other_lead_id;
  std::string reason;  // brazil_ninth_digit | country_code | email
  std::string detail;  // JSON
};

struct Plan {
  std::vector<Row> rows;
  std::vector<Change> changes;
  int inserted = 0, updated = 0, duplicates = 0, invalid = 0;
  int assigned = 0;                       // inserted leads given a telecaller by an assignment rule
  std::vector<CandidatePair> candidates;  // new duplicate-candidate pairs (plan_duplicate_candidates)
  std::vector<std::pair<std::string, int>> rr_next;  // team → round-robin position after the plan
};

// Decides every pending row against `existing` (matched by phone, then by
// e-mail). A row whose e-mail matches a lead with another phone is not merged
// on that weak signal: it becomes its own lead (the pair shows up in the
// duplicate candidates). Two rows reaching the same lead: the second is a
// duplicate. `new_id` makes ids for created leads; `now` is RFC 3339.
Plan decide(std::vector<Row> rows, const std::vector<Existing>& existing, const Options& options,
            const Pipeline& pipeline, const std::function<std::string()>& new_id, const std::string& now);

// E.164 of `raw` in `region` (libphonenumber), or nullopt when not a valid number.
std::optional<std::string> normalize_phone(const std::string& raw, const std::string& region);
// A pragmatic shape check: one @, non-empty local part, a dotted domain, no spaces.
bool plausible_email(const std::string& email);
// Whether `region` is a region libphonenumber knows ("ID", "BR", …).
bool known_region(const std::string& region);

}  // namespace leadpipe::leads::import
