#include "import_repository.hpp"

#include <pqxx/stream_to>
#include <rapidjson/document.h>

#include <future>
#include <optional>
#include <system_error>
#include <tuple>
#include <unordered_map>

#include <leadpipe/events/cloud_event.hpp>
#include <leadpipe/events/topics.hpp>
#include <leadpipe/outbox/outbox.hpp>

#include "lead_json.hpp"
#include "crm_repository.hpp"
#include "repository.hpp"
#include "sql_values.hpp"

namespace leadpipe::leads::import {
namespace {

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

using Opt = std::optional<std::string>;

std::string json_object(const std::map<std::string, std::string>& m) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  for (const auto& [k, v] : m) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string imported_payload(const std::string& batch_id, const Row& row, const Change& c) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("batch_id");
  w.String(batch_id.c_str());
  w.Key("row");
  w.Int(row.row);
  w.Key("created");
  w.Bool(c.created);
  w.Key("fields");
  std::vector<std::string> fields;
  if (c.created) {
    for (const auto& cap : c.captures) fields.push_back(cap.field);
  } else {
    fields = c.changed;
  }
  w.StartArray();
  for (const auto& f : fields) w.String(f.c_str());
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

struct OutboxRow {
  std::string topic, key, payload, headers;
};

OutboxRow event_row(const std::string& type, const Lead& lead, const std::string& data) {
  auto ev = events::make(type, "/lead-store", lead.tenant, lead.id, data);
  std::map<std::string, std::string> headers{{"ce_type", ev.type}, {"ce_id", ev.id}, {"tenantid", lead.tenant}};
  return {type, lead.tenant + ":" + lead.id, events::to_json(ev), json_object(headers)};
}

}  // namespace

void lock_tenant(pqxx::transaction_base& tx, const std::string& tenant) {
  tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended('leadpipe.leads.import:' || $1, 0))", tenant);
}

std::vector<Existing> load_existing(pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::vector<Row>& rows, bool for_update) {
  std::vector<std::string> phones, emails;
  for (const auto& r : rows) {
    if (!r.status.empty()) continue;
    if (r.phone) phones.push_back(*r.phone);
    if (r.email) emails.push_back(*r.email);
  }
  std::vector<Existing> out;
  if (phones.empty() && emails.empty()) return out;
  // One statement for all rows (= ANY uses the phone and e-mail indexes; its
  // planning grows with the array: ~2 s of a 100k-row import under load). The
  // columns are what decide() needs; events of updated leads are built from a
  // full repo::load_many after the update (write()).
  const std::string cols =
      "id::text, name, phone, email, program, stage, source, channel, assigned_to, version, "
      "capture_confidence::text, " TS("stage_changed_at") ", " TS("created_at") ", " TS("updated_at") ", "
      "owner, session_year, array_to_json(tags)::text, extra::text";
  const std::string lock = for_update ? " FOR UPDATE" : "";
  const auto r = tx.exec_params(
      "SELECT " + cols + " FROM leads.leads WHERE tenant = $1 AND deleted_at IS NULL AND "
          "(phone = ANY($2::text[]) OR email = ANY($3::text[])) ORDER BY created_at, id" + lock,
      tenant, sql::pg_array(phones), sql::pg_array(emails));
  out.reserve(r.size());
  const auto opt = [](const pqxx::field& f) -> Opt {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
  };
  for (const auto& row : r) {
    Existing e;
    Lead& l = e.lead;
    l.id = row[0].as<std::string>();
    l.tenant = tenant;
    l.name = opt(row[1]);
    l.phone = opt(row[2]);
    l.email = opt(row[3]);
    l.program = opt(row[4]);
    l.stage = row[5].as<std::string>();
    l.source = row[6].as<std::string>();
    l.channel = opt(row[7]);
    l.assigned_to = opt(row[8]);
    l.version = row[9].as<int>();
    l.confidence = sql::json_confidence_map(row[10].as<std::string>());
    l.stage_changed_at = row[11].as<std::string>();
    l.created_at = row[12].as<std::string>();
    l.updated_at = row[13].as<std::string>();
    e.owner = opt(row[14]);
    e.session_year = opt(row[15]);
    e.tags = sql::json_strings(row[16].as<std::string>());
    e.extra = sql::json_string_map(row[17].as<std::string>());
    out.push_back(std::move(e));
  }
  return out;
}

