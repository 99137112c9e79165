// libFuzzer target: the WhatsApp webhook parser must reject or accept any
// input without crashing, hanging or leaking (make fuzz).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "whatsapp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto hook = leadpipe::ingest::whatsapp::parse_webhook(body);
    for (const auto& m : hook.messages) (void)leadpipe::ingest::whatsapp::inbound_event_data(m);
    for (const auto& s : hook.statuses) (void)leadpipe::ingest::whatsapp::status_event_data(s);
  } catch (const leadpipe::ingest::whatsapp::ParseFailure&) {
  }
  return 0;
}
