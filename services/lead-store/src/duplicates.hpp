#pragma once
// Duplicate candidates: leads that may be one person although no strong key
// (identity, E.164 phone) joined them. Pure part: which other phone numbers
// are plausibly the same subscriber. Nothing here merges: a person decides
// (POST /api/v1/leads/{id}/merge, or dismisses the pair).
#include <string>
#include <vector>

namespace leadpipe::leads {

struct PhoneVariant {
  std::string phone;   // E.164
  std::string reason;  // brazil_ninth_digit | country_code
};

// Other E.164 numbers that are plausibly the same subscriber as `e164`:
// - Brazil (+55): a mobile with and without the 9th digit (+55 11 9XXXX-XXXX ↔
//   +55 11 XXXX-XXXX, the 8-digit form starting with 6-9);
// - the same national significant number under the country code of another of
//   `regions` (a number written without "+" and normalised with the wrong
//   default region), kept only when libphonenumber finds it valid there.
// Indonesia's 08… vs +62 8… needs nothing here: E.164 normalisation already
// makes them equal. Returns no variant for an unparsable number; never `e164` itself.
std::vector<PhoneVariant> phone_variants(const std::string& e164,
                                         const std::vector<std::string>& regions);

// The regions whose country codes are tried for the country-code variant.
const std::vector<std::string>& default_variant_regions();

}  // namespace leadpipe::leads
