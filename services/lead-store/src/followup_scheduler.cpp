#include "followup_scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <ctime>

#include "crm_service.hpp"

namespace leadpipe::leads {

std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

FollowupScheduler::FollowupScheduler(pg::Pool& pool, Config config, log::Logger logger,
                                     std::shared_ptr<prometheus::Registry> registry)
    : pool_(pool), config_(std::move(config)), logger_(std::move(logger)) {
  if (registry) {
    published_ = &prometheus::BuildCounter()
                      .Name("leadpipe_leadstore_followups_due_total")
                      .Help("followup.due events written to the outbox")
                      .Register(*registry)
                      .Add({});
  }
}

FollowupScheduler::~FollowupScheduler() { stop(); }

void FollowupScheduler::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void FollowupScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int FollowupScheduler::tick() {
  const auto now = format_time(config_.clock());
  int total = 0;
  for (;;) {
    const int n = pg::transact(pool_, [&](pqxx::work& tx) { return publish_due_followups(tx, now, config_.batch); });
    total += n;
    if (n < config_.batch) break;
  }
  if (total > 0) {
    if (published_) published_->Increment(total);
    logger_.info("follow-ups due announced", {{"count", total}});
  }
  return total;
}

void FollowupScheduler::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      tick();
    } catch (const std::exception& e) {
      // The database is down or busy: the next round retries; nothing is lost.
      logger_.warn("follow-up scheduler round failed", {{"error", e.what()}});
    }
    lock.lock();
    cv_.wait_for(lock, config_.interval, [this] { return stopping_; });
  }
}

}  // namespace leadpipe::leads
