#pragma once
// POST /api/v1/leads/{id}/messages {channel: whatsapp|sms, template?, language?,
// parameters?, text?} → 202 {"request_id", "status": "pending"}: in one
// transaction a `pending` outreach entry on the lead's timeline (updated in
// place by outreach's results, see outreach_consumer.hpp) and outreach.requested
// (purpose "crm", the caller as sender in `context`, key tenant:to) in the
// outbox. Outreach does the sending. Roles: every writing role inside its scope
// (marketing 403); 422 when the lead has no phone; 400 for a bad body.
#include <pqxx/pqxx>

#include <memory>
#include <string>

#include <leadpipe/auth/jwt.hpp>

#include "api.hpp"
#include "outreach.hpp"

namespace leadpipe::leads {

// The request in the caller's transaction; returns the request id. Throws
// http::HttpError 404 (missing / out of scope) and 422 (no phone).
std::string request_message_in_tx(pqxx::work& tx, const auth::Principal& who, const std::string& id,
                                  const MessageRequest& message);

void add_message_routes(http::Router& router, std::shared_ptr<ApiDeps> deps);

}  // namespace leadpipe::leads
