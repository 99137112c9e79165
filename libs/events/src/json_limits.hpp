#pragma once
// Internal: limits applied to untrusted JSON before it reaches recursive code.
#include <cstddef>
#include <string_view>

namespace leadpipe::events::detail {

// Real event payloads nest a handful of levels (a WhatsApp message object is
// about five). RapidJSON parses iteratively, but serialising (Accept) and
// schema validation recurse once per level, so hostile nesting would overflow
// the stack: anything deeper than this is rejected up front.
inline constexpr int kMaxJsonDepth = 64;

// True if `json` opens more than max_depth nested arrays/objects. A linear scan
// that skips string contents (including escaped quotes); it does not validate.
inline bool nesting_exceeds(std::string_view json, int max_depth = kMaxJsonDepth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace leadpipe::events::detail
