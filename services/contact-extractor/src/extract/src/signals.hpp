// Score signals (internal): which configured keyword phrases occur in a text.
// Signals are stored as keys "<kind>:<phrase>" so a conversation can
// accumulate them in its state without keeping the text itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "leadpipe/extract/scoring.hpp"
#include "phrases.hpp"

namespace leadpipe::extract {

class SignalMatcher {
 public:
  explicit SignalMatcher(const ScoringConfig& cfg);
  // Appends the signal keys found in `folded_negated` (folded, negations
  // marked) that are not in `keys` yet.
  void scan(std::string_view folded_negated, std::vector<std::string>& keys) const;
  // Computes the score from a set of signal keys.
  Score score(const std::vector<std::string>& keys) const;

 private:
  ScoringConfig cfg_;
  PhraseSet set_;
};

}  // namespace leadpipe::extract
