#include "leadpipe/pg/errors.hpp"

#include <pqxx/except>

#include <string>

namespace leadpipe::pg {

FailureKind classify(const std::exception& e) noexcept {
  // libpqxx 6.4 maps 40001/40P01 to dedicated classes that are not sql_error,
  // so test those first, then fall back to the SQLSTATE of a generic sql_error.
  if (dynamic_cast<const pqxx::serialization_failure*>(&e)) return FailureKind::serialization;
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e)) return FailureKind::deadlock;
  if (const auto* s = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = s->sqlstate();
    if (state.rfind("08", 0) == 0) return FailureKind::connection;
    if (state == "40001") return FailureKind::serialization;
    if (state == "40P01") return FailureKind::deadlock;
    if (state == "57P01" || state == "57P02" || state == "57P03") return FailureKind::shutdown;
    return FailureKind::permanent;
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) return FailureKind::connection;
  if (const auto* nested = dynamic_cast<const std::nested_exception*>(&e);
      nested && nested->nested_ptr()) {
    try {
      std::rethrow_exception(nested->nested_ptr());
    } catch (const std::exception& inner) {
      const FailureKind k = classify(inner);
      if (k != FailureKind::permanent) return k;
    } catch (...) {
    }
  }
  // A TransientError without a classifiable cause (e.g. pool acquire timeout):
  // the database was not reachable in time.
  if (dynamic_cast<const TransientError*>(&e)) return FailureKind::connection;
  return FailureKind::permanent;
}

std::string_view to_string(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::permanent: return "permanent";
    case FailureKind::connection: return "connection";
    case FailureKind::serialization: return "serialization";
    case FailureKind::deadlock: return "deadlock";
    case FailureKind::shutdown: return "shutdown";
  }
  return "permanent";
}

}  // namespace leadpipe::pg
