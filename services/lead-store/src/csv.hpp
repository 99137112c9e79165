#pragma once
// RFC 4180 CSV: a small parser for uploads and a writer for exports.
//
// Hand-written rather than libcsv: it is ~100 lines, needs no extra system
// package, and reports the line of a malformed record, which an import's
// error message must name. Pure; thread-safe.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::leads::csv {

struct ParseError : std::runtime_error {
  std::size_t line;  // 1-based physical line where the bad record starts
  ParseError(std::size_t line_no, const std::string& what)
      : std::runtime_error("line " + std::to_string(line_no) + ": " + what), line(line_no) {}
};

using Record = std::vector<std::string>;

// Parses `text` (UTF-8, a leading BOM is skipped) into records: fields split
// by commas, records by CRLF or LF; a quoted field may hold commas, CR/LF and
// doubled quotes. Blank lines are skipped. Throws ParseError on an
// unterminated quote, text after a closing quote, or more than `max_records`
// records.
std::vector<Record> parse(std::string_view text, std::size_t max_records = static_cast<std::size_t>(-1));

// Appends one field, quoted when it holds a comma, quote, CR or LF. With
// `neutralise_formulas`, a cell a spreadsheet would evaluate (starting with =,
// @, a tab or CR, or + / - not followed by a plain number such as an E.164
// phone) is prefixed with a single quote (OWASP CSV injection).
void append_field(std::string& out, std::string_view field, bool neutralise_formulas = true);
// Appends a whole record terminated by CRLF.
void append_record(std::string& out, const std::vector<std::string_view>& fields, bool neutralise_formulas = true);

}  // namespace leadpipe::leads::csv
