#include "repository.hpp"

#include <array>
#include <charconv>
#include <stdexcept>
#include <string_view>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/outbox/outbox.hpp>
#include <leadpipe/pg/session.hpp>

#include "crm_repository.hpp"
#include "sql_values.hpp"

namespace leadpipe::leads::repo {
namespace {

using namespace std::string_view_literals;

using sql::json_array;
using sql::json_confidence;
using sql::json_strings;
using sql::opt;
using sql::pg_array;
using sql::search_terms;

const std::string kLeadColumns =
    "id::text, tenant, name, phone, email, program, stage, source, channel, score, tier, "
    "score_reasons::text, intents::text, assigned_to, version, capture_confidence::text, " LP_US(
        "stage_changed_at") ", " LP_US("created_at") ", " LP_US("updated_at") ", counsellor, owner, interest, "
    "session_year, " LP_US("last_contacted_at") ", created_by, array_to_json(tags)::text, suggested_stage";
// Number of columns in kLeadColumns (list() appends its cursor keys after them).
constexpr int kLeadColumnCount = 27;

Lead from_row(const pqxx::row& r) {
  Lead l;
  l.id = r[0].as<std::string>();
  l.tenant = r[1].as<std::string>();
  l.name = opt(r[2]);
  l.phone = opt(r[3]);
  l.email = opt(r[4]);
  l.program = opt(r[5]);
  l.stage = r[6].as<std::string>();
  l.source = r[7].as<std::string>();
  l.channel = opt(r[8]);
  if (!r[9].is_null()) l.score = r[9].as<int>();
  l.tier = opt(r[10]);
  l.score_reasons = json_strings(r[11].as<std::string>());
  l.intents = json_strings(r[12].as<std::string>());
  l.assigned_to = opt(r[13]);
  l.version = r[14].as<int>();
  l.confidence = sql::json_confidence_map(r[15].as<std::string>());
  l.stage_changed_at = sql::rfc3339_micros(r[16].as<long long>());
  l.created_at = sql::rfc3339_micros(r[17].as<long long>());
  l.updated_at = sql::rfc3339_micros(r[18].as<long long>());
  l.counsellor = opt(r[19]);
  l.owner = opt(r[20]);
  l.interest = opt(r[21]);
  l.session_year = opt(r[22]);
  l.last_contacted_at = sql::opt_rfc3339_micros(r[23]);
  l.created_by = opt(r[24]);
  l.tags = json_strings(r[25].as<std::string>());
  l.suggested_stage = opt(r[26]);
  return l;
}

// JSON text appended straight to a string, byte for byte what rapidjson's
// Writer (JsonWriter) writes for the same value: '"', '\\' and the control
// characters escaped (\b \t \n \f \r, the others \u00XX in upper-case hex),
// everything else, UTF-8 included, copied as it is.
void append_json_string(std::string& out, const char* s, std::size_t n) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '"';
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s + start, i - start);
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\t': out += 't'; break;
      case '\n': out += 'n'; break;
      case '\f': out += 'f'; break;
      case '\r': out += 'r'; break;
      default:
        out += "u00"sv;
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    start = i + 1;
  }
  out.append(s + start, n - start);
  out += '"';
}

// PostgreSQL's text of a JSON array of strings (jsonb writes `["a", "b"]`,
// array_to_json `["a","b"]`) appended as rapidjson writes that array
// (`["a","b"]`), copied rather than parsed. Only plain strings qualify — no
// backslash, no other kind of element; anything else answers false with
// `out` as it was, and the caller parses it.
bool append_plain_string_array(std::string& out, const char* s, std::size_t n) {
  if (n < 2 || s[0] != '[' || s[n - 1] != ']') return false;
  const std::size_t mark = out.size();
  const std::size_t last = n - 1;  // the ']'
  const auto fail = [&out, mark] {
    out.resize(mark);
    return false;
  };
  std::size_t i = 1;
  const auto skip_spaces = [&] {
    while (i < last && s[i] == ' ') ++i;
  };
  out += '[';
  skip_spaces();
  bool first = true;
  while (i < last) {
    if (s[i] != '"') return fail();
    std::size_t end = i + 1;
    while (end < last && s[end] != '"') {
      if (s[end] == '\\' || static_cast<unsigned char>(s[end]) < 0x20) return fail();
      ++end;
    }
    if (end >= last) return fail();
    if (!first) out += ',';
    out.append(s + i, end + 1 - i);
    first = false;
    i = end + 1;
    skip_spaces();
    if (i == last) break;
    if (s[i] != ',') return fail();
    ++i;
    skip_spaces();
    if (i == last) return fail();  // a trailing comma
  }
  out += ']';
  return true;
}

