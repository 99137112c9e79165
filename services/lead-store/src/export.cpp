#include "export.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <leadpipe/http/stream.hpp>

#include "crm_repository.hpp"
#include "csv.hpp"
#include "permissions.hpp"
#include "repository.hpp"

namespace leadpipe::leads {
namespace {

using boost::asio::awaitable;
using http::Request;
using http::Response;

constexpr const char* kColumns[] = {"id",          "name",       "phone",      "email",      "program",
                                    "stage",       "score",      "tier",       "interest",   "source",
                                    "channel",     "assigned_to", "counsellor", "owner",      "session_year",
                                    "tags",        "last_contacted_at", "created_at", "updated_at", "version"};

// RFC 4180 quoting + the formula guard of the import's CSV module.
void append_field(std::string& out, std::string_view v) { csv::append_field(out, v, true); }
void append_opt(std::string& out, const std::optional<std::string>& v) {
  if (v) append_field(out, *v);
}

awaitable<Response> export_csv(ApiDeps& d, const ExportOptions& opt, Request& req) {
  const auto who = auth::authenticate(req, d.verifier);
  auto query = parse_list_request(req, who);  // the list's filters, search, sort and scope
  query.cursor.reset();                        // the export always starts at the beginning
  query.limit = opt.page_size;
  query.with_total = false;
  // First page before any byte is sent: an invalid stage is still a 400.
  auto first = [query, &d](pqxx::connection& c) mutable {
    pqxx::read_transaction tx(c);
    resolve_list_stages(query, cached_pipeline(d, tx, query.tenant));
    auto page = repo::list(tx, query);
    return std::make_pair(query, std::move(page));
  };
  auto [resolved, page] = co_await d.pool.async(std::move(first));
  auto state = std::make_shared<std::pair<repo::ListQuery, repo::ListPage>>(std::move(resolved), std::move(page));
  pg::Pool& pool = d.pool;
  auto produce = [state, &pool](http::StreamWriter& out) -> awaitable<void> {
    std::string chunk = csv_header_row();
    for (;;) {
      auto& [q, p] = *state;
      for (const auto& lead : p.items) chunk += csv_row(lead);
      if (!co_await out.write(chunk)) co_return;
      chunk.clear();
      if (!p.next_cursor) co_return;
      q.cursor = p.next_cursor;
      auto next = [q](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        return repo::list(tx, q);
      };
      p = co_await pool.async(std::move(next));
    }
  };
  Response res = http::stream_response(200, "text/csv; charset=utf-8", std::move(produce));
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"leads.csv\"");
  res.headers.emplace_back("Cache-Control", "no-store");
  co_return res;
}

}  // namespace

std::string csv_header_row() {
  std::string out;
  for (const char* c : kColumns) {
    if (!out.empty()) out.push_back(',');
    out += c;
  }
  out += "\r\n";
  return out;
}

std::string csv_row(const Lead& l) {
  std::string out;
  out.reserve(256);
  append_field(out, l.id);
  out.push_back(',');
  append_opt(out, l.name);
  out.push_back(',');
  append_opt(out, l.phone);
  out.push_back(',');
  append_opt(out, l.email);
  out.push_back(',');
  append_opt(out, l.program);
  out.push_back(',');
  append_field(out, l.stage);
  out.push_back(',');
  if (l.score) out += std::to_string(*l.score);
  out.push_back(',');
  append_opt(out, l.tier);
  out.push_back(',');
  append_opt(out, l.interest);
  out.push_back(',');
  append_field(out, l.source);
  out.push_back(',');
  append_opt(out, l.channel);
  out.push_back(',');
  append_opt(out, l.assigned_to);
  out.push_back(',');
  append_opt(out, l.counsellor);
  out.push_back(',');
  append_opt(out, l.owner);
  out.push_back(',');
  append_opt(out, l.session_year);
  out.push_back(',');
  std::string tags;
  for (const auto& t : l.tags) {
    if (!tags.empty()) tags.push_back(';');
    tags += t;
  }
  append_field(out, tags);
  out.push_back(',');
  append_opt(out, l.last_contacted_at);
  out.push_back(',');
  append_field(out, l.created_at);
  out.push_back(',');
  append_field(out, l.updated_at);
  out.push_back(',');
  out += std::to_string(l.version);
  out += "\r\n";
  return out;
}

void add_export_routes(http::Router& router, std::shared_ptr<ApiDeps> deps, ExportOptions options) {
  router.get(
      "/api/v1/leads/export.csv",
      [deps, options](Request& req) { return export_csv(*deps, options, req); }, "/api/v1/leads/export.csv");
}

}  // namespace leadpipe::leads
