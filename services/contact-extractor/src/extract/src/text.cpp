#include "text.hpp"

namespace leadpipe::extract::text {
namespace {

// Base letters of U+00C0..U+00FF; '\0' = not a foldable letter.
// Upper half (U+00C0..U+00DF) and lower half (U+00E0..U+00FF) share bases.
constexpr char kLatin1[64 + 1] =
    "aaaaaaaceeeeiiiidnooooo\0ouuuuy\0s"   // U+00C0..U+00DF (× at D7, Þ at DE, ß at DF)
    "aaaaaaaceeeeiiiidnooooo\0ouuuuy\0y";  // U+00E0..U+00FF (÷ at F7, þ at FE)

// Base letters of Latin Extended-A, U+0100..U+017F.
constexpr char kLatinExtA[128 + 1] =
    "aaaaaa"      // 0100-0105
    "cccccccc"    // 0106-010D
    "dddd"        // 010E-0111
    "eeeeeeeeee"  // 0112-011B
    "gggggggg"    // 011C-0123
    "hhhh"        // 0124-0127
    "iiiiiiiiii"  // 0128-0131
    "ii"          // 0132-0133 (IJ)
    "jj"          // 0134-0135
    "kkk"         // 0136-0138
    "llllllllll"  // 0139-0142
    "nnnnnnnnn"   // 0143-014B
    "oooooo"      // 014C-0151
    "oo"          // 0152-0153 (OE)
    "rrrrrr"      // 0154-0159
    "ssssssss"    // 015A-0161
    "tttttt"      // 0162-0167
    "uuuuuuuuuuuu"  // 0168-0173
    "ww"          // 0174-0175
    "yyy"         // 0176-0178
    "zzzzzz"      // 0179-017E
    "s";          // 017F
static_assert(sizeof(kLatinExtA) == 129);

// Folds one code point to ASCII lower case when possible; returns 0 if not.
char fold_latin(char32_t cp) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (cp >= 0xC0 && cp <= 0xFF) return kLatin1[cp - 0xC0];
  if (cp >= 0x100 && cp <= 0x17F) return kLatinExtA[cp - 0x100];
  return 0;
}

}  // namespace

std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  char32_t v;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    v = b0 & 0x07;
  } else {
    cp = 0xFFFD;
    return 1;
  }
  if (i + len > s.size()) {
    cp = 0xFFFD;
    return 1;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      cp = 0xFFFD;
      return 1;
    }
    v = (v << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and out-of-range values are invalid.
  if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10FFFF ||
      (v >= 0xD800 && v <= 0xDFFF)) {
    cp = 0xFFFD;
    return 1;
  }
  cp = v;
  return len;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_letter(char32_t cp) {
  if (cp < 0x80) return is_ascii_alpha(static_cast<char>(cp));
  if (cp >= 0xC0 && cp <= 0x24F) return cp != 0xD7 && cp != 0xF7;
  return (cp >= 0x370 && cp <= 0x3FF && cp != 0x37E) ||  // Greek
         (cp >= 0x400 && cp <= 0x52F) ||                  // Cyrillic
         (cp >= 0x5D0 && cp <= 0x5EA) ||                  // Hebrew letters
         (cp >= 0x620 && cp <= 0x64A) ||                  // Arabic letters
         (cp >= 0x900 && cp <= 0xDFF) ||                  // Devanagari … Sinhala
         (cp >= 0xE01 && cp <= 0xE4E) ||                  // Thai
         (cp >= 0x1E00 && cp <= 0x1EFF) ||                // Latin Extended Additional (Vietnamese)
         (cp >= 0x3041 && cp <= 0x30FF) ||                // Kana
         (cp >= 0x4E00 && cp <= 0x9FFF) ||                // CJK
         (cp >= 0xAC00 && cp <= 0xD7A3);                  // Hangul
}

bool is_upper(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  if (cp >= 0xC0 && cp <= 0xDE) return cp != 0xD7;
  if (cp >= 0x100 && cp <= 0x17F) return to_lower(cp) != cp;
  if (cp >= 0x391 && cp <= 0x3AB) return true;  // Greek capitals
  if (cp >= 0x400 && cp <= 0x42F) return true;  // Cyrillic capitals
  return false;
}