// A row of kLeadColumns appended as the API's lead object, `{` and `}`
// included: the bytes write_lead_members writes for from_row(r) (a test holds
// them equal), without building a Lead or going through rapidjson's Writer —
// for a 50-lead page that was ~1,000 string allocations, a pqxx::field (two
// shared_ptr copies) per column and a per-character escape loop. The columns
// are read once, in order, through one row iterator.
void append_lead_row(std::string& out, const pqxx::row& r) {
  struct Cell {
    const char* text = nullptr;  // nullptr: SQL NULL
    std::size_t size = 0;
  };
  std::array<Cell, kLeadColumnCount> c;
  auto f = r.begin();
  for (int i = 0; i < kLeadColumnCount; ++i, ++f) {
    if (!f->is_null()) c[static_cast<std::size_t>(i)] = {f->c_str(), f->size()};
  }
  const auto cell = [&c](int i) -> const Cell& { return c[static_cast<std::size_t>(i)]; };
  // Each member after the first is written with its `,"key":` prefix.
  const auto string = [&](std::string_view k, int i) {
    out += k;
    if (const Cell& v = cell(i); v.text) {
      append_json_string(out, v.text, v.size);
    } else {
      out += "null"sv;
    }
  };
  const auto integer = [&cell](int i) {
    long long v = 0;
    const Cell& x = cell(i);
    const auto [end, ec] = std::from_chars(x.text, x.text + x.size, v);
    if (ec != std::errc() || end != x.text + x.size) throw std::runtime_error("lead row: not an integer");
    return v;
  };
  const auto number = [&out](long long v) {
    char text[24];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
    out.append(text, static_cast<std::size_t>(end - text));
  };
  const auto strings = [&](std::string_view k, int i) {
    out += k;
    const Cell& v = cell(i);
    if (!v.text) {
      out += "[]"sv;
      return;
    }
    if (append_plain_string_array(out, v.text, v.size)) return;
    out += '[';
    bool first = true;
    for (const auto& item : json_strings(std::string(v.text, v.size))) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, item.data(), item.size());
    }
    out += ']';
  };
  const auto timestamp = [&](std::string_view k, int i) {
    out += k;
    if (!cell(i).text) {
      out += "null"sv;
      return;
    }
    char text[sql::kRfc3339MicrosSize];
    sql::rfc3339_micros(integer(i), text);
    out += '"';
    out.append(text, sizeof text);
    out += '"';
  };
  out += "{\"id\":"sv;
  append_json_string(out, cell(0).text, cell(0).size);
  out += ",\"version\":"sv;
  number(integer(14));
  string(",\"name\":"sv, 2);
  string(",\"phone\":"sv, 3);
  string(",\"email\":"sv, 4);
  string(",\"program\":"sv, 5);
  string(",\"stage\":"sv, 6);
  string(",\"source\":"sv, 7);
  string(",\"channel\":"sv, 8);
  out += ",\"score\":"sv;
  if (cell(9).text) {
    number(integer(9));
  } else {
    out += "null"sv;
  }
  string(",\"tier\":"sv, 10);
  strings(",\"score_reasons\":"sv, 11);
  strings(",\"intents\":"sv, 12);
  string(",\"assigned_to\":"sv, 13);
  string(",\"counsellor\":"sv, 19);
  string(",\"owner\":"sv, 20);
  string(",\"interest\":"sv, 21);
  string(",\"session_year\":"sv, 22);
  strings(",\"tags\":"sv, 25);
  timestamp(",\"last_contacted_at\":"sv, 23);
  string(",\"suggested_stage\":"sv, 26);
  timestamp(",\"stage_changed_at\":"sv, 16);
  timestamp(",\"created_at\":"sv, 17);
  timestamp(",\"updated_at\":"sv, 18);
  out += '}';
}

