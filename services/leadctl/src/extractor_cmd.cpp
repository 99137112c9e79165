#include "extractor_cmd.hpp"

#include <pqxx/pqxx>

#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "tenant_config.hpp"

namespace leadpipe::leadctl {
namespace {

std::string read_json_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::invalid_argument("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out.push_back(c);
  }
  return out + "\"";
}

bool on_off(const std::string& name, const std::string& v) {
  if (v == "on" || v == "true") return true;
  if (v == "off" || v == "false") return false;
  throw std::invalid_argument("--" + name + " expects on or off");
}

}  // namespace

int cmd_extractor(const std::vector<std::string>& positional, const std::map<std::string, std::string>& options,
                  const std::string& pg_url) {
  if (positional.size() < 3 || positional[1] != "config") {
    throw std::invalid_argument("extractor: expected config set|show");
  }
  auto get = [&](const std::string& k) -> const std::string* {
    auto it = options.find(k);
    return it == options.end() ? nullptr : &it->second;
  };
  const std::string* tenant = get("tenant");
  if (!tenant || tenant->empty()) throw std::invalid_argument("missing --tenant");
  const std::string& sub = positional[2];
  pqxx::connection c(pg_url);

  if (sub == "show") {
    pqxx::read_transaction tx(c);
    auto s = extractor::load_settings(tx, *tenant);
    std::cout << extractor::to_json(s.value_or(extractor::TenantSettings{})) << "\n";
    if (!s) std::cerr << "(no settings stored for " << *tenant << ": defaults)\n";
    return 0;
  }
  if (sub != "set") throw std::invalid_argument("extractor config: expected set or show");

  // Build a partial document from the flags; parse_settings validates it and
  // merges it onto the tenant's current settings.
  std::string doc = "{";
  auto member = [&](const std::string& k, const std::string& json) {
    if (doc.size() > 1) doc += ",";
    doc += json_string(k) + ":" + json;
  };
  if (auto* f = get("file")) {  // a whole settings document
    const auto text = read_json_file(*f);
    pqxx::work tx(c);
    auto merged = extractor::parse_settings(text, extractor::load_settings(tx, *tenant).value_or(extractor::TenantSettings{}));
    extractor::store_settings(tx, *tenant, merged);
    tx.commit();
    std::cout << extractor::to_json(merged) << "\n";
    return 0;
  }
  if (auto* v = get("region")) member("region", json_string(*v));
  if (auto* v = get("language")) member("language", json_string(*v));
  if (auto* v = get("programs-file")) member("programs", read_json_file(*v));
  if (auto* v = get("scoring-file")) member("scoring", read_json_file(*v));
  std::string llm;
  if (auto* v = get("llm")) llm += std::string("\"enabled\":") + (on_off("llm", *v) ? "true" : "false");
  if (auto* v = get("llm-budget")) {
    if (!llm.empty()) llm += ",";
    std::size_t used = 0;
    const int n = std::stoi(*v, &used);
    if (used != v->size()) throw std::invalid_argument("--llm-budget expects a number");
    llm += "\"daily_budget\":" + std::to_string(n);
  }
  if (!llm.empty()) member("llm", "{" + llm + "}");
  if (auto* v = get("prompting")) member("prompting", std::string("{\"enabled\":") + (on_off("prompting", *v) ? "true" : "false") + "}");
  if (auto* v = get("state-ttl-hours")) {
    std::size_t used = 0;
    const int n = std::stoi(*v, &used);
    if (used != v->size()) throw std::invalid_argument("--state-ttl-hours expects a number");
    member("state_ttl_hours", std::to_string(n));
  }
  doc += "}";
  if (doc == "{}") throw std::invalid_argument("extractor config set: nothing to set");

  pqxx::work tx(c);
  extractor::TenantSettings merged;
  try {
    merged = extractor::parse_settings(doc, extractor::load_settings(tx, *tenant).value_or(extractor::TenantSettings{}));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("invalid settings: ") + e.what());
  }
  extractor::store_settings(tx, *tenant, merged);
  tx.commit();
  std::cout << extractor::to_json(merged) << "\n";
  std::cerr << "(contact-extractor picks this up within EXTRACTOR_TENANT_CACHE_TTL_MS)\n";
  return 0;
}

}  // namespace leadpipe::leadctl
