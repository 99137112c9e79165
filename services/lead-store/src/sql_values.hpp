#pragma once
// Conversions between lead-store's C++ values and what PostgreSQL stores:
// nullable text, jsonb string arrays / objects and text[] literals. One copy,
// used by every repository file.
#include <pqxx/pqxx>

#include <map>
#include <optional>
#include <string>
#include <vector>

// A timestamptz column as RFC 3339 UTC with milliseconds, for SELECT lists.
#define LP_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
// The same instant as integer microseconds since the epoch, for rows C++
// reads (format with sql::rfc3339_micros): to_char parses its format string
// on every call — four per lead made it ~30 % of a 50-lead list page's
// PostgreSQL time. Finite timestamps only (the bigint cast refuses infinity).
#define LP_US(col) "(extract(epoch from " col ") * 1000000)::bigint"

namespace leadpipe::leads::sql {

std::optional<std::string> opt(const pqxx::field& f);
// jsonb array of strings ↔ vector (non-strings are skipped when reading).
std::vector<std::string> json_strings(const std::string& json);
std::string json_array(const std::vector<std::string>& v);
// jsonb object of field → confidence ↔ map.
std::map<std::string, double> json_confidence_map(const std::string& json);
std::string json_confidence(const std::map<std::string, double>& m);
// jsonb object of strings → map (non-strings skipped).
std::map<std::string, std::string> json_string_map(const std::string& json);
// A text[] literal: {"a","b\"c"} — for = ANY / @> parameters and COPY.
std::string pg_array(const std::vector<std::string>& v);
// Microseconds since the epoch (LP_US) → "YYYY-MM-DDTHH:MM:SS.mmmZ", the
// text LP_TS gives (milliseconds truncated, as to_char's MS does).
std::string rfc3339_micros(long long micros);
std::optional<std::string> opt_rfc3339_micros(const pqxx::field& f);
// The same text written into `out` (24 bytes, not NUL-terminated): no heap.
constexpr std::size_t kRfc3339MicrosSize = 24;
void rfc3339_micros(long long micros, char* out);
// A search box's words: "Budi  sant" → {"budi", "sant"}. Words are runs of
// ASCII digits, or of ASCII letters (lower-cased) and UTF-8 sequences (bytes
// >= 0x80, left to PostgreSQL's lower()) — split where letters meet digits,
// as leads.search_document does; everything else separates them, so no quote,
// backslash or operator of the user's survives. At most 8 words of at most
// 64 bytes (never cut inside a UTF-8 sequence).
std::vector<std::string> search_terms(std::string_view text);

}  // namespace leadpipe::leads::sql
