// JSON Schema validation of event data with RapidJSON's draft-04 validator.
#include "leadpipe/events/schema.hpp"

#include <leadpipe/embedded.hpp>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <mutex>
#include <stdexcept>

#include "json_limits.hpp"

LEADPIPE_DECLARE_EMBEDDED(event_schemas)

namespace leadpipe::events {

// One event type's schema. RapidJSON 1.1's regex engine keeps its matching
// scratch state inside the compiled pattern, so a SchemaDocument must not be
// used by two validations at once. Each validation therefore borrows a
// SchemaDocument from a small pool (a new one is compiled when all are busy)
// and returns it afterwards; the lock covers only the pop/push.
struct SchemaSet::Compiled {
  rapidjson::Document source;  // immutable after construction; read by every compile

  class Lease {
   public:
    Lease(Compiled& owner, std::unique_ptr<rapidjson::SchemaDocument> doc)
        : owner_(owner), doc_(std::move(doc)) {}
    ~Lease() { owner_.give_back(std::move(doc_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const rapidjson::SchemaDocument& get() const { return *doc_; }

   private:
    Compiled& owner_;
    std::unique_ptr<rapidjson::SchemaDocument> doc_;
  };

  Lease borrow() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        auto doc = std::move(idle.back());
        idle.pop_back();
        return Lease(*this, std::move(doc));
      }
    }
    return Lease(*this, std::make_unique<rapidjson::SchemaDocument>(source));
  }

  void give_back(std::unique_ptr<rapidjson::SchemaDocument> doc) {
    std::lock_guard lock(mu);
    // Bounded: beyond this many concurrent validations the extra copies are dropped.
    if (idle.size() < kMaxIdle) idle.push_back(std::move(doc));
  }

  static constexpr std::size_t kMaxIdle = 16;
  std::mutex mu;
  std::vector<std::unique_ptr<rapidjson::SchemaDocument>> idle;  // guarded by mu
};

namespace {

constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

std::string stringify(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string stringify_fragment(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.StringifyUriFragment(sb);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

// RapidJSON silently ignores a `pattern` its regex engine cannot compile and
// treats an unresolvable `$ref` as "anything goes". Both would turn a schema
// into a no-op without anyone noticing, so they are rejected up front.
void check_schema_tree(const rapidjson::Value& v, const rapidjson::Document& root,
                       const std::string& type) {
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) check_schema_tree(e, root, type);
    return;
  }
  if (!v.IsObject()) return;
  for (const auto& m : v.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "pattern" && m.value.IsString()) {
      rapidjson::internal::Regex re(m.value.GetString());
      if (!re.IsValid()) {
        throw std::invalid_argument("schema " + type + ": unsupported pattern " +
                                    m.value.GetString());
      }
    } else if (key == "patternProperties" && m.value.IsObject()) {
      for (const auto& p : m.value.GetObject()) {
        rapidjson::internal::Regex re(p.name.GetString());
        if (!re.IsValid()) {
          throw std::invalid_argument("schema " + type + ": unsupported pattern " +
                                      p.name.GetString());
        }
      }
    } else if (key == "$ref" && m.value.IsString()) {
      const std::string ref(m.value.GetString(), m.value.GetStringLength());
      if (ref.empty() || ref[0] != '#') {
        throw std::invalid_argument("schema " + type + ": only local $ref is supported: " + ref);
      }
      rapidjson::Pointer ptr(ref.c_str(), ref.size());
      if (!ptr.IsValid() || ptr.Get(root) == nullptr) {
        throw std::invalid_argument("schema " + type + ": unresolvable $ref " + ref);
      }
    }
    check_schema_tree(m.value, root, type);
  }
}

// Iterative (explicit stack) so the check itself cannot overflow.
bool value_nesting_exceeds(const rapidjson::Value& root, int max_depth) {
  std::vector<std::pair<const rapidjson::Value*, int>> stack{{&root, 1}};
  while (!stack.empty()) {
    const auto [v, depth] = stack.back();
    stack.pop_back();
    if (v->IsObject()) {
      if (depth > max_depth) return true;
      for (const auto& m : v->GetObject()) stack.emplace_back(&m.value, depth + 1);
    } else if (v->IsArray()) {
      if (depth > max_depth) return true;
      for (const auto& e : v->GetArray()) stack.emplace_back(&e, depth + 1);
    }
  }
  return false;
}

// Human-readable text for the first violation the validator found.
std::string describe(const rapidjson::SchemaValidator& v, const rapidjson::Document& schema_doc,
                     const rapidjson::Value& data) {
  const std::string keyword = v.GetInvalidSchemaKeyword();
  std::string where = stringify(v.GetInvalidDocumentPointer());
  if (where.empty()) where = "(root)";
  const std::string schema_at = stringify_fragment(v.GetInvalidSchemaPointer());
  const rapidjson::Value* rule = v.GetInvalidSchemaPointer().Get(schema_doc);
  const rapidjson::Value* kw = nullptr;
  if (rule != nullptr && rule->IsObject()) {
    auto it = rule->FindMember(keyword.c_str());
    if (it != rule->MemberEnd()) kw = &it->value;
  }

  std::string what;
  if (keyword == "required" && kw != nullptr && kw->IsArray()) {
    const rapidjson::Value* obj = v.GetInvalidDocumentPointer().Get(data);
    for (const auto& name : kw->GetArray()) {
      if (!name.IsString()) continue;
      if (obj != nullptr && obj->IsObject() && obj->HasMember(name)) continue;
      if (!what.empty()) what += ", ";
      what += name.GetString();
    }
    what = "missing required property " + what;
  } else if (keyword == "additionalProperties") {
    what = "has a property the schema does not allow";
  } else if (kw != nullptr &&
             (keyword == "type" || keyword == "enum" || keyword == "pattern" ||
              keyword == "minimum" || keyword == "maximum" || keyword == "minLength" ||
              keyword == "maxLength" || keyword == "minItems" || keyword == "maxItems")) {
    what = "violates \"" + keyword + "\": " + compact(*kw);
  } else {
    what = "violates \"" + keyword + "\"";
  }
  return where + ": " + what + " (schema " + schema_at + ")";
}

}  // namespace

