#include "hmac_key.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <leadpipe/auth/crypto.hpp>

namespace leadpipe::ingest {

namespace {
// Contexts kept for reuse: enough for every I/O thread at once, and a bound
// so a burst of threads cannot grow it without limit.
constexpr std::size_t kPoolLimit = 16;
}  // namespace

struct HmacKey::Impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* tmpl = nullptr;
  std::mutex pool_mu;
  std::vector<EVP_MAC_CTX*> pool;  // keyed contexts, finalised, ready to re-init
  ~Impl() {
    for (auto* c : pool) EVP_MAC_CTX_free(c);
    EVP_MAC_CTX_free(tmpl);
    EVP_MAC_free(mac);
  }

  // A keyed context ready for update(): a pooled one reset to the key
  // (EVP_MAC_init with no key re-uses the one set), else a copy of the
  // template. Duplicating a context allocates four objects; resetting one
  // copies the digest state only.
  EVP_MAC_CTX* take() {
    {
      std::lock_guard lock(pool_mu);
      if (!pool.empty()) {
        EVP_MAC_CTX* c = pool.back();
        pool.pop_back();
        if (EVP_MAC_init(c, nullptr, 0, nullptr) == 1) return c;
        EVP_MAC_CTX_free(c);
      }
    }
    return EVP_MAC_CTX_dup(tmpl);
  }
  void give_back(EVP_MAC_CTX* c) {
    {
      std::lock_guard lock(pool_mu);
      if (pool.size() < kPoolLimit) {
        pool.push_back(c);
        return;
      }
    }
    EVP_MAC_CTX_free(c);
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
  EVP_MAC_CTX* ctx = impl_->take();
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t len = 0;
  if (ctx == nullptr || EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1) {
    EVP_MAC_CTX_free(ctx);  // state unknown: not pooled
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  impl_->give_back(ctx);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string HmacKey::mac_hex(std::string_view data) const { return auth::to_hex(mac(data)); }

bool hub_signature_valid(const HmacKey& key, std::string_view raw_body, std::string_view header_value) {
  constexpr std::string_view prefix = "sha256=";
  if (header_value.substr(0, prefix.size()) != prefix) return false;
  return auth::hex_equal(header_value.substr(prefix.size()), key.mac(raw_body));
}

}  // namespace leadpipe::ingest
