#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <set>
#include <string>
#include <thread>

#include "leadpipe/events/cloud_event.hpp"
#include "leadpipe/events/topics.hpp"

using namespace leadpipe::events;

namespace {

int hex(char c) { return (c >= 'a') ? c - 'a' + 10 : c - '0'; }

// Version nibble and variant bits of a canonical UUID string.
int version_of(const std::string& u) { return hex(u[14]); }
bool has_rfc4122_variant(const std::string& u) { return (hex(u[19]) & 0xc) == 0x8; }

std::string envelope_with(const std::string& drop, const std::string& extra = "") {
  std::string out = "{";
  auto add = [&](const std::string& key, const std::string& json_value) {
    if (key == drop) return;
    if (out.size() > 1) out += ",";
    out += "\"" + key + "\":" + json_value;
  };
  add("specversion", "\"1.0\"");
  add("id", "\"0b5c1a3e-3f7e-4d59-9c1e-2f4b8a6d7e10\"");
  add("source", "\"leadpipe/test\"");
  add("type", "\"lead.created\"");
  add("time", "\"2025-11-23T12:31:01.020Z\"");
  add("tenantid", "\"demo\"");
  add("data", "{\"a\":1}");
  if (!extra.empty()) out += "," + extra;
  return out + "}";
}

std::string parse_error_of(const std::string& json) {
  try {
    parse(json);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("uuid_v4 is random, canonical, version 4 with the RFC 4122 variant", "[unit]") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string u = uuid_v4();
    REQUIRE(is_uuid(u));
    for (char c : u) CHECK((c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
    CHECK(version_of(u) == 4);
    CHECK(has_rfc4122_variant(u));
    seen.insert(u);
  }
  CHECK(seen.size() == 200);
}

TEST_CASE("uuid_v5 matches RFC 4122 reference values and is deterministic", "[unit]") {
  // Reference value (e.g. Python uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com")).
  const std::string dns = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
  CHECK(uuid_v5(dns, "www.example.com") == "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  CHECK(uuid_v5("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "www.example.com") ==
        "2ed6657d-e927-568b-95e1-2665a8aea6a2");

  const std::string a = uuid_v5(kNamespace, "ingest.whatsapp.inbound/wamid.1");
  CHECK(a == uuid_v5(kNamespace, "ingest.whatsapp.inbound/wamid.1"));
  CHECK(a != uuid_v5(kNamespace, "ingest.whatsapp.inbound/wamid.2"));
  CHECK(a != uuid_v5(dns, "ingest.whatsapp.inbound/wamid.1"));
  CHECK(version_of(a) == 5);
  CHECK(has_rfc4122_variant(a));
  CHECK(is_uuid(std::string(kNamespace)));

  CHECK_THROWS_AS(uuid_v5("not-a-uuid", "x"), std::invalid_argument);
  CHECK_THROWS_AS(uuid_v5("6ba7b810-9dad-11d1-80b4-00c04fd430cg", "x"), std::invalid_argument);
}

TEST_CASE("is_uuid accepts only the canonical form", "[unit]") {
  CHECK(is_uuid("0b5c1a3e-3f7e-4d59-9c1e-2f4b8a6d7e10"));
  CHECK(is_uuid("0B5C1A3E-3F7E-4D59-9C1E-2F4B8A6D7E10"));
  CHECK_FALSE(is_uuid("0b5c1a3e3f7e4d599c1e2f4b8a6d7e10"));
  CHECK_FALSE(is_uuid("{0b5c1a3e-3f7e-4d59-9c1e-2f4b8a6d7e10}"));
  CHECK_FALSE(is_uuid("0b5c1a3e-3f7e-4d59-9c1e-2f4b8a6d7e1"));
  CHECK_FALSE(is_uuid(""));
}

TEST_CASE("now_rfc3339 is UTC with milliseconds", "[unit]") {
  const std::string t = now_rfc3339();
  REQUIRE(t.size() == 24);
  CHECK(t[4] == '-');
  CHECK(t[10] == 'T');
  CHECK(t[19] == '.');
  CHECK(t.back() == 'Z');
  CHECK(t.substr(0, 2) == "20");
}

TEST_CASE("now_rfc3339 follows the clock across seconds (the calendar part is cached per second)", "[unit]") {
  const auto calendar = [](std::time_t s) {
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[32];
    return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm));
  };
  for (int round = 0; round < 2; ++round) {
    const std::time_t before = std::time(nullptr);
    const std::string t = now_rfc3339();
    const std::time_t after = std::time(nullptr);
    const std::string secs = t.substr(0, 19);
    CHECK(secs >= calendar(before));
    CHECK(secs <= calendar(after));
    CHECK(t[19] == '.');
    CHECK(std::isdigit(static_cast<unsigned char>(t[20])));
    CHECK(std::isdigit(static_cast<unsigned char>(t[22])));
    // A second later the cached calendar part must have moved on.
    if (round == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1050));
  }
}

