#include "leadpipe/log/log.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace leadpipe::log {
namespace {

std::string g_service = "leadpipe";
std::atomic<int> g_min_level{static_cast<int>(Level::info)};
std::mutex g_sink_mu;
std::vector<std::string>* g_sink = nullptr;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

void timestamp(char* buf, std::size_t n) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char base[32];
  std::strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf, n, "%s.%03dZ", base, static_cast<int>(ms));
}

void put(rapidjson::Writer<rapidjson::StringBuffer>& w, const Field& f) {
  w.Key(f.key.c_str(), static_cast<rapidjson::SizeType>(f.key.size()));
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.Int64(v);
        } else if constexpr (std::is_same_v<T, double>) {
          w.Double(v);
        } else {
          w.Bool(v);
        }
      },
      f.value);
}

}  // namespace

void init(std::string service, Level min_level) {
  g_service = std::move(service);
  g_min_level = static_cast<int>(min_level);
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") out = Level::debug;
  else if (text == "info") out = Level::info;
  else if (text == "warn") out = Level::warn;
  else if (text == "error") out = Level::error;
  else return false;
  return true;
}

void set_sink_for_tests(std::vector<std::string>* sink) {
  std::lock_guard lock(g_sink_mu);
  g_sink = sink;
}

Logger Logger::with(Fields more) const {
  Fields merged = context_;
  for (auto& f : more) merged.push_back(std::move(f));
  return Logger(std::move(merged));
}

bool Logger::enabled(Level level) const { return static_cast<int>(level) >= g_min_level.load(); }

void Logger::write(Level level, std::string_view msg, const Fields& fields) const {
  if (!enabled(level)) return;
  char ts[40];
  timestamp(ts, sizeof ts);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("ts");
  w.String(ts);
  w.Key("level");
  w.String(level_name(level));
  w.Key("service");
  w.String(g_service.c_str(), static_cast<rapidjson::SizeType>(g_service.size()));
  w.Key("msg");
  w.String(msg.data(), static_cast<rapidjson::SizeType>(msg.size()));
  for (const auto& f : context_) put(w, f);
  for (const auto& f : fields) put(w, f);
  w.EndObject();
  std::string line(buf.GetString(), buf.GetSize());
  line.push_back('\n');
  {
    std::lock_guard lock(g_sink_mu);
    if (g_sink) {
      line.pop_back();
      g_sink->push_back(std::move(line));
      return;
    }
  }
  // One write(2) per line keeps lines whole when threads log at once.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

const Logger& root() {
  static const Logger logger;
  return logger;
}

}  // namespace leadpipe::log
