#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include <leadpipe/events/schema.hpp>

#include "phone.hpp"
#include "vendor.hpp"

using namespace leadpipe::ingest;

namespace {

std::string sample(const std::string& name) {
  std::ifstream f(std::string(LEADPIPE_SAMPLES_DIR) + "/" + name);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

vendor::Context ctx(std::string region = "ID") {
  vendor::Context c;
  c.vendor = "collegedunia";
  c.api_key_id = "0b9f7a52-3c4e-4d6b-9a51-2f8e1c7d6a40";
  c.default_region = std::move(region);
  c.received_at = "2026-01-15T09:30:12Z";
  return c;
}

bool has_field(const vendor::Item& item, const std::string& field) {
  for (const auto& e : item.errors) {
    if (e.field == field) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("phones normalise to E.164 with a default region", "[unit]") {
  CHECK(phone::normalise("+91 98201 44512", "ID")->e164 == "+919820144512");
  CHECK(phone::normalise("9845012377", "IN")->e164 == "+919845012377");
  CHECK(phone::normalise("0812-3390-7745", "id")->e164 == "+6281233907745");
  CHECK(phone::normalise("+91 98201 44512", "")->region == "IN");
  CHECK_FALSE(phone::normalise("12345", "IN"));
  CHECK_FALSE(phone::normalise("9845012377", ""));
  CHECK_FALSE(phone::normalise("", "IN"));
  CHECK_FALSE(phone::normalise(std::string(100, '9'), "IN"));
  CHECK(phone::known_region("IN"));
  CHECK_FALSE(phone::known_region("XX"));
}

TEST_CASE("the shared vendor sample: two accepted, one rejected with reasons", "[unit]") {
  auto batch = vendor::parse_batch(sample("vendor/leads_batch.json"), ctx());
  CHECK_FALSE(batch.single);
  REQUIRE(batch.items.size() == 3);
  CHECK(batch.accepted() == 2);
  CHECK(batch.rejected() == 1);

  const auto& arjun = batch.items[0];
  CHECK(arjun.status == vendor::Status::accepted);
  CHECK(arjun.phone == "+919820144512");
  const auto& priya = batch.items[1];
  CHECK(priya.status == vendor::Status::accepted);
  CHECK(priya.phone == "+919845012377");  // local number read with its "country": "IN" hint

  const auto& bad = batch.items[2];
  CHECK(bad.status == vendor::Status::rejected);
  CHECK(bad.vendor_lead_id == "VND-2026-000483");
  CHECK(has_field(bad, "name"));
  CHECK(has_field(bad, "phone"));

  // Accepted items carry schema-valid event data.
  const auto& schemas = leadpipe::events::SchemaSet::builtin();
  for (const auto* item : {&arjun, &priya}) {
    INFO(item->event_data);
    CHECK(schemas.validate("ingest.vendor.lead", item->event_data).empty());
  }
  rapidjson::Document d;
  d.Parse(arjun.event_data.c_str());
  CHECK(std::string(d["vendor"].GetString()) == "collegedunia");
  CHECK(std::string(d["email"].GetString()) == "arjun.mehta@example.com");
  CHECK(std::string(d["utm"]["source"].GetString()) == "collegedunia");
  CHECK(d["extra"]["jee_rank"].IsInt());
  CHECK(d["extra"]["jee_rank"].GetInt() == 15420);
  CHECK(d["program"].IsNull());

  const std::vector<std::string> ids{"a", "b", ""};
  d.Parse(vendor::results_json(batch, ids).c_str());
  CHECK(d["accepted"].GetInt() == 2);
  CHECK(d["rejected"].GetInt() == 1);
  CHECK(std::string(d["results"][2]["status"].GetString()) == "rejected");
  CHECK(d["results"][2]["errors"].Size() >= 2);
  CHECK(std::string(d["results"][1]["phone"].GetString()) == "+919845012377");
}

TEST_CASE("the default region reads local numbers, without it they are rejected", "[unit]") {
  const std::string body = R"({"vendor_lead_id":"x1","name":"Priya","phone":"9845012377"})";
  auto in = vendor::parse_batch(body, ctx("IN"));
  CHECK(in.single);
  REQUIRE(in.items.size() == 1);
  CHECK(in.items[0].phone == "+919845012377");
  auto gb = vendor::parse_batch(body, ctx("SG"));
  CHECK(gb.items[0].status == vendor::Status::rejected);
  CHECK(has_field(gb.items[0], "phone"));
}

TEST_CASE("per-item validation: unknown fields, bad email, bad country, non-object", "[unit]") {
  auto batch = vendor::parse_batch(R"({"leads":[
      {"vendor_lead_id":"1","name":"A","phone":"+919820144512","favourite_colour":"blue"},
      {"vendor_lead_id":"2","name":"B","phone":"+919820144512","email":"not-an-email"},
      {"vendor_lead_id":"3","name":"C","phone":"9820144512","country":"QQ"},
      "just a string",
      {"vendor_lead_id":"5","name":"   ","phone":"+919820144512"},
      {"name":"F","phone":"+919820144512"},
      {"vendor_lead_id":"7","name":"G","phone":"+919820144512","session_year":"next year"}]})",
                                   ctx());
  REQUIRE(batch.items.size() == 7);
  CHECK(batch.accepted() == 0);
  CHECK(has_field(batch.items[0], "favourite_colour"));
  CHECK(has_field(batch.items[1], "email"));
  CHECK(has_field(batch.items[2], "country"));
  CHECK(batch.items[3].status == vendor::Status::rejected);
  CHECK(has_field(batch.items[4], "name"));
  CHECK(has_field(batch.items[5], "vendor_lead_id"));
  CHECK(has_field(batch.items[6], "session_year"));
}

TEST_CASE("a repeated vendor_lead_id in one batch is published once", "[unit]") {
  auto batch = vendor::parse_batch(R"({"leads":[
      {"vendor_lead_id":"dup","name":"A","phone":"+919820144512"},
      {"vendor_lead_id":"dup","name":"A","phone":"+919820144512"}]})",
                                   ctx());
  REQUIRE(batch.items.size() == 2);
  CHECK(batch.items[0].status == vendor::Status::accepted);
  CHECK(batch.items[1].status == vendor::Status::duplicate);
  CHECK(batch.items[1].event_data.empty());
}

