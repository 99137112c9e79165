#pragma once
// CSV export of a filtered lead list: GET /api/v1/leads/export.csv takes the
// same filters, search, sort and role scope as GET /api/v1/leads and streams
// every matching lead, page by page (keyset pagination, one page in memory),
// as RFC 4180 CSV (header row, CRLF, UTF-8, quoted when needed) with the
// formula-injection guard of csv.hpp: a cell starting with = @ TAB CR, or
// + / - not followed by a plain number, gets a leading ' so spreadsheets
// show it as text (an E.164 phone such as +6281… stays as it is).
#include <memory>
#include <string>
#include <string_view>

#include "api.hpp"

namespace leadpipe::leads {

struct ExportOptions {
  int page_size = 500;  // leads per database round trip
};

void add_export_routes(http::Router& router, std::shared_ptr<ApiDeps> deps, ExportOptions options = {});

// ---- pure building blocks (unit-tested) ----
// The header row and one lead's row, each ending in CRLF.
std::string csv_header_row();
std::string csv_row(const Lead& lead);

}  // namespace leadpipe::leads
