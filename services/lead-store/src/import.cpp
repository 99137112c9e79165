#include "import.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace leadpipe::leads::import {
namespace {

constexpr std::size_t kMaxValue = 500;
constexpr std::size_t kMaxName = 200;
constexpr std::size_t kMaxEmail = 254;
constexpr std::size_t kMaxTag = 64;
constexpr std::size_t kMaxTags = 20;
constexpr std::size_t kMaxExtraValue = 2000;
constexpr std::size_t kParallelPhonesFrom = 2000;  // distinct phone values

std::string trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Valid UTF-8 (no overlongs, no surrogates): text goes into JSON and Kafka.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::vector<std::string> split_tags(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto t = trim(cur);
    if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
    cur.clear();
  };
  for (char c : text) {
    if (c == ',' || c == ';') {
      flush();
    } else {
      cur.push_back(c);
    }
  }
  flush();
  return out;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

std::optional<std::string> normalize_phone(const std::string& raw, const std::string& region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(raw, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  if (!util->IsValidNumber(number)) return std::nullopt;
  std::string out;
  util->Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

bool known_region(const std::string& region) {
  return region.size() == 2 && i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region) != 0;
}

bool plausible_email(const std::string& email) {
  if (email.size() < 3 || email.size() > kMaxEmail) return false;
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos) return false;
  const auto domain = std::string_view(email).substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : email) {
    if (c <= ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"') return false;
  }
  return true;
}

std::vector<Row> prepare(const std::vector<csv::Record>& records, const Options& options) {
  if (records.empty()) throw FileError("the file is empty: a header row naming the columns is required");
  const auto& header = records.front();

  std::map<std::string, std::string> mapping;  // lower-cased file column → field
  for (const auto& [from, to] : options.mapping) {
    const auto& fields = known_fields();
    if (std::find(fields.begin(), fields.end(), to) == fields.end()) {
      throw FileError("mapping: '" + to + "' is not a field (name, phone, email, session_year, program, source, tags)");
    }
    mapping[lower(trim(from))] = to;
  }

  // column index → field name, or "" for extra (the header text is the key).
  std::vector<std::string> field_of(header.size());
  std::vector<std::string> column_name(header.size());
  std::set<std::string> seen_fields;
  std::set<std::string> seen_columns;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const auto name = trim(header[i]);
    if (name.empty()) throw FileError("header: column " + std::to_string(i + 1) + " has no name");
    if (!valid_utf8(name)) throw FileError("header: column " + std::to_string(i + 1) + " is not valid UTF-8");
    const auto key = lower(name);
    if (!seen_columns.insert(key).second) throw FileError("header: column '" + name + "' appears twice");
    column_name[i] = name;
    std::string field;
    if (auto it = mapping.find(key); it != mapping.end()) {
      field = it->second;
    } else {
      const auto& fields = known_fields();
      if (std::find(fields.begin(), fields.end(), key) != fields.end() && !mapping.count(key)) field = key;
      // A column whose own name is a field another column was mapped onto loses it.
      for (const auto& [from, to] : mapping) {
        if (to == key && from != key) field.clear();
      }
    }
    if (!field.empty() && !seen_fields.insert(field).second) {
      throw FileError("header: more than one column maps to '" + field + "'");
    }
    field_of[i] = field;
  }
  for (const auto& [from, to] : mapping) {
    if (!seen_columns.count(from)) throw FileError("mapping: the file has no column '" + from + "'");
  }
  if (!seen_fields.count("phone") && !seen_fields.count("email")) {
    throw FileError("header: a phone or an email column is required");
  }

  // Phone normalisation is most of the CPU of an import (libphonenumber's ICU
  // regexes, ~35 µs a number): each distinct raw value is parsed once, on
  // several threads for a large file (PhoneNumberUtil is thread-safe).
  std::unordered_map<std::string, std::optional<std::string>> e164_of;
  {
    std::vector<std::size_t> phone_columns;
    for (std::size_t i = 0; i < field_of.size(); ++i) {
      if (field_of[i] == "phone") phone_columns.push_back(i);
    }
    for (std::size_t r = 1; r < records.size(); ++r) {
      for (auto i : phone_columns) {
        if (i < records[r].size()) {
          auto value = trim(records[r][i]);
          // Only what the row loop below would normalise.
          if (!value.empty() && value.size() <= kMaxValue && valid_utf8(value)) e164_of.try_emplace(std::move(value));
        }
      }
    }
    std::vector<std::pair<const std::string, std::optional<std::string>>*> todo;
    todo.reserve(e164_of.size());
    for (auto& entry : e164_of) todo.push_back(&entry);
    const auto work = [&todo, &options](std::size_t from, std::size_t step) {
      for (std::size_t k = from; k < todo.size(); k += step) {
        todo[k]->second = normalize_phone(todo[k]->first, options.default_region);
      }
    };
    const std::size_t threads =
        todo.size() < kParallelPhonesFrom ? 1 : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
    std::vector<std::thread> pool;
    std::size_t t = 1;
    try {
      for (; t < threads; ++t) pool.emplace_back(work, t, threads);
    } catch (const std::system_error&) {
      // No more threads: this one takes the strides of those not started.
    }
    for (std::size_t rest = t; rest < threads; ++rest) work(rest, threads);
    work(0, threads);
    for (auto& th : pool) th.join();
  }

