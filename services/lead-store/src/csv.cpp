#include "csv.hpp"

namespace leadpipe::leads::csv {

std::vector<Record> parse(std::string_view text, std::size_t max_records) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Record> records;
  Record record;
  std::string field;
  std::size_t line = 1;
  std::size_t record_line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  bool field_started = false;  // the current record has content (even an empty quoted field)

  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.size() == 1 && record[0].empty() && !field_started;
    if (!blank) {
      if (records.size() >= max_records) {
        throw ParseError(record_line, "more than " + std::to_string(max_records) + " records");
      }
      records.push_back(std::move(record));
    }
    record.clear();
    field_started = false;
  };

  while (i < n) {
    const char c = text[i];
    const bool at_field_start = i == 0 || text[i - 1] == ',' || text[i - 1] == '\n' || text[i - 1] == '\r';
    if (c == '"' && at_field_start) {
      // Quoted field: read to the closing quote; "" is a literal quote.
      const std::size_t start_line = line;
      field_started = true;
      ++i;
      for (;;) {
        if (i >= n) throw ParseError(start_line, "unterminated quoted field");
        const char q = text[i];
        if (q == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (q == '\n') ++line;
        field.push_back(q);
        ++i;
      }
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        throw ParseError(line, "unexpected character after a closing quote");
      }
      continue;
    }
    if (c == ',') {
      field_started = true;
      end_field();
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      end_record();
      if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      record_line = line;
      continue;
    }
    field_started = true;
    field.push_back(c);
    ++i;
  }
  if (field_started || !field.empty() || !record.empty()) end_record();
  return records;
}

namespace {

bool plain_number(std::string_view s) {
  // "+6281234567890", "-12.5": digits, spaces, dots only after the sign.
  if (s.size() < 2) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || c == ' ' || c == '.')) return false;
  }
  return true;
}

}  // namespace

void append_field(std::string& out, std::string_view field, bool neutralise_formulas) {
  bool formula = false;
  if (neutralise_formulas && !field.empty()) {
    const char c = field[0];
    formula = c == '=' || c == '@' || c == '\t' || c == '\r' ||
              ((c == '+' || c == '-') && !plain_number(field));
  }
  const bool quote = formula || field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  if (formula) out.push_back('\'');
  for (const char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_record(std::string& out, const std::vector<std::string_view>& fields, bool neutralise_formulas) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    append_field(out, fields[i], neutralise_formulas);
  }
  out.append("\r\n");
}

}  // namespace leadpipe::leads::csv
