// Pure unit tests: request accessors, problem details, JSON helpers, routing.
#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <rapidjson/document.h>

#include "leadpipe/http/json.hpp"
#include "leadpipe/http/message.hpp"
#include "leadpipe/http/router.hpp"

using namespace leadpipe::http;

namespace {

Handler noop() {
  return [](Request&) -> boost::asio::awaitable<Response> { co_return Response::json(200, "{}"); };
}

rapidjson::Document parse(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("headers are case-insensitive, first one wins", "[unit]") {
  Request r;
  r.add_header("Content-Type", "application/json");
  r.add_header("X-Thing", "one");
  r.add_header("x-thing", "two");
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("CONTENT-TYPE") == "application/json");
  CHECK(r.header("X-THING") == "one");
  CHECK_FALSE(r.header("Missing").has_value());
  CHECK(r.headers().size() == 3);

  Request copy = r;  // offsets, not pointers: copies stay valid
  r.clear();
  CHECK_FALSE(r.header("X-Thing").has_value());
  CHECK(copy.header_view("x-thing") == std::string_view("one"));
}

TEST_CASE("query parameters are percent-decoded, repeated ones listed", "[unit]") {
  Request r;
  r.target = "/api/v1/leads?stage=new&tag=a%20b&tag=c+d&flag&empty=&n%61me=x&bad=%zz";
  CHECK(r.query_string() == "stage=new&tag=a%20b&tag=c+d&flag&empty=&n%61me=x&bad=%zz");
  CHECK(r.query("stage") == "new");
  CHECK(r.query("tag") == "a b");
  CHECK(r.query_all("tag") == std::vector<std::string>{"a b", "c d"});
  CHECK(r.query("flag") == "");
  CHECK(r.query("empty") == "");
  CHECK(r.query("name") == "x");
  CHECK_FALSE(r.query("bad").has_value());  // undecodable values are not returned
  CHECK_FALSE(r.query("missing").has_value());
  CHECK(r.query_all("missing").empty());

  Request none;
  none.target = "/x";
  CHECK(none.query_string().empty());
  CHECK_FALSE(none.query("a").has_value());
}

TEST_CASE("percent_decode rejects malformed escapes and NUL", "[unit]") {
  std::string out;
  CHECK(percent_decode("a%2Fb+c", out, false));
  CHECK(out == "a/b+c");
  out.clear();
  CHECK(percent_decode("a+c", out, true));
  CHECK(out == "a c");
  out.clear();
  CHECK_FALSE(percent_decode("%4", out, false));
  out.clear();
  CHECK_FALSE(percent_decode("%", out, false));
  out.clear();
  CHECK_FALSE(percent_decode("%g0", out, false));
  out.clear();
  CHECK_FALSE(percent_decode("a%00b", out, false));
}

TEST_CASE("problem() renders RFC 9457 problem details", "[unit]") {
  Response r = problem(422, "Unprocessable Content", "invalid transition",
                       {{"stage", "cannot go from new to enrolled"}}, R"({"existing_id":"abc","n":2})");
  CHECK(r.status == 422);
  CHECK(r.content_type == "application/problem+json");
  auto d = parse(r.body);
  CHECK(std::string(d["type"].GetString()) == "about:blank");
  CHECK(std::string(d["title"].GetString()) == "Unprocessable Content");
  CHECK((d["status"].IsInt() && d["status"].GetInt() == 422));
  CHECK(std::string(d["detail"].GetString()) == "invalid transition");
  REQUIRE(d["errors"].IsArray());
  REQUIRE(d["errors"].Size() == 1);
  CHECK(std::string(d["errors"][0]["field"].GetString()) == "stage");
  CHECK(std::string(d["errors"][0]["message"].GetString()) == "cannot go from new to enrolled");
  CHECK(std::string(d["existing_id"].GetString()) == "abc");
  CHECK((d["n"].IsInt() && d["n"].GetInt() == 2));

  Response minimal = problem(404, "Not Found", "");
  auto m = parse(minimal.body);
  CHECK_FALSE(m.HasMember("detail"));
  CHECK_FALSE(m.HasMember("errors"));

  // extra cannot override the standard members
  auto o = parse(problem(400, "Bad Request", "d", {}, R"({"status":999,"x":true})").body);
  CHECK(o["status"].GetInt() == 400);
  CHECK(o["x"].IsBool());

  Response typed = problem(409, "Conflict", "dup", {}, {}, "https://leadpipe.dev/problems/duplicate");
  CHECK(std::string(parse(typed.body)["type"].GetString()) == "https://leadpipe.dev/problems/duplicate");

  CHECK_THROWS_AS(problem(400, "Bad Request", "", {}, "[1,2]"), std::invalid_argument);
  CHECK_THROWS_AS(problem(400, "Bad Request", "", {}, "{not json"), std::invalid_argument);
}

TEST_CASE("HttpError carries its problem and headers", "[unit]") {
  const HttpError e = HttpError::unauthorized("token expired");
  CHECK(e.status == 401);
  CHECK(e.title == "Unauthorized");
  Response r = e.to_response();
  CHECK(r.status == 401);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0] == std::pair<std::string, std::string>{"WWW-Authenticate", "Bearer"});

  const HttpError c = HttpError::conflict("duplicate lead", R"({"existing_id":"L1"})");
  auto d = parse(c.to_response().body);
  CHECK(std::string(d["existing_id"].GetString()) == "L1");
  CHECK(d["status"].GetInt() == 409);

  const HttpError v = HttpError::bad_request("validation failed", {{"phone", "not a phone number"}});
  CHECK(parse(v.to_response().body)["errors"].Size() == 1);
  CHECK(HttpError(429, "slow down").title == "Too Many Requests");
}

