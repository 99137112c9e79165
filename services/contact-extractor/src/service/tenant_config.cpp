#include "tenant_config.hpp"

#include <phonenumbers/phonenumberutil.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace leadpipe::extractor {
namespace {

constexpr std::size_t kMaxListItems = 2000;
constexpr std::size_t kMaxItemBytes = 200;

std::vector<std::string> string_list(const rapidjson::Value& v, const std::string& where) {
  if (!v.IsArray()) throw std::invalid_argument(where + ": expected an array of strings");
  if (v.Size() > kMaxListItems) throw std::invalid_argument(where + ": at most 2000 entries");
  std::vector<std::string> out;
  for (const auto& item : v.GetArray()) {
    if (!item.IsString()) throw std::invalid_argument(where + ": expected an array of strings");
    std::string s(item.GetString(), item.GetStringLength());
    s.erase(0, s.find_first_not_of(" \t\r\n"));
    s.erase(s.find_last_not_of(" \t\r\n") + 1);
    if (s.empty()) continue;
    if (s.size() > kMaxItemBytes) throw std::invalid_argument(where + ": an entry is longer than 200 bytes");
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;
}

bool boolean(const rapidjson::Value& v, const std::string& where) {
  if (!v.IsBool()) throw std::invalid_argument(where + ": expected true or false");
  return v.GetBool();
}

int integer(const rapidjson::Value& v, const std::string& where, int lo, int hi) {
  if (!v.IsInt() || v.GetInt() < lo || v.GetInt() > hi) {
    throw std::invalid_argument(where + ": expected an integer in " + std::to_string(lo) + ".." +
                                std::to_string(hi));
  }
  return v.GetInt();
}

void enabled_object(const rapidjson::Value& v, const std::string& where,
                    const std::function<void(const std::string&, const rapidjson::Value&)>& member) {
  if (!v.IsObject()) throw std::invalid_argument(where + ": expected an object");
  for (const auto& m : v.GetObject()) member(std::string(m.name.GetString(), m.name.GetStringLength()), m.value);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
void write_list(Writer& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v) w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

}  // namespace

const std::vector<std::string>& scoring_list_names() {
  static const std::vector<std::string> names = {"high_value", "medium_value", "positive",
                                                 "negative",   "urgency",      "low_urgency"};
  return names;
}

TenantSettings parse_settings(std::string_view json, const TenantSettings& base) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError()) {
    throw std::invalid_argument(std::string("settings: invalid JSON: ") + rapidjson::GetParseError_En(d.GetParseError()));
  }
  if (!d.IsObject()) throw std::invalid_argument("settings: expected a JSON object");
  TenantSettings s = base;
  for (const auto& m : d.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    const auto& v = m.value;
    if (name == "region") {
      if (!v.IsString()) throw std::invalid_argument("region: expected a string");
      std::string region = upper(v.GetString());
      if (region.size() != 2 ||
          i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(region) == 0) {
        throw std::invalid_argument("region: '" + region + "' is not a region libphonenumber knows (ISO 3166-1 alpha-2)");
      }
      s.region = region;
    } else if (name == "language") {
      if (!v.IsString() || v.GetStringLength() > 16) throw std::invalid_argument("language: expected a short code");
      s.language = v.GetString();
    } else if (name == "programs") {
      s.programs = string_list(v, "programs");
    } else if (name == "scoring") {
      if (!v.IsObject()) throw std::invalid_argument("scoring: expected an object of keyword lists");
      s.scoring.clear();
      for (const auto& l : v.GetObject()) {
        const std::string list(l.name.GetString(), l.name.GetStringLength());
        const auto& names = scoring_list_names();
        if (std::find(names.begin(), names.end(), list) == names.end()) {
          throw std::invalid_argument("scoring." + list +
                                      ": unknown list (high_value, medium_value, positive, negative, urgency, low_urgency)");
        }
        auto items = string_list(l.value, "scoring." + list);
        if (!items.empty()) s.scoring[list] = std::move(items);
      }
    } else if (name == "llm") {
      enabled_object(v, "llm", [&](const std::string& k, const rapidjson::Value& x) {
        if (k == "enabled") s.llm_enabled = boolean(x, "llm.enabled");
        else if (k == "daily_budget") s.llm_daily_budget = integer(x, "llm.daily_budget", 0, 1000000);
        else throw std::invalid_argument("llm." + k + ": unknown member (enabled, daily_budget)");
      });
    } else if (name == "prompting") {
      enabled_object(v, "prompting", [&](const std::string& k, const rapidjson::Value& x) {
        if (k == "enabled") s.prompting = boolean(x, "prompting.enabled");
        else throw std::invalid_argument("prompting." + k + ": unknown member (enabled)");
      });
    } else if (name == "state_ttl_hours") {
      s.state_ttl_hours = integer(v, "state_ttl_hours", 1, 24 * 30);
    } else {
      throw std::invalid_argument(name + ": unknown setting");
    }
  }
  return s;
}

