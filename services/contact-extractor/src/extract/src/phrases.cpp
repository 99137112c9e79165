#include "phrases.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <stdexcept>

#include "text.hpp"

namespace leadpipe::extract {
namespace {

RE2::Options set_options() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(64 << 20);  // large alternations of keywords need more than the 8 MiB default
  return o;
}

constexpr const char* kNegationWords =
    "tidak|tdk|gak|ga|gk|nggak|ngga|enggak|engga|ndak|bukan|belum|blm|kurang|"
    "not|no|never|dont|don't|doesnt|doesn't|isnt|isn't|arent|aren't|wont|won't|cant|can't|cannot|"
    "nao|nem|nunca|nahi|nahin|mat";

}  // namespace

std::string phrase_pattern(std::string_view p) {
  std::string out = "(?:^|[^a-z0-9_])";
  bool in_space = false;
  for (char c : p) {
    if (c == ' ' || c == '-' || c == '\t') {
      if (!in_space) out += "[\\s\\-]+";
      in_space = true;
      continue;
    }
    in_space = false;
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || u >= 0x80) {
      out.push_back(c);
    } else {
      out.push_back('\\');
      out.push_back(c);
    }
  }
  out += "(?:[^a-z0-9_]|$)";
  return out;
}

PhraseSet::PhraseSet() : set_(std::make_unique<RE2::Set>(set_options(), RE2::UNANCHORED)) {}
PhraseSet::~PhraseSet() = default;
PhraseSet::PhraseSet(PhraseSet&&) noexcept = default;
PhraseSet& PhraseSet::operator=(PhraseSet&&) noexcept = default;

bool PhraseSet::add(std::string key, std::string_view phrase) {
  std::string f = text::fold(phrase);
  // trim
  std::size_t b = f.find_first_not_of(" \t\n");
  if (b == std::string::npos) return false;
  std::size_t e = f.find_last_not_of(" \t\n");
  f = f.substr(b, e - b + 1);
  std::string err;
  if (set_->Add(phrase_pattern(f), &err) < 0) throw std::invalid_argument("bad phrase '" + std::string(phrase) + "': " + err);
  keys_.push_back(std::move(key));
  return true;
}

void PhraseSet::compile() {
  if (keys_.empty()) {
    compiled_ = true;
    return;
  }
  if (!set_->Compile()) throw std::runtime_error("phrase set does not compile (out of memory)");
  compiled_ = true;
}

void PhraseSet::match(std::string_view folded, std::vector<int>& hits) const {
  hits.clear();
  if (keys_.empty() || !compiled_) return;
  set_->Match(folded, &hits);
  std::sort(hits.begin(), hits.end());
}

Negator::Negator() {
  RE2::Options o;
  o.set_log_errors(false);
  const std::string words = kNegationWords;
  probe_ = std::make_unique<RE2>("(?:^|[^a-z0-9_'])(?:" + words + ")\\s", o);
  // Negation word + optional intensifier/auxiliary, then the negated word.
  rewrite_ = std::make_unique<RE2>(
      "(^|[^a-z0-9_'])(?:" + words + ")\\s+(?:(?:really|very|so|that|too|quite|at all|terlalu|begitu|terlau|"
      "jadi|lagi|sih|muito|tao|mais|more|much|sure|yet|need to|want to|am|is|are|be|been|feeling|feel|"
      "be|ada|akan|mau|bisa|tenho|estou|sou|quero)\\s+)?",
      o);
  if (!probe_->ok() || !rewrite_->ok()) throw std::logic_error("negation patterns do not compile");
}
Negator::~Negator() = default;

std::string_view Negator::apply(std::string_view folded, std::string& scratch) const {
  if (!RE2::PartialMatch(folded, *probe_)) return folded;
  scratch.assign(folded.data(), folded.size());
  RE2::GlobalReplace(&scratch, *rewrite_, "\\1not_");
  return scratch;
}

}  // namespace leadpipe::extract
