#pragma once
// JSON Schema (draft-04) validation of event `data` per event type.
//
// The built-in set holds every proto/events/<type>.json, compiled into the
// binary, so a deployed service never reads the source tree. Schemas are
// compiled at construction; validate() builds a fresh validator per call and
// borrows a compiled schema from a small per-type pool (RapidJSON 1.1's regex
// matcher is not re-entrant), so a SchemaSet is safe to use from any number of
// threads.
#include <rapidjson/fwd.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadpipe::events {

class SchemaSet {
 public:
  // The schemas of proto/events/*.json (type = file name without ".json").
  // Built on first use; throws std::invalid_argument if one does not compile
  // (a build defect, caught by the unit tests).
  static const SchemaSet& builtin();

  // {type, schema JSON text}. Throws std::invalid_argument naming the type if a
  // schema is not valid JSON, uses a `pattern` the validator cannot compile, or
  // has a `$ref` that does not resolve within the same document (remote refs
  // are not supported).
  explicit SchemaSet(const std::vector<std::pair<std::string, std::string>>& schemas);
  ~SchemaSet();
  SchemaSet(SchemaSet&&) noexcept;
  SchemaSet& operator=(SchemaSet&&) noexcept;

  // Empty vector = valid. Unknown type = error. Messages name the offending
  // JSON pointer, e.g. `/phones/0/value: does not match "pattern" …`.
  std::vector<std::string> validate(std::string_view type, std::string_view data_json) const;
  std::vector<std::string> validate(std::string_view type, const rapidjson::Value& data) const;
  bool knows(std::string_view type) const;
  // Sorted list of known types.
  std::vector<std::string> types() const;

 private:
  struct Compiled;
  std::map<std::string, std::unique_ptr<Compiled>, std::less<>> schemas_;
};

}  // namespace leadpipe::events
