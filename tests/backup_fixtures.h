// Helpers shared by the backup tests: a database with several sealed segments, an active
// segment and a checkpoint; reading every key and value of a directory; repositories.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "ordo/db.h"
#include "repository/repository.h"
#include "tests/test_util.h"
#include "util/clock.h"

namespace ordo::testing {

// Half compressible text, half pseudo-random bytes (alternating 4 KiB runs), so zstd frames
// vary in size.
inline std::string TestBytes(size_t size, uint64_t seed) {
  std::string bytes(size, '\0');
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < size; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    bytes[i] =
        (i / 4096) % 2 == 0 ? static_cast<char>('a' + i % 23) : static_cast<char>(state >> 56);
  }
  return bytes;
}

inline Options SmallSegments() {
  Options options;
  options.segment_bytes = kSegmentBytesMin;  // rotations after ~64 KiB
  return options;
}

// Writes `count` keys of ~700 bytes (several segments), a checkpoint, then a few more changes
// so that the active segment holds commits after the checkpoint.
inline void Fill(DB* db, int count, int salt = 0) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(
        db->Put("key" + std::to_string(i % 150),
                std::string(700, static_cast<char>('a' + (i + salt) % 26)) + std::to_string(i))
            .ok());
  }
  ASSERT_TRUE(db->Checkpoint().ok());
  ASSERT_TRUE(db->Put("after-checkpoint" + std::to_string(salt), "x").ok());
  ASSERT_TRUE(db->Delete("key7").ok());
}

// Every live key and value of a (closed or live) directory, read through a read-only open.
inline std::map<std::string, std::string> ReadAll(const std::string& directory) {
  Options options;
  options.read_only = true;
  options.create_if_missing = false;
  auto opened = DB::Open(options, directory);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  std::map<std::string, std::string> all;
  if (!opened.ok()) return all;
  std::unique_ptr<DB> db = std::move(*opened);
  EXPECT_TRUE(
      db->ForEach("", "", [&](std::string_view key, std::string_view value, const ReadInfo&) {
          all.emplace(std::string(key), std::string(value));
          return true;
        }).ok());
  return all;
}

// Digest and key count of a directory, opened read-only.
inline void DigestOf(const std::string& directory, StateDigest* digest, uint64_t* keys) {
  Options options;
  options.read_only = true;
  options.create_if_missing = false;
  auto opened = DB::Open(options, directory);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<DB> db = std::move(*opened);
  *digest = db->Digest();
  *keys = db->CountKeys();
}

// The state of a database after one commit, for point-in-time tests.
struct Recorded {
  uint64_t lsn = 0;
  int64_t time_micros = 0;
  StateDigest digest;
  std::map<std::string, std::string> state;
};

inline Recorded RecordState(DB* db) {
  Recorded point;
  point.lsn = db->AckedLsn();
  point.time_micros = WallMicros();
  point.digest = db->Digest();
  EXPECT_TRUE(
      db->ForEach("", "", [&](std::string_view key, std::string_view value, const ReadInfo&) {
          point.state.emplace(key, value);
          return true;
        }).ok());
  return point;
}

// Opens a restored directory at integrity level 3 and checks it holds exactly `point`.
inline void ExpectRestoredState(const std::string& directory, const Recorded& point,
                                const std::string& context) {
  Options check;
  check.integrity_level = 3;
  check.create_if_missing = false;
  auto opened = DB::Open(check, directory);
  ASSERT_TRUE(opened.ok()) << context << ": " << opened.status().ToString();
  std::unique_ptr<DB> restored = std::move(*opened);
  EXPECT_EQ(restored->Digest(), point.digest) << context;
  EXPECT_EQ(restored->GetStatistics().last_lsn, point.lsn) << context;
  restored.reset();
  EXPECT_EQ(ReadAll(directory), point.state) << context;
}

inline std::unique_ptr<repository::Repository> InitAndOpen(
    FileSystem* fs, const std::string& path,
    repository::EncryptionMode mode = repository::EncryptionMode::kNone,
    const repository::KeyMaterial& key = {}, const std::string& public_key = "") {
  repository::RepositoryInfo info;
  const Status made = repository::Repository::Init(fs, path, mode, key, public_key, &info);
  EXPECT_TRUE(made.ok()) << made.ToString();
  auto opened = repository::Repository::Open(fs, path, key);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened.value()) : nullptr;
}

inline std::unique_ptr<repository::Repository> OpenRepositoryOrDie(
    FileSystem* fs, const std::string& path, const repository::KeyMaterial& key = {}) {
  auto opened = repository::Repository::Open(fs, path, key);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened.value()) : nullptr;
}

// Makes a read-only repository file writable, applies `edit` to its bytes, and puts it back.
template <typename Edit>
void EditFile(const std::string& path, Edit edit) {
  namespace fs = std::filesystem;
  const auto permissions = fs::status(path).permissions();
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::string bytes;
  {
    std::ifstream input(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(input), {});
  }
  edit(bytes);
  {
    std::ofstream output(path, std::ios::binary | std::ios::trunc);
    output << bytes;
  }
  fs::permissions(path, permissions);
}

}  // namespace ordo::testing
