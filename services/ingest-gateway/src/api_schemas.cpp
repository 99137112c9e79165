#include "api_schemas.hpp"

#include <map>
#include <set>

#include <leadpipe/embedded.hpp>

LEADPIPE_DECLARE_EMBEDDED(api_schemas)

namespace leadpipe::ingest {
namespace {

std::vector<std::pair<std::string, std::string>> embedded_schemas() {
  std::vector<std::pair<std::string, std::string>> schemas;
  for (const auto& f : embedded::api_schemas()) {
    std::string name(f.name);
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    name.resize(name.size() - 5);
    schemas.emplace_back(name, std::string(f.contents));
  }
  return schemas;
}

// type → names under "properties", read once from the same embedded files.
const std::map<std::string, std::set<std::string>>& declared_properties() {
  static const auto props = [] {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& [type, text] : embedded_schemas()) {
      rapidjson::Document d;
      d.Parse(text.data(), text.size());
      auto& names = out[type];
      if (!d.IsObject()) continue;
      auto it = d.FindMember("properties");
      if (it == d.MemberEnd() || !it->value.IsObject()) continue;
      for (const auto& m : it->value.GetObject()) names.emplace(m.name.GetString(), m.name.GetStringLength());
    }
    return out;
  }();
  return props;
}

}  // namespace

const events::SchemaSet& api_schemas() {
  static const events::SchemaSet set(embedded_schemas());
  return set;
}

std::vector<std::string> unknown_properties(const std::string& type, const rapidjson::Value& object) {
  std::vector<std::string> out;
  if (!object.IsObject()) return out;
  const auto& all = declared_properties();
  auto it = all.find(type);
  if (it == all.end()) return out;
  for (const auto& m : object.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!it->second.count(name)) out.push_back(std::move(name));
  }
  return out;
}

std::vector<http::FieldError> schema_field_errors(const std::string& message, const std::string& prefix) {
  // "<pointer or (root)>: <rule> (schema #/...)" — keep the rule, drop the schema path.
  const auto colon = message.find(": ");
  std::string where = colon == std::string::npos ? "" : message.substr(0, colon);
  std::string what = colon == std::string::npos ? message : message.substr(colon + 2);
  if (auto s = what.rfind(" (schema #"); s != std::string::npos) what.resize(s);
  auto qualify = [&](std::string field) {
    if (prefix.empty()) return field;
    return field.empty() ? prefix : prefix + "." + field;
  };
  std::vector<http::FieldError> out;
  if (where == "(root)") {
    constexpr std::string_view req = "missing required property ";
    if (what.rfind(req, 0) == 0) {
      std::string names = what.substr(req.size());
      std::size_t start = 0;
      while (start <= names.size()) {
        const auto comma = names.find(", ", start);
        const auto name = names.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!name.empty()) out.push_back({qualify(name), "is required"});
        if (comma == std::string::npos) break;
        start = comma + 2;
      }
      return out;
    }
    out.push_back({qualify(""), what});
    return out;
  }
  std::string field = where.size() > 1 && where[0] == '/' ? where.substr(1) : where;
  for (auto& c : field) {
    if (c == '/') c = '.';
  }
  out.push_back({qualify(field), what});
  return out;
}

}  // namespace leadpipe::ingest
