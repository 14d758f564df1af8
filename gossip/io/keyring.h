// Gossip encryption keys and AES-GCM (OpenSSL), as memberlist does it.
//
// A packet is: version byte (1) | 12-byte random nonce | ciphertext | 16-byte
// GCM tag, with the label (empty by default) as additional authenticated data.
// The primary key encrypts; every installed key is tried to decrypt, so a key
// can be rotated without downtime: install the new key everywhere, `use` it
// everywhere, then remove the old one.
//
// Keys are 16, 24 or 32 bytes (AES-128/192/256), exchanged as base64 —
// `cairn keygen` makes a 32-byte one. The keyring persists in the data dir
// (`serf/local.keyring`, a JSON array of base64 keys, primary first, replaced
// atomically).
//
// Thread-safety: none; the gossip driver's strand owns it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cairn::gossip {

class Keyring {
 public:
  Keyring() = default;
  // The first key is the primary. Errors name the bad key by position.
  static Result<Keyring> from_base64(const std::vector<std::string>& keys);

  bool enabled() const { return !keys_.empty(); }

  // Adds a key (no-op if present).
  Status install(std::string_view key_base64);
  // Makes an installed key the primary.
  Status use(std::string_view key_base64);
  // Removes a key; the primary cannot be removed.
  Status remove(std::string_view key_base64);
  // Base64 keys, primary first.
  std::vector<std::string> list() const;
  std::string primary() const;

  Result<std::string> encrypt(std::string_view plaintext, std::string_view label = {}) const;
  // Tries every key; an error when none authenticates the packet.
  Result<std::string> decrypt(std::string_view packet, std::string_view label = {}) const;

  // Persistence: load returns an empty keyring when the file does not exist.
  static Result<Keyring> load(const std::string& path);
  Status save(const std::string& path) const;

 private:
  std::vector<std::string> keys_;  // raw bytes, primary first
};

// 32 random bytes, base64 (cairn keygen).
Result<std::string> generate_key();

}  // namespace cairn::gossip