void write(pqxx::work& tx, const Batch& batch, Plan& plan, Phases* phases) {
  const auto mark = [phases](const char* name) {
    if (phases) phases->mark(name);
  };
  // One statement may take a while for 100k rows; the pool's default
  // statement_timeout is meant for interactive queries.
  tx.exec("SET LOCAL statement_timeout = '120s'");
  for (auto& c : plan.changes) c.lead.tenant = batch.tenant;

  // lead.created events need nothing from the database: they are built on
  // another thread while PostgreSQL ingests the leads, captures and timeline
  // (5 s of a 100k-row import under load). `plan` is only read from here on.
  const auto build_created = [&plan] {
    std::vector<std::optional<OutboxRow>> out(plan.changes.size());
    for (std::size_t i = 0; i < plan.changes.size(); ++i) {
      const auto& c = plan.changes[i];
      if (c.created) out[i] = event_row(std::string(events::topics::lead_created), c.lead, lead_event_data(c.lead, nullptr));
    }
    return out;
  };
  std::future<std::vector<std::optional<OutboxRow>>> created_events;
  try {
    created_events = std::async(std::launch::async, build_created);
  } catch (const std::system_error&) {
    created_events = std::async(std::launch::deferred, build_created);
  }


  tx.exec_params0(
      "INSERT INTO leads.import_batches (id, tenant, created_by, options, total, inserted, updated, duplicates, "
      "invalid) VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)",
      batch.id, batch.tenant, batch.created_by, batch.options_json, static_cast<int>(plan.rows.size()),
      plan.inserted, plan.updated, plan.duplicates, plan.invalid);

  {
    pqxx::stream_to s(tx, "leads.leads",
                      std::vector<std::string>{"id", "tenant", "name", "phone", "email", "program", "stage", "source",
                                               "channel", "owner", "version", "capture_confidence",
                                               "stage_changed_at", "created_at", "updated_at", "session_year", "tags",
                                               "extra", "created_by"});
    for (const auto& c : plan.changes) {
      if (!c.created) continue;
      const auto& l = c.lead;
      s << std::make_tuple(Opt(l.id), Opt(l.tenant), l.name, l.phone, l.email, l.program, Opt(l.stage),
                           Opt(l.source), l.channel, c.owner, Opt(std::to_string(l.version)),
                           Opt(sql::json_confidence(l.confidence)), Opt(l.stage_changed_at), Opt(l.created_at),
                           Opt(l.updated_at), c.session_year, Opt(sql::pg_array(c.tags)), Opt(json_object(c.extra)),
                           Opt(batch.created_by));
    }
    s.complete();
  }
  mark("write_leads");

  if (plan.updated > 0) {
    tx.exec(
        "CREATE TEMP TABLE import_updates (id uuid, name text, phone text, email text, program text, stage text, "
        "version integer, capture_confidence jsonb, stage_changed_at timestamptz, updated_at timestamptz, "
        "session_year text, tags text[], extra jsonb) ON COMMIT DROP");
    {
      pqxx::stream_to s(tx, "import_updates",
                        std::vector<std::string>{"id", "name", "phone", "email", "program", "stage", "version",
                                                 "capture_confidence", "stage_changed_at", "updated_at",
                                                 "session_year", "tags", "extra"});
      for (const auto& c : plan.changes) {
        if (c.created) continue;
        const auto& l = c.lead;
        s << std::make_tuple(Opt(l.id), l.name, l.phone, l.email, l.program, Opt(l.stage),
                             Opt(std::to_string(l.version)), Opt(sql::json_confidence(l.confidence)),
                             Opt(l.stage_changed_at), Opt(l.updated_at), c.session_year, Opt(sql::pg_array(c.tags)),
                             Opt(json_object(c.extra)));
      }
      s.complete();
    }
    tx.exec_params0(
        "UPDATE leads.leads l SET name = u.name, phone = u.phone, email = u.email, program = u.program, "
        "stage = u.stage, version = u.version, capture_confidence = u.capture_confidence, "
        "stage_changed_at = u.stage_changed_at, updated_at = u.updated_at, session_year = u.session_year, "
        "tags = u.tags, extra = u.extra FROM import_updates u WHERE l.id = u.id AND l.tenant = $1",
        batch.tenant);
  }
  mark("write_updates");

  // Tags: leads.tags (written above) is what the list filter, the tag API and
  // the detail read; the import adds new names to the catalogue (category
  // "import"). It no longer writes leads.lead_tags: nothing reads that table
  // and the CRM tag API never wrote it (a third of a 100k-row import's time
  // went into its foreign-key checks).
  tx.exec_params0(
      "CREATE TEMP TABLE import_tags (lead_id uuid, tag text) ON COMMIT DROP");
  {
    pqxx::stream_to s(tx, "import_tags", std::vector<std::string>{"lead_id", "tag"});
    for (const auto& c : plan.changes) {
      for (const auto& t : c.tags) s << std::make_tuple(Opt(c.lead.id), Opt(t));
    }
    s.complete();
  }
  tx.exec_params0(
      "INSERT INTO leads.tags (tenant, name, category) SELECT DISTINCT $1, tag, 'import' FROM import_tags "
      "ON CONFLICT DO NOTHING",
      batch.tenant);
  mark("write_tags");

  {
    pqxx::stream_to s(tx, "leads.lead_captures",
                      std::vector<std::string>{"lead_id", "field", "value", "source_event_id", "message_id", "layer",
                                               "confidence", "detected_at", "applied"});
    for (const auto& c : plan.changes) {
      for (const auto& cap : c.captures) {
        const auto& e = cap.captured.evidence;
        s << std::make_tuple(Opt(c.lead.id), Opt(cap.field), Opt(cap.captured.value), Opt(batch.id),
                             Opt(e.message_id), Opt(e.layer), Opt(std::to_string(e.confidence)), Opt(e.detected_at),
                             Opt(cap.applied ? "t" : "f"));
      }
    }
    s.complete();
  }
  mark("write_captures");

  {
    pqxx::stream_to s(tx, "leads.lead_activities",
                      std::vector<std::string>{"lead_id", "kind", "actor", "payload", "event_id"});
    for (const auto& c : plan.changes) {
      const auto& row = plan.rows[c.row_index];
      s << std::make_tuple(Opt(c.lead.id), Opt(c.created ? "lead_created" : "imported"), Opt(batch.created_by),
                           Opt(imported_payload(batch.id, row, c)), Opt());
      if (c.previous_stage) {
        s << std::make_tuple(Opt(c.lead.id), Opt("stage_changed"), Opt(batch.created_by),
                             Opt(R"({"from":")" + *c.previous_stage + R"(","to":")" + c.lead.stage +
                                 R"x(","reason":"contact data complete (import)"})x"),
                             Opt());
      }
    }
    s.complete();
  }
  mark("write_timeline");

  // Events in plan order. An updated lead's snapshot is read back in full
  // (every field, not only those the import touches): one statement for all
  // updated leads, none per inserted one.
  std::unordered_map<std::string, Lead> snapshots;
  {
    std::vector<std::string> updated_ids;
    for (const auto& c : plan.changes) {
      if (!c.created) updated_ids.push_back(c.lead.id);
    }
    for (auto& l : repo::load_many(tx, batch.tenant, updated_ids)) {
      auto id = l.id;
      snapshots.emplace(std::move(id), std::move(l));
    }
  }
  auto created = created_events.get();
  std::vector<OutboxRow> outbox;
  outbox.reserve(plan.changes.size());
  for (std::size_t i = 0; i < plan.changes.size(); ++i) {
    const auto& c = plan.changes[i];
    Lead snapshot = c.lead;
    if (c.created) {
      outbox.push_back(std::move(*created[i]));
    } else {
      if (auto full = snapshots.find(c.lead.id); full != snapshots.end()) snapshot = full->second;
      outbox.push_back(
          event_row(std::string(events::topics::lead_updated), snapshot, lead_event_data(snapshot, &c.changed)));
    }
    if (c.previous_stage) {
      repo::add_stage_history(tx, snapshot, *c.previous_stage, batch.created_by, "contact data complete (import)",
                              c.previous_stage_changed_at);
      outbox.push_back(event_row(std::string(events::topics::lead_stage_changed), snapshot,
                                 stage_changed_data(snapshot, *c.previous_stage, batch.created_by,
                                                    "contact data complete (import)")));
    }
  }
  mark("build_events");
  if (!outbox.empty()) {
    {
      pqxx::stream_to s(tx, "leads.outbox", std::vector<std::string>{"topic", "key", "payload", "headers"});
      for (const auto& o : outbox) s << std::make_tuple(Opt(o.topic), Opt(o.key), Opt(o.payload), Opt(o.headers));
      s.complete();
    }
    tx.exec_params("SELECT pg_notify($1, '')", outbox::channel(repo::kSchema));
  }
  mark("write_outbox");

  {
    pqxx::stream_to s(tx, "leads.import_rows",
                      std::vector<std::string>{"batch_id", "row_no", "status", "reason", "lead_id"});
    for (const auto& r : plan.rows) {
      s << std::make_tuple(Opt(batch.id), Opt(std::to_string(r.row)), Opt(r.status),
                           r.reason.empty() ? Opt() : Opt(r.reason), r.lead_id.empty() ? Opt() : Opt(r.lead_id));
    }
    s.complete();
  }
  mark("write_rows");
}

