#pragma once
// Internal: each channel registers its own routes (handlers.cpp calls these).
#include <memory>
#include <string_view>

#include <leadpipe/http/router.hpp>

namespace leadpipe::ingest {

struct Deps;

inline constexpr std::string_view kVendorLeadsPath = "/api/v1/vendor/leads";
inline constexpr std::string_view kCallsPath = "/webhooks/calls";
inline constexpr std::string_view kFormOtpSendPath = "/api/v1/forms/{tenant}/otp/send";
inline constexpr std::string_view kFormOtpVerifyPath = "/api/v1/forms/{tenant}/otp/verify";
inline constexpr std::string_view kFormSubmitPath = "/api/v1/forms/{tenant}/submit";

void add_vendor_routes(http::Router& router, std::shared_ptr<Deps> deps);
void add_call_routes(http::Router& router, std::shared_ptr<Deps> deps);
void add_form_routes(http::Router& router, std::shared_ptr<Deps> deps);

}  // namespace leadpipe::ingest