std::string to_json(const TenantSettings& s) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("region");
  w.String(s.region.c_str());
  if (!s.language.empty()) {
    w.Key("language");
    w.String(s.language.c_str());
  }
  w.Key("programs");
  write_list(w, s.programs);
  w.Key("scoring");
  w.StartObject();
  for (const auto& [list, items] : s.scoring) {
    w.Key(list.c_str());
    write_list(w, items);
  }
  w.EndObject();
  w.Key("llm");
  w.StartObject();
  w.Key("enabled");
  w.Bool(s.llm_enabled);
  w.Key("daily_budget");
  w.Int(s.llm_daily_budget);
  w.EndObject();
  w.Key("prompting");
  w.StartObject();
  w.Key("enabled");
  w.Bool(s.prompting);
  w.EndObject();
  w.Key("state_ttl_hours");
  w.Int(s.state_ttl_hours);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

extract::TenantConfig to_extract_config(const TenantSettings& s) {
  extract::TenantConfig c;
  c.region = s.region;
  c.programs = s.programs;
  c.slot_ttl = std::chrono::hours(s.state_ttl_hours);
  auto add = [](std::vector<std::string>& to, const std::vector<std::string>& extra) {
    for (const auto& k : extra)
      if (std::find(to.begin(), to.end(), k) == to.end()) to.push_back(k);
  };
  for (const auto& [list, items] : s.scoring) {
    if (list == "high_value") add(c.scoring.high_value, items);
    else if (list == "medium_value") add(c.scoring.medium_value, items);
    else if (list == "positive") add(c.scoring.positive, items);
    else if (list == "negative") add(c.scoring.negative, items);
    else if (list == "urgency") add(c.scoring.urgency, items);
    else if (list == "low_urgency") add(c.scoring.low_urgency, items);
  }
  return c;
}

std::string prompt_language(const TenantSettings& s) {
  if (!s.language.empty()) return s.language;
  static const std::map<std::string, std::string> by_region = {
      {"ID", "id"}, {"MY", "id"}, {"BR", "pt"}, {"PT", "pt"}, {"AO", "pt"}, {"MZ", "pt"}};
  auto it = by_region.find(s.region);
  return it == by_region.end() ? "en" : it->second;
}

std::optional<TenantSettings> load_settings(pqxx::transaction_base& tx, const std::string& tenant) {
  auto r = tx.exec_params("SELECT settings::text FROM extraction.tenant_settings WHERE tenant = $1", tenant);
  if (r.empty()) return std::nullopt;
  return parse_settings(r[0][0].as<std::string>());
}

void store_settings(pqxx::transaction_base& tx, const std::string& tenant, const TenantSettings& s) {
  tx.exec_params(
      "INSERT INTO extraction.tenant_settings (tenant, settings, updated_at) VALUES ($1, $2::jsonb, now()) "
      "ON CONFLICT (tenant) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()",
      tenant, to_json(s));
}

TenantCache::TenantCache(TenantSettings defaults, std::chrono::milliseconds ttl)
    : defaults_(std::move(defaults)), ttl_(ttl) {}

std::shared_ptr<const extract::Extractor> TenantCache::compiled(const TenantSettings& s) {
  // Only what the engine sees decides whether two tenants can share one.
  TenantSettings key = s;
  key.llm_enabled = false;
  key.llm_daily_budget = 0;
  key.prompting = false;
  key.language.clear();
  const std::string k = to_json(key);
  if (auto it = by_config_.find(k); it != by_config_.end()) {
    if (auto e = it->second.lock()) return e;
  }
  auto e = std::make_shared<const extract::Extractor>(to_extract_config(s));
  by_config_[k] = e;
  return e;
}

std::shared_ptr<const TenantEntry> TenantCache::get(const std::string& tenant, const Loader& load) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = tenants_.find(tenant); it != tenants_.end() && now - it->second.loaded < ttl_) {
      return it->second.entry;
    }
  }
  // Load outside the lock (it queries the database).
  TenantSettings s = load(tenant).value_or(defaults_);
  std::lock_guard lock(mu_);
  auto entry = std::make_shared<TenantEntry>();
  entry->settings = s;
  entry->extractor = compiled(s);
  tenants_[tenant] = Slot{entry, now};
  return entry;
}

}  // namespace leadpipe::extractor
