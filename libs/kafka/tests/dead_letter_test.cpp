#include <catch2/catch.hpp>

#include "leadpipe/kafka/consumer.hpp"

using namespace leadpipe::kafka;
using std::chrono::milliseconds;

namespace {

std::optional<std::string> header_of(const Message& m, const std::string& key) {
  std::optional<std::string> out;
  int seen = 0;
  for (const auto& h : m.headers) {
    if (h.key == key) {
      out = h.value;
      ++seen;
    }
  }
  REQUIRE(seen <= 1);
  return out;
}

Record sample_record() {
  Record r;
  r.topic = "lead.created";
  r.partition = 3;
  r.offset = 1234;
  r.key = "demo:lead-1";
  r.value = R"({"specversion":"1.0"})";
  r.headers = {{"traceparent", "00-abc-def-01"}, {"dlq.reason", "old reason"}, {"x", "1"}};
  r.timestamp_ms = 1700000000000;
  return r;
}

}  // namespace

TEST_CASE("retry backoff doubles from the base and caps at the maximum", "[unit]") {
  CHECK(retry_backoff(1, milliseconds(200), milliseconds(5000)) == milliseconds(200));
  CHECK(retry_backoff(2, milliseconds(200), milliseconds(5000)) == milliseconds(400));
  CHECK(retry_backoff(3, milliseconds(200), milliseconds(5000)) == milliseconds(800));
  CHECK(retry_backoff(5, milliseconds(200), milliseconds(5000)) == milliseconds(3200));
  CHECK(retry_backoff(6, milliseconds(200), milliseconds(5000)) == milliseconds(5000));
  CHECK(retry_backoff(1000000, milliseconds(200), milliseconds(5000)) == milliseconds(5000));
  CHECK(retry_backoff(0, milliseconds(200), milliseconds(5000)) == milliseconds(200));
  CHECK(retry_backoff(-3, milliseconds(200), milliseconds(5000)) == milliseconds(200));
  CHECK(retry_backoff(1, milliseconds(9000), milliseconds(5000)) == milliseconds(5000));
  CHECK(retry_backoff(4, milliseconds(0), milliseconds(5000)) == milliseconds(0));
}

TEST_CASE("a dead letter keeps key, value and headers and adds the dlq.* headers", "[unit]") {
  const Record r = sample_record();
  const Message m =
      make_dead_letter(r, "schema: /lead_id missing", DeadLetterClass::permanent, 1, "lead-store");
  CHECK(m.topic == "lead.created.dlq");
  CHECK(m.key == r.key);
  CHECK(m.value == r.value);
  CHECK(header_of(m, "traceparent") == "00-abc-def-01");
  CHECK(header_of(m, "x") == "1");
  CHECK(header_of(m, "dlq.reason") == "schema: /lead_id missing");  // old dlq.* replaced
  CHECK(header_of(m, "dlq.error_class") == "permanent");
  CHECK(header_of(m, "dlq.source_topic") == "lead.created");
  CHECK(header_of(m, "dlq.source_partition") == "3");
  CHECK(header_of(m, "dlq.source_offset") == "1234");
  CHECK(header_of(m, "dlq.attempts") == "1");
  CHECK(header_of(m, "dlq.consumer_group") == "lead-store");
  const auto failed_at = header_of(m, "dlq.failed_at");
  REQUIRE(failed_at);
  CHECK(failed_at->size() == 24);
  CHECK(failed_at->back() == 'Z');

  const Message e = make_dead_letter(r, "db down", DeadLetterClass::exhausted, 5, "g");
  CHECK(header_of(e, "dlq.error_class") == "exhausted");
  CHECK(header_of(e, "dlq.attempts") == "5");
  CHECK(to_string(DeadLetterClass::permanent) == "permanent");
  CHECK(to_string(DeadLetterClass::exhausted) == "exhausted");
}

TEST_CASE("a long dlq.reason is truncated on a UTF-8 boundary", "[unit]") {
  std::string reason(999, 'a');
  reason += "\xC3\xA9";  // é straddles the 1000-byte cut
  reason += std::string(5000, 'b');
  const Message m = make_dead_letter(sample_record(), reason, DeadLetterClass::exhausted, 5, "g");
  const auto got = header_of(m, "dlq.reason");
  REQUIRE(got);
  CHECK(got->size() == 999);
  CHECK(*got == std::string(999, 'a'));

  const Message short_reason =
      make_dead_letter(sample_record(), "é", DeadLetterClass::permanent, 1, "g");
  CHECK(header_of(short_reason, "dlq.reason") == "é");
}

TEST_CASE("Record::header returns the last value of a key", "[unit]") {
  Record r;
  r.headers = {{"a", "1"}, {"b", "2"}, {"a", "3"}, {"empty", ""}};
  CHECK(r.header("a") == "3");
  CHECK(r.header("b") == "2");
  CHECK(r.header("empty") == "");
  CHECK_FALSE(r.header("missing").has_value());
}
