#pragma once
// POST /api/v1/leads/{id}/merge[?dry_run=true] with {"lead_ids": [...]}:
// absorbs the given leads into {id} (merge.hpp's winner rules), moves their
// identities, captures, timeline, stage and assignment history, notes,
// follow-ups and tags, soft-deletes them with merged_into = {id}, and writes
// lead.merged + lead.updated (+ lead.stage_changed) to the outbox. A dry run
// runs the very same transaction and rolls it back, so its answer is the real
// merge's. Roles: admin, admission_admin, sales_head (inside their pool).
#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <vector>

#include <leadpipe/auth/jwt.hpp>

#include "api.hpp"

namespace leadpipe::leads {

// The merge in the caller's transaction; returns the response body. Throws
// http::HttpError 404 (a lead missing or outside the caller's scope) / 422.
std::string merge_in_tx(pqxx::work& tx, const auth::Principal& who, const std::string& survivor_id,
                        const std::vector<std::string>& absorbed_ids, bool dry_run,
                        const std::string& now);

void add_merge_routes(http::Router& router, std::shared_ptr<ApiDeps> deps);

}  // namespace leadpipe::leads