std::optional<std::string> first_id(const pqxx::result& r) {
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string unhex(const std::string& s) {
  if (s.size() % 2 != 0 || s.size() > 256) throw std::invalid_argument("malformed cursor");
  auto val = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::invalid_argument("malformed cursor");
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) out.push_back(static_cast<char>(val(s[i]) * 16 + val(s[i + 1])));
  return out;
}

}  // namespace

std::optional<std::string> find_by_identity(pqxx::work& tx, const std::string& tenant,
                                            const std::string& channel, const std::string& external_id) {
  return first_id(tx.exec_params(
      "SELECT i.lead_id::text FROM leads.lead_identities i JOIN leads.leads l ON l.id = i.lead_id "
      "WHERE i.tenant = $1 AND i.channel = $2 AND i.external_id = $3 AND l.deleted_at IS NULL",
      tenant, channel, external_id));
}

std::optional<std::string> find_by_phone(pqxx::work& tx, const std::string& tenant, const std::string& phone) {
  return first_id(tx.exec_params(
      "SELECT id::text FROM leads.leads WHERE tenant = $1 AND phone = $2 AND deleted_at IS NULL",
      tenant, phone));
}

std::optional<std::string> find_by_email(pqxx::work& tx, const std::string& tenant, const std::string& email) {
  return first_id(tx.exec_params(
      "SELECT id::text FROM leads.leads WHERE tenant = $1 AND email = $2 AND deleted_at IS NULL "
      "ORDER BY created_at LIMIT 1",
      tenant, email));
}

std::optional<std::string> find_by_email_compatible(pqxx::work& tx, const std::string& tenant, const std::string& email,
                                                    const std::optional<std::string>& phone) {
  return first_id(tx.exec_params(
      "SELECT id::text FROM leads.leads WHERE tenant = $1 AND email = $2 AND deleted_at IS NULL "
      "AND (phone IS NULL OR $3::text IS NULL OR phone = $3) ORDER BY created_at LIMIT 1",
      tenant, email, phone));
}

std::optional<Lead> load(pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                         bool for_update) {
  auto r = tx.exec_params("SELECT " + kLeadColumns +
                              " FROM leads.leads WHERE tenant = $1 AND id = $2::uuid AND deleted_at IS NULL" +
                              (for_update ? " FOR UPDATE" : ""),
                          tenant, id);
  if (r.empty()) return std::nullopt;
  return from_row(r[0]);
}

std::vector<Lead> load_many(pqxx::transaction_base& tx, const std::string& tenant, const std::vector<std::string>& ids) {
  std::vector<Lead> out;
  if (ids.empty()) return out;
  const auto r = tx.exec_params("SELECT " + kLeadColumns +
                                    " FROM leads.leads WHERE tenant = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL",
                                tenant, pg_array(ids));
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(from_row(row));
  return out;
}

std::optional<Lead> load_unerased(pqxx::work& tx, const std::string& tenant, const std::string& id) {
  auto r = tx.exec_params("SELECT " + kLeadColumns +
                              " FROM leads.leads WHERE tenant = $1 AND id = $2::uuid AND erased_at IS NULL FOR UPDATE",
                          tenant, id);
  if (r.empty()) return std::nullopt;
  return from_row(r[0]);
}

void insert(pqxx::work& tx, const Lead& l) {
  tx.exec_params(
      "INSERT INTO leads.leads (id, tenant, name, phone, email, program, stage, source, channel, score, "
      "tier, score_reasons, intents, assigned_to, version, capture_confidence, stage_changed_at, "
      "created_at, updated_at, counsellor, owner, interest, session_year, created_by) "
      "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, "
      "$13::jsonb, $14, $15, $16::jsonb, $17::timestamptz, $18::timestamptz, $19::timestamptz, "
      "$20, $21, $22, $23, $24)",
      l.id, l.tenant, l.name, l.phone, l.email, l.program, l.stage, l.source, l.channel, l.score, l.tier,
      json_array(l.score_reasons), json_array(l.intents), l.assigned_to, l.version,
      json_confidence(l.confidence), l.stage_changed_at, l.created_at, l.updated_at, l.counsellor, l.owner,
      l.interest, l.session_year, l.created_by);
}

