#pragma once
// JSON-lines logging. One line per event on stderr:
//   {"ts":"2026-11-23T14:50:01.123Z","level":"info","service":"lead-store",
//    "msg":"lead created","request_id":"…","tenant":"demo","lead_id":"…"}
//
// Context travels explicitly: a Logger carries fields (request id, tenant,
// topic/partition/offset) and `with()` returns a child with more. Explicit
// context, not thread-locals, because coroutines hop threads across co_await.
// Thread-safe: each line is formatted privately and written with one call.
// Never pass secrets, OTPs or tokens as fields.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace leadpipe::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

struct Field {
  using Value = std::variant<std::string, std::int64_t, double, bool>;
  std::string key;
  Value value;

  Field(std::string k, std::string_view v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(std::string(v ? v : "")) {}
  Field(std::string k, const std::string& v) : key(std::move(k)), value(v) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v) {}
  Field(std::string k, double v) : key(std::move(k)), value(v) {}
  template <typename I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Field(std::string k, I v) : key(std::move(k)), value(static_cast<std::int64_t>(v)) {}
};

using Fields = std::vector<Field>;

// Process-wide settings; call once from main before starting threads.
void init(std::string service, Level min_level);
bool parse_level(std::string_view text, Level& out);
// For tests: capture lines instead of writing to stderr (empty = stderr).
void set_sink_for_tests(std::vector<std::string>* sink);

class Logger {
 public:
  Logger() = default;
  explicit Logger(Fields context) : context_(std::move(context)) {}

  Logger with(Fields more) const;

  void debug(std::string_view msg, const Fields& fields = {}) const { write(Level::debug, msg, fields); }
  void info(std::string_view msg, const Fields& fields = {}) const { write(Level::info, msg, fields); }
  void warn(std::string_view msg, const Fields& fields = {}) const { write(Level::warn, msg, fields); }
  void error(std::string_view msg, const Fields& fields = {}) const { write(Level::error, msg, fields); }

  void write(Level level, std::string_view msg, const Fields& fields) const;
  bool enabled(Level level) const;

 private:
  Fields context_;
};

// The root logger (service name only).
const Logger& root();

}  // namespace leadpipe::log
