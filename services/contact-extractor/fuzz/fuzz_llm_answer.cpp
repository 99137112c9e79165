// libFuzzer target over the contact-extractor's parsers of untrusted input
// besides messages: the LLM endpoint's answer (both API styles), the merge of
// an answer into a state, and a tenant settings document.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "llm.hpp"
#include "tenant_config.hpp"

using namespace leadpipe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string in(reinterpret_cast<const char*>(data), size);
  for (auto api : {extractor::LlmConfig::Api::openai, extractor::LlmConfig::Api::anthropic}) {
    if (auto a = extractor::parse_answer(api, in)) {
      extract::ConversationState st;
      extractor::merge_llm(st, *a, extract::Message{"m1", extract::Speaker::user, in, 1}, "ID");
    }
  }
  try {
    (void)extractor::parse_settings(in);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