  std::vector<Row> rows;
  rows.reserve(records.size() - 1);
  std::unordered_map<std::string, int> phone_row;
  std::unordered_map<std::string, std::pair<int, bool>> email_row;  // → (row, that row had a phone)
  for (std::size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    Row row;
    row.row = static_cast<int>(r);
    std::vector<std::string> problems;
    if (rec.size() > header.size()) {
      problems.push_back("has " + std::to_string(rec.size()) + " fields, the header " +
                         std::to_string(header.size()));
    }
    for (std::size_t i = 0; i < header.size() && i < rec.size(); ++i) {
      auto value = trim(rec[i]);
      if (value.empty()) continue;
      const auto& field = field_of[i];
      const auto label = field.empty() ? column_name[i] : field;
      if (!valid_utf8(value)) {
        problems.push_back(label + ": not valid UTF-8");
        continue;
      }
      const std::size_t limit = field.empty() ? kMaxExtraValue : (field == "name" ? kMaxName : kMaxValue);
      if (value.size() > limit) {
        problems.push_back(label + ": longer than " + std::to_string(limit) + " bytes");
        continue;
      }
      if (field.empty()) {
        row.extra[column_name[i]] = value;
      } else if (field == "name") {
        row.name = value;
      } else if (field == "phone") {
        const auto cached = e164_of.find(value);  // every valid phone value is in the map
        if (const auto& e164 = cached != e164_of.end() ? cached->second
                                                       : normalize_phone(value, options.default_region)) {
          row.phone = *e164;
        } else {
          problems.push_back("phone: not a valid number (default region " + options.default_region + ")");
        }
      } else if (field == "email") {
        auto email = normalize_email(value);
        if (plausible_email(email)) {
          row.email = email;
        } else {
          problems.push_back("email: not a valid address");
        }
      } else if (field == "session_year") {
        row.session_year = value;
      } else if (field == "program") {
        row.program = value;
      } else if (field == "source") {
        row.source = value;
      } else if (field == "tags") {
        row.tags = split_tags(value);
      }
    }
    for (const auto& t : options.tags) add_unique(row.tags, t);
    for (const auto& t : row.tags) {
      if (t.size() > kMaxTag) problems.push_back("tags: '" + t.substr(0, 16) + "…' longer than 64 bytes");
    }
    if (row.tags.size() > kMaxTags) problems.push_back("tags: more than 20");
    if (problems.empty() && !row.phone && !row.email) problems.push_back("neither a phone nor an email");

    if (!problems.empty()) {
      row.status = kStatusInvalid;
      for (std::size_t i = 0; i < problems.size(); ++i) row.reason += (i ? "; " : "") + problems[i];
    } else if (row.phone && phone_row.count(*row.phone)) {
      row.status = kStatusDuplicate;
      row.reason = "same phone as row " + std::to_string(phone_row[*row.phone]);
    } else if (auto it = row.email ? email_row.find(*row.email) : email_row.end();
               it != email_row.end() && (!row.phone || !it->second.second)) {
      // Same e-mail counts only when one side has no phone: two different
      // phones sharing an address (a parent's) are two people.
      row.status = kStatusDuplicate;
      row.reason = "same email as row " + std::to_string(it->second.first);
    } else {
      if (row.phone) phone_row.emplace(*row.phone, row.row);
      if (row.email) email_row.emplace(*row.email, std::make_pair(row.row, row.phone.has_value()));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

CaptureRecord capture(const char* field, const std::string& value, const Row& row, const std::string& now,
                      bool applied) {
  return CaptureRecord{field, Captured{value, Evidence{"row:" + std::to_string(row.row), "import", kImportConfidence, now}},
                       applied};
}

// Fills `field` from the row when the lead has no value.
void fill(std::optional<std::string>& field, const std::optional<std::string>& value, const char* name, Change& c,
          const Row& row, const std::string& now, bool with_capture) {
  if (!value) return;
  const bool applied = !field;
  if (applied) {
    field = value;
    c.changed.emplace_back(name);
    c.lead.confidence[name] = kImportConfidence;
  }
  if (with_capture) c.captures.push_back(capture(name, *value, row, now, applied || field == value));
}

}  // namespace

Plan decide(std::vector<Row> rows, const std::vector<Existing>& existing, const Options& options,
            const Pipeline& pipeline, const std::function<std::string()>& new_id, const std::string& now) {
  Plan plan;
  std::unordered_map<std::string, const Existing*> by_phone;
  std::unordered_map<std::string, std::vector<const Existing*>> by_email;
  for (const auto& e : existing) {
    if (e.lead.phone) by_phone.emplace(*e.lead.phone, &e);
    if (e.lead.email) by_email[*e.lead.email].push_back(&e);
  }
  for (auto& [email, list] : by_email) {
    std::sort(list.begin(), list.end(),
              [](const Existing* a, const Existing* b) { return a->lead.created_at < b->lead.created_at; });
  }
  std::unordered_map<std::string, int> touched;  // lead id → row that reached it

  for (std::size_t i = 0; i < rows.size(); ++i) {
    Row& row = rows[i];
    if (!row.status.empty()) continue;
    const Existing* match = nullptr;
    const char* matched_on = "phone";
    if (row.phone) {
      if (auto it = by_phone.find(*row.phone); it != by_phone.end()) match = it->second;
    }
    if (!match && row.email) {
      if (auto it = by_email.find(*row.email); it != by_email.end()) {
        for (const auto* e : it->second) {
          // Never merge on the e-mail alone when both sides have a phone.
          if (!row.phone || !e->lead.phone) {
            match = e;
            matched_on = "email";
            break;
          }
        }
      }
    }

    if (match) {
      row.lead_id = match->lead.id;
      if (auto t = touched.find(match->lead.id); t != touched.end()) {
        row.status = kStatusDuplicate;
        row.reason = "same lead as row " + std::to_string(t->second);
        continue;
      }
      touched.emplace(match->lead.id, row.row);
      if (options.restrict_owner && match->owner != options.restrict_owner) {
        row.lead_id.clear();  // not the caller's to see
        row.status = kStatusDuplicate;
        row.reason = std::string("already a lead with this ") + matched_on + " outside your pool";
        continue;
      }
      if (options.on_existing == OnExisting::skip) {
        row.status = kStatusDuplicate;
        row.reason = std::string("already a lead with this ") + matched_on;
        continue;
      }
      Change c;
      c.row_index = i;
      c.lead = match->lead;
      c.owner = match->owner;
      c.session_year = match->session_year;
      c.tags = match->tags;
      c.extra = match->extra;
      fill(c.lead.name, row.name, "name", c, row, now, true);
      fill(c.lead.phone, row.phone, "phone", c, row, now, true);
      fill(c.lead.email, row.email, "email", c, row, now, true);
      fill(c.lead.program, row.program, "program", c, row, now, true);
      fill(c.session_year, row.session_year, "session_year", c, row, now, false);
      bool tags_changed = false;
      for (const auto& t : row.tags) {
        if (std::find(c.tags.begin(), c.tags.end(), t) == c.tags.end()) {
          c.tags.push_back(t);
          tags_changed = true;
        }
      }
      if (tags_changed) c.changed.emplace_back("tags");
      bool extra_changed = false;
      for (const auto& [k, v] : row.extra) extra_changed |= c.extra.emplace(k, v).second;
      if (extra_changed) c.changed.emplace_back("extra");
      if (c.changed.empty()) {
        row.status = kStatusDuplicate;
        row.reason = std::string("already a lead with this ") + matched_on + "; nothing new in the row";
        continue;
      }
      if (c.lead.stage == pipeline.incomplete_stage && contact_complete(c.lead)) {
        c.previous_stage = c.lead.stage;
        c.previous_stage_changed_at = c.lead.stage_changed_at;
        c.lead.stage = pipeline.complete_stage;
        c.lead.stage_changed_at = now;
        c.changed.emplace_back("stage");
      }
      c.lead.version += 1;
      c.lead.updated_at = now;
      row.status = kStatusUpdated;
      plan.changes.push_back(std::move(c));
      continue;
    }

    Change c;
    c.row_index = i;
    c.created = true;
    Lead& l = c.lead;
    l.id = new_id();
    l.tenant = "";  // set by the writer (the caller's tenant)
    l.name = row.name;
    l.phone = row.phone;
    l.email = row.email;
    l.program = row.program;
    l.source = row.source.value_or("import");
    l.channel = "import";
    c.owner = options.owner;
    l.stage = contact_complete(l) || pipeline.incomplete_stage.empty() ? pipeline.complete_stage : pipeline.incomplete_stage;
    l.version = 1;
    l.stage_changed_at = l.created_at = l.updated_at = now;
    for (const auto* f : {"name", "phone", "email", "program"}) {
      const auto& v = std::string(f) == "name"    ? row.name
                      : std::string(f) == "phone" ? row.phone
                      : std::string(f) == "email" ? row.email
                                                  : row.program;
      if (!v) continue;
      l.confidence[f] = kImportConfidence;
      c.captures.push_back(capture(f, *v, row, now, true));
    }
    c.session_year = row.session_year;
    c.tags = row.tags;
    c.extra = row.extra;
    // The snapshot lead.created carries.
    l.owner = c.owner;
    l.session_year = c.session_year;
    l.tags = c.tags;
    row.lead_id = l.id;
    row.status = kStatusInserted;
    if (row.email && by_email.count(*row.email)) {
      row.reason = "email also on a lead with another phone: listed as a duplicate candidate";
    }
    plan.changes.push_back(std::move(c));
  }

  for (const auto& row : rows) {
    if (row.status == kStatusInserted) ++plan.inserted;
    else if (row.status == kStatusUpdated) ++plan.updated;
    else if (row.status == kStatusDuplicate) ++plan.duplicates;
    else if (row.status == kStatusInvalid) ++plan.invalid;
  }
  plan.rows = std::move(rows);
  return plan;
}

}  // namespace leadpipe::leads::import
