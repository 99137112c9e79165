#pragma once
// Slot prompting (per tenant, off by default): when a conversation has a way
// to reach the person but lacks their name (or e-mail), the extractor asks
// for it itself by publishing outreach.requested (purpose "slot_prompt").
// Pure: which slot, the localized question, the event data.
#include <optional>
#include <string>

#include <leadpipe/extract/extractor.hpp>

namespace leadpipe::extractor {

// The slot to ask for after a user message, or nullopt: never while a
// question is pending (awaiting ≠ 0) or after an opt-out; name first (the
// person is reachable: `reachable` = the channel gives their number, or a
// phone was captured), then e-mail once the name is known.
std::optional<extract::Slot> slot_to_prompt(const extract::ConversationState& st, bool reachable);

// "Boleh tahu nama kakak?" / "May I have your name?" / "Qual é o seu nome?" …
// (language "id", "pt", anything else = English). The rule layer recognises
// each of them as a question for that slot.
std::string prompt_text(extract::Slot slot, const std::string& language);

// Data of an outreach.requested event (proto/events/outreach.requested.json).
std::string outreach_request_data(const std::string& request_id, const std::string& channel, const std::string& to,
                                  extract::Slot slot, const std::string& text, const std::string& language,
                                  const std::string& source_event_id);

}  // namespace leadpipe::extractor
