#include "leadpipe/config/env.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

extern char** environ;

namespace leadpipe::config {
namespace {

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

std::map<std::string, std::string> parse_env_file(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    // Shell default form `${KEY:-fallback}` (as in deploy/local/dev.env): the
    // environment wins over files anyway, so the fallback is the file's value.
    if (value.size() > 4 && value.compare(0, 2, "${") == 0 && value.back() == '}') {
      const auto sep = value.find(":-");
      if (sep != std::string::npos) value = value.substr(sep + 2, value.size() - sep - 3);
    }
    out[key] = value;
  }
  return out;
}

Env::Env(std::map<std::string, std::string> values) : values_(std::move(values)) {}

Env Env::from_process() {
  std::map<std::string, std::string> values;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<std::string> errors;
  if (auto it = values.find("LEADPIPE_CONFIG_FILE"); it != values.end() && !it->second.empty()) {
    std::ifstream f(it->second);
    if (!f) {
      errors.push_back("LEADPIPE_CONFIG_FILE: cannot read " + it->second);
    } else {
      std::stringstream ss;
      ss << f.rdbuf();
      for (auto& [k, v] : parse_env_file(ss.str())) values.emplace(k, v);  // env wins
    }
  }
  Env env(std::move(values));
  env.errors_ = std::move(errors);
  return env;
}

std::optional<std::string> Env::lookup(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

void Env::record(const std::string& name, const std::string& value,
                 const std::string& description) {
  entries_.push_back({name, value, description});
}

void Env::fail(const std::string& name, const std::string& problem) {
  errors_.push_back(name + ": " + problem);
}

std::string Env::required(const std::string& name, const std::string& description) {
  auto v = lookup(name);
  if (!v) {
    fail(name, "required but not set (" + description + ")");
    record(name, "<unset>", description);
    return {};
  }
  record(name, *v, description);
  return *v;
}

std::string Env::secret(const std::string& name, const std::string& description) {
  auto v = lookup(name);
  if (!v) fail(name, "required secret not set (" + description + ")");
  record(name, v ? "<redacted>" : "<unset>", description);
  return v.value_or("");
}

std::string Env::string(const std::string& name, const std::string& fallback,
                        const std::string& description) {
  auto v = lookup(name).value_or(fallback);
  record(name, v, description);
  return v;
}

std::int64_t Env::integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                          std::int64_t max, const std::string& description) {
  auto raw = lookup(name);
  std::int64_t value = fallback;
  if (raw) {
    const char* b = raw->data();
    const char* e = b + raw->size();
    auto [p, ec] = std::from_chars(b, e, value);
    if (ec != std::errc() || p != e) {
      fail(name, "'" + *raw + "' is not an integer");
      value = fallback;
    }
  }
  if (value < min || value > max) {
    fail(name, std::to_string(value) + " is outside [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
    value = fallback;
  }
  record(name, std::to_string(value), description);
  return value;
}

bool Env::boolean(const std::string& name, bool fallback, const std::string& description) {
  auto raw = lookup(name);
  bool value = fallback;
  if (raw) {
    std::string s = *raw;
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    if (s == "1" || s == "true" || s == "yes" || s == "on") {
      value = true;
    } else if (s == "0" || s == "false" || s == "no" || s == "off") {
      value = false;
    } else {
      fail(name, "'" + *raw + "' is not a boolean (true/false)");
    }
  }
  record(name, value ? "true" : "false", description);
  return value;
}

std::chrono::milliseconds Env::millis(const std::string& name, std::chrono::milliseconds fallback,
                                      const std::string& description) {
  return std::chrono::milliseconds(
      integer(name, fallback.count(), 0, 24LL * 3600 * 1000 * 365, description + " (ms)"));
}

std::string Env::one_of(const std::string& name, const std::string& fallback,
                        const std::vector<std::string>& allowed,
                        const std::string& description) {
  auto v = lookup(name).value_or(fallback);
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(name, "'" + v + "' is not one of: " + list);
    v = fallback;
  }
  record(name, v, description);
  return v;
}

void Env::validate() const {
  if (errors_.empty()) return;
  std::string msg = "invalid configuration:";
  for (const auto& e : errors_) msg += "\n  " + e;
  throw ConfigError(msg);
}

}  // namespace leadpipe::config
