// libFuzzer target: the vendor lead batch parser (schema validation, phone
// normalisation, event data and the 207 body) must accept or reject any input
// without crashing, hanging or leaking (make fuzz).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vendor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace vendor = leadpipe::ingest::vendor;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  vendor::Context ctx;
  ctx.vendor = "fuzz";
  ctx.api_key_id = "00000000-0000-4000-8000-000000000000";
  ctx.default_region = "IN";
  ctx.received_at = "2026-01-01T00:00:00Z";
  try {
    auto batch = vendor::parse_batch(body, ctx);
    std::vector<std::string> ids(batch.items.size());
    (void)vendor::results_json(batch, ids);
  } catch (const vendor::BatchError&) {
  }
  return 0;
}
