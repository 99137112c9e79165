#include "pipeline.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <stdexcept>

#include <leadpipe/embedded.hpp>

LEADPIPE_DECLARE_EMBEDDED(lead_store_pipelines)

namespace leadpipe::leads {
namespace {

using rapidjson::Value;

constexpr std::string_view kRoles[] = {"counselor", "marketing", "sales_head", "admission_admin", "admin"};

[[noreturn]] void bad(const std::string& why) { throw std::invalid_argument("pipeline: " + why); }

std::string str_member(const Value& obj, const char* name, bool required) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    if (required) bad(std::string("'") + name + "' is required");
    return {};
  }
  if (!it->value.IsString()) bad(std::string("'") + name + "' must be a string");
  return {it->value.GetString(), it->value.GetStringLength()};
}

std::vector<std::string> string_array(const Value& v, const std::string& what) {
  if (!v.IsArray()) bad(what + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& x : v.GetArray()) {
    if (!x.IsString() || x.GetStringLength() == 0 || x.GetStringLength() > 64) {
      bad(what + " must be an array of non-empty strings");
    }
    out.emplace_back(x.GetString(), x.GetStringLength());
  }
  return out;
}

bool valid_key(const std::string& k) {
  if (k.empty() || k.size() > 64) return false;
  return std::all_of(k.begin(), k.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

}  // namespace

const std::map<std::string, std::string>& builtin_pipelines() {
  static const std::map<std::string, std::string> all = [] {
    std::map<std::string, std::string> m;
    for (const auto& f : embedded::lead_store_pipelines()) {
      std::string name(f.name);
      if (auto dot = name.rfind('.'); dot != std::string::npos) name.erase(dot);
      m.emplace(std::move(name), std::string(f.contents));
    }
    return m;
  }();
  return all;
}

const Pipeline& Pipeline::admissions() {
  static const Pipeline p = from_json(builtin_pipelines().at("admissions"));
  return p;
}

Pipeline Pipeline::from_json(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) bad("definition is not a JSON object");
  Pipeline p;
  p.name = str_member(d, "name", true);
  if (!valid_key(p.name)) bad("'name' must be 1-64 letters, digits, '_' or '-'");
  auto stages = d.FindMember("stages");
  if (stages == d.MemberEnd() || !stages->value.IsArray() || stages->value.Empty()) {
    bad("'stages' must be a non-empty array");
  }
  if (stages->value.Size() > 50) bad("at most 50 stages");
  for (const auto& s : stages->value.GetArray()) {
    if (!s.IsObject()) bad("every stage must be an object");
    Stage st;
    st.key = str_member(s, "key", true);
    if (!valid_key(st.key)) bad("stage key '" + st.key + "' must be 1-64 letters, digits, '_' or '-'");
    if (p.has(st.key)) bad("duplicate stage '" + st.key + "'");
    st.label = str_member(s, "label", false);
    if (st.label.empty()) st.label = st.key;
    st.terminal = str_member(s, "terminal", false);
    if (!st.terminal.empty() && st.terminal != "won" && st.terminal != "lost") {
      bad("stage '" + st.key + "': terminal must be \"won\" or \"lost\"");
    }
    if (auto roles = s.FindMember("roles"); roles != s.MemberEnd()) {
      if (!roles->value.IsArray()) bad("stage '" + st.key + "': roles must be an array");
      for (const auto& r : roles->value.GetArray()) {
        if (!r.IsString()) bad("stage '" + st.key + "': roles must be strings");
        std::string role(r.GetString(), r.GetStringLength());
        if (std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles)) {
          bad("stage '" + st.key + "': unknown role '" + role + "'");
        }
        st.roles.push_back(std::move(role));
      }
    }
    p.stages.push_back(st.key);
    p.stage_defs.push_back(std::move(st));
  }
  const auto count = [&](const char* kind) {
    return std::count_if(p.stage_defs.begin(), p.stage_defs.end(),
                         [kind](const Stage& s) { return s.terminal == kind; });
  };
  if (count("won") == 0) bad("needs at least one won terminal stage");
  if (count("lost") == 0) bad("needs at least one lost terminal stage");

  auto tr = d.FindMember("transitions");
  if (tr != d.MemberEnd()) {
    if (!tr->value.IsObject()) bad("'transitions' must be an object of stage → [stages]");
    for (const auto& m : tr->value.GetObject()) {
      std::string from(m.name.GetString(), m.name.GetStringLength());
      if (!p.has(from)) bad("transitions: unknown stage '" + from + "'");
      if (!m.value.IsArray()) bad("transitions of '" + from + "' must be an array");
      auto& targets = p.transitions[from];
      for (const auto& t : m.value.GetArray()) {
        if (!t.IsString()) bad("transitions of '" + from + "' must be stage keys");
        std::string to(t.GetString(), t.GetStringLength());
        if (!p.has(to)) bad("transitions of '" + from + "': unknown stage '" + to + "'");
        if (to == from) bad("transitions of '" + from + "': a stage cannot move to itself");
        targets.insert(std::move(to));
      }
    }
  } else {
    // Without a list: every open stage may move to any other stage; terminals
    // are final.
    for (const auto& from : p.stage_defs) {
      if (!from.terminal.empty()) continue;
      for (const auto& to : p.stage_defs) {
        if (to.key != from.key) p.transitions[from.key].insert(to.key);
      }
    }
  }

  if (auto a = d.FindMember("automatic"); a != d.MemberEnd()) {
    if (!a->value.IsObject()) bad("'automatic' must be an object");
    p.incomplete_stage = str_member(a->value, "incomplete", false);
    p.complete_stage = str_member(a->value, "complete", false);
    p.contacted_stage = str_member(a->value, "contacted", false);
    if (auto nc = a->value.FindMember("not_contact"); nc != a->value.MemberEnd()) {
      p.not_contact_purposes = string_array(nc->value, "automatic.not_contact");
    }
    if (auto sg = a->value.FindMember("suggest"); sg != a->value.MemberEnd() && !sg->value.IsNull()) {
      if (!sg->value.IsObject()) bad("automatic.suggest must be an object {stage, intents, from}");
      Suggestion sug;
      sug.stage = str_member(sg->value, "stage", true);
      if (auto it = sg->value.FindMember("intents"); it != sg->value.MemberEnd()) {
        sug.intents = string_array(it->value, "automatic.suggest.intents");
      }
      if (auto it = sg->value.FindMember("from"); it != sg->value.MemberEnd()) {
        sug.from = string_array(it->value, "automatic.suggest.from");
      }
      if (sug.intents.empty()) bad("automatic.suggest.intents must name at least one intent");
      p.suggest = std::move(sug);
    }
  }
  if (auto l = d.FindMember("list"); l != d.MemberEnd() && !l->value.IsNull()) {
    if (!l->value.IsObject()) bad("'list' must be an object {view, sort}");
    if (auto v = str_member(l->value, "view", false); !v.empty()) p.default_view = v;
    if (auto s = str_member(l->value, "sort", false); !s.empty()) p.default_sort = s;
    if (p.default_view != "actionable" && p.default_view != "all") bad("list.view must be actionable or all");
    if (p.default_sort != "recent" && p.default_sort != "score" && p.default_sort != "updated") {
      bad("list.sort must be recent, score or updated");
    }
  }
  if (p.suggest) {
    if (!p.has(p.suggest->stage)) bad("automatic.suggest: unknown stage '" + p.suggest->stage + "'");
    for (const auto& f : p.suggest->from) {
      if (!p.has(f)) bad("automatic.suggest.from: unknown stage '" + f + "'");
    }
  }
  if (p.complete_stage.empty()) p.complete_stage = p.stage_defs.front().key;
  for (const auto* s : {&p.incomplete_stage, &p.complete_stage, &p.contacted_stage}) {
    if (s->empty()) continue;
    if (!p.has(*s)) bad("automatic: unknown stage '" + *s + "'");
    if (p.is_terminal(*s)) bad("automatic: '" + *s + "' is a terminal stage");
  }
  if (!p.incomplete_stage.empty() && p.incomplete_stage == p.complete_stage) {
    bad("automatic: incomplete and complete must differ");
  }
  return p;
}