void update(pqxx::work& tx, const Lead& l) {
  tx.exec_params0(
      "UPDATE leads.leads SET name = $3, phone = $4, email = $5, program = $6, stage = $7, score = $8, "
      "tier = $9, score_reasons = $10::jsonb, intents = $11::jsonb, assigned_to = $12, version = $13, "
      "capture_confidence = $14::jsonb, stage_changed_at = $15::timestamptz, updated_at = $16::timestamptz, "
      "counsellor = $17, owner = $18, interest = $19, session_year = $20, "
      "last_contacted_at = $21::timestamptz, suggested_stage = $22::text, "
      "suggested_reason = CASE WHEN $22::text IS NULL THEN NULL ELSE suggested_reason END, "
      "suggested_at = CASE WHEN $22::text IS NULL THEN NULL ELSE suggested_at END "
      "WHERE tenant = $1 AND id = $2::uuid",
      l.tenant, l.id, l.name, l.phone, l.email, l.program, l.stage, l.score, l.tier,
      json_array(l.score_reasons), json_array(l.intents), l.assigned_to, l.version,
      json_confidence(l.confidence), l.stage_changed_at, l.updated_at, l.counsellor, l.owner, l.interest,
      l.session_year, l.last_contacted_at, l.suggested_stage);
}

void add_identity(pqxx::work& tx, const std::string& tenant, const std::string& channel,
                  const std::string& external_id, const std::string& lead_id) {
  tx.exec_params0(
      "INSERT INTO leads.lead_identities (tenant, channel, external_id, lead_id) "
      "VALUES ($1, $2, $3, $4::uuid) ON CONFLICT (tenant, channel, external_id) DO NOTHING",
      tenant, channel, external_id, lead_id);
}

void add_capture(pqxx::work& tx, const std::string& lead_id, const CaptureRecord& c,
                 const std::string& source_event_id) {
  const auto& e = c.captured.evidence;
  tx.exec_params0(
      "INSERT INTO leads.lead_captures (lead_id, field, value, source_event_id, message_id, layer, "
      "confidence, detected_at, applied) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
      "COALESCE(NULLIF($8, '')::timestamptz, now()), $9)",
      lead_id, c.field, c.captured.value, source_event_id, e.message_id, e.layer, e.confidence,
      e.detected_at, c.applied);
}

void add_activity(pqxx::work& tx, const std::string& lead_id, const std::string& kind,
                  const std::string& actor, const std::string& payload_json, const std::string& event_id) {
  tx.exec_params0(
      "INSERT INTO leads.lead_activities (lead_id, kind, actor, payload, event_id) "
      "VALUES ($1::uuid, $2, $3, $4::jsonb, NULLIF($5, ''))",
      lead_id, kind, actor, payload_json, event_id);
}

void publish(pqxx::work& tx, const std::string& type, const Lead& lead, const std::string& data_json) {
  auto ev = events::make(type, "/lead-store", lead.tenant, lead.id, data_json);
  outbox::OutboxMessage m;
  m.topic = type;
  m.key = lead.tenant + ":" + lead.id;
  m.payload = events::to_json(ev);
  m.headers = {{"ce_type", ev.type}, {"ce_id", ev.id}, {"tenantid", lead.tenant}};
  outbox::enqueue(tx, kSchema, m);
}

bool ListQuery::filters_beyond_stage_and_tier() const {
  return interest || !tags.empty() || assigned_to || counsellor || owner || source || session_year ||
         created_from || created_to || updated_from || updated_to || overdue || (q && !q->empty());
}

bool ListQuery::empty_filter() const { return stages.empty() && !tier && !filters_beyond_stage_and_tier(); }

