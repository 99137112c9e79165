#include "api_import.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <chrono>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/http/json.hpp>

#include "csv.hpp"
#include "import.hpp"
#include "import_repository.hpp"
#include "lead_json.hpp"
#include "workflow_metrics.hpp"

namespace leadpipe::leads {
namespace {

using boost::asio::awaitable;
using http::HttpError;
using http::Request;
using http::Response;

struct ImportMetrics {
  prometheus::Family<prometheus::Counter>* rows = nullptr;
  prometheus::Histogram* duration = nullptr;
  prometheus::Counter* rejected_files = nullptr;
};

struct ImportDeps {
  std::shared_ptr<ApiDeps> api;
  ImportConfig config;
  ImportMetrics metrics;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_csv(const Request& req) {
  auto ct = req.header("Content-Type");
  if (!ct) return false;
  auto base = lower(ct->substr(0, ct->find(';')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  return base == "text/csv" || base == "application/csv";
}

std::optional<bool> parse_bool(const std::string& v) {
  if (v.empty() || v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

struct Parsed {
  import::Options options;
  bool dry_run = false;
  std::string options_json;
};

Parsed parse_options(const Request& req, const auth::Principal& who, const std::string& default_region) {
  Parsed p;
  p.options.default_region = default_region;
  std::vector<http::FieldError> errors;
  if (auto v = req.query("dry_run")) {
    if (auto b = parse_bool(*v)) {
      p.dry_run = *b;
    } else {
      errors.push_back({"dry_run", "must be true or false"});
    }
  }
  if (auto v = req.query("default_region")) {
    std::string region = *v;
    for (auto& c : region) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!import::known_region(region)) {
      errors.push_back({"default_region", "not an ISO 3166-1 region code known to the phone library"});
    } else {
      p.options.default_region = region;
    }
  }
  if (auto v = req.query("mapping")) {
    try {
      auto doc = http::parse_json(*v);
      if (!doc.IsObject()) throw std::invalid_argument("not an object");
      for (const auto& m : doc.GetObject()) {
        if (!m.value.IsString()) throw std::invalid_argument("not a string");
        p.options.mapping[std::string(m.name.GetString(), m.name.GetStringLength())] =
            std::string(m.value.GetString(), m.value.GetStringLength());
      }
    } catch (const std::exception&) {
      errors.push_back({"mapping", R"(must be a JSON object of file column → field, e.g. {"Nama":"name"})"});
    }
  }
  for (const auto& t : req.query_all("tags")) {
    std::string cur;
    auto flush = [&] {
      while (!cur.empty() && cur.back() == ' ') cur.pop_back();
      const auto start = cur.find_first_not_of(' ');
      if (start != std::string::npos) p.options.tags.push_back(cur.substr(start));
      cur.clear();
    };
    for (char c : t) {
      if (c == ',') {
        flush();
      } else {
        cur.push_back(c);
      }
    }
    flush();
  }
  for (const auto& t : p.options.tags) {
    if (t.size() > 64) errors.push_back({"tags", "a tag is at most 64 bytes"});
  }
  if (auto v = req.query("owner"); v && !v->empty()) {
    if (v->size() > 128) {
      errors.push_back({"owner", "at most 128 characters"});
    } else {
      p.options.owner = *v;
    }
  }
  if (auto v = req.query("on_existing")) {
    if (*v == "update") {
      p.options.on_existing = import::OnExisting::update;
    } else if (*v == "skip") {
      p.options.on_existing = import::OnExisting::skip;
    } else {
      errors.push_back({"on_existing", "must be update or skip"});
    }
  }
  if (!errors.empty()) throw HttpError(400, "Invalid query", "one or more query parameters are invalid", errors);

  // A sales head works their own pool: what they import joins it, and they
  // cannot file leads into a colleague's.
  if (who.role == auth::Role::sales_head) {
    if (p.options.owner && *p.options.owner != who.subject) {
      throw HttpError::forbidden("a sales head imports into their own pool only");
    }
    p.options.owner = who.subject;
    p.options.restrict_owner = who.subject;
  }

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("default_region");
  w.String(p.options.default_region.c_str());
  w.Key("mapping");
  w.StartObject();
  for (const auto& [k, v] : p.options.mapping) {
    w.Key(k.c_str());
    w.String(v.c_str());
  }
  w.EndObject();
  w.Key("tags");
  w.StartArray();
  for (const auto& t : p.options.tags) w.String(t.c_str());
  w.EndArray();
  w.Key("owner");
  if (p.options.owner) {
    w.String(p.options.owner->c_str());
  } else {
    w.Null();
  }
  w.Key("on_existing");
  w.String(p.options.on_existing == import::OnExisting::update ? "update" : "skip");
  w.EndObject();
  p.options_json.assign(buf.GetString(), buf.GetSize());
  return p;
}

std::string result_json(const import::Plan& plan, bool dry_run, const std::optional<std::string>& batch_id) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("dry_run");
  w.Bool(dry_run);
  w.Key("batch_id");
  if (batch_id) {
    w.String(batch_id->c_str());
  } else {
    w.Null();
  }
  w.Key("total");
  w.Int(static_cast<int>(plan.rows.size()));
  w.Key("inserted");
  w.Int(plan.inserted);
  w.Key("updated");
  w.Int(plan.updated);
  w.Key("duplicates");
  w.Int(plan.duplicates);
  w.Key("invalid");
  w.Int(plan.invalid);
  w.Key("assigned");
  w.Int(plan.assigned);
  w.Key("duplicate_candidates");
  w.Int(static_cast<int>(plan.candidates.size()));
  w.Key("rows");
  w.StartArray();
  for (const auto& r : plan.rows) {
    w.StartObject();
    w.Key("row");
    w.Int(r.row);
    w.Key("status");
    w.String(r.status.c_str());
    w.Key("reason");
    if (r.reason.empty()) {
      w.Null();
    } else {
      w.String(r.reason.c_str(), static_cast<rapidjson::SizeType>(r.reason.size()));
    }
    w.Key("lead_id");
    if (r.lead_id.empty()) {
      w.Null();
    } else {
      w.String(r.lead_id.c_str());
    }
    w.Key("assigned_to");
    if (r.assigned_to) {
      w.String(r.assigned_to->c_str(), static_cast<rapidjson::SizeType>(r.assigned_to->size()));
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// "parse=812 prepare=3004 …" (milliseconds per phase, in order).
std::string phases_text(const import::Phases& phases) {
  std::string out;
  for (const auto& [name, ms] : phases.list()) {
    if (!out.empty()) out += ' ';
    out += name + "=" + std::to_string(static_cast<long long>(ms + 0.5));
  }
  return out;
}

// Assignment-rule outcomes and duplicate candidates of a committed import
// (workflow_metrics.hpp), as apply_assignment_rules and the candidate
// repository count them for single leads.
void count_rules_and_candidates(const import::Plan& plan) {
  for (const auto& c : plan.changes) {
    if (!c.rule_team) continue;
    if (c.rule_member) {
      metrics::auto_assigned(c.rule_strategy);
    } else {
      metrics::auto_assign_skipped(c.rule_strategy, c.rule_skipped);
    }
  }
  for (const auto& p : plan.candidates) metrics::duplicate_candidates(p.reason);
}

awaitable<Response> import_leads(ImportDeps& d, Request& req) {
  const auto started = std::chrono::steady_clock::now();
  const auto who = auth::authenticate(req, d.api->verifier);
  auth::require_role(who, {auth::Role::admin, auth::Role::sales_head, auth::Role::admission_admin});
  if (!is_csv(req)) {
    throw HttpError(415, "Unsupported Media Type", "send the file as text/csv")
        .with_header("Accept-Post", "text/csv");
  }
  auto parsed = parse_options(req, who, d.api->default_region);
  const auto max_rows = d.config.max_rows;
  // Parsing, phone normalisation and the database all run on a worker of the
  // bulk pool (ApiDeps::bulk): 100k libphonenumber parses are too much CPU
  // for an I/O thread, and the import holds its connection for seconds.
  auto phases = std::make_shared<import::Phases>();
  auto job = [&req, parsed, who, max_rows, phases](pqxx::connection& c) {
    phases->mark("queued");
    std::vector<import::Row> rows;
    try {
      auto records = csv::parse(req.body, max_rows + 1);
      phases->mark("parse");
      rows = import::prepare(records, parsed.options);
      phases->mark("prepare");
    } catch (const csv::ParseError& e) {
      throw HttpError(400, "Malformed CSV", "the file is not valid RFC 4180 CSV", {{"body", e.what()}});
    } catch (const import::FileError& e) {
      throw HttpError(400, "Invalid CSV", e.what(), {{"body", e.what()}});
    }
    try {
      return import::run(c, who.tenant, who.subject, rows, parsed.options, parsed.options_json, parsed.dry_run,
                         phases.get());
    } catch (const pqxx::unique_violation&) {
      throw HttpError::conflict("leads in the file were changed concurrently; retry the upload");
    }
  };
  import::Outcome result;
  try {
    result = co_await d.api->bulk().async(std::move(job));
  } catch (const HttpError&) {
    if (d.metrics.rejected_files) d.metrics.rejected_files->Increment();
    throw;
  }
  const auto& plan = result.plan;
  const auto& batch_id = result.batch_id;
  if (!parsed.dry_run) count_rules_and_candidates(plan);  // committed: count what it did
  if (d.metrics.rows && !parsed.dry_run) {
    d.metrics.rows->Add({{"status", "inserted"}}).Increment(plan.inserted);
    d.metrics.rows->Add({{"status", "updated"}}).Increment(plan.updated);
    d.metrics.rows->Add({{"status", "duplicate"}}).Increment(plan.duplicates);
    d.metrics.rows->Add({{"status", "invalid"}}).Increment(plan.invalid);
    d.metrics.duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  d.api->logger.info("import", {{"tenant", who.tenant},
                                {"dry_run", parsed.dry_run},
                                {"batch_id", batch_id.value_or("")},
                                {"rows", static_cast<int>(plan.rows.size())},
                                {"inserted", plan.inserted},
                                {"updated", plan.updated},
                                {"duplicates", plan.duplicates},
                                {"invalid", plan.invalid},
                                {"phases_ms", phases_text(*phases)}});
  co_return Response::json(200, result_json(plan, parsed.dry_run, batch_id));
}

}  // namespace

void add_import_routes(http::Router& router, std::shared_ptr<ApiDeps> deps,
                       const std::shared_ptr<prometheus::Registry>& registry, ImportConfig config) {
  auto d = std::make_shared<ImportDeps>(ImportDeps{std::move(deps), config, {}});
  if (registry) {
    d->metrics.rows = &prometheus::BuildCounter()
                           .Name("leadpipe_lead_store_import_rows_total")
                           .Help("CSV import rows by outcome (real runs)")
                           .Register(*registry);
    d->metrics.duration = &prometheus::BuildHistogram()
                               .Name("leadpipe_lead_store_import_duration_seconds")
                               .Help("Wall time of a CSV import (real runs)")
                               .Register(*registry)
                               .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                                                 30, 60});
    d->metrics.rejected_files = &prometheus::BuildCounter()
                                     .Name("leadpipe_lead_store_import_rejected_total")
                                     .Help("CSV uploads refused as a whole (malformed file, bad header, conflict)")
                                     .Register(*registry)
                                     .Add({});
  }
  router.add("POST", "/api/v1/leads/import", [d](Request& req) { return import_leads(*d, req); },
             "/api/v1/leads/import");
}

}  // namespace leadpipe::leads
