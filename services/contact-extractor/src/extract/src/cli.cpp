#include "leadpipe/extract/cli.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <istream>
#include <ostream>
#include <string>

#include "leadpipe/extract/extractor.hpp"

namespace leadpipe::extract {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr rapidjson::SizeType kMaxMessages = 10000;

// HasMember + operator[] rather than comparing FindMember() with MemberEnd():
// clang warns on RapidJSON's iterator operators in C++20.
const rapidjson::Value* member(const rapidjson::Value& o, const char* key) {
  return o.HasMember(key) ? &o[key] : nullptr;
}

// The id as it was given (string or number), or null.
void write_id(Writer& w, const rapidjson::Value* id) {
  w.Key("id");
  if (id && id->IsString()) w.String(id->GetString(), id->GetStringLength());
  else if (id && id->IsInt64()) w.Int64(id->GetInt64());
  else if (id && id->IsUint64()) w.Uint64(id->GetUint64());
  else w.Null();
}

std::string error_line(const rapidjson::Value* id, const std::string& why) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  write_id(w, id);
  w.Key("error");
  w.String(why);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// Reads one line into `line`, keeping at most `cap` bytes; sets `overflow`
// when the line was longer (the rest is consumed and dropped). Returns false
// at EOF with nothing read.
bool read_line(std::istream& in, std::string& line, std::size_t cap, bool& overflow) {
  line.clear();
  overflow = false;
  std::streambuf* sb = in.rdbuf();
  bool any = false;
  for (;;) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return any;
    }
    any = true;
    if (c == '\n') return true;
    if (line.size() < cap) line.push_back(static_cast<char>(c));
    else overflow = true;
  }
}

}  // namespace

std::string process_line(const Extractor& extractor, std::string_view line) {
  rapidjson::Document d;
  d.Parse(line.data(), line.size());
  if (d.HasParseError()) return error_line(nullptr, "malformed JSON");
  if (!d.IsObject()) return error_line(nullptr, "a line must be a JSON object");
  const rapidjson::Value* id = member(d, "id");
  const rapidjson::Value* mv = member(d, "messages");
  if (!mv || !mv->IsArray()) return error_line(id, "\"messages\" must be an array");
  const auto& msgs = *mv;
  if (msgs.Size() > kMaxMessages) return error_line(id, "too many messages");

  // Validate first, so a bad message does not leave a half-processed result.
  std::vector<Message> messages;
  messages.reserve(msgs.Size());
  for (rapidjson::SizeType i = 0; i < msgs.Size(); ++i) {
    const auto& m = msgs[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.IsObject()) return error_line(id, where + " must be an object");
    const rapidjson::Value* from = member(m, "from");
    if (!from || !from->IsString()) return error_line(id, where + ".from must be \"user\", \"bot\" or \"agent\"");
    auto speaker = parse_speaker(std::string_view(from->GetString(), from->GetStringLength()));
    if (!speaker) return error_line(id, where + ".from must be \"user\", \"bot\" or \"agent\"");
    const rapidjson::Value* text = member(m, "text");
    if (!text || !(text->IsString() || text->IsNull())) return error_line(id, where + ".text must be a string");
    Message msg;
    msg.from = *speaker;
    if (text->IsString()) msg.text.assign(text->GetString(), text->GetStringLength());
    if (const auto* mid = member(m, "id"); mid && mid->IsString())
      msg.id.assign(mid->GetString(), mid->GetStringLength());
    else
      msg.id = "m" + std::to_string(i + 1);
    if (const auto* at = member(m, "at_ms"); at && at->IsInt64()) msg.at_ms = at->GetInt64();
    messages.push_back(std::move(msg));
  }

  ConversationState state;
  for (const auto& msg : messages) extractor.observe(state, msg);
  const Result r = extractor.result(state);

  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  write_id(w, id);
  w.Key("name");
  if (r.name) w.String(r.name->value);
  else w.Null();
  w.Key("phones");
  w.StartArray();
  for (const auto& p : r.phones) w.String(p.value);
  w.EndArray();
  w.Key("emails");
  w.StartArray();
  for (const auto& e : r.emails) w.String(e.value);
  w.EndArray();
  w.Key("program");
  if (r.program) w.String(r.program->value);
  else w.Null();
  w.Key("intents");
  w.StartArray();
  for (const auto& i : r.intents) w.String(i);
  w.EndArray();
  w.Key("score");
  w.Int(r.score);
  w.Key("tier");
  w.String(r.tier);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

int run_cli(std::istream& in, std::ostream& out, const Extractor& extractor) {
  std::string line;
  bool overflow = false;
  while (read_line(in, line, kMaxLineBytes, overflow)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (overflow) {
      out << error_line(nullptr, "line longer than " + std::to_string(kMaxLineBytes) + " bytes") << '\n';
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string result;
    try {
      result = process_line(extractor, line);
    } catch (const std::exception& e) {
      // Only resource exhaustion can get here (bad_alloc); report, go on.
      result = error_line(nullptr, std::string("internal error: ") + e.what());
    }
    out << result << '\n';
    // Flush when the input has nothing buffered: interactive use sees each
    // answer at once, a bulk run is not slowed by a flush per line.
    if (in.rdbuf()->in_avail() <= 0) out.flush();
    if (!out) return 1;
  }
  out.flush();
  return out ? 0 : 1;
}

int run_cli(std::istream& in, std::ostream& out, const std::string& region) {
  TenantConfig cfg;
  cfg.region = region.empty() ? "ID" : region;
  Extractor extractor(std::move(cfg));
  return run_cli(in, out, extractor);
}

}  // namespace leadpipe::extract
