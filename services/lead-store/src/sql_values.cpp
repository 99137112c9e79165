#include "sql_values.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <leadpipe/http/json.hpp>

namespace leadpipe::leads::sql {

std::optional<std::string> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

namespace {

// Parses a small JSON column (a lead's tags, reasons, confidences) without
// the heap: a default rapidjson::Document takes a 64 KB chunk per parse, and
// a 50-lead list page parsed 200 of them (malloc/free and glibc's
// malloc_consolidate were ~15 % of lead-store's CPU). Larger values spill
// into heap chunks as usual.
struct SmallDocument {
  http::BufferedDocument<2048, 1024> parsed;
  const http::BufferedDocument<2048, 1024>::Document& doc = parsed.doc();
  explicit SmallDocument(const std::string& json) { parsed.doc().Parse(json.c_str(), json.size()); }
};

// The empty values most leads carry, answered without parsing.
bool empty_json(const std::string& json) { return json.size() <= 2 && (json == "[]" || json == "{}" || json.empty()); }

}  // namespace

std::vector<std::string> json_strings(const std::string& json) {
  if (empty_json(json)) return {};
  SmallDocument small(json);
  const auto& d = small.doc;
  std::vector<std::string> out;
  if (d.IsArray()) {
    for (const auto& v : d.GetArray()) {
      if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
    }
  }
  return out;
}

std::string json_array(const std::vector<std::string>& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

std::map<std::string, double> json_confidence_map(const std::string& json) {
  if (empty_json(json)) return {};
  SmallDocument small(json);
  const auto& d = small.doc;
  std::map<std::string, double> out;
  if (d.IsObject()) {
    for (const auto& m : d.GetObject()) {
      if (m.value.IsNumber()) out[m.name.GetString()] = m.value.GetDouble();
    }
  }
  return out;
}

std::string json_confidence(const std::map<std::string, double>& m) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [k, v] : m) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.Double(v);
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::map<std::string, std::string> json_string_map(const std::string& json) {
  if (empty_json(json)) return {};
  SmallDocument small(json);
  const auto& d = small.doc;
  std::map<std::string, std::string> out;
  if (d.IsObject()) {
    for (const auto& m : d.GetObject()) {
      if (m.value.IsString()) {
        out.emplace(m.name.GetString(), std::string(m.value.GetString(), m.value.GetStringLength()));
      }
    }
  }
  return out;
}

std::string pg_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<std::string> search_terms(std::string_view text) {
  constexpr std::size_t kMaxWords = 8;
  constexpr std::size_t kMaxWordBytes = 64;
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && out.size() < kMaxWords) {
      std::size_t n = std::min(word.size(), kMaxWordBytes);
      // Never cut a UTF-8 sequence: back up over its continuation bytes.
      while (n < word.size() && n > 0 && (static_cast<unsigned char>(word[n]) & 0xC0) == 0x80) --n;
      out.push_back(word.substr(0, n));
    }
    word.clear();
  };
  bool digits = false;  // the current word is a run of digits
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool digit = std::isdigit(c);
    if (c >= 0x80 || std::isalnum(c)) {
      if (!word.empty() && digit != digits) flush();  // "santoso87" is "santoso" and "87", as indexed
      digits = digit;
      word.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

void rfc3339_micros(long long micros, char* out) {
  constexpr long long kPerSecond = 1000000;
  long long secs = micros / kPerSecond;
  long long rem = micros % kPerSecond;
  if (rem < 0) {  // floor, not truncation, before 1970
    rem += kPerSecond;
    --secs;
  }
  // Civil date by arithmetic (std::chrono's calendar), not gmtime_r, which
  // takes glibc's time-zone lock on every call. By hand, not snprintf: that
  // was 3.6 % of a 50-lead list request's CPU. Years 0–9999 (RFC 3339's
  // four digits; lead timestamps come from clocks).
  using namespace std::chrono;
  const sys_seconds t{seconds{secs}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  auto put = [out](std::size_t at, int value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<int>(ymd.year()), 4);
  out[4] = '-';
  put(5, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
  out[7] = '-';
  put(8, static_cast<int>(static_cast<unsigned>(ymd.day())), 2);
  out[10] = 'T';
  put(11, static_cast<int>(hms.hours().count()), 2);
  out[13] = ':';
  put(14, static_cast<int>(hms.minutes().count()), 2);
  out[16] = ':';
  put(17, static_cast<int>(hms.seconds().count()), 2);
  out[19] = '.';
  put(20, static_cast<int>(rem / 1000), 3);
  out[23] = 'Z';
}

std::string rfc3339_micros(long long micros) {
  std::string out(kRfc3339MicrosSize, '0');
  rfc3339_micros(micros, out.data());
  return out;
}

std::optional<std::string> opt_rfc3339_micros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return rfc3339_micros(f.as<long long>());
}

}  // namespace leadpipe::leads::sql
