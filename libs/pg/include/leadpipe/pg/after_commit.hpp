#pragma once
// Work that must wait until a transaction has committed — typically counting
// what it did in a metric: a transaction that rolls back, or that transact()
// runs again after a serialization failure, must not count anything.
//
//   // deep inside the transaction's code, on the thread that runs it:
//   pg::after_commit([&counter] { counter.Increment(); });
//
//   // whoever commits (pg::transact() does this for every attempt):
//   pg::CommitHooks hooks;   // the thread's current scope until destroyed
//   pqxx::work tx(c);
//   ...
//   tx.commit();
//   hooks.run();             // now; a scope destroyed without run() drops them
//
// after_commit() outside any scope drops `fn`: there is no commit to wait for,
// and running it at once would count work that may still roll back (a dry run
// that aborts, say). Code that commits a pqxx transaction itself opens a scope.
//
// Thread-safety: scopes are per thread (a transaction runs on one thread, as
// pool.with() callables do); nested scopes are allowed, the innermost one
// collects. Hooks must not throw: run() is noexcept, because the transaction
// has committed and must not be reported (and retried) as failed.
#include <functional>
#include <vector>

namespace leadpipe::pg {

class CommitHooks {
 public:
  CommitHooks() noexcept;
  ~CommitHooks();
  CommitHooks(const CommitHooks&) = delete;
  CommitHooks& operator=(const CommitHooks&) = delete;

  // Runs the collected hooks in registration order, once; call it right after
  // the commit succeeded.
  void run() noexcept;
  std::size_t pending() const noexcept { return hooks_.size(); }

 private:
  friend void after_commit(std::function<void()> fn);
  CommitHooks* outer_;
  std::vector<std::function<void()>> hooks_;
};

// Queues fn on the calling thread's innermost CommitHooks scope (dropped when
// there is none).
void after_commit(std::function<void()> fn);

}  // namespace leadpipe::pg
