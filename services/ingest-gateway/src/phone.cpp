#include "phone.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cctype>

namespace leadpipe::ingest::phone {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool known_region(std::string_view region) {
  const auto* util = PhoneNumberUtil::GetInstance();
  return util->GetCountryCodeForRegion(upper(region)) != 0;
}

std::optional<Normalised> normalise(std::string_view raw, std::string_view default_region) {
  // Real numbers are short; bounding the input keeps the parser's work bounded.
  if (raw.empty() || raw.size() > 64) return std::nullopt;
  const auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const std::string region = default_region.empty() ? "ZZ" : upper(default_region);
  if (util->Parse(std::string(raw), region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  if (!util->IsValidNumber(number)) return std::nullopt;
  Normalised out;
  util->Format(number, PhoneNumberUtil::E164, &out.e164);
  util->GetRegionCodeForNumber(number, &out.region);
  return out;
}

}  // namespace leadpipe::ingest::phone
