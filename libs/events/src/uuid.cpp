// UUID generation: v4 from OpenSSL's CSPRNG, v5 from SHA-1 (RFC 4122 §4.3/§4.4).
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "leadpipe/events/cloud_event.hpp"

namespace leadpipe::events {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_dash_position(std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

std::string format(const Bytes& b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(digits[b[i] >> 4]);
    out.push_back(digits[b[i] & 0x0f]);
  }
  return out;
}

// Stamps the version nibble and the RFC 4122 variant bits (10xx).
void stamp(Bytes& b, int version) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
}

}  // namespace

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_dash_position(i)) {
      if (text[i] != '-') return false;
    } else if (hex_value(text[i]) < 0) {
      return false;
    }
  }
  return true;
}

std::string uuid_v4() {
  Bytes b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("uuid_v4: RAND_bytes failed");
  }
  stamp(b, 4);
  return format(b);
}

std::string uuid_v5(std::string_view namespace_uuid, std::string_view name) {
  if (!is_uuid(namespace_uuid)) {
    throw std::invalid_argument("uuid_v5: namespace is not a canonical UUID");
  }
  Bytes ns{};
  std::size_t j = 0;
  for (std::size_t i = 0; i < namespace_uuid.size(); ++i) {
    if (is_dash_position(i)) continue;
    const int hi = hex_value(namespace_uuid[i]);
    const int lo = hex_value(namespace_uuid[++i]);
    ns[j++] = static_cast<std::uint8_t>((hi << 4) | lo);
  }

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  // SHA-1 fetched once and a context kept per thread: EVP_sha1() in
  // EVP_DigestInit_ex fetches the algorithm again on every call, and a
  // context was allocated and freed per id (every ingested event takes one).
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const bool ok = sha1 != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), sha1, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx.get(), ns.data(), ns.size()) == 1 &&
                  EVP_DigestUpdate(ctx.get(), name.data(), name.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx.get(), digest.data(), &digest_len) == 1;
  if (!ok || digest_len < 16) throw std::runtime_error("uuid_v5: SHA-1 failed");

  Bytes b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = digest[i];
  stamp(b, 5);
  return format(b);
}

}  // namespace leadpipe::events
