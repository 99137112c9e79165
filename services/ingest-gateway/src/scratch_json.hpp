#pragma once
#include <rapidjson/stringbuffer.h>

#include <cstddef>
#include <string>

namespace leadpipe::ingest {

// A per-thread serialisation buffer reused across requests, so an event's
// JSON is not grown in a fresh buffer (malloc + reallocs) every time. Each
// call site owns its own `thread_local rapidjson::StringBuffer`; the guard
// clears it on entry and gives back its memory when a use made it large.
class ScratchJson {
 public:
  explicit ScratchJson(rapidjson::StringBuffer& b) : buf_(b) { buf_.Clear(); }
  ~ScratchJson() {
    if (buf_.GetSize() > kKeepBytes) {
      buf_.Clear();
      buf_.ShrinkToFit();
    }
  }
  ScratchJson(const ScratchJson&) = delete;
  ScratchJson& operator=(const ScratchJson&) = delete;
  rapidjson::StringBuffer& buffer() { return buf_; }
  std::string str() const { return {buf_.GetString(), buf_.GetSize()}; }

 private:
  static constexpr std::size_t kKeepBytes = 64 * 1024;
  rapidjson::StringBuffer& buf_;
};

}  // namespace leadpipe::ingest