namespace {

// WHERE clause of a list query with its parameters ($1 = tenant).
struct Where {
  std::vector<std::string> params;
  std::string sql;
  std::string next() const { return "$" + std::to_string(params.size()); }
  void add(const std::string& clause, const std::string& value) {
    params.push_back(value);
    std::string c = clause;
    for (auto pos = c.find('?'); pos != std::string::npos; pos = c.find('?')) c.replace(pos, 1, next());
    sql += " AND " + c;
  }
};

Where build_where(pqxx::transaction_base& tx, const ListQuery& q) {
  Where w{{q.tenant}, "tenant = $1 AND deleted_at IS NULL"};
  if (q.scope_owner) w.add("owner = ?", *q.scope_owner);
  if (q.scope_person) w.add("(assigned_to = ? OR counsellor = ?)", *q.scope_person);
  // One stage as `=`: only then can leads_tenant_stage_created hand out the
  // page in order (with `= ANY` PostgreSQL cannot know the array holds one
  // value, and walked leads_tenant_created instead — migration 0012).
  if (q.stages.size() == 1) {
    w.add("stage = ?", q.stages.front());
  } else if (!q.stages.empty()) {
    w.add("stage = ANY(?::text[])", pg_array(q.stages));
  }
  if (q.tier) w.add("tier = ?", *q.tier);
  if (q.interest) w.add("interest = ?", *q.interest);
  if (!q.tags.empty()) w.add("tags @> ?::text[]", pg_array(q.tags));
  if (q.assigned_to) w.add("assigned_to = ?", *q.assigned_to);
  if (q.counsellor) w.add("counsellor = ?", *q.counsellor);
  if (q.owner) w.add("owner = ?", *q.owner);
  if (q.source) w.add("source = ?", *q.source);
  if (q.session_year) w.add("session_year = ?", *q.session_year);
  if (q.created_from) w.add("created_at >= ?::timestamptz", *q.created_from);
  if (q.created_to) w.add("created_at < ?::timestamptz", *q.created_to);
  if (q.updated_from) w.add("updated_at >= ?::timestamptz", *q.updated_from);
  if (q.updated_to) w.add("updated_at < ?::timestamptz", *q.updated_to);
  if (q.overdue) {
    w.sql += std::string(" AND ") + (*q.overdue ? "" : "NOT ") +
             "EXISTS (SELECT 1 FROM leads.followups f WHERE f.tenant = leads.tenant AND f.lead_id = leads.id "
             "AND f.status = 'pending' AND f.due_at < now())";
  }
  if (q.q && !q.q->empty()) {
    // Names and e-mails match by word prefix through the GIN index on the
    // stored search_doc (migration 0009), each prefix expanded to the
    // words that exist (leads.search_query, migration 0011: GIN intersects
    // exact words far faster than prefixes). Two or more words typed search
    // the word pairs' index instead when the search has that form
    // (leads.search_queries, migration 0015: "agus putr" reads the few
    // hundred entries of 'agus putra' | 'agus putri', not the tens of
    // thousands of 'agus' and of 'putra'). The tsquery goes back in as a
    // constant, so the planner estimates its rows and uses the index.
    std::string clause = "(";
    const auto words = search_terms(*q.q);
    std::optional<std::string> tsq;
    bool pairs = false;
    if (!words.empty()) {
      const auto r = pg::exec_prepared_cached(
          tx, "SELECT words::text, pairs::text FROM leads.search_queries($1::text[])", {pg_array(words)});
      const auto row = r.at(0);  // words: NULL when nothing matches; pairs: NULL without a pair form
      pairs = !row[1].is_null();
      if (!row[pairs ? 1 : 0].is_null()) tsq = row[pairs ? 1 : 0].as<std::string>();
    }
    if (!tsq) {
      clause += "FALSE";  // no word typed, or a word no lead has: no name or e-mail matches
    } else {
      w.params.push_back(*tsq);
      clause += (pairs ? "leads.search_pair_document(search_doc) @@ " : "search_doc @@ ") + w.next() + "::tsquery";
    }
    // "0812-3456" matches +62812 3456…: compare digits, dropping a trunk 0.
    std::string digits;
    for (char c : *q.q) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    if (digits.size() >= 3) {
      if (digits[0] == '0') digits.erase(0, 1);
      w.params.push_back("%" + digits + "%");
      clause += " OR phone LIKE " + w.next();
    }
    w.sql += " AND " + clause + ")";
  }
  return w;
}

// The row count a prepared page fetches: limit + 1 rounded up to one of a few
// sizes, so the texts (each one a prepared statement per connection) stay
// few; read_page stops after limit + 1 rows.
int prepared_fetch_count(int limit) {
  for (int n : {2, 11, 26, 51, 101, 201}) {
    if (n >= limit + 1) return n;
  }
  return limit + 1;
}

// Sort orders and their keyset: ORDER BY, the cursor key expressions (as text)
// and the row comparison that continues after a cursor.
struct SortSpec {
  const char* order;
  std::vector<std::string> keys;     // SQL expressions, compared as a row
  std::vector<std::string> casts;    // cast of each cursor value
  const char* op;                    // "<" (descending) or ">" (ascending)
};

// ORDER BY names are table-qualified: a bare `created_at` / `id` in ORDER BY
// binds to the SELECT's output column of that name first — here the cursor
// key `(created_at)::text` / `id::text` — and the page was sorted as text by a
// full scan (1.2 s at 100k leads, a statement timeout and a 500 at 1M).
const SortSpec& sort_spec(const std::string& sort) {
  static const SortSpec recent{
      "leads.created_at DESC, leads.id DESC", {"created_at", "id"}, {"timestamptz", "uuid"}, "<"};
  static const SortSpec updated{
      "leads.updated_at DESC, leads.id DESC", {"updated_at", "id"}, {"timestamptz", "uuid"}, "<"};
  // Seed 001's default: highest score first, then the longest-untouched lead.
  static const SortSpec score{
      "(-COALESCE(leads.score, -1)), COALESCE(leads.last_contacted_at, '-infinity'::timestamptz), leads.id",
      {"(-COALESCE(score, -1))", "COALESCE(last_contacted_at, '-infinity'::timestamptz)", "id"},
      {"int", "timestamptz", "uuid"},
      ">"};
  if (sort == "score") return score;
  if (sort == "updated") return updated;
  return recent;
}

void read_page(const pqxx::result& rows, const ListQuery& q, const SortSpec& spec, ListPage& page) {
  int n = 0;
  std::string json;
  if (q.items_as_json) {
    json.reserve(rows.size() * 640 + 2);  // a lead is ~550–650 bytes
    json += '[';
  }
  for (const auto& r : rows) {
    if (r[0].is_null()) continue;  // the one-scan search's empty page (its count row only)
    if (n == q.limit) {
      const auto& last = rows[q.limit - 1];
      std::string raw = q.sort;
      for (std::size_t i = 0; i < spec.keys.size(); ++i) {
        raw += "|" + last[kLeadColumnCount + static_cast<int>(i)].as<std::string>();
      }
      page.next_cursor = hex(raw);
      break;
    }
    if (q.items_as_json) {
      if (n > 0) json += ',';
      append_lead_row(json, r);
    } else {
      page.items.push_back(from_row(r));
    }
    ++n;
  }
  if (q.items_as_json) {
    json += ']';
    page.items_json = std::move(json);
  }
}

// A search (q=) usually matches a few hundred leads at most, found through a
// GIN index whose scan is the whole cost (name words, phone trigrams: 7–30 ms
// at 1M leads). The plain path scans it twice, for the page and again for
// the capped count. This one statement scans once: the matches (at most
// kExactTotalLimit + 1, with their sort keys) are counted and the page is
// sorted out of them, then only the page's rows are read. When more than the
// limit match, the page is not among a capped set: nullopt, and the caller
// takes the plain path with the estimate.
std::optional<ListPage> list_search(pqxx::transaction_base& tx, const ListQuery& q, const SortSpec& spec,
                                    const std::string& filter_sql, const std::string& cursor_sql,
                                    std::vector<std::string> params, const std::string& key_cols) {
  auto next = [&params] { return "$" + std::to_string(params.size()); };
  params.push_back(std::to_string(kExactTotalLimit + 1));
  const auto cap = next();
  params.push_back(std::to_string(q.limit + 1));
  const auto lim = next();
  // Inside p the matches are aliased `leads`, so the sort's table-qualified
  // ORDER BY and the cursor's key expressions read the CTE's columns. The
  // page's rows are read back by the ctid the scan saw (a TID scan, no walk
  // down leads_pkey: 7 % of a name search): one statement, one snapshot, so
  // that row version is the one this statement sees.
  const std::string sql =
      "WITH m AS MATERIALIZED (SELECT ctid AS tid, id, created_at, updated_at, score, last_contacted_at "
      "FROM leads.leads WHERE " + filter_sql + " LIMIT " + cap + "::int), c AS (SELECT count(*) AS n FROM m), "
      "p AS (SELECT leads.tid AS ptid, row_number() OVER (ORDER BY " + spec.order + ") AS rn FROM m AS leads WHERE TRUE" +
      cursor_sql + " ORDER BY " + spec.order + " LIMIT " + lim + "::int) "
      "SELECT " + kLeadColumns + key_cols + ", c.n FROM c LEFT JOIN p ON TRUE "
      "LEFT JOIN leads.leads ON leads.ctid = p.ptid AND leads.tenant = $1 ORDER BY p.rn";
  pqxx::result rows;
  try {
    rows = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
  } catch (const pqxx::data_exception&) {
    throw std::invalid_argument("malformed cursor");
  }
  const long long matches = rows.empty() ? 0 : rows[0][kLeadColumnCount + static_cast<int>(spec.keys.size())].as<long long>();
  if (matches > kExactTotalLimit) return std::nullopt;
  ListPage page;
  read_page(rows, q, spec, page);
  page.total = matches;
  page.total_exact = true;
  return page;
}

}  // namespace

