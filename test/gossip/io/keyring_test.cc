#include "gossip/io/keyring.h"

#include "core/base64.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace cairn::gossip {
namespace {

std::string key() { return *generate_key(); }

TEST(Keyring, GeneratedKeysAre32BytesAndDiffer) {
  auto a = key(), b = key();
  EXPECT_EQ(base64_decode(a)->size(), 32u);
  EXPECT_NE(a, b);
}

TEST(Keyring, EncryptsAndDecryptsWithTheSameKey) {
  auto ring = *Keyring::from_base64({key()});
  auto sealed = ring.encrypt("hello gossip");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 1 + 12 + 12 + 16u);
  EXPECT_EQ(sealed->find("hello"), std::string::npos);
  EXPECT_EQ(*ring.decrypt(*sealed), "hello gossip");
}

TEST(Keyring, NoncesDifferSoEqualPlaintextsDoNotLookEqual) {
  auto ring = *Keyring::from_base64({key()});
  EXPECT_NE(*ring.encrypt("same"), *ring.encrypt("same"));
}

TEST(Keyring, WrongKeyIsRefused) {
  auto a = *Keyring::from_base64({key()});
  auto b = *Keyring::from_base64({key()});
  auto r = b.decrypt(*a.encrypt("secret"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::permission_denied));
}

TEST(Keyring, TamperedOrTruncatedPacketsAreRefused) {
  auto ring = *Keyring::from_base64({key()});
  std::string sealed = *ring.encrypt("payload");
  std::string flipped = sealed;
  flipped[20] ^= 1;
  EXPECT_FALSE(ring.decrypt(flipped).ok());
  EXPECT_FALSE(ring.decrypt(sealed.substr(0, 10)).ok());
  std::string wrong_version = sealed;
  wrong_version[0] = 9;
  EXPECT_FALSE(ring.decrypt(wrong_version).ok());
}

TEST(Keyring, LabelIsAuthenticated) {
  auto ring = *Keyring::from_base64({key()});
  auto sealed = *ring.encrypt("x", "dc1");
  EXPECT_TRUE(ring.decrypt(sealed, "dc1").ok());
  EXPECT_FALSE(ring.decrypt(sealed, "dc2").ok());
}

TEST(Keyring, RotationKeepsOldPacketsReadableUntilTheOldKeyIsRemoved) {
  std::string old_key = key(), new_key = key();
  auto ring = *Keyring::from_base64({old_key});
  std::string old_packet = *ring.encrypt("before");
  ASSERT_TRUE(ring.install(new_key).ok());
  EXPECT_EQ(ring.primary(), old_key);
  ASSERT_TRUE(ring.use(new_key).ok());
  EXPECT_EQ(ring.primary(), new_key);
  EXPECT_EQ(*ring.decrypt(old_packet), "before");
  auto only_new = *Keyring::from_base64({new_key});
  EXPECT_EQ(*only_new.decrypt(*ring.encrypt("after")), "after");
  ASSERT_TRUE(ring.remove(old_key).ok());
  EXPECT_FALSE(ring.decrypt(old_packet).ok());
  EXPECT_EQ(ring.list(), (std::vector<std::string>{new_key}));
}

TEST(Keyring, PrimaryKeyCannotBeRemoved) {
  std::string k = key();
  auto ring = *Keyring::from_base64({k});
  auto st = ring.remove(k);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("primary"), std::string::npos);
}

TEST(Keyring, BadKeysAreRejectedWithAReason) {
  auto r = Keyring::from_base64({"c2hvcnQ="});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("16, 24 or 32 bytes"), std::string::npos);
  EXPECT_FALSE(Keyring::from_base64({"not base64"}).ok());
  Keyring ring;
  EXPECT_FALSE(ring.use(key()).ok());
}

TEST(Keyring, PersistsAndReloads) {
  auto dir = std::filesystem::temp_directory_path() / ("keyring-test-" + std::to_string(::getpid()));
  std::string path = (dir / "serf" / "local.keyring").string();
  std::string a = key(), b = key();
  auto ring = *Keyring::from_base64({a, b});
  ASSERT_TRUE(ring.save(path).ok());
  auto loaded = Keyring::load(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->list(), (std::vector<std::string>{a, b}));
  EXPECT_FALSE(Keyring::load((dir / "missing").string())->enabled());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cairn::gossip
