#pragma once
// Vendor lead API: parses and validates a POST /api/v1/vendor/leads body —
// one lead object or {"leads": [...]} — item by item, so one bad row never
// sinks the batch. Pure (no I/O): unit-tested and fuzzed
// (fuzz/fuzz_vendor_batch.cpp); the handler authenticates, publishes, answers.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <leadpipe/http/message.hpp>

namespace leadpipe::ingest::vendor {

inline constexpr std::size_t kMaxBatch = 500;

// The body as a whole is unusable (not JSON, wrong shape, too many leads):
// 400, nothing published. `what()` is client-safe.
class BatchError : public std::runtime_error {
 public:
  BatchError(std::string field, const std::string& message)
      : std::runtime_error(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// Who pushes, and how to read phones without a country code.
struct Context {
  std::string vendor;          // from the API key, never from the payload
  std::string api_key_id;
  std::string default_region;  // the key's region, else the gateway's default
  std::string received_at;     // RFC 3339 UTC, stamped into every event
  std::size_t max_items = kMaxBatch;
};

enum class Status { accepted, duplicate, rejected };
std::string_view to_string(Status);

struct Item {
  std::size_t index = 0;
  std::string vendor_lead_id;             // empty when missing or not a string
  Status status = Status::rejected;
  std::vector<http::FieldError> errors;   // why it was rejected
  std::string phone;                      // E.164, when accepted
  std::string event_data;                 // ingest.vendor.lead `data`, when accepted
};

struct Batch {
  bool single = false;  // the body was one lead, not {"leads": [...]}
  std::vector<Item> items;
  std::size_t accepted() const;
  std::size_t rejected() const;
};

// Throws BatchError for a body that is not one lead or {"leads": [1..max_items]}.
// A repeated vendor_lead_id within the batch is reported as `duplicate` and
// carries no event (the first occurrence is the one published).
Batch parse_batch(std::string_view body, const Context& ctx);

// Event id of a vendor lead: the same for every push of (vendor, vendor_lead_id)
// to a tenant, so consumers see re-pushes as duplicates.
std::string event_id(std::string_view tenant, std::string_view vendor, std::string_view vendor_lead_id);

// The 207 body: {"accepted":n,"rejected":n,"duplicates":n,"results":[{index,
// vendor_lead_id, status, event_id?, phone?, errors?}]}. `event_ids[i]` belongs
// to items[i] (empty for rejected ones).
std::string results_json(const Batch& batch, const std::vector<std::string>& event_ids);

}  // namespace leadpipe::ingest::vendor
