#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <leadpipe/testing/infra.hpp>

#include "pipeline.hpp"

using namespace leadpipe::leads;

namespace {
std::string read_file(const std::string& rel) {
  std::ifstream in(leadpipe::testing::source_dir() + "/services/lead-store/pipelines/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("the default pipeline is seed 000's admissions pipeline", "[unit]") {
  const auto& p = Pipeline::admissions();
  CHECK(p.stages == std::vector<std::string>{"incomplete", "new", "contacted", "qualified", "enrolled", "lost"});
  CHECK(p.incomplete_stage == "incomplete");
  CHECK(p.complete_stage == "new");
  CHECK(p.contacted_stage == "contacted");
  CHECK(p.find("enrolled")->terminal == "won");
  CHECK(p.find("lost")->terminal == "lost");
  CHECK(p.open_stages() == std::vector<std::string>{"incomplete", "new", "contacted", "qualified"});
  CHECK(p.initial_stage(false) == "incomplete");
  CHECK(p.initial_stage(true) == "new");
}

TEST_CASE("only admission admins and admins enrol", "[unit]") {
  const auto& p = Pipeline::admissions();
  CHECK(check_transition(p, "qualified", "enrolled", "counselor", "").status == 403);
  CHECK(check_transition(p, "qualified", "enrolled", "sales_head", "").status == 403);
  CHECK(check_transition(p, "qualified", "enrolled", "admission_admin", "").ok());
  CHECK(check_transition(p, "qualified", "enrolled", "admin", "").ok());
}

TEST_CASE("invalid transitions are 422, lost needs a reason, re-opening only where listed", "[unit]") {
  const auto& p = Pipeline::admissions();
  CHECK(check_transition(p, "new", "contacted", "counselor", "").ok());
  auto skip = check_transition(p, "new", "enrolled", "admin", "");
  CHECK(skip.status == 422);
  CHECK(skip.field == "stage");
  CHECK(check_transition(p, "new", "nonsense", "admin", "").status == 422);
  CHECK(check_transition(p, "new", "new", "admin", "").status == 422);
  auto lost = check_transition(p, "contacted", "lost", "counselor", "");
  CHECK(lost.status == 422);
  CHECK(lost.field == "reason");
  CHECK(check_transition(p, "contacted", "lost", "counselor", "chose another university").ok());
  CHECK(check_transition(p, "lost", "contacted", "counselor", "").ok());   // explicit re-open
  CHECK(check_transition(p, "lost", "qualified", "counselor", "").status == 422);
  CHECK(check_transition(p, "enrolled", "qualified", "admin", "").status == 422);
}

TEST_CASE("seed 001's clinic pipeline loads from configuration alone", "[unit]") {
  const auto p = Pipeline::from_json(read_file("clinic.json"));
  CHECK(p.name == "clinic");
  CHECK(p.stages == std::vector<std::string>{"new", "contacted", "qualified", "booked", "converted", "lost"});
  CHECK(p.incomplete_stage.empty());
  CHECK(p.initial_stage(false) == "new");
  CHECK(p.find("converted")->terminal == "won");
  CHECK(check_transition(p, "qualified", "booked", "counselor", "").ok());
  CHECK(check_transition(p, "booked", "converted", "counselor", "").ok());
  CHECK(check_transition(p, "converted", "lost", "admin", "x").status == 422);  // the Lost button hides on converted
  CHECK(check_transition(p, "new", "converted", "admin", "").status == 422);
}

TEST_CASE("seed 004's funnel pipeline loads from configuration alone", "[unit]") {
  const auto p = Pipeline::from_json(read_file("funnel.json"));
  CHECK(p.stages.front() == "AGUARDANDO");
  CHECK(p.find("CONTRACTED")->terminal == "won");
  CHECK(p.find("NOT_A_MATCH")->terminal == "lost");
  CHECK(check_transition(p, "AGUARDANDO", "EM_ANALISE", "counselor", "").ok());
  CHECK(check_transition(p, "MATCH_FOUND", "WAITLIST", "counselor", "").ok());
  CHECK(check_transition(p, "CONTRACT_SIGNED", "CONTRACTED", "counselor", "").status == 403);
  CHECK(check_transition(p, "CONTRACT_SIGNED", "CONTRACTED", "admission_admin", "").ok());
  CHECK(check_transition(p, "EM_ANALISE", "NOT_A_MATCH", "counselor", "sem horário").ok());
  // The shipped definitions are the embedded ones, and round-trip.
  CHECK(builtin_pipelines().count("funnel") == 1);
  const auto again = Pipeline::from_json(p.to_json());
  CHECK(again.stages == p.stages);
  CHECK(again.transitions == p.transitions);
  CHECK(again.complete_stage == p.complete_stage);
}

TEST_CASE("a pipeline without a transitions list lets open stages move freely, terminals are final", "[unit]") {
  const auto p = Pipeline::from_json(R"({"name":"simple","stages":[{"key":"a"},{"key":"b"},
    {"key":"won","terminal":"won"},{"key":"lost","terminal":"lost"}]})");
  CHECK(check_transition(p, "a", "b", "counselor", "").ok());
  CHECK(check_transition(p, "b", "a", "counselor", "").ok());
  CHECK(check_transition(p, "a", "won", "counselor", "").ok());
  CHECK(check_transition(p, "won", "a", "admin", "").status == 422);
  CHECK(p.initial_stage(false) == "a");
}

TEST_CASE("malformed pipeline definitions are refused with a reason", "[unit]") {
  auto refused = [](const char* json) {
    try {
      Pipeline::from_json(json);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refused("[]"), Catch::Contains("not a JSON object"));
  CHECK_THAT(refused(R"({"name":"x","stages":[]})"), Catch::Contains("stages"));
  CHECK_THAT(refused(R"({"name":"x","stages":[{"key":"a"},{"key":"a"}]})"), Catch::Contains("duplicate"));
  CHECK_THAT(refused(R"({"name":"x","stages":[{"key":"a"},{"key":"l","terminal":"lost"}]})"),
             Catch::Contains("won"));
  CHECK_THAT(refused(R"({"name":"x","stages":[{"key":"a"},{"key":"w","terminal":"won"},
    {"key":"l","terminal":"lost"}],"transitions":{"a":["zz"]}})"),
             Catch::Contains("zz"));
  CHECK_THAT(refused(R"({"name":"x","stages":[{"key":"a","roles":["boss"]},{"key":"w","terminal":"won"},
    {"key":"l","terminal":"lost"}]})"),
             Catch::Contains("boss"));
  CHECK_THAT(refused(R"({"name":"x","stages":[{"key":"a"},{"key":"w","terminal":"won"},
    {"key":"l","terminal":"lost"}],"automatic":{"complete":"w"}})"),
             Catch::Contains("terminal"));
}
