#pragma once
// JSON helpers for handlers (RapidJSON 1.1).
//
// Reminder (TOOLCHAIN pitfall 2): never compare a rapidjson::Value with a
// primitive (`v == 1` recurses forever in C++20); test the type, then Get*().
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "leadpipe/http/message.hpp"

namespace leadpipe::http {

// Parses the request body as JSON. Throws HttpError 400 (problem) when the
// Content-Type is not JSON (application/json or application/*+json), the body
// is empty, or it is not well-formed UTF-8 JSON (the detail names the offset).
// Parsing is iterative, so deeply nested input cannot overflow the stack.
rapidjson::Document parse_json_body(const Request& request);
// Same, without the Content-Type check (for providers that send text/plain).
rapidjson::Document parse_json(std::string_view text);

// Compact serialisation.
std::string to_json(const rapidjson::Value& value);

// A RapidJSON document whose values and parse stack live in two buffers
// inside this object (on the caller's stack when it is a local), so parsing a
// small text takes no heap: a default Document takes a 64 KB chunk per parse,
// and glibc consolidates its free lists each time such a chunk is given back.
// A text too large for the buffers spills into heap chunks as usual.
//
// The stack buffer serves two stacks: the document's (values waiting for
// their object or array to close), which is given half of it, and the
// reader's (string bytes and the iterative parser's states), which starts at
// 256 bytes and grows in place into the rest. Each allocator also keeps its
// chunk header inside its buffer. Asking for the whole buffer for the
// document's stack (an easy mistake) sends every parse to a 64 KB heap chunk.
template <std::size_t ValueBytes, std::size_t StackBytes>
class BufferedDocument {
  static constexpr std::size_t kHeader = 64;  // ≥ RAPIDJSON_ALIGN(sizeof(MemoryPoolAllocator::ChunkHeader))
  static_assert(ValueBytes > kHeader && StackBytes >= 1024, "room for chunk headers and both parse stacks");

 public:
  using Allocator = rapidjson::MemoryPoolAllocator<>;
  using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Allocator, Allocator>;
  static constexpr std::size_t kStackCapacity = (StackBytes - kHeader) / 2;

  BufferedDocument() = default;
  BufferedDocument(const BufferedDocument&) = delete;
  BufferedDocument& operator=(const BufferedDocument&) = delete;

  Document& doc() { return doc_; }
  const Document& doc() const { return doc_; }
  // True while nothing has spilled out of the two buffers into the heap.
  bool within_buffers() const {
    return values_.Capacity() == values_in_buffer_ && stack_.Capacity() == stack_in_buffer_;
  }

 private:
  alignas(std::max_align_t) char value_buffer_[ValueBytes];
  alignas(std::max_align_t) char stack_buffer_[StackBytes];
  Allocator values_{value_buffer_, sizeof value_buffer_};
  Allocator stack_{stack_buffer_, sizeof stack_buffer_};
  const std::size_t values_in_buffer_ = values_.Capacity();
  const std::size_t stack_in_buffer_ = stack_.Capacity();
  Document doc_{&values_, kStackCapacity, &stack_};
};

// Writes `json` — one complete value, already serialised by our own code —
// as the next value of `w`, whose output is `out`, copying it in one block.
// Writer::RawValue copies it a byte at a time through the buffer's top
// pointer (~2 ns a byte: an event's embedded message, ~1 KB, took longer
// to copy than to parse). The writer still places the separator and counts
// the value; only the bytes bypass it.
template <typename Writer>
void write_raw_json(Writer& w, rapidjson::StringBuffer& out, std::string_view json, rapidjson::Type type) {
  w.RawValue("", 0, type);
  if (!json.empty()) std::memcpy(out.Push(json.size()), json.data(), json.size());
}

// True for application/json, application/json; charset=utf-8, application/x+json …
bool is_json_content_type(std::string_view content_type);

}  // namespace leadpipe::http
