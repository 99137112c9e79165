// libFuzzer target over the extractor's entry points: the CLI line parser
// (process_line), observe()/result() over arbitrary message sequences, the
// state JSON round trip, and from_json on arbitrary bytes. Properties checked
// beyond "no crash, no hang": a state survives to_json/from_json unchanged,
// and the CLI always answers with one JSON object line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "leadpipe/extract/cli.hpp"
#include "leadpipe/extract/extractor.hpp"

using namespace leadpipe::extract;

namespace {

const Extractor& extractor() {
  static const Extractor e = [] {
    TenantConfig cfg;
    cfg.programs = {"S1 Teknik Elektro", "Administração", "MBA", "Desain Interior"};
    return Extractor(cfg);
  }();
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {  // one CLI line
      const std::string out = process_line(extractor(), in);
      if (out.empty() || out.front() != '{' || out.back() != '}' || out.find('\n') != std::string::npos) std::abort();
      break;
    }
    case 1: {  // a conversation: each line is a message, its first byte picks the speaker
      ConversationState st;
      std::size_t pos = 0;
      std::int64_t at = 0;
      while (pos < in.size()) {
        std::size_t nl = in.find('\n', pos);
        if (nl == std::string_view::npos) nl = in.size();
        const std::string_view line = in.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        Message m;
        m.id = "m" + std::to_string(st.messages_seen + 1);
        m.from = (line[0] & 1) ? Speaker::user : ((line[0] & 2) ? Speaker::bot : Speaker::agent);
        m.text.assign(line.substr(1));
        at += static_cast<unsigned char>(line[0]) * 60'000LL;  // sometimes beyond the TTL
        m.at_ms = at;
        extractor().observe(st, m);
      }
      const Result r = extractor().result(st);
      if (r.score < 0 || r.score > 100) std::abort();
      const ConversationState back = ConversationState::from_json(st.to_json());
      if (!(back == st)) std::abort();
      (void)extractor().score(in);
      break;
    }
    default: {  // persisted state from an untrusted store
      try {
        const ConversationState st = ConversationState::from_json(in);
        if (!(ConversationState::from_json(st.to_json()) == st)) std::abort();
      } catch (const std::invalid_argument&) {
      }
      break;
    }
  }
  return 0;
}