TEST_CASE("event ids are stable per (tenant, vendor, vendor_lead_id)", "[unit]") {
  CHECK(vendor::event_id("demo", "v", "1") == vendor::event_id("demo", "v", "1"));
  CHECK(vendor::event_id("demo", "v", "1") != vendor::event_id("demo", "v", "2"));
  CHECK(vendor::event_id("demo", "v", "1") != vendor::event_id("demo", "w", "1"));
  CHECK(vendor::event_id("demo", "v", "1") != vendor::event_id("other", "v", "1"));
}

TEST_CASE("malformed batch bodies are refused as a whole", "[unit]") {
  CHECK_THROWS_AS(vendor::parse_batch("", ctx()), vendor::BatchError);
  CHECK_THROWS_AS(vendor::parse_batch("not json", ctx()), vendor::BatchError);
  CHECK_THROWS_AS(vendor::parse_batch("[]", ctx()), vendor::BatchError);
  CHECK_THROWS_AS(vendor::parse_batch(R"({"leads":{}})", ctx()), vendor::BatchError);
  CHECK_THROWS_AS(vendor::parse_batch(R"({"leads":[]})", ctx()), vendor::BatchError);
  CHECK_THROWS_AS(vendor::parse_batch(R"({"leads":[],"x":1})", ctx()), vendor::BatchError);
  CHECK_THROWS_AS(vendor::parse_batch("{\"leads\":[{\"name\":\"\xff\"}]}", ctx()), vendor::BatchError);
  std::string big = R"({"leads":[)";
  for (int i = 0; i < 501; ++i) big += std::string(i ? "," : "") + "{}";
  big += "]}";
  try {
    vendor::parse_batch(big, ctx());
    FAIL("expected BatchError");
  } catch (const vendor::BatchError& e) {
    CHECK(e.field() == "leads");
  }
  // 500 is fine.
  std::string ok = R"({"leads":[)";
  for (int i = 0; i < 500; ++i) {
    ok += std::string(i ? "," : "") + R"({"vendor_lead_id":")" + std::to_string(i) +
          R"(","name":"N","phone":"+919820144512"})";
  }
  ok += "]}";
  CHECK(vendor::parse_batch(ok, ctx()).accepted() == 500);
}

TEST_CASE("deeply nested extra is rejected, not recursed into", "[unit]") {
  std::string extra;
  for (int i = 0; i < 5000; ++i) extra += "{\"a\":";
  extra += "1";
  for (int i = 0; i < 5000; ++i) extra += "}";
  auto batch = vendor::parse_batch(R"({"vendor_lead_id":"1","name":"A","phone":"+919820144512","extra":)" + extra + "}",
                                   ctx());
  CHECK(batch.items[0].status == vendor::Status::rejected);
}