TEST_CASE("parse_json_body checks content type and syntax", "[unit]") {
  Request r;
  r.add_header("Content-Type", "application/json; charset=utf-8");
  r.body = R"({"a":1,"b":[true,null]})";
  auto d = parse_json_body(r);
  CHECK((d["a"].IsInt() && d["a"].GetInt() == 1));
  CHECK(to_json(d) == R"({"a":1,"b":[true,null]})");

  auto status_of = [](const Request& req) {
    try {
      parse_json_body(req);
    } catch (const HttpError& e) {
      return e.status;
    }
    return 0;
  };
  Request wrong_type;
  wrong_type.add_header("Content-Type", "text/plain");
  wrong_type.body = "{}";
  CHECK(status_of(wrong_type) == 400);
  Request no_type;
  no_type.body = "{}";
  CHECK(status_of(no_type) == 400);
  Request bad;
  bad.add_header("Content-Type", "application/json");
  bad.body = R"({"a":)";
  CHECK(status_of(bad) == 400);
  bad.body = "{} trailing";
  CHECK(status_of(bad) == 400);
  bad.body = "";
  CHECK(status_of(bad) == 400);
  bad.body = "\"\xff\xfe\"";  // invalid UTF-8
  CHECK(status_of(bad) == 400);
  // Deep nesting is parsed iteratively (no stack overflow) and rejected as unbalanced.
  bad.body = std::string(200000, '[');
  CHECK(status_of(bad) == 400);

  CHECK(is_json_content_type("application/problem+json"));
  CHECK(is_json_content_type("Application/JSON"));
  CHECK_FALSE(is_json_content_type("application/jsonx"));
  CHECK_FALSE(is_json_content_type("text/json+"));
}

TEST_CASE("write_raw_json places pre-serialised values like Writer::RawValue does", "[unit]") {
  const auto render = [](bool block) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    const auto raw = [&](std::string_view json, rapidjson::Type type) {
      if (block) {
        write_raw_json(w, out, json, type);
      } else {
        w.RawValue(json.data(), json.size(), type);
      }
    };
    w.StartObject();
    w.Key("a");
    raw(R"({"x":[1,2,"three"]})", rapidjson::kObjectType);
    w.Key("b");
    w.StartArray();
    raw("[]", rapidjson::kArrayType);
    raw(R"({"y":null})", rapidjson::kObjectType);
    w.EndArray();
    w.Key("c");
    w.Int(7);
    w.EndObject();
    return std::string(out.GetString(), out.GetSize());
  };
  CHECK(render(true) == R"({"a":{"x":[1,2,"three"]},"b":[[],{"y":null}],"c":7})");
  CHECK(render(true) == render(false));
}

