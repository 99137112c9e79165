// Multi-phrase matching over folded text (internal): one RE2::Set per list,
// so a message is scanned once per list however many phrases it holds.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::extract {

// A set of keyed phrases. Phrases are folded (case/diacritics), matched on
// word boundaries, and a space in a phrase matches any run of spaces or
// hyphens ("lihat lihat" matches "lihat-lihat"). '_' counts as a word
// character so negated words ("not_interested") do not match "interested".
// Immutable after compile(); match() is thread-safe.
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
  // Indices of the matching phrases, ascending.
  void match(std::string_view folded, std::vector<int>& hits) const;
  const std::string& key(int i) const { return keys_[static_cast<std::size_t>(i)]; }

 private:
  std::unique_ptr<re2::RE2::Set> set_;
  std::vector<std::string> keys_;
  bool compiled_ = false;
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
