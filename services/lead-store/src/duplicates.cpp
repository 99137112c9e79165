#include "duplicates.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

namespace leadpipe::leads {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const std::vector<std::string>& default_variant_regions() {
  // Markets of the seeds (Indonesia, India, Brazil) and their neighbours.
  static const std::vector<std::string> regions{"ID", "IN", "BR", "MY", "SG",
                                                "PH", "TH", "VN", "PT", "US"};
  return regions;
}

std::vector<PhoneVariant> phone_variants(const std::string& e164,
                                         const std::vector<std::string>& regions) {
  std::vector<PhoneVariant> out;
  const auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (e164.empty() || e164[0] != '+') return out;
  if (util->Parse(e164, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return out;
  const int cc = number.country_code();
  std::string nsn;
  util->GetNationalSignificantNumber(number, &nsn);
  auto add = [&](std::string phone, const char* reason) {
    if (phone == e164) return;
    if (std::any_of(out.begin(), out.end(),
                    [&](const PhoneVariant& v) { return v.phone == phone; }))
      return;
    out.push_back({std::move(phone), reason});
  };
  if (cc == 55) {
    // Two-digit area code, then the subscriber number.
    if (nsn.size() == 11 && nsn[2] == '9' && nsn[3] >= '6' && nsn[3] <= '9') {
      add("+55" + nsn.substr(0, 2) + nsn.substr(3), "brazil_ninth_digit");
    } else if (nsn.size() == 10 && nsn[2] >= '6' && nsn[2] <= '9') {
      add("+55" + nsn.substr(0, 2) + "9" + nsn.substr(2), "brazil_ninth_digit");
    }
  }
  for (const auto& region : regions) {
    const int other = util->GetCountryCodeForRegion(region);
    if (other == 0 || other == cc) continue;
    PhoneNumber guess;
    guess.set_country_code(other);
    guess.set_national_number(number.national_number());
    if (number.italian_leading_zero()) guess.set_italian_leading_zero(true);
    if (!util->IsValidNumber(guess)) continue;
    std::string formatted;
    util->Format(guess, PhoneNumberUtil::E164, &formatted);
    add(formatted, "country_code");
  }
  return out;
}

}  // namespace leadpipe::leads