SchemaSet::SchemaSet(const std::vector<std::pair<std::string, std::string>>& schemas) {
  for (const auto& [type, text] : schemas) {
    auto compiled = std::make_unique<Compiled>();
    compiled->source.Parse<kParseFlags>(text.data(), text.size());
    if (compiled->source.HasParseError()) {
      throw std::invalid_argument("schema " + type + ": invalid JSON at offset " +
                                  std::to_string(compiled->source.GetErrorOffset()) + ": " +
                                  rapidjson::GetParseError_En(compiled->source.GetParseError()));
    }
    if (!compiled->source.IsObject()) {
      throw std::invalid_argument("schema " + type + ": must be a JSON object");
    }
    check_schema_tree(compiled->source, compiled->source, type);
    compiled->idle.push_back(std::make_unique<rapidjson::SchemaDocument>(compiled->source));
    if (!schemas_.emplace(type, std::move(compiled)).second) {
      throw std::invalid_argument("schema " + type + ": defined twice");
    }
  }
}

SchemaSet::~SchemaSet() = default;
SchemaSet::SchemaSet(SchemaSet&&) noexcept = default;
SchemaSet& SchemaSet::operator=(SchemaSet&&) noexcept = default;

const SchemaSet& SchemaSet::builtin() {
  static const SchemaSet set = [] {
    std::vector<std::pair<std::string, std::string>> schemas;
    constexpr std::string_view suffix = ".json";
    for (const auto& f : embedded::event_schemas()) {
      if (f.name.size() <= suffix.size() ||
          f.name.substr(f.name.size() - suffix.size()) != suffix) {
        continue;
      }
      schemas.emplace_back(std::string(f.name.substr(0, f.name.size() - suffix.size())),
                           std::string(f.contents));
    }
    return SchemaSet(schemas);
  }();
  return set;
}

std::vector<std::string> SchemaSet::validate(std::string_view type,
                                             std::string_view data_json) const {
  if (!knows(type)) return {"unknown event type \"" + std::string(type) + "\""};
  if (detail::nesting_exceeds(data_json)) {
    return {"(root): data nests deeper than " + std::to_string(detail::kMaxJsonDepth) + " levels"};
  }
  rapidjson::Document d;
  d.Parse<kParseFlags>(data_json.data(), data_json.size());
  if (d.HasParseError()) {
    return {"(root): data is not valid JSON (offset " + std::to_string(d.GetErrorOffset()) + ": " +
            rapidjson::GetParseError_En(d.GetParseError()) + ")"};
  }
  return validate(type, static_cast<const rapidjson::Value&>(d));
}

std::vector<std::string> SchemaSet::validate(std::string_view type,
                                             const rapidjson::Value& data) const {
  auto it = schemas_.find(type);
  if (it == schemas_.end()) return {"unknown event type \"" + std::string(type) + "\""};
  if (value_nesting_exceeds(data, detail::kMaxJsonDepth)) {
    return {"(root): data nests deeper than " + std::to_string(detail::kMaxJsonDepth) + " levels"};
  }
  const auto lease = it->second->borrow();
  rapidjson::SchemaValidator validator(lease.get());
  data.Accept(validator);
  if (validator.IsValid()) return {};
  return {describe(validator, it->second->source, data)};
}

bool SchemaSet::knows(std::string_view type) const { return schemas_.find(type) != schemas_.end(); }

std::vector<std::string> SchemaSet::types() const {
  std::vector<std::string> out;
  out.reserve(schemas_.size());
  for (const auto& [type, compiled] : schemas_) out.push_back(type);
  return out;
}

}  // namespace leadpipe::events