Outcome run(pqxx::connection& c, const std::string& tenant, const std::string& user,
            const std::vector<Row>& rows, const Options& options, const std::string& options_json, bool dry_run,
            Phases* phases) {
  const auto mark = [phases](const char* name) {
    if (phases) phases->mark(name);
  };
  const auto now = events::now_rfc3339();
  const auto new_id = [] { return events::uuid_v4(); };
  for (int attempt = 1;; ++attempt) {
    try {
      if (dry_run) {
        pqxx::read_transaction tx(c);
        const auto pipeline = repo::pipeline_for(tx, tenant);
        auto existing = load_existing(tx, tenant, rows, false);
        return Outcome{decide(rows, existing, options, pipeline, new_id, now), std::nullopt};
      }
      pqxx::work tx(c);
      lock_tenant(tx, tenant);
      const auto pipeline = repo::pipeline_for(tx, tenant);
      mark("lock");
      auto existing = load_existing(tx, tenant, rows, true);
      mark("load_existing");
      auto plan = decide(rows, existing, options, pipeline, new_id, now);
      mark("decide");
      Batch batch{events::uuid_v4(), tenant, user, options_json};
      write(tx, batch, plan, phases);
      tx.commit();
      mark("commit");
      return Outcome{std::move(plan), batch.id};
    } catch (const pqxx::unique_violation&) {
      if (attempt >= 3) throw;
    }
  }
}

}  // namespace leadpipe::leads::import
