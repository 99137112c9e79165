// Text helpers for the rule layer (internal).
//
// Every pattern runs on a *folded* copy of a message: ASCII-lower-cased,
// Latin diacritics stripped ("É" → "e", "ç" → "c"), typographic apostrophes
// and exotic spaces made plain. The folded copy keeps a byte map back to the
// original so a name found in "LETÍCIA" can be returned as "Letícia".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace leadpipe::extract::text {

struct Folded {
  std::string text;               // folded bytes
  std::vector<std::uint32_t> map; // map[i] = offset in the original of folded byte i; map[size] = original size
  bool has_upper = false;         // the original has at least one upper-case letter
  bool has_lower = false;         // … and at least one lower-case letter
  void clear() { text.clear(); map.clear(); has_upper = has_lower = false; }
};

// Folds `in` into `out` (reusing out's buffers). Invalid UTF-8 bytes are
// replaced by a space so patterns never see half characters.
void fold(std::string_view in, Folded& out);

// Folds without the map: for vocabulary and config strings.
std::string fold(std::string_view in);

// Decodes one UTF-8 code point at s[i]; returns its length (>=1) and stores the
// code point (U+FFFD for invalid bytes).
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp);
void append_utf8(std::string& out, char32_t cp);

// Letters of scripts people write names in (Latin incl. accents, Greek,
// Cyrillic, Arabic, Devanagari and other Indic, Thai, CJK, Hangul).
bool is_letter(char32_t cp);
bool is_upper(char32_t cp);
bool is_lower(char32_t cp);
char32_t to_upper(char32_t cp);
char32_t to_lower(char32_t cp);

// "dEWI o'brien-SILVA" → "Dewi O'Brien-Silva". A word already in mixed case
// ("McDonald") is kept as written.
std::string title_case_word(std::string_view word);

inline bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace leadpipe::extract::text
