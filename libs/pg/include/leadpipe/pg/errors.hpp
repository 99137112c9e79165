#pragma once
// Error classes of the PostgreSQL layer.
//
// Decided once, here, which database failures are worth retrying: a lost or
// refused connection, a serialization failure, a deadlock and an operator
// shutdown of the backend. The pool rethrows those as TransientError (with the
// original pqxx exception nested, see std::rethrow_if_nested); everything else
// (constraint violations, syntax errors, statement timeouts, in-doubt commits)
// propagates unchanged, because retrying it would either fail again or risk
// applying a change twice.
#include <exception>
#include <stdexcept>
#include <string_view>

namespace leadpipe::pg {

// A failure that a retry with backoff may cure. Callers answer 503 / retry the
// transaction / leave the Kafka offset uncommitted.
class TransientError : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

// Why a database call failed, as far as retrying is concerned.
enum class FailureKind {
  permanent,      // not retryable (includes non-database exceptions)
  connection,     // connection refused / lost (class 08, broken_connection)
  serialization,  // 40001
  deadlock,       // 40P01
  shutdown,       // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
};

// Classifies an exception (pqxx or not). Never throws.
FailureKind classify(const std::exception& e) noexcept;
inline bool is_transient(const std::exception& e) noexcept {
  return classify(e) != FailureKind::permanent;
}
// Stable lower-case name, used as the `kind` label of leadpipe_pg_errors_total.
std::string_view to_string(FailureKind kind) noexcept;

}  // namespace leadpipe::pg
