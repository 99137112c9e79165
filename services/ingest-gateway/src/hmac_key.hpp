#pragma once
// HMAC-SHA256 with a key fixed at start-up. OpenSSL 3's one-shot HMAC()
// fetches the algorithm and sets the key up again on every call (~5% of the
// WhatsApp webhook's CPU under load); this keys one EVP_MAC_CTX once, and
// each message takes a keyed context from a small pool (reset to the key, not
// duplicated). Thread-safe.
#include <memory>
#include <string>
#include <string_view>

namespace leadpipe::ingest {

class HmacKey {
 public:
  explicit HmacKey(std::string_view key);  // throws std::runtime_error if OpenSSL refuses
  ~HmacKey();
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // Raw 32-byte HMAC-SHA256(key, data).
  std::string mac(std::string_view data) const;
  // Lower-case hex of mac(data).
  std::string mac_hex(std::string_view data) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// X-Hub-Signature-256 check with a pre-keyed HMAC: "sha256=<hex>" (either
// case) compared in constant time. Same answers as whatsapp::signature_valid.
bool hub_signature_valid(const HmacKey& key, std::string_view raw_body, std::string_view header_value);

}  // namespace leadpipe::ingest
