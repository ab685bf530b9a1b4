// Key files (`ordo keygen`) and key ids.
#include "repository/keys.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "repository/repository.h"
#include "tests/test_util.h"

namespace ordo::repository {
namespace {

std::filesystem::perms Mode(const std::string& path) {
  return std::filesystem::status(path).permissions() & std::filesystem::perms::all;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(KeysTest, SymmetricKeyFile) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  ASSERT_OK(GenerateKeyFiles(fs, scratch.Sub("k"), false));
  EXPECT_EQ(Mode(scratch.Sub("k.key")),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_FALSE(fs->FileExists(scratch.Sub("k.pub")));
  KeyMaterial key;
  ASSERT_OK(ReadKeyFile(fs, scratch.Sub("k.key"), &key));
  EXPECT_EQ(key.secret_key.size(), kKeyBytes);
  EXPECT_TRUE(key.public_key.empty());
  EXPECT_EQ(KeyId(key.secret_key).size(), 16u);
  // Refuses to overwrite, and leaves the key as it was.
  const Status again = GenerateKeyFiles(fs, scratch.Sub("k"), false);
  EXPECT_TRUE(again.IsInvalidArgument());
  EXPECT_NE(again.message().find(scratch.Sub("k.key")), std::string::npos);
  KeyMaterial same;
  ASSERT_OK(ReadKeyFile(fs, scratch.Sub("k.key"), &same));
  EXPECT_EQ(same.secret_key, key.secret_key);
  // No temporaries left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(scratch.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(KeysTest, KeyPairFiles) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  ASSERT_OK(GenerateKeyFiles(fs, scratch.Sub("p"), true));
  EXPECT_EQ(Mode(scratch.Sub("p.key")),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  KeyMaterial secret;
  KeyMaterial public_only;
  ASSERT_OK(ReadKeyFile(fs, scratch.Sub("p.key"), &secret));
  ASSERT_OK(ReadKeyFile(fs, scratch.Sub("p.pub"), &public_only));
  EXPECT_EQ(secret.secret_key.size(), kKeyBytes);
  EXPECT_EQ(secret.public_key, public_only.public_key);
  EXPECT_TRUE(public_only.secret_key.empty());
  EXPECT_EQ(PublicKeyFromSecret(secret.secret_key), public_only.public_key);
  EXPECT_TRUE(GenerateKeyFiles(fs, scratch.Sub("p"), true).IsInvalidArgument());
  // A pair refuses when only its .pub exists, so a stray public half is never orphaned.
  std::filesystem::remove(scratch.Sub("p.key"));
  EXPECT_TRUE(GenerateKeyFiles(fs, scratch.Sub("p"), true).IsInvalidArgument());
}

TEST(KeysTest, MalformedKeyFilesAreNamed) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  const std::vector<std::string> bad = {
      "",
      "hello\n",
      "ordo-key-v1 symmetric\n",
      "ordo-key-v1 symmetric\nAAAA\n",
      "ordo-key-v1 rot13\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
      "ordo-key-v2 symmetric\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
      "ordo-key-v1 symmetric\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nextra\n"};
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string path = scratch.Sub("bad" + std::to_string(i));
    WriteText(path, bad[i]);
    KeyMaterial key;
    const Status status = ReadKeyFile(fs, path, &key);
    EXPECT_TRUE(status.IsInvalidArgument()) << i << ": " << status.ToString();
    EXPECT_NE(status.message().find(path), std::string::npos) << i;
  }
  WriteText(scratch.Sub("good"),
            "ordo-key-v1 symmetric\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  KeyMaterial key;
  EXPECT_OK(ReadKeyFile(fs, scratch.Sub("good"), &key));
  EXPECT_EQ(key.secret_key, std::string(32, '\0'));
  const Status missing = ReadKeyFile(fs, scratch.Sub("missing"), &key);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find(scratch.Sub("missing")), std::string::npos);
}

}  // namespace
}  // namespace ordo::repository
