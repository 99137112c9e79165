#pragma once
// Private: schema-name validation shared by outbox.cpp and relay.cpp.
#include <leadpipe/pg/session.hpp>

#include <stdexcept>
#include <string>

namespace leadpipe::outbox::detail {

// Longest schema whose channel "<schema>_outbox" still fits PostgreSQL's
// 63-byte identifiers (longer channel names would be truncated by LISTEN but
// rejected by pg_notify).
inline constexpr std::size_t kMaxSchemaLength = 63 - 7;

inline const std::string& checked_schema(const std::string& schema) {
  if (!pg::is_simple_identifier(schema) || schema.size() > kMaxSchemaLength) {
    throw std::invalid_argument("outbox schema '" + schema +
                                "' must be a lower-case SQL identifier of at most 56 characters");
  }
  return schema;
}

}  // namespace leadpipe::outbox::detail