bool is_lower(char32_t cp) {
  if (cp < 0x80) return cp >= 'a' && cp <= 'z';
  if (cp >= 0xDF && cp <= 0xFF) return cp != 0xF7;
  if (cp >= 0x100 && cp <= 0x17F) return to_upper(cp) != cp || cp == 0x138 || cp == 0x149 || cp == 0x17F;
  if (cp >= 0x3B1 && cp <= 0x3CB) return true;
  if (cp >= 0x430 && cp <= 0x45F) return true;
  return false;
}

char32_t to_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;
  if (cp == 0x130) return 'i';
  if (cp == 0x178) return 0xFF;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return (cp % 2 == 0) ? cp + 1 : cp;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return (cp % 2 == 1) ? cp + 1 : cp;
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 0x20;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  return cp;
}

char32_t to_upper(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) return cp - 0x20;
  if (cp == 0xFF) return 0x178;
  if (cp == 0x131) return 'I';
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return (cp % 2 == 1) ? cp - 1 : cp;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return (cp % 2 == 0) ? cp - 1 : cp;
  if (cp >= 0x3B1 && cp <= 0x3CB && cp != 0x3C2) return cp - 0x20;
  if (cp >= 0x430 && cp <= 0x44F) return cp - 0x20;
  if (cp >= 0x450 && cp <= 0x45F) return cp - 0x50;
  return cp;
}

void fold(std::string_view in, Folded& out) {
  out.clear();
  out.text.reserve(in.size());
  out.map.reserve(in.size() + 1);
  std::size_t i = 0;
  while (i < in.size()) {
    char32_t cp;
    const std::size_t len = decode(in, i, cp);
    const auto at = static_cast<std::uint32_t>(i);
    if (is_upper(cp)) out.has_upper = true;
    else if (is_lower(cp)) out.has_lower = true;
    if (char c = fold_latin(cp); c != 0) {
      out.text.push_back(c);
      out.map.push_back(at);
      if (cp == 0xDF) {  // ß → ss
        out.text.push_back('s');
        out.map.push_back(at);
      }
    } else if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC || cp == 0x00B4 || cp == 0x0060) {
      out.text.push_back('\'');  // typographic apostrophes: "I’m" is "I'm"
      out.map.push_back(at);
    } else if (cp == 0x00A0 || cp == 0x2007 || cp == 0x202F || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x3000) {
      out.text.push_back(' ');
      out.map.push_back(at);
    } else if (cp == 0x2010 || cp == 0x2011 || cp == 0x2012 || cp == 0x2013 || cp == 0x2014 || cp == 0x2212) {
      out.text.push_back('-');
      out.map.push_back(at);
    } else if (cp == 0xFF20) {  // fullwidth @
      out.text.push_back('@');
      out.map.push_back(at);
    } else if (cp == 0xFFFD && len == 1) {
      out.text.push_back(' ');
      out.map.push_back(at);
    } else if (cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0xFEFF || cp == 0xFE0F) {
      // zero-width characters and emoji variation selectors: dropped
    } else {
      // Other scripts, emoji, symbols: copied verbatim (all bytes map to the code point start).
      for (std::size_t k = 0; k < len; ++k) {
        out.text.push_back(in[i + k]);
        out.map.push_back(at);
      }
    }
    i += len;
  }
  out.map.push_back(static_cast<std::uint32_t>(in.size()));
}

std::string fold(std::string_view in) {
  Folded f;
  fold(in, f);
  return std::move(f.text);
}

std::string title_case_word(std::string_view word) {
  // Decide whether the word is in one case (then normalise) or mixed (keep).
  bool upper = false, lower = false, first = true, first_upper = false, inner_upper = false;
  for (std::size_t i = 0; i < word.size();) {
    char32_t cp;
    i += decode(word, i, cp);
    if (is_upper(cp)) {
      upper = true;
      if (first) first_upper = true;
      else inner_upper = true;
    } else if (is_lower(cp)) {
      lower = true;
    }
    if (is_letter(cp)) first = false;
  }
  if (upper && lower && first_upper && inner_upper) {
    // "McDonald", "DeSouza": written on purpose.
    return std::string(word);
  }
  std::string out;
  out.reserve(word.size());
  bool start = true;
  for (std::size_t i = 0; i < word.size();) {
    char32_t cp;
    i += decode(word, i, cp);
    if (is_letter(cp)) {
      append_utf8(out, start ? to_upper(cp) : to_lower(cp));
      start = false;
    } else {
      append_utf8(out, cp);
      start = (cp == '-' || cp == '\'' || cp == 0x2019);  // O'Brien, Siti-Nur
    }
  }
  return out;
}

}  // namespace leadpipe::extract::text
