// Lead scoring as seed 001 describes it: base 50, high- and medium-value
// keywords (capped), sentiment, urgency and low-urgency phrases, clamped to
// 0..100; tier hot >= 80, warm 50..79, cold < 50.
//
// Phrases are matched case- and diacritic-insensitively on word boundaries
// ("matrícula" matches "MATRICULA"). A negation right before a word ("tidak
// tertarik", "not interested", "não tenho interesse") turns it into the
// negative phrase instead of counting it as positive.
#pragma once

#include <string>
#include <vector>

namespace leadpipe::extract {

struct ScoringConfig {
  int base = 50;
  // +per_high for each distinct high-value phrase, at most max_high in total.
  std::vector<std::string> high_value;
  int per_high = 20, max_high = 40;
  std::vector<std::string> medium_value;
  int per_medium = 10, max_medium = 20;
  std::vector<std::string> positive;   // sentiment; net positive → +positive_points
  std::vector<std::string> negative;   // net negative → negative_points (negative number)
  int positive_points = 30, negative_points = -20;
  std::vector<std::string> urgency;    // any → +urgency_points
  std::vector<std::string> low_urgency;  // any → low_urgency_points
  int urgency_points = 30, low_urgency_points = -10;
  int hot_at = 80, warm_at = 50;

  // Multilingual defaults (Indonesian, English, Portuguese, Hinglish) for
  // admissions, clinics and sales.
  static ScoringConfig defaults();
};

struct Score {
  int value = 50;
  std::string tier;                  // "hot" | "warm" | "cold"
  std::vector<std::string> reasons;  // e.g. "high_value:daftar +20", "urgency:hari ini +30"
};

std::string tier_for(int score, const ScoringConfig& cfg);

}  // namespace leadpipe::extract
