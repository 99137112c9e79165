#pragma once
// A small thread-safe cache of lookups with a time-to-live, negative answers
// included (a flood of unknown keys or numbers costs no queries). Bounded: it
// is emptied when it grows past `max_entries` (cheap, and only under abuse).
// A ttl of zero disables it (put() stores nothing). Used by ingest-gateway
// (API keys, call integrations, form sites) and lead-store (pipelines).
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace leadpipe::runtime {

template <typename V>
class TtlCache {
 public:
  explicit TtlCache(std::chrono::milliseconds ttl, std::size_t max_entries = 100000)
      : ttl_(ttl), max_(max_entries) {}

  // The cached answer (which may itself be "absent"), or nullopt on a miss.
  std::optional<std::optional<V>> get(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || it->second.expires <= std::chrono::steady_clock::now()) return std::nullopt;
    return it->second.value;
  }
  void put(const std::string& key, std::optional<V> value) {
    if (ttl_.count() <= 0) return;
    std::lock_guard lock(mu_);
    if (map_.size() >= max_) map_.clear();
    map_[key] = Entry{std::move(value), std::chrono::steady_clock::now() + ttl_};
  }
  void erase(const std::string& key) {
    std::lock_guard lock(mu_);
    map_.erase(key);
  }

 private:
  struct Entry {
    std::optional<V> value;
    std::chrono::steady_clock::time_point expires;
  };
  std::chrono::milliseconds ttl_;
  std::size_t max_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace leadpipe::runtime
