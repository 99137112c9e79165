#include "phrases.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <stdexcept>

#include "text.hpp"

namespace leadpipe::extract {
namespace {

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

namespace {

bool is_phrase_word_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '\'' ||
         static_cast<unsigned char>(c) >= 0x80;
}

struct Token {
  std::string_view word;
  bool joined = false;  // only spaces/hyphens between this word and the next
};

// Splits folded text into words; reuses `out`.
void tokenize(std::string_view f, std::vector<Token>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < f.size()) {
    if (!is_phrase_word_byte(f[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < f.size() && is_phrase_word_byte(f[j])) ++j;
    // Trim apostrophes at the edges ("'ok'" → "ok").
    std::size_t b = i, e = j;
    while (b < e && f[b] == '\'') ++b;
    while (e > b && f[e - 1] == '\'') --e;
    std::size_t k = j;
    bool joined = true;
    while (k < f.size() && !is_phrase_word_byte(f[k])) {
      const char c = f[k];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '-') joined = false;
      ++k;
    }
    if (e > b) out.push_back({f.substr(b, e - b), joined && k < f.size()});
    i = j;
  }
}

}  // namespace

PhraseSet::PhraseSet() = default;
PhraseSet::~PhraseSet() = default;
PhraseSet::PhraseSet(PhraseSet&&) noexcept = default;
PhraseSet& PhraseSet::operator=(PhraseSet&&) noexcept = default;

bool PhraseSet::add(std::string key, std::string_view phrase) {
  const std::string f = text::fold(phrase);
  std::vector<Token> toks;
  tokenize(f, toks);
  if (toks.empty()) return false;
  Phrase p;
  p.index = static_cast<int>(keys_.size());
  for (std::size_t k = 1; k < toks.size(); ++k) p.words.emplace_back(toks[k].word);
  by_first_[std::string(toks[0].word)].push_back(std::move(p));
  keys_.push_back(std::move(key));
  return true;
}

void PhraseSet::compile() {}

void PhraseSet::match(std::string_view folded, std::vector<int>& hits) const {
  hits.clear();
  if (keys_.empty()) return;
  thread_local std::vector<Token> toks;
  thread_local std::string probe;
  tokenize(folded, toks);
  for (std::size_t i = 0; i < toks.size(); ++i) {
    probe.assign(toks[i].word.data(), toks[i].word.size());
    const auto it = by_first_.find(probe);
    if (it == by_first_.end()) continue;
    for (const Phrase& p : it->second) {
      bool ok = i + p.words.size() < toks.size();
      for (std::size_t k = 0; ok && k < p.words.size(); ++k)
        ok = toks[i + k].joined && toks[i + k + 1].word == p.words[k];
      if (ok) hits.push_back(p.index);
    }
  }
  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
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
