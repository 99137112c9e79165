#pragma once
// Small OpenSSL-backed primitives for signatures and secrets: webhook
// signatures (Meta's X-Hub-Signature-256 = "sha256=" + hmac_sha256_hex(app
// secret, raw body)), vendor API-key hashes, OTP hashes.
//
// All functions are thread-safe and allocation-light.
#include <string>
#include <string_view>

namespace leadpipe::auth {

// Constant-time for equal lengths (OpenSSL CRYPTO_memcmp); different lengths
// compare unequal without reading past either input. Use it for every
// comparison against a secret or a signature.
bool constant_time_equal(std::string_view a, std::string_view b);

// HMAC-SHA256 of `data` under `key`: 32 raw bytes, or 64 lower-case hex digits.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// SHA-256 digest as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

// Lower-case hex of arbitrary bytes.
std::string to_hex(std::string_view bytes);

// True when `hex` (either case) spells exactly `bytes`, compared in constant
// time for a well-formed hex of the right length: a received signature
// against our own raw MAC, without a lower-cased copy or a hex string.
bool hex_equal(std::string_view hex, std::string_view bytes);

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes); throws std::runtime_error if
// the generator fails. For tokens, nonces, OTPs.
std::string random_bytes(std::size_t n);

// RFC 4648 §5 base64url without padding, as JWTs use it. decode returns false
// on any character outside the alphabet, on padding, or on an impossible length.
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace leadpipe::auth
