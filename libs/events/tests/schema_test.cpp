#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "leadpipe/events/schema.hpp"
#include "leadpipe/testing/infra.hpp"

using leadpipe::events::SchemaSet;
namespace fs = std::filesystem;

namespace {

fs::path proto_dir() { return fs::path(leadpipe::testing::source_dir()) / "proto" / "events"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string example(const std::string& type) {
  return read_file(proto_dir() / "examples" / (type + ".json"));
}

std::string dump(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

// The example of `type` with a change applied by `edit`.
template <typename Edit>
std::string mutated(const std::string& type, Edit edit) {
  rapidjson::Document d;
  d.Parse(example(type).c_str());
  REQUIRE(d.IsObject());
  edit(d, d.GetAllocator());
  return dump(d);
}

bool mentions(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& e : errors) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("every schema file is compiled in and has a contract example", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  std::vector<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(proto_dir())) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      on_disk.push_back(entry.path().stem().string());
    }
  }
  std::sort(on_disk.begin(), on_disk.end());
  CHECK(set.types() == on_disk);  // catches a stale embed
  for (const auto& type : on_disk) {
    INFO(type);
    CHECK(fs::exists(proto_dir() / "examples" / (type + ".json")));
  }
  for (const char* type :
       {"ingest.whatsapp.inbound", "contact.extracted", "lead.created", "lead.updated",
        "lead.stage_changed", "lead.assigned", "lead.tagged", "lead.converted", "lead.closed",
        "lead.merged", "lead.erased", "followup.due"}) {
    INFO(type);
    CHECK(set.knows(type));
  }
}

TEST_CASE("every contract example validates against its schema", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  for (const auto& type : set.types()) {
    INFO(type);
    const auto errors = set.validate(type, example(type));
    CHECK(errors.empty());
    if (!errors.empty()) FAIL_CHECK(errors.front());
  }
}

TEST_CASE("removing any required property of an example fails, naming it", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  for (const auto& type : set.types()) {
    rapidjson::Document schema;
    schema.Parse(read_file(proto_dir() / (type + ".json")).c_str());
    REQUIRE(schema.HasMember("required"));
    REQUIRE(schema["required"].Size() > 0);
    for (const auto& req : schema["required"].GetArray()) {
      const std::string name = req.GetString();
      INFO(type << " without " << name);
      const auto errors = set.validate(type, mutated(type, [&](rapidjson::Document& d, auto&) {
                                         d.RemoveMember(name.c_str());
                                       }));
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].find("(root): missing required property " + name) == 0);
    }
  }
}

TEST_CASE("schema violations name the offending JSON pointer", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  using Alloc = rapidjson::Document::AllocatorType;

  auto errs = set.validate("contact.extracted",
                           mutated("contact.extracted", [](rapidjson::Document& d, Alloc& a) {
                             d["phones"][0]["value"].SetString("0812-3390-7745", a);
                           }));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("/phones/0/value: violates \"pattern\"") == 0);

  errs = set.validate("contact.extracted",
                      mutated("contact.extracted", [](rapidjson::Document& d, Alloc& a) {
                        d["emails"][0]["evidence"]["layer"].SetString("guess", a);
                      }));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("/emails/0/evidence/layer: violates \"enum\"") == 0);

  errs = set.validate("contact.extracted",
                      mutated("contact.extracted", [](rapidjson::Document& d, Alloc&) {
                        d["phones"][0]["evidence"]["confidence"].SetDouble(1.5);
                      }));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("/phones/0/evidence/confidence: violates \"maximum\"") == 0);

  CHECK_FALSE(set.validate("contact.extracted",
                           mutated("contact.extracted",
                                   [](rapidjson::Document& d, Alloc&) { d["score"].SetInt(101); }))
                  .empty());
  CHECK_FALSE(set.validate("contact.extracted", mutated("contact.extracted",
                                                        [](rapidjson::Document& d, Alloc& a) {
                                                          d["tier"].SetString("lukewarm", a);
                                                        }))
                  .empty());
  // name: captured object or null; a bare string is neither.
  CHECK_FALSE(set.validate("contact.extracted", mutated("contact.extracted",
                                                        [](rapidjson::Document& d, Alloc& a) {
                                                          d["name"].SetString("Siti", a);
                                                        }))
                  .empty());
  CHECK(set.validate("contact.extracted", mutated("contact.extracted",
                                                  [](rapidjson::Document& d, Alloc&) {
                                                    d["name"].SetNull();
                                                    d["phones"].SetArray();
                                                  }))
            .empty());

  errs = set.validate("lead.created", mutated("lead.created", [](rapidjson::Document& d, Alloc& a) {
                        d["lead_id"].SetString("lead-1", a);
                      }));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("/lead_id: violates \"pattern\"") == 0);

  errs = set.validate("lead.created", mutated("lead.created", [](rapidjson::Document& d, Alloc&) {
                        d["version"].SetInt(0);
                      }));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("/version: violates \"minimum\"") == 0);

  errs = set.validate("lead.updated", mutated("lead.updated", [](rapidjson::Document& d, Alloc& a) {
                        d["version"].SetString("2", a);
                      }));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("/version: violates \"type\"") == 0);

  CHECK_FALSE(set.validate("lead.created", mutated("lead.created",
                                                   [](rapidjson::Document& d, Alloc& a) {
                                                     d["created_at"].SetString("23/11/2025", a);
                                                   }))
                  .empty());
  CHECK(set.validate("lead.created", mutated("lead.created",
                                             [](rapidjson::Document& d, Alloc&) {
                                               d["score"].SetNull();
                                               d["name"].SetNull();
                                             }))
            .empty());

  CHECK_FALSE(set.validate("ingest.whatsapp.inbound", mutated("ingest.whatsapp.inbound",
                                                              [](rapidjson::Document& d, Alloc& a) {
                                                                d["channel"].SetString("sms", a);
                                                              }))
                  .empty());
  CHECK_FALSE(set.validate("ingest.whatsapp.inbound", mutated("ingest.whatsapp.inbound",
                                                              [](rapidjson::Document& d, Alloc& a) {
                                                                d["timestamp"].SetString(
                                                                    "1763901060", a);
                                                              }))
                  .empty());
  CHECK_FALSE(set.validate("lead.merged",
                           mutated("lead.merged", [](rapidjson::Document& d,
                                                     Alloc&) { d["merged_lead_ids"].SetArray(); }))
                  .empty());
}