TEST_CASE("make + to_json + parse round-trip the envelope", "[unit]") {
  const CloudEvent ev = make("lead.created", "leadpipe/lead-store", "demo", "lead-1",
                             R"({"lead_id":"x","name":"Siti \"S\" Aulia","n":[1,2.5,null]})");
  CHECK(is_uuid(ev.id));
  CHECK(ev.time.size() == 24);
  CHECK(ev.datacontenttype == "application/json");

  const std::string wire = to_json(ev);
  rapidjson::Document d;
  d.Parse(wire.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["specversion"].GetString()) == "1.0");
  CHECK(std::string(d["tenantid"].GetString()) == "demo");
  CHECK(std::string(d["subject"].GetString()) == "lead-1");
  REQUIRE(d["data"].IsObject());  // embedded as an object, not a string
  CHECK(std::string(d["data"]["name"].GetString()) == "Siti \"S\" Aulia");

  const CloudEvent back = parse(wire);
  CHECK(back.id == ev.id);
  CHECK(back.source == ev.source);
  CHECK(back.type == ev.type);
  CHECK(back.time == ev.time);
  CHECK(back.subject == ev.subject);
  CHECK(back.tenant == ev.tenant);
  CHECK(back.datacontenttype == ev.datacontenttype);
  rapidjson::Document data;
  data.Parse(back.data.c_str());
  REQUIRE(data.IsObject());
  CHECK(data["n"].Size() == 3);
  CHECK(data["n"][1].GetDouble() == 2.5);
  CHECK(to_json(back) == wire);  // stable
}

TEST_CASE("to_json omits an empty subject and make/to_json reject non-object data", "[unit]") {
  CloudEvent ev = make("lead.created", "src", "demo", "", "{}");
  const std::string wire = to_json(ev);
  CHECK(wire.find("subject") == std::string::npos);
  CHECK(parse(wire).subject.empty());

  CHECK_THROWS_AS(make("t", "s", "demo", "", "[1]"), std::invalid_argument);
  CHECK_THROWS_AS(make("t", "s", "demo", "", "{oops"), std::invalid_argument);
  ev.data = "\"text\"";
  CHECK_THROWS_AS(to_json(ev), std::invalid_argument);
  ev.data = "{}";
  ev.tenant.clear();
  CHECK_THROWS_AS(to_json(ev), std::invalid_argument);
}

TEST_CASE("parse accepts a well-formed envelope", "[unit]") {
  const CloudEvent ev = parse(envelope_with(""));
  CHECK(ev.type == "lead.created");
  CHECK(ev.tenant == "demo");
  CHECK(ev.data == R"({"a":1})");
  CHECK(ev.subject.empty());
  // time is optional in CloudEvents; our producers always set it.
  CHECK(parse(envelope_with("time")).time.empty());
  CHECK_NOTHROW(parse(
      envelope_with("", R"("subject":"s","datacontenttype":"application/cloudevents+json")")));
  CHECK_NOTHROW(parse(envelope_with("time", R"("time":"2025-11-23T12:31:01+07:00")")));
}

TEST_CASE("parse rejects missing or malformed attributes with a reason", "[unit]") {
  for (const std::string attr : {"id", "type", "tenantid", "specversion", "source", "data"}) {
    INFO(attr);
    CHECK(parse_error_of(envelope_with(attr)).find("'" + attr + "'") != std::string::npos);
  }
  CHECK(
      parse_error_of(envelope_with("specversion", R"("specversion":"0.3")")).find("specversion") !=
      std::string::npos);
  CHECK(parse_error_of(envelope_with("id", R"("id":"evt-1")")) == "attribute 'id' must be a UUID");
  CHECK(parse_error_of(envelope_with("id", R"("id":42)")) ==
        "attribute 'id' must be a non-empty string");
  CHECK(parse_error_of(envelope_with("tenantid", R"("tenantid":"")")) ==
        "attribute 'tenantid' must be a non-empty string");
  CHECK(parse_error_of(envelope_with("data", R"("data":"{\"a\":1}")")) ==
        "'data' must be a JSON object");
  CHECK(parse_error_of(envelope_with("data", R"("data":null)")) == "'data' must be a JSON object");
  CHECK(parse_error_of(envelope_with("time", R"("time":"yesterday")")).find("RFC 3339") !=
        std::string::npos);
  CHECK(parse_error_of(envelope_with("", R"("datacontenttype":"text/plain")"))
            .find("datacontenttype") != std::string::npos);
  CHECK(parse_error_of("[1,2]") == "event must be a JSON object");
  CHECK(parse_error_of("{\"specversion\":").find("malformed JSON") == 0);
  CHECK(parse_error_of("").find("malformed JSON") == 0);
  // Invalid UTF-8 inside a string is rejected at the edge.
  CHECK(parse_error_of(envelope_with("source", "\"bad \xC3\x28\"")).find("malformed JSON") == 0);
  // Hostile nesting is refused before anything recursive sees it.
  const auto nested = [](int levels) {
    return envelope_with(
        "data", "\"data\":{\"x\":" + std::string(levels, '[') + std::string(levels, ']') + "}");
  };
  CHECK(parse_error_of(nested(100000)) == "JSON nests deeper than 64 levels");
  CHECK_NOTHROW(parse(nested(40)));
  // Brackets inside strings do not count.
  CHECK_NOTHROW(
      parse(envelope_with("source", "\"source\":\"" + std::string(200, '[') + "\\\"{\"")));
}

TEST_CASE("topic names and dead-letter names", "[unit]") {
  CHECK(topics::lead_created == "lead.created");
  CHECK(topics::ingest_whatsapp_inbound == "ingest.whatsapp.inbound");
  CHECK(dlq(topics::lead_created) == "lead.created.dlq");
  CHECK(topics::dlq("x") == "x.dlq");
  std::set<std::string_view> unique(topics::all.begin(), topics::all.end());
  CHECK(unique.size() == topics::all.size());
  CHECK(unique.count("followup.due") == 1);
}
