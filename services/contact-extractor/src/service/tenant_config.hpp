#pragma once
// Per-tenant configuration of the extractor, stored as one JSON document per
// tenant in extraction.tenant_settings (written by `leadctl extractor config
// set`, read by the consumer through TenantCache). Parsing, validation and the
// mapping to the engine's TenantConfig are pure; load/store take a transaction.
//
// Document (every member optional; absent = default):
//   {"region": "BR", "language": "pt",
//    "programs": ["Administração", "Direito"],
//    "scoring": {"high_value": [...], "medium_value": [...], "positive": [...],
//                "negative": [...], "urgency": [...], "low_urgency": [...]},
//    "llm": {"enabled": true, "daily_budget": 500},
//    "prompting": {"enabled": false},
//    "state_ttl_hours": 6}
// Scoring lists are ADDED to the multilingual defaults.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <leadpipe/extract/extractor.hpp>

namespace pqxx {
class transaction_base;
}

namespace leadpipe::extractor {

struct TenantSettings {
  std::string region = "ID";
  std::string language;  // "id" | "en" | "pt" | … ; empty = from the region (prompt texts)
  std::vector<std::string> programs;
  std::map<std::string, std::vector<std::string>> scoring;  // extra keywords per list name
  bool llm_enabled = false;
  int llm_daily_budget = 200;  // LLM calls per UTC day; 0 = none
  bool prompting = false;
  int state_ttl_hours = 6;

  bool operator==(const TenantSettings&) const = default;
};

// Names accepted under "scoring".
const std::vector<std::string>& scoring_list_names();

// Strict: unknown members, wrong types, out-of-range values and unknown
// regions throw std::invalid_argument naming the member. `base` supplies
// the values of absent members (defaults or the tenant's current settings).
TenantSettings parse_settings(std::string_view json, const TenantSettings& base = {});
std::string to_json(const TenantSettings& s);
// The engine's configuration (scoring extras appended to the defaults).
extract::TenantConfig to_extract_config(const TenantSettings& s);
// The language prompts are written in: `language`, else from the region.
std::string prompt_language(const TenantSettings& s);

// extraction.tenant_settings; nullopt = no row (defaults apply).
std::optional<TenantSettings> load_settings(pqxx::transaction_base& tx, const std::string& tenant);
void store_settings(pqxx::transaction_base& tx, const std::string& tenant, const TenantSettings& s);

// What the consumer needs per tenant: the settings and a compiled Extractor.
struct TenantEntry {
  TenantSettings settings;
  std::shared_ptr<const extract::Extractor> extractor;
};

// Tenant settings cached for `ttl` (a `leadctl extractor config set` takes
// effect within it). Compiled Extractors are shared between tenants with the
// same effective configuration (compiling the patterns costs milliseconds).
// Thread-safe.
class TenantCache {
 public:
  using Loader = std::function<std::optional<TenantSettings>(const std::string& tenant)>;
  TenantCache(TenantSettings defaults, std::chrono::milliseconds ttl);
  // `load` is called on a miss or after the TTL (e.g. load_settings on the caller's transaction).
  std::shared_ptr<const TenantEntry> get(const std::string& tenant, const Loader& load);
  const TenantSettings& defaults() const { return defaults_; }

 private:
  struct Slot {
    std::shared_ptr<const TenantEntry> entry;
    std::chrono::steady_clock::time_point loaded;
  };
  std::shared_ptr<const extract::Extractor> compiled(const TenantSettings& s);

  TenantSettings defaults_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, Slot> tenants_;
  std::map<std::string, std::weak_ptr<const extract::Extractor>> by_config_;
};

}  // namespace leadpipe::extractor
