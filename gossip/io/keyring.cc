#include "gossip/io/keyring.h"

#include "core/base64.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

namespace cairn::gossip {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

const EVP_CIPHER* cipher_for(size_t key_size) {
  switch (key_size) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return nullptr;
  }
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

Result<std::string> decode_key(std::string_view b64) {
  auto raw = base64_decode(b64);
  if (!raw.ok()) return Error(errc::invalid_argument, "key is not valid base64");
  if (!cipher_for(raw->size()))
    return Error(errc::invalid_argument,
                 "key must be 16, 24 or 32 bytes (got " + std::to_string(raw->size()) + "); make one with cairn keygen");
  return raw;
}

std::optional<std::string> open_with(const std::string& key, std::string_view packet, std::string_view label) {
  const auto* nonce = reinterpret_cast<const unsigned char*>(packet.data() + 1);
  const auto* ct = reinterpret_cast<const unsigned char*>(packet.data() + 1 + kNonce);
  size_t ct_len = packet.size() - 1 - kNonce - kTag;
  std::string out(ct_len, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), cipher_for(key.size()), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()), nonce) != 1)
    return std::nullopt;
  if (!label.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(label.data()),
                        static_cast<int>(label.size())) != 1)
    return std::nullopt;
  if (EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, ct, static_cast<int>(ct_len)) != 1)
    return std::nullopt;
  std::string tag(packet.substr(packet.size() - kTag));
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1) return std::nullopt;
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &final_len) != 1)
    return std::nullopt;  // authentication failed: wrong key or tampered packet
  return out;
}

}  // namespace

Result<std::string> generate_key() {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1)
    return Error(errc::internal, "cannot read random bytes");
  return base64_encode(key);
}

Result<Keyring> Keyring::from_base64(const std::vector<std::string>& keys) {
  Keyring k;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto raw = decode_key(keys[i]);
    if (!raw.ok()) return Error(errc::invalid_argument, "encryption key " + std::to_string(i + 1) + ": " + raw.error().message());
    if (std::find(k.keys_.begin(), k.keys_.end(), *raw) == k.keys_.end()) k.keys_.push_back(*raw);
  }
  return k;
}

Status Keyring::install(std::string_view key_base64) {
  CAIRN_TRY(std::string raw, decode_key(key_base64));
  if (std::find(keys_.begin(), keys_.end(), raw) == keys_.end()) keys_.push_back(raw);
  return {};
}

Status Keyring::use(std::string_view key_base64) {
  CAIRN_TRY(std::string raw, decode_key(key_base64));
  auto it = std::find(keys_.begin(), keys_.end(), raw);
  if (it == keys_.end()) return Error(errc::not_found, "key is not in the keyring: install it first");
  std::rotate(keys_.begin(), it, it + 1);
  return {};
}

Status Keyring::remove(std::string_view key_base64) {
  CAIRN_TRY(std::string raw, decode_key(key_base64));
  auto it = std::find(keys_.begin(), keys_.end(), raw);
  if (it == keys_.end()) return Error(errc::not_found, "key is not in the keyring");
  if (it == keys_.begin()) return Error(errc::invalid_argument, "removing the primary key is not allowed");
  keys_.erase(it);
  return {};
}

std::vector<std::string> Keyring::list() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(base64_encode(k));
  return out;
}

std::string Keyring::primary() const { return keys_.empty() ? std::string() : base64_encode(keys_.front()); }

Result<std::string> Keyring::encrypt(std::string_view plaintext, std::string_view label) const {
  if (keys_.empty()) return Error(errc::internal, "no encryption key");
  const std::string& key = keys_.front();
  std::string out(1 + kNonce + plaintext.size() + kTag, '\0');
  out[0] = static_cast<char>(kVersion);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + 1);
  if (RAND_bytes(nonce, kNonce) != 1) return Error(errc::internal, "cannot read random bytes");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + 1 + kNonce);
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher_for(key.size()), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()), nonce) != 1 ||
      (!label.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(label.data()),
                                           static_cast<int>(label.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, out.data() + out.size() - kTag) != 1)
    return Error(errc::internal, "encryption failed");
  return out;
}

Result<std::string> Keyring::decrypt(std::string_view packet, std::string_view label) const {
  if (packet.size() < 1 + kNonce + kTag) return Error(errc::parse_error, "encrypted packet too short");
  if (static_cast<uint8_t>(packet[0]) != kVersion)
    return Error(errc::parse_error, "unsupported encryption version " + std::to_string(static_cast<uint8_t>(packet[0])));
  for (const auto& key : keys_) {
    if (auto plain = open_with(key, packet, label)) return std::move(*plain);
  }
  return Error(errc::permission_denied, "no installed key authenticates the packet");
}

Result<Keyring> Keyring::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Keyring{};
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Error(errc::parse_error, path + ": not a JSON array of keys");
  std::vector<std::string> keys;
  for (const auto& k : j) {
    if (!k.is_string()) return Error(errc::parse_error, path + ": not a JSON array of keys");
    keys.push_back(k.get<std::string>());
  }
  auto ring = from_base64(keys);
  if (!ring.ok()) return Error(errc::parse_error, path + ": " + ring.error().message());
  return ring;
}

Status Keyring::save(const std::string& path) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json(list()).dump() << "\n";
    out.flush();
    if (!out) return Error(errc::io_error, "cannot write " + tmp);
  }
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, ec);
  fs::rename(tmp, path, ec);  // atomic: never a half-written keyring
  if (ec) return Error(errc::io_error, "cannot write " + path + ": " + ec.message());
  return {};
}

}  // namespace cairn::gossip
