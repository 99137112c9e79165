#pragma once
// Typed configuration read once at start-up from the environment, optionally
// layered over a KEY=VALUE file (LEADPIPE_CONFIG_FILE). Every getter records
// the variable with its description so `describe()` can print the effective
// configuration (secrets redacted). Problems are collected; `validate()`
// throws one ConfigError naming every offending variable, so a service fails
// fast with a message an operator can act on.
//
// Not thread-safe: build the service's config struct on the main thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace leadpipe::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Entry {
  std::string name;
  std::string value;  // "<redacted>" for secrets, "<unset>" when absent
  std::string description;
};

class Env {
 public:
  // Reads the process environment; if LEADPIPE_CONFIG_FILE is set, that file
  // supplies values the environment does not (environment wins).
  static Env from_process();
  // For tests: an explicit map instead of the environment.
  explicit Env(std::map<std::string, std::string> values);
  Env(std::initializer_list<std::pair<const std::string, std::string>> values)
      : Env(std::map<std::string, std::string>(values)) {}

  std::string required(const std::string& name, const std::string& description);
  std::string secret(const std::string& name, const std::string& description);
  std::string string(const std::string& name, const std::string& fallback,
                     const std::string& description);
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max, const std::string& description);
  bool boolean(const std::string& name, bool fallback, const std::string& description);
  std::chrono::milliseconds millis(const std::string& name, std::chrono::milliseconds fallback,
                                   const std::string& description);
  // A value from a fixed set (e.g. log level).
  std::string one_of(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& allowed, const std::string& description);

  // Adds a cross-field problem found by the caller.
  void fail(const std::string& name, const std::string& problem);
  // Throws ConfigError listing every problem seen so far.
  void validate() const;

  const std::vector<Entry>& describe() const { return entries_; }

 private:
  std::optional<std::string> lookup(const std::string& name) const;
  void record(const std::string& name, const std::string& value, const std::string& description);

  std::map<std::string, std::string> values_;
  std::vector<Entry> entries_;
  std::vector<std::string> errors_;
};

// Parses KEY=VALUE lines (`#` comments, optional `export `, optional quotes).
std::map<std::string, std::string> parse_env_file(const std::string& text);

}  // namespace leadpipe::config
