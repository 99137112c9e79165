#pragma once
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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
  // `w` (the call site's own `thread_local` writer) reset onto this buffer:
  // a Writer allocates its nesting stack on its first StartObject, so a
  // fresh one per event was one more malloc and free per event.
  template <typename Writer>
  Writer& writer(Writer& w) {
    w.Reset(buf_);
    return w;
  }
  std::string str() const { return {buf_.GetString(), buf_.GetSize()}; }

 private:
  static constexpr std::size_t kKeepBytes = 64 * 1024;
  rapidjson::StringBuffer& buf_;
};

}  // namespace leadpipe::ingest
