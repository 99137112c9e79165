#pragma once
// Campaign forms: request validation and event data, pure (unit-tested). The
// OTP rules are in otp.hpp, the state in form_store.hpp, the glue in forms_api.cpp.
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include <leadpipe/http/message.hpp>

#include "form_store.hpp"

namespace leadpipe::ingest::forms {

// A campaign slug as the site sends it: [A-Za-z0-9][A-Za-z0-9_.-]{0,99}.
bool valid_campaign(const std::string& campaign);

// Unknown fields, schema violations (proto/api/campaign_form.json) and a blank
// name, as field errors (empty = valid). Phones are checked by the caller.
std::vector<http::FieldError> validate_submission(const rapidjson::Value& form);

// SHA-256 over the form's content (every field, normalised phone, form type):
// equal for a repeated submit of the same form.
std::string content_hash(const rapidjson::Value& form, const std::string& phone_e164);

// Event id of a submission: the same for the same tenant, campaign, phone, form
// type and content, so repeated submits are duplicates downstream.
std::string submission_event_id(const std::string& tenant, const std::string& campaign,
                                const std::string& phone_e164, const std::string& form_type,
                                const std::string& hash);

// `data` of ingest.campaign.submission (status from the advanced flags).
std::string submission_data(const rapidjson::Value& form, const std::string& phone_e164, const FormState& state,
                            const std::string& submitted_at);

// `data` of the outreach.requested event asking outreach to send the OTP by
// WhatsApp template (sensitive: outreach never logs the parameters).
std::string otp_request_data(const std::string& request_id, const std::string& phone_e164,
                             const std::string& code, const std::string& template_name,
                             const std::string& language, const std::string& expires_at,
                             const std::string& campaign);

}  // namespace leadpipe::ingest::forms