std::string Pipeline::to_json() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto s = [&w](const std::string& v) { w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size())); };
  w.StartObject();
  w.Key("name");
  s(name);
  w.Key("stages");
  w.StartArray();
  for (const auto& st : stage_defs) {
    w.StartObject();
    w.Key("key");
    s(st.key);
    w.Key("label");
    s(st.label);
    w.Key("terminal");
    if (st.terminal.empty()) {
      w.Null();
    } else {
      s(st.terminal);
    }
    w.Key("roles");
    w.StartArray();
    for (const auto& r : st.roles) s(r);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("transitions");
  w.StartObject();
  for (const auto& st : stage_defs) {
    w.Key(st.key.c_str(), static_cast<rapidjson::SizeType>(st.key.size()));
    w.StartArray();
    if (auto it = transitions.find(st.key); it != transitions.end()) {
      // board order, not alphabetical
      for (const auto& to : stages) {
        if (it->second.count(to)) s(to);
      }
    }
    w.EndArray();
  }
  w.EndObject();
  w.Key("automatic");
  w.StartObject();
  w.Key("incomplete");
  s(incomplete_stage);
  w.Key("complete");
  s(complete_stage);
  w.Key("contacted");
  s(contacted_stage);
  w.Key("not_contact");
  w.StartArray();
  for (const auto& x : not_contact_purposes) s(x);
  w.EndArray();
  if (suggest) {
    w.Key("suggest");
    w.StartObject();
    w.Key("stage");
    s(suggest->stage);
    w.Key("intents");
    w.StartArray();
    for (const auto& x : suggest->intents) s(x);
    w.EndArray();
    w.Key("from");
    w.StartArray();
    for (const auto& x : suggest->from) s(x);
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  w.Key("list");
  w.StartObject();
  w.Key("view");
  s(default_view);
  w.Key("sort");
  s(default_sort);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

const Stage* Pipeline::find(std::string_view key) const {
  for (const auto& s : stage_defs) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

bool Pipeline::is_terminal(std::string_view key) const {
  const auto* s = find(key);
  return s && !s->terminal.empty();
}

std::vector<std::string> Pipeline::open_stages() const {
  std::vector<std::string> out;
  for (const auto& s : stage_defs) {
    if (s.terminal.empty()) out.push_back(s.key);
  }
  return out;
}

std::string Pipeline::initial_stage(bool contact_complete) const {
  if (!contact_complete && !incomplete_stage.empty()) return incomplete_stage;
  return complete_stage;
}

bool Pipeline::is_contact(std::string_view purpose) const {
  return std::find(not_contact_purposes.begin(), not_contact_purposes.end(), purpose) == not_contact_purposes.end();
}

std::optional<std::string> Pipeline::suggestion_for(const std::string& stage,
                                                    const std::vector<std::string>& new_intents) const {
  if (!suggest || stage == suggest->stage) return std::nullopt;
  if (!suggest->from.empty() && std::find(suggest->from.begin(), suggest->from.end(), stage) == suggest->from.end()) {
    return std::nullopt;
  }
  const bool hit = std::any_of(new_intents.begin(), new_intents.end(), [&](const std::string& i) {
    return std::find(suggest->intents.begin(), suggest->intents.end(), i) != suggest->intents.end();
  });
  if (!hit) return std::nullopt;
  auto it = transitions.find(stage);
  if (it == transitions.end() || it->second.count(suggest->stage) == 0) return std::nullopt;
  return suggest->stage;
}

TransitionCheck check_transition(const Pipeline& p, const std::string& from, const std::string& to,
                                 std::string_view role, const std::string& reason) {
  const Stage* target = p.find(to);
  if (!target) return {422, "stage", "'" + to + "' is not a stage of the " + p.name + " pipeline"};
  if (from == to) return {422, "stage", "the lead is already in '" + to + "'"};
  auto it = p.transitions.find(from);
  if (it == p.transitions.end() || it->second.count(to) == 0) {
    return {422, "stage", "the " + p.name + " pipeline does not allow '" + from + "' → '" + to + "'"};
  }
  if (!target->roles.empty() &&
      std::find(target->roles.begin(), target->roles.end(), role) == target->roles.end()) {
    return {403, "stage", "your role may not move a lead into '" + to + "'"};
  }
  if (target->terminal == "lost" && reason.empty()) {
    return {422, "reason", "closing a lead as '" + to + "' needs a reason"};
  }
  return {};
}

}  // namespace leadpipe::leads
