#pragma once
// Phone numbers → E.164 with libphonenumber. Pure and thread-safe
// (PhoneNumberUtil is a process-wide immutable singleton).
#include <optional>
#include <string>
#include <string_view>

namespace leadpipe::ingest::phone {

struct Normalised {
  std::string e164;    // "+919820144512"
  std::string region;  // region the number belongs to, e.g. "IN" ("001" for non-geographic)
};

// Parses `raw` ("+91 98201 44512", "0812-3390-7745", "9845012377") with
// `default_region` (ISO 3166-1 alpha-2, any case) for numbers written without
// a country code. Returns nullopt unless libphonenumber considers the result
// a valid number for its region (length and prefix rules), so "12345" fails.
std::optional<Normalised> normalise(std::string_view raw, std::string_view default_region);

// True when libphonenumber knows `region` (upper-case alpha-2 expected).
bool known_region(std::string_view region);

}  // namespace leadpipe::ingest::phone
