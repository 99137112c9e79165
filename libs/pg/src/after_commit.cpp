#include <leadpipe/pg/after_commit.hpp>

#include <utility>

namespace leadpipe::pg {
namespace {
thread_local CommitHooks* current = nullptr;
}  // namespace

CommitHooks::CommitHooks() noexcept : outer_(current) { current = this; }

CommitHooks::~CommitHooks() { current = outer_; }

void CommitHooks::run() noexcept {
  auto hooks = std::move(hooks_);
  hooks_.clear();
  for (auto& h : hooks) h();
}

void after_commit(std::function<void()> fn) {
  if (current && fn) current->hooks_.push_back(std::move(fn));
}

}  // namespace leadpipe::pg
