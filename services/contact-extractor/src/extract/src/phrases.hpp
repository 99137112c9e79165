// Multi-phrase matching over folded text (internal): keyword lists of intents
// and score signals, and the negation marker that runs before them.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace leadpipe::extract {

// A set of keyed phrases matched on whole words of folded text. Phrases are
// folded (case/diacritics); a word is a run of [a-z0-9_'] or other non-ASCII
// letters, so "not_interested" (a negated word) never matches "interested".
// The words of a multi-word phrase may be separated by spaces or hyphens
// ("lihat lihat" matches "lihat-lihat") but not by other punctuation.
// Matching is a hash lookup per word: linear in the text, independent of the
// number of phrases. Immutable after compile(); match() is thread-safe.
class PhraseSet {
 public:
  PhraseSet();
  ~PhraseSet();
  PhraseSet(PhraseSet&&) noexcept;
  PhraseSet& operator=(PhraseSet&&) noexcept;

  // Adds a phrase; returns false (and ignores it) if it folds to nothing.
  bool add(std::string key, std::string_view phrase);
  void compile();
  bool empty() const { return keys_.empty(); }
  // Indices of the matching phrases, ascending, each once.
  void match(std::string_view folded, std::vector<int>& hits) const;
  const std::string& key(int i) const { return keys_[static_cast<std::size_t>(i)]; }

 private:
  struct Phrase {
    std::vector<std::string> words;  // the words after the first
    int index;
  };
  std::vector<std::string> keys_;
  // first word → phrases starting with it (the map's keys own their strings)
  std::unordered_map<std::string, std::vector<Phrase>> by_first_;
};

// Rewrites "tidak tertarik" / "not really interested" / "não tenho interesse"
// to "not_tertarik" / "not_interested" / "not_tenho interesse" so negated
// phrases can be listed (and their positive forms no longer match).
class Negator {
 public:
  Negator();
  ~Negator();
  // Returns `folded` itself when it holds no negation word, else a view of
  // `scratch` holding the rewritten text.
  std::string_view apply(std::string_view folded, std::string& scratch) const;

 private:
  std::unique_ptr<re2::RE2> probe_;
  std::unique_ptr<re2::RE2> rewrite_;
};

// Builds the RE2 source for a folded phrase (exposed for the intent and
// program matchers).
std::string phrase_pattern(std::string_view folded_phrase);

}  // namespace leadpipe::extract
