#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <leadpipe/testing/infra.hpp>

#include "csv.hpp"
#include "import.hpp"

using namespace leadpipe::leads;

namespace {

std::string sample() {
  std::ifstream in(leadpipe::testing::source_dir() + "/../shared/samples/csv/leads_import.csv", std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kNow = "2026-11-23T10:00:00.000Z";

std::function<std::string()> ids() {
  auto n = std::make_shared<int>(0);
  return [n] {
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", ++*n);
    return std::string(buf);
  };
}

import::Plan run(const std::string& text, const import::Options& o = {},
                 const std::vector<import::Existing>& existing = {}) {
  auto rows = import::prepare(csv::parse(text), o);
  return import::decide(rows, existing, o, Pipeline::admissions(), ids(), kNow);
}

}  // namespace

TEST_CASE("csv: quoted fields with commas, doubled quotes and newlines, CRLF, BOM", "[unit]") {
  const std::string text = "\xEF\xBB\xBFname,note\r\n\"Aulia, Siti\",\"she said \"\"hi\"\"\nthen left\"\r\nBudi,\r\n";
  auto r = csv::parse(text);
  REQUIRE(r.size() == 3);
  CHECK(r[0] == csv::Record{"name", "note"});
  CHECK(r[1] == csv::Record{"Aulia, Siti", "she said \"hi\"\nthen left"});
  CHECK(r[2] == csv::Record{"Budi", ""});
}

TEST_CASE("csv: blank lines are skipped, a last line without newline counts, empty quoted field kept", "[unit]") {
  auto r = csv::parse("a,b\n\n1,2\n\"\"\n3,4");
  REQUIRE(r.size() == 4);
  CHECK(r[2] == csv::Record{""});
  CHECK(r[3] == csv::Record{"3", "4"});
}

TEST_CASE("csv: malformed input names the line", "[unit]") {
  try {
    csv::parse("a,b\n1,2\n\"open,3\n");
    FAIL("no error");
  } catch (const csv::ParseError& e) {
    CHECK(e.line == 3);
  }
  CHECK_THROWS_AS(csv::parse("a\n\"x\"y\n"), csv::ParseError);
  CHECK_THROWS_AS(csv::parse("a\n1\n2\n3\n", 3), csv::ParseError);
}

TEST_CASE("csv writer quotes what needs it and neutralises formulas but not phones", "[unit]") {
  std::string out;
  csv::append_record(out, {"+6281234567890", "=HYPERLINK(\"x\")", "a,b", "-12", "plain", "@SUM(A1)"});
  CHECK(out == "+6281234567890,\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",-12,plain,\"'@SUM(A1)\"\r\n");
  CHECK(csv::parse(out)[0][2] == "a,b");
}

TEST_CASE("phones normalise to E.164 with a default region, junk is rejected", "[unit]") {
  CHECK(import::normalize_phone("0812-3456-7890", "ID") == "+6281234567890");
  CHECK(import::normalize_phone("+55 11 91234-5678", "ID") == "+5511912345678");
  CHECK(import::normalize_phone("12-34", "ID") == std::nullopt);
  CHECK(import::known_region("BR"));
  CHECK_FALSE(import::known_region("XX"));
  CHECK(import::plausible_email("a.b@example.co.id"));
  CHECK_FALSE(import::plausible_email("bad@"));
  CHECK_FALSE(import::plausible_email("a b@example.com"));
}

TEST_CASE("the shared sample imports into an empty tenant with the expected outcome per row", "[unit]") {
  auto plan = run(sample());
  REQUIRE(plan.rows.size() == 7);
  // 1 Budi, 2 Siti, 3 Rudi, 5 (no name: incomplete), 6 Maria (BR)
  CHECK(plan.inserted == 5);
  CHECK(plan.updated == 0);
  CHECK(plan.duplicates == 1);  // row 4: same phone as row 1 in another format
  CHECK(plan.invalid == 1);     // row 7: bad phone and bad email
  CHECK(plan.rows[3].status == "duplicate");
  CHECK(plan.rows[3].reason == "same phone as row 1");
  CHECK(plan.rows[6].status == "invalid");
  CHECK(plan.rows[6].reason.find("phone") != std::string::npos);
  CHECK(plan.rows[6].reason.find("email") != std::string::npos);
  REQUIRE(plan.changes.size() == 5);
  const auto& siti = plan.changes[1];
  CHECK(siti.lead.name == "Aulia, Siti");
  CHECK(siti.lead.phone == "+6285678901234");
  CHECK(siti.lead.email == "siti.aulia@example.com");
  CHECK(siti.lead.source == "expo");
  CHECK(siti.lead.stage == "new");
  CHECK(siti.session_year == "2027");
  CHECK(siti.tags == std::vector<std::string>{"expo-jakarta"});
  CHECK(plan.changes[0].tags == std::vector<std::string>{"expo-jakarta", "nursing"});
  CHECK(plan.changes[3].lead.stage == "incomplete");  // row 5 has no name
  CHECK(plan.changes[4].lead.phone == "+5511912345678");
}

TEST_CASE("mapping renames columns, other columns go to extra, default tags and region apply", "[unit]") {
  import::Options o;
  o.mapping = {{"Nome", "name"}, {"Celular", "phone"}};
  o.default_region = "BR";
  o.tags = {"feira-sp"};
  auto plan = run("Nome,Celular,Cidade\nJoão,(11) 91234-5678,São Paulo\n", o);
  REQUIRE(plan.changes.size() == 1);
  const auto& c = plan.changes[0];
  CHECK(c.lead.name == "João");
  CHECK(c.lead.phone == "+5511912345678");
  CHECK(c.extra == std::map<std::string, std::string>{{"Cidade", "São Paulo"}});
  CHECK(c.tags == std::vector<std::string>{"feira-sp"});
}

TEST_CASE("file-level errors: no header, no contact column, duplicate column, bad mapping", "[unit]") {
  const import::Options o;
  CHECK_THROWS_AS(import::prepare(csv::parse(""), o), import::FileError);
  CHECK_THROWS_AS(import::prepare(csv::parse("name,program\nA,B\n"), o), import::FileError);
  CHECK_THROWS_AS(import::prepare(csv::parse("phone,Phone\n1,2\n"), o), import::FileError);
  import::Options bad;
  bad.mapping = {{"x", "nickname"}};
  CHECK_THROWS_AS(import::prepare(csv::parse("phone,x\n1,2\n"), bad), import::FileError);
  import::Options missing;
  missing.mapping = {{"Tel", "phone"}};
  CHECK_THROWS_AS(import::prepare(csv::parse("phone\n1\n"), missing), import::FileError);
}

TEST_CASE("rows with more fields than the header and rows without a contact are invalid", "[unit]") {
  auto plan = run("name,phone,email\nA,081234567890,,extra\nB,,\n");
  CHECK(plan.invalid == 2);
  CHECK(plan.rows[1].reason == "neither a phone nor an email");
}

TEST_CASE("existing leads: fill empty fields, nothing new is a duplicate, email alone never merges two phones",
          "[unit]") {
  import::Existing budi;
  budi.lead.id = "11111111-1111-4111-8111-111111111111";
  budi.lead.phone = "+6281234567890";
  budi.lead.name = "Budi";
  budi.lead.stage = "new";
  budi.lead.version = 3;
  import::Existing mail;
  mail.lead.id = "22222222-2222-4222-8222-222222222222";
  mail.lead.email = "siti@example.com";
  mail.lead.stage = "incomplete";
  mail.lead.version = 1;
  import::Existing other;
  other.lead.id = "33333333-3333-4333-8333-333333333333";
  other.lead.phone = "+6281111111111";
  other.lead.email = "shared@example.com";
  other.lead.stage = "new";
  other.lead.version = 1;
  const std::string text =
      "name,phone,email,program\n"
      "Budi Santoso,0812-3456-7890,,S1\n"          // fills program, keeps the name
      "Siti,081299990000,siti@example.com,\n"       // matched by email: phone + name fill, incomplete → new
      "Joko,081355556666,shared@example.com,\n"     // same email, another phone: a new lead
      "Budi,+6281234567890,,\n";                     // in-file duplicate of row 1
  auto plan = run(text, {}, {budi, mail, other});
  CHECK(plan.updated == 2);
  CHECK(plan.inserted == 1);
  CHECK(plan.duplicates == 1);
  REQUIRE(plan.changes.size() == 3);
  CHECK(plan.changes[0].lead.name == "Budi");
  CHECK(plan.changes[0].lead.program == "S1");
  CHECK(plan.changes[0].lead.version == 4);
  CHECK(plan.changes[0].changed == std::vector<std::string>{"program"});
  CHECK(plan.changes[1].lead.phone == "+6281299990000");
  CHECK(plan.changes[1].previous_stage == "incomplete");
  CHECK(plan.changes[1].lead.stage == "new");
  CHECK(plan.changes[2].created);
  CHECK(plan.rows[2].reason.find("duplicate candidate") != std::string::npos);

  // The same file again against the result: nothing new → duplicates.
  import::Options skip;
  skip.on_existing = import::OnExisting::skip;
  auto skipped = run(text, skip, {budi, mail, other});
  CHECK(skipped.updated == 0);
  CHECK(skipped.duplicates == 3);
}

TEST_CASE("a sales head's import leaves leads of other pools alone", "[unit]") {
  import::Existing theirs;
  theirs.lead.id = "11111111-1111-4111-8111-111111111111";
  theirs.lead.phone = "+6281234567890";
  theirs.lead.stage = "new";
  theirs.owner = "head-b";
  import::Options o;
  o.owner = o.restrict_owner = "head-a";
  auto plan = run("name,phone\nBudi,081234567890\n", o, {theirs});
  CHECK(plan.duplicates == 1);
  CHECK(plan.rows[0].lead_id.empty());
  CHECK(plan.changes.empty());
}

TEST_CASE("a large file's phones (parsed once per distinct value, on several threads) give the per-row results",
          "[unit]") {
  // Above the parallel threshold: 3,000 rows, every 10th phone repeated from
  // an earlier row, every 50th invalid, two spellings of the same number.
  std::string text = "name,phone\n";
  for (int i = 1; i <= 3000; ++i) {
    std::string phone;
    if (i % 50 == 0) {
      phone = "12345";
    } else if (i % 10 == 0) {
      phone = "0812" + std::to_string(10000000 + i - 5);
    } else if (i % 3 == 0) {
      phone = "+62 812 " + std::to_string(10000000 + i).substr(0, 4) + " " + std::to_string(10000000 + i).substr(4);
    } else {
      phone = "0812" + std::to_string(10000000 + i);
    }
    text += "P" + std::to_string(i) + "," + phone + "\n";
  }
  import::Options o;
  o.default_region = "ID";
  const auto records = csv::parse(text);
  const auto rows = import::prepare(records, o);
  REQUIRE(rows.size() == 3000);
  int invalid = 0, duplicates = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto expected = import::normalize_phone(records[r + 1][1], "ID");
    if (!expected) {
      CHECK(rows[r].status == import::kStatusInvalid);
      ++invalid;
      continue;
    }
    REQUIRE(rows[r].phone);
    CHECK(*rows[r].phone == *expected);
    if (rows[r].status == import::kStatusDuplicate) ++duplicates;
  }
  CHECK(invalid == 60);
  CHECK(duplicates == 240);  // i % 10 == 0 and not % 50: the number of row i − 5
  CHECK(*rows[2].phone == "+6281210000003");  // "+62 812 1000 0003"
}
