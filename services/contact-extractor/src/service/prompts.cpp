#include "prompts.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace leadpipe::extractor {

std::optional<extract::Slot> slot_to_prompt(const extract::ConversationState& st, bool reachable) {
  if (st.awaiting != 0) return std::nullopt;
  if (std::find(st.intents.begin(), st.intents.end(), "opt_out") != st.intents.end()) return std::nullopt;
  reachable = reachable || !st.phones.empty();
  if (!reachable) return st.name ? std::optional(extract::Slot::phone) : std::nullopt;
  if (!st.name) return extract::Slot::name;
  if (st.emails.empty()) return extract::Slot::email;
  return std::nullopt;
}

std::string prompt_text(extract::Slot slot, const std::string& language) {
  using extract::Slot;
  if (language == "id") {
    switch (slot) {
      case Slot::name: return "Boleh tahu nama kakak?";
      case Slot::phone: return "Boleh minta nomor WhatsApp kakak?";
      case Slot::email: return "Boleh minta alamat email kakak?";
      default: return "Boleh tahu program yang kakak minati?";
    }
  }
  if (language == "pt") {
    switch (slot) {
      case Slot::name: return "Qual é o seu nome?";
      case Slot::phone: return "Qual é o seu número de telefone?";
      case Slot::email: return "Qual é o seu e-mail?";
      default: return "Qual curso te interessa?";
    }
  }
  switch (slot) {
    case Slot::name: return "May I have your name?";
    case Slot::phone: return "May I have your phone number?";
    case Slot::email: return "May I have your email address?";
    default: return "Which program are you interested in?";
  }
}

std::string outreach_request_data(const std::string& request_id, const std::string& channel, const std::string& to,
                                  extract::Slot slot, const std::string& text, const std::string& language,
                                  const std::string& source_event_id) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  str("request_id", request_id);
  str("channel", channel);
  str("to", to);
  str("purpose", "slot_prompt");
  w.Key("sensitive");
  w.Bool(false);
  w.Key("message");
  w.StartObject();
  str("kind", "text");
  str("language", language);
  str("text", text);
  w.EndObject();
  w.Key("context");
  w.StartObject();
  str("slot", std::string(extract::slot_name(slot)));
  str("source_event_id", source_event_id);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace leadpipe::extractor
