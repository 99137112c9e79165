#include "hmac_key.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cctype>
#include <stdexcept>

#include <leadpipe/auth/crypto.hpp>

namespace leadpipe::ingest {

struct HmacKey::Impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* tmpl = nullptr;
  ~Impl() {
    EVP_MAC_CTX_free(tmpl);
    EVP_MAC_free(mac);
  }
};

HmacKey::HmacKey(std::string_view key) : impl_(std::make_unique<Impl>()) {
  impl_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (impl_->mac == nullptr) throw std::runtime_error("HMAC unavailable");
  impl_->tmpl = EVP_MAC_CTX_new(impl_->mac);
  if (impl_->tmpl == nullptr) throw std::runtime_error("HMAC context");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  static const unsigned char kEmpty = 0;  // OpenSSL wants a non-null key even when empty
  const auto* k = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(impl_->tmpl, k, key.size(), params) != 1) throw std::runtime_error("HMAC key setup");
}

HmacKey::~HmacKey() = default;

std::string HmacKey::mac(std::string_view data) const {
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(impl_->tmpl), &EVP_MAC_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  if (!ctx || EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string HmacKey::mac_hex(std::string_view data) const { return auth::to_hex(mac(data)); }

bool hub_signature_valid(const HmacKey& key, std::string_view raw_body, std::string_view header_value) {
  constexpr std::string_view prefix = "sha256=";
  if (header_value.substr(0, prefix.size()) != prefix) return false;
  std::string given(header_value.substr(prefix.size()));
  for (auto& ch : given) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return auth::constant_time_equal(key.mac_hex(raw_body), given);
}

}  // namespace leadpipe::ingest