TEST_CASE("BufferedDocument parses a small text inside its buffers and spills a large one", "[unit]") {
  {
    BufferedDocument<4096, 1024> small;
    // Nested a few levels: the parse stack is used, not only the value pool.
    small.doc().Parse(R"({"a":[1,2,{"b":"text","c":[true,null]}],"d":{"e":{"f":"g"}}})");
    REQUIRE_FALSE(small.doc().HasParseError());
    CHECK(small.doc()["d"]["e"]["f"].GetString() == std::string("g"));
    // The stack's initial capacity leaves room for the allocator's own header:
    // had it asked for the whole buffer, this parse would have taken a heap chunk.
    CHECK(small.within_buffers());
  }
  {
    BufferedDocument<256, 1024> tiny;
    std::string big = "[";
    for (int i = 0; i < 200; ++i) big += (i ? ",\"" : "\"") + std::to_string(i) + "-a string value\"";
    big += "]";
    tiny.doc().Parse(big.c_str(), big.size());
    REQUIRE_FALSE(tiny.doc().HasParseError());
    CHECK(tiny.doc().Size() == 200);
    CHECK_FALSE(tiny.within_buffers());
  }
}

TEST_CASE("router matches literals before parameters and decodes values", "[unit]") {
  Router router;
  router.get("/api/v1/leads", noop());
  router.post("/api/v1/leads", noop());
  router.get("/api/v1/leads/{id}", noop(), "lead");
  router.get("/api/v1/leads/export", noop());
  router.get("/api/v1/leads/{id}/notes/{note_id}", noop());
  router.del("/api/v1/leads/{lead_id}/tags/{tag}", noop());

  std::map<std::string, std::string> params;
  auto m = router.match("GET", "/api/v1/leads/a%2Fb%20c", params);
  REQUIRE(m.route);
  CHECK(m.route->name == "lead");
  CHECK(m.route->pattern == "/api/v1/leads/{id}");
  CHECK(params.at("id") == "a/b c");

  params.clear();
  m = router.match("GET", "/api/v1/leads/export", params);
  REQUIRE(m.route);
  CHECK(m.route->pattern == "/api/v1/leads/export");
  CHECK(params.empty());

  params.clear();
  m = router.match("GET", "/api/v1/leads/L1/notes/N2", params);
  REQUIRE(m.route);
  CHECK(params.at("id") == "L1");
  CHECK(params.at("note_id") == "N2");

  params.clear();
  m = router.match("DELETE", "/api/v1/leads/L1/tags/vip", params);
  REQUIRE(m.route);
  CHECK(params.at("lead_id") == "L1");
  CHECK(params.at("tag") == "vip");

  params.clear();
  m = router.match("PUT", "/api/v1/leads", params);
  CHECK_FALSE(m.route);
  CHECK(m.path_matched);
  CHECK(m.allow == "GET, POST, HEAD");

  m = router.match("HEAD", "/api/v1/leads", params);
  REQUIRE(m.route);
  CHECK(m.route->method == "GET");

  m = router.match("GET", "/api/v1/leads/", params);  // empty segment is no id
  CHECK_FALSE(m.route);
  CHECK_FALSE(m.path_matched);
  m = router.match("GET", "/api/v2/leads", params);
  CHECK_FALSE(m.path_matched);

  CHECK_THROWS_AS(router.match("GET", "/api/v1/leads/%zz", params), HttpError);
  CHECK(router.contains("GET", "/api/v1/leads/{x}"));
  CHECK_FALSE(router.contains("PUT", "/api/v1/leads/{id}"));
  CHECK(router.set_body_limit("/api/v1/leads", 10));
  CHECK_FALSE(router.set_body_limit("/nope", 10));
}

TEST_CASE("router rejects malformed and duplicate routes", "[unit]") {
  Router router;
  router.get("/a/{id}", noop());
  CHECK_THROWS_AS(router.get("/a/{other}", noop()), std::invalid_argument);  // same shape
  CHECK_THROWS_AS(router.get("no-slash", noop()), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/a/{id", noop()), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/a/x{id}", noop()), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/b/{id}/{id}", noop()), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/c?x=1", noop()), std::invalid_argument);
  CHECK_THROWS_AS(router.add("G T", "/d", noop()), std::invalid_argument);
  CHECK_THROWS_AS(router.get("/e", Handler{}), std::invalid_argument);
  CHECK_NOTHROW(router.post("/a/{other}", noop()));
}