TEST_CASE("unknown types and malformed data are errors", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  CHECK_FALSE(set.knows("lead.exploded"));
  auto errs = set.validate("lead.exploded", "{}");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0] == "unknown event type \"lead.exploded\"");
  errs = set.validate("lead.created", "{\"lead_id\":");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("not valid JSON") != std::string::npos);
  errs = set.validate("lead.created", "[]");
  REQUIRE(errs.size() == 1);
  CHECK(mentions(errs, "(root): violates \"type\""));
}

TEST_CASE("schemas the validator would silently weaken are rejected", "[unit]") {
  using Schemas = std::vector<std::pair<std::string, std::string>>;
  const std::string lookahead = R"j({"type":"string","pattern":"^\\d+$"})j";
  CHECK_THROWS_WITH(SchemaSet(Schemas{{"t", lookahead}}), Catch::Contains("unsupported pattern"));
  CHECK_THROWS_WITH(SchemaSet(Schemas{{"t", R"({"$ref":"#/definitions/nope"})"}}),
                    Catch::Contains("unresolvable $ref"));
  CHECK_THROWS_WITH(SchemaSet(Schemas{{"t", R"({"$ref":"other.json#/x"})"}}),
                    Catch::Contains("only local $ref"));
  CHECK_THROWS_WITH(SchemaSet(Schemas{{"t", "{"}}), Catch::Contains("invalid JSON"));
  SchemaSet ok(Schemas{{"t", R"({"type":"object","required":["a"]})"}});
  CHECK(ok.validate("t", R"({"a":1})").empty());
  CHECK(ok.validate("t", R"({"b":1})") ==
        std::vector<std::string>{"(root): missing required property a (schema #)"});
}

TEST_CASE("validation is safe from many threads", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  const std::string good = example("contact.extracted");
  const std::string bad =
      mutated("contact.extracted", [](rapidjson::Document& d, auto&) { d.RemoveMember("phones"); });
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (!set.validate("contact.extracted", good).empty()) ++wrong;
        if (set.validate("contact.extracted", bad).empty()) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
}

TEST_CASE("hostile nesting is refused instead of overflowing the stack", "[unit]") {
  const SchemaSet& set = SchemaSet::builtin();
  const std::string deep = "{\"raw\":" + std::string(50000, '[') + std::string(50000, ']') + "}";
  auto errs = set.validate("lead.created", deep);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("nests deeper") != std::string::npos);

  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(deep.c_str());
  REQUIRE_FALSE(d.HasParseError());
  errs = set.validate("lead.created", static_cast<const rapidjson::Value&>(d));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("nests deeper") != std::string::npos);
}