// The page's plan: the tenant alone, or with a single stage (and a tier), is
// served in the sort's order by one index (leads_tenant_created, _updated,
// _score_keyset, _stage_created, _stage_tier_created: migrations 0008-0013),
// so PostgreSQL walks that index and stops at the limit for any tenant or
// stage. A page of several stages (the actionable view, every sort's default
// list) walks the sort's index skipping the leads in other stages, the plan
// the values would choose too unless those stages hold only a sliver of the
// tenant's leads (an actionable view seldom does). Every other filter (tags,
// search, assignee, dates, a role's scope…) decides between plans by how many
// leads it matches, so those pages are planned afresh each time.
bool plan_is_value_independent(const ListQuery& q) {
  if (q.scope_owner || q.scope_person || q.filters_beyond_stage_and_tier()) return false;
  if (!q.tier) return true;
  return q.sort == "recent" && q.stages.size() == 1;  // only leads_tenant_stage_tier_created has the tier
}

ListPage list(pqxx::transaction_base& tx, const ListQuery& q) {
  auto w = build_where(tx, q);
  const auto filter_sql = w.sql;        // the page below adds the cursor and limit to w
  const auto filter_params = w.params;
  ListPage page;

  const auto& spec = sort_spec(q.sort);
  std::string cursor_sql;
  if (q.cursor) {
    // cursor = hex("<sort>|k1|k2…"): only valid for the sort it came from.
    const auto raw = unhex(*q.cursor);
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
      const auto bar = raw.find('|', start);
      parts.push_back(raw.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    if (parts.size() != spec.keys.size() + 1 || parts[0] != q.sort) throw std::invalid_argument("malformed cursor");
    std::string lhs, rhs;
    for (std::size_t i = 0; i < spec.keys.size(); ++i) {
      w.params.push_back(parts[i + 1]);
      lhs += (i ? ", " : "") + spec.keys[i];
      rhs += (i ? ", " : "") + w.next() + "::" + spec.casts[i];
    }
    cursor_sql = " AND (" + lhs + ") " + spec.op + " (" + rhs + ")";
  }
  std::string key_cols;
  for (const auto& k : spec.keys) key_cols += ", (" + k + ")::text";

  const bool search = q.q && !q.q->empty();
  if (search && q.with_total) {
    if (auto found = list_search(tx, q, spec, filter_sql, cursor_sql, w.params, key_cols)) return std::move(*found);
  }

  pqxx::result rows;
  try {
    const std::string page_sql =
        "SELECT " + kLeadColumns + key_cols + " FROM leads.leads WHERE " + filter_sql + cursor_sql + " ORDER BY " + spec.order;
    if (plan_is_value_independent(q)) {
      // The row count is part of the text: with `LIMIT $n` PostgreSQL costs a
      // generic plan for a tenth of the table and never prefers it.
      rows = pg::exec_prepared_cached(tx, page_sql + " LIMIT " + std::to_string(prepared_fetch_count(q.limit)),
                                      w.params);
    } else {
      w.params.push_back(std::to_string(q.limit + 1));
      rows = tx.exec_params(page_sql + " LIMIT " + w.next() + "::int", pqxx::prepare::make_dynamic_params(w.params));
    }
  } catch (const pqxx::data_exception&) {
    throw std::invalid_argument("malformed cursor");  // a forged key that does not cast
  }
  read_page(rows, q, spec, page);
  if (q.with_total) {
    if (!q.cursor && static_cast<int>(rows.size()) <= q.limit) {
      // The first page holds every match: that is the total, no second scan.
      page.total = static_cast<long long>(rows.size());
      page.total_exact = true;
    } else if (search) {
      // list_search counted more than the limit already.
      const auto total = estimated_total(tx, filter_sql, filter_params, q.estimates);
      page.total = total.value;
      page.total_exact = total.exact;
    } else {
      // Exact up to repo::kExactTotalLimit, an estimate above (crm_repository.hpp).
      const auto total = bounded_total(tx, filter_sql, filter_params, q.estimates);
      page.total = total.value;
      page.total_exact = total.exact;
    }
  }
  return page;
}

std::vector<std::string> matching_ids(pqxx::transaction_base& tx, const ListQuery& q, int max) {
  auto w = build_where(tx, q);
  w.params.push_back(std::to_string(max));
  auto rows = tx.exec_params("SELECT id::text FROM leads.leads WHERE " + w.sql + " ORDER BY leads.created_at, leads.id LIMIT " +
                                 w.next() + "::int",
                             pqxx::prepare::make_dynamic_params(w.params));
  std::vector<std::string> ids;
  for (const auto& r : rows) ids.push_back(r[0].as<std::string>());
  return ids;
}

Counts counts(pqxx::transaction_base& tx, const ListQuery& q) {
  const auto w = build_where(tx, q);
  Counts c;
  const auto params = pqxx::prepare::make_dynamic_params(w.params);
  c.total = tx.exec_params1("SELECT count(*) FROM leads.leads WHERE " + w.sql, params)[0].as<long long>();
  auto group = [&](const std::string& expr, std::vector<std::pair<std::string, long long>>& out) {
    auto rows = tx.exec_params("SELECT " + expr + " AS k, count(*) FROM leads.leads WHERE " + w.sql +
                                   " GROUP BY k ORDER BY count(*) DESC, k LIMIT 200",
                               params);
    for (const auto& r : rows) out.emplace_back(r[0].is_null() ? "" : r[0].as<std::string>(), r[1].as<long long>());
  };
  group("stage", c.by_stage);
  group("assigned_to", c.by_assignee);
  group("counsellor", c.by_counsellor);
  group("unnest(tags)", c.by_tag);
  return c;
}

std::optional<Detail> detail(pqxx::transaction_base& tx, const std::string& tenant, const std::string& id) {
  auto lead = load(tx, tenant, id, false);
  if (!lead) return std::nullopt;
  Detail d{*lead, "[]", "[]", "[]"};
  d.identities_json = tx.exec_params1(
      "SELECT COALESCE(json_agg(json_build_object('channel', channel, 'external_id', external_id, "
      "'created_at', " LP_TS("created_at") ") ORDER BY created_at), '[]')::text "
      "FROM leads.lead_identities WHERE tenant = $1 AND lead_id = $2::uuid",
      tenant, id)[0].as<std::string>();
  d.captures_json = tx.exec_params1(
      "SELECT COALESCE(json_agg(json_build_object('field', field, 'value', value, 'message_id', message_id, "
      "'layer', layer, 'confidence', confidence, 'detected_at', " LP_TS("detected_at") ", 'applied', applied, "
      "'source_event_id', source_event_id) ORDER BY id), '[]')::text FROM leads.lead_captures WHERE lead_id = $1::uuid",
      id)[0].as<std::string>();
  d.timeline_json = tx.exec_params1(
      "SELECT COALESCE(json_agg(json_build_object('kind', kind, 'actor', actor, 'payload', payload, "
      "'at', " LP_TS("created_at") ") ORDER BY id), '[]')::text FROM leads.lead_activities WHERE lead_id = $1::uuid",
      id)[0].as<std::string>();
  return d;
}

}  // namespace leadpipe::leads::repo
