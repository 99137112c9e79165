// `contact-extractor extract [--region ID]`: the rule layer and conversation
// state over JSON lines, for evaluation and support (no LLM, no database).
//
// Input, one conversation per line:
//   {"id": "...", "messages": [{"from": "user"|"bot"|"agent", "text": "...",
//                               "id"?: "...", "at_ms"?: n}]}
// Output, one line per input line (blank lines are skipped):
//   {"id", "name": string|null, "phones": [E.164…], "emails": […],
//    "program": string|null, "intents": […], "score": n, "tier": "hot"|"warm"|"cold"}
// A malformed line yields {"id": <id or null>, "error": "<why>"} and the run
// goes on. Lines longer than kMaxLineBytes are rejected the same way without
// being buffered whole.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

namespace leadpipe::extract {

class Extractor;

inline constexpr std::size_t kMaxLineBytes = 4 * 1024 * 1024;

// Processes one input line into one output line (without the newline).
std::string process_line(const Extractor& extractor, std::string_view line);

// Reads until EOF; returns 0 (the exit status) unless the output stream fails (1).
int run_cli(std::istream& in, std::ostream& out, const std::string& region);
int run_cli(std::istream& in, std::ostream& out, const Extractor& extractor);

}  // namespace leadpipe::extract
