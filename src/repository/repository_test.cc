// Tests of the backup repository against its contract (repository.h): round trips in every
// encryption mode, deduplication, keys, tampering of every byte region, manifests, and crash and
// I/O-error loops through the fault-injecting FileSystem.
#include "repository/repository.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/fault_file_system.h"
#include "repository/content_codec.h"
#include "repository/transfer.h"
#include "tests/backup_fixtures.h"
#include "tests/test_util.h"
#include "util/sha256.h"

namespace ordo::repository {
namespace {

constexpr size_t kChunk = kChunkPlainBytes;

using ordo::testing::TestBytes;

// A ReadChunk over `bytes` that hands out at most 100000 bytes a call (not chunk-aligned).
ReadChunk SourceOf(const std::string& bytes) {
  auto offset = std::make_shared<size_t>(0);
  return [&bytes, offset](char* buffer, size_t capacity) -> Result<size_t> {
    const size_t count = std::min({capacity, bytes.size() - *offset, size_t{100000}});
    std::memcpy(buffer, bytes.data() + *offset, count);
    *offset += count;
    return count;
  };
}

Status ReadAll(Repository& repository, const ManifestFile& file, std::string* out) {
  out->clear();
  return repository.ReadFile(file, [out](std::string_view bytes) {
    out->append(bytes);
    return Status::Ok();
  });
}

// Keys for one encryption mode: what a backing-up host holds and what a restoring one holds.
struct ModeKeys {
  KeyMaterial write_key;
  KeyMaterial read_key;
  std::string public_key;  // for Init
};

ModeKeys MakeKeys(EncryptionMode mode) {
  EXPECT_EQ(sodium_init() < 0, false);
  ModeKeys keys;
  if (mode == EncryptionMode::kKey) {
    std::string secret(32, '\0');
    randombytes_buf(secret.data(), secret.size());
    keys.write_key.secret_key = keys.read_key.secret_key = secret;
  } else if (mode == EncryptionMode::kPublicKey) {
    std::string public_key(32, '\0');
    std::string secret(32, '\0');
    crypto_box_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                       reinterpret_cast<unsigned char*>(secret.data()));
    keys.public_key = public_key;
    keys.write_key.public_key = public_key;
    keys.read_key.public_key = public_key;
    keys.read_key.secret_key = secret;
  }
  return keys;
}

std::unique_ptr<Repository> InitAndOpen(FileSystem* fs, const std::string& path,
                                        EncryptionMode mode, const ModeKeys& keys,
                                        const KeyMaterial& open_key) {
  RepositoryInfo info;
  const Status made = Repository::Init(fs, path, mode, keys.read_key, keys.public_key, &info);
  EXPECT_OK(made);
  Result<std::unique_ptr<Repository>> opened = Repository::Open(fs, path, open_key);
  EXPECT_OK(opened);
  return opened.ok() ? std::move(*opened) : nullptr;
}

// Overwrites one byte of a (read-only) file on disk.
void FlipByte(const std::string& path, uint64_t offset) {
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x5a);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&byte, 1);
}

std::string ReadDisk(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

void WriteDisk(const std::string& path, const std::string& bytes) {
  std::error_code ignored;
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add, ignored);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Manifest MakeManifest(const std::string& backup_id, const std::vector<ManifestFile>& files) {
  Manifest manifest;
  manifest.backup_id = backup_id;
  manifest.database_id = "00112233445566778899aabbccddeeff";
  manifest.started = "2025-01-02T03:04:05Z";
  manifest.finished = "2025-01-02T03:04:06Z";
  manifest.first_lsn = 1;
  manifest.last_lsn = 42;
  manifest.first_commit_time_micros = 1000;
  manifest.last_commit_time_micros = 2000;
  manifest.digest = StateDigest{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  manifest.keys = 7;
  manifest.files = files;
  for (size_t i = 0; i < manifest.files.size(); ++i) {
    if (manifest.files[i].relative_path.empty()) {
      manifest.files[i].relative_path = "log/" + std::to_string(i) + ".seg";
    }
  }
  manifest.bytes_read = 123;
  manifest.bytes_written = 45;
  manifest.new_files = 2;
  manifest.duration_seconds = 0.125;
  return manifest;
}

class RepositoryModeTest : public ::testing::TestWithParam<EncryptionMode> {
 protected:
  void SetUp() override {
    keys_ = MakeKeys(GetParam());
    path_ = scratch_.Sub("repo");
    repository_ = InitAndOpen(fs_, path_, GetParam(), keys_, keys_.read_key);
    ASSERT_NE(repository_, nullptr);
  }
  std::string DataPath(const ManifestFile& file) const {
    return path_ + "/data/" + file.stored_name;
  }

  ordo::testing::ScratchDirectory scratch_;
  FileSystem* fs_ = FileSystem::Default();
  ModeKeys keys_;
  std::string path_;
  std::unique_ptr<Repository> repository_;
};

TEST_P(RepositoryModeTest, RoundTripsEverySize) {
  for (const size_t size :
       {size_t{0}, size_t{1}, kChunk - 1, kChunk, kChunk + 1, 5 * kChunk + 12345}) {
    SCOPED_TRACE(size);
    const std::string bytes = TestBytes(size, size);
    ManifestFile file;
    uint64_t written = 0;
    ASSERT_OK(repository_->PutFile(SourceOf(bytes), &file, &written));
    EXPECT_EQ(file.plain_bytes, size);
    EXPECT_EQ(file.plain_sha256, Sha256Hex(bytes));
    EXPECT_TRUE(IsSha256Hex(file.stored_name));
    EXPECT_EQ(written, file.stored_bytes);
    const std::string stored = ReadDisk(DataPath(file));
    EXPECT_EQ(stored.size(), file.stored_bytes);
    EXPECT_EQ(Sha256Hex(stored), file.stored_name);
    EXPECT_EQ(std::filesystem::status(DataPath(file)).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                  std::filesystem::perms::others_read);
    if (GetParam() != EncryptionMode::kNone && size > 100) {
      EXPECT_EQ(stored.find(bytes.substr(0, 64)), std::string::npos) << "plain text leaked";
    }
    std::string read;
    const Status status = ReadAll(*repository_, file, &read);
    ASSERT_OK(status);
    EXPECT_EQ(read, bytes);
    EXPECT_OK(repository_->CheckStored(file));
  }
  // Nothing but content files (no temporaries) is left in data/.
  Result<std::vector<std::string>> children = fs_->GetChildren(path_ + "/data");
  ASSERT_OK(children);
  Result<std::vector<std::string>> stored = repository_->ListStoredNames();
  ASSERT_OK(stored);
  EXPECT_EQ(children->size(), stored->size());
}

TEST_P(RepositoryModeTest, SameContentTwiceIsOneFile) {
  const std::string bytes = TestBytes(3 * kChunk, 9);
  ManifestFile first;
  ManifestFile second;
  uint64_t written = 0;
  ASSERT_OK(repository_->PutFile(SourceOf(bytes), &first, &written));
  EXPECT_GT(written, 0u);
  ASSERT_OK(repository_->PutFile(SourceOf(bytes), &second, &written));
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(first.stored_name, second.stored_name);
  ASSERT_OK(repository_->WriteManifest(MakeManifest("20250102T030405Z-00000001", {first})));
  // A new process (new Repository object) finds the content through the manifests.
  Result<std::unique_ptr<Repository>> reopened = Repository::Open(fs_, path_, keys_.read_key);
  ASSERT_OK(reopened);
  ManifestFile third;
  ASSERT_OK((*reopened)->PutFile(SourceOf(bytes), &third, &written));
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(third.stored_name, first.stored_name);
  Result<std::vector<std::string>> names = repository_->ListStoredNames();
  ASSERT_OK(names);
  EXPECT_EQ(names->size(), 1u);
  EXPECT_EQ(fs_->GetChildren(path_ + "/data")->size(), 1u);
}

// Every region of a stored file: header, crypto header, frame lengths, frame bodies, end frame.
TEST_P(RepositoryModeTest, EveryTamperingIsCorruption) {
  const std::string bytes = TestBytes(2 * kChunk + 777, 5);
  ManifestFile file;
  ASSERT_OK(repository_->PutFile(SourceOf(bytes), &file, nullptr));
  const std::string path = DataPath(file);
  const std::string original = ReadDisk(path);
  std::set<uint64_t> offsets;
  for (uint64_t offset = 0; offset < 200 && offset < original.size(); ++offset)
    offsets.insert(offset);
  for (uint64_t i = 0; i < 64; ++i) offsets.insert(original.size() * i / 64);
  for (uint64_t back = 1; back <= 80; ++back) offsets.insert(original.size() - back);
  const auto expect_corruption = [&](const std::string& what) {
    std::string read;
    const Status read_status = ReadAll(*repository_, file, &read);
    EXPECT_TRUE(read_status.IsCorruption()) << what << ": " << read_status.ToString();
    EXPECT_NE(read_status.message().find(file.stored_name), std::string::npos) << what;
    const Status checked = repository_->CheckStored(file);
    EXPECT_TRUE(checked.IsCorruption()) << what << ": " << checked.ToString();
    EXPECT_NE(checked.message().find(file.stored_name), std::string::npos) << what;
  };
  for (const uint64_t offset : offsets) {
    FlipByte(path, offset);
    expect_corruption("flip at " + std::to_string(offset));
    WriteDisk(path, original);
  }
  for (const uint64_t keep : {uint64_t{0}, uint64_t{10}, uint64_t{16}, uint64_t{50},
                              original.size() / 2, original.size() - 41, original.size() - 1}) {
    WriteDisk(path, original.substr(0, keep));
    expect_corruption("truncated to " + std::to_string(keep));
  }
  WriteDisk(path, original + "x");
  expect_corruption("appended a byte");
  WriteDisk(path, original + original);
  expect_corruption("appended itself");
  WriteDisk(path, original);
  std::string read;
  EXPECT_OK(ReadAll(*repository_, file, &read));
  EXPECT_EQ(read, bytes);
}

TEST_P(RepositoryModeTest, HashMismatchIsNamed) {
  ManifestFile file;
  ASSERT_OK(repository_->PutFile(SourceOf(TestBytes(1000, 1)), &file, nullptr));
  FlipByte(DataPath(file), 20);
  const Status status = repository_->CheckStored(file);
  EXPECT_NE(status.message().find("hash mismatch: stored bytes hash to "), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("name says " + file.stored_name), std::string::npos);
}

TEST_P(RepositoryModeTest, ReadFileChecksTheManifestsPlainHash) {
  ManifestFile file;
  ASSERT_OK(repository_->PutFile(SourceOf(TestBytes(1000, 1)), &file, nullptr));
  ManifestFile wrong = file;
  wrong.plain_sha256 = std::string(64, '0');
  std::string read;
  EXPECT_TRUE(ReadAll(*repository_, wrong, &read).IsCorruption());
  wrong = file;
  wrong.plain_bytes += 1;
  EXPECT_TRUE(ReadAll(*repository_, wrong, &read).IsCorruption());
  wrong = file;
  wrong.stored_name = std::string(64, 'a');
  EXPECT_TRUE(ReadAll(*repository_, wrong, &read).IsCorruption());
  EXPECT_TRUE(repository_->CheckStored(wrong).IsCorruption());
}

INSTANTIATE_TEST_SUITE_P(Modes, RepositoryModeTest,
                         ::testing::Values(EncryptionMode::kNone, EncryptionMode::kKey,
                                           EncryptionMode::kPublicKey),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case EncryptionMode::kNone:
                               return std::string("None");
                             case EncryptionMode::kKey:
                               return std::string("Key");
                             case EncryptionMode::kPublicKey:
                               return std::string("PublicKey");
                           }
                           return std::string("Unknown");
                         });

TEST(RepositoryTest, OpenWithoutRepositoryIsNotFound) {
  ordo::testing::ScratchDirectory scratch;
  Result<std::unique_ptr<Repository>> opened =
      Repository::Open(FileSystem::Default(), scratch.Sub("nothing"), KeyMaterial());
  EXPECT_TRUE(opened.status().IsNotFound());
  EXPECT_NE(opened.status().message().find("no repository at " + scratch.Sub("nothing")),
            std::string::npos);
}

TEST(RepositoryTest, InitRefusesExistingRepositoryAndNonEmptyDirectory) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  RepositoryInfo info;
  ASSERT_OK(Repository::Init(fs, scratch.Sub("repo"), EncryptionMode::kNone, {}, "", &info));
  EXPECT_EQ(info.repository_id.size(), 32u);
  EXPECT_TRUE(Repository::Init(fs, scratch.Sub("repo"), EncryptionMode::kNone, {}, "", &info)
                  .IsInvalidArgument());
  std::filesystem::create_directory(scratch.Sub("full"));
  WriteDisk(scratch.Sub("full/file"), "x");
  EXPECT_TRUE(Repository::Init(fs, scratch.Sub("full"), EncryptionMode::kNone, {}, "", &info)
                  .IsInvalidArgument());
  // Modes without their key.
  EXPECT_TRUE(Repository::Init(fs, scratch.Sub("k"), EncryptionMode::kKey, {}, "", &info)
                  .IsInvalidArgument());
  EXPECT_TRUE(Repository::Init(fs, scratch.Sub("p"), EncryptionMode::kPublicKey, {}, "", &info)
                  .IsInvalidArgument());
  Result<std::unique_ptr<Repository>> opened = Repository::Open(fs, scratch.Sub("repo"), {});
  ASSERT_OK(opened);
  EXPECT_EQ((*opened)->info().repository_id, info.repository_id);
  EXPECT_TRUE((*opened)->CanRead());
  EXPECT_TRUE((*opened)->CanWrite());
}

TEST(RepositoryTest, WrongKeyIsRefusedBeforeAnyDecryption) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  const ModeKeys symmetric = MakeKeys(EncryptionMode::kKey);
  const ModeKeys other_symmetric = MakeKeys(EncryptionMode::kKey);
  InitAndOpen(fs, scratch.Sub("k"), EncryptionMode::kKey, symmetric, symmetric.read_key);
  Result<std::unique_ptr<Repository>> opened =
      Repository::Open(fs, scratch.Sub("k"), other_symmetric.read_key);
  EXPECT_TRUE(opened.status().IsInvalidArgument());
  EXPECT_NE(opened.status().message().find("wrong key"), std::string::npos);

  const ModeKeys pair = MakeKeys(EncryptionMode::kPublicKey);
  const ModeKeys other_pair = MakeKeys(EncryptionMode::kPublicKey);
  InitAndOpen(fs, scratch.Sub("p"), EncryptionMode::kPublicKey, pair, pair.read_key);
  for (const KeyMaterial& wrong : {other_pair.read_key, other_pair.write_key, symmetric.read_key}) {
    opened = Repository::Open(fs, scratch.Sub("p"), wrong);
    EXPECT_TRUE(opened.status().IsInvalidArgument());
    EXPECT_NE(opened.status().message().find("wrong key"), std::string::npos);
  }
}

TEST(RepositoryTest, PublicKeyHostWritesAndChecksButCannotRead) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  const ModeKeys pair = MakeKeys(EncryptionMode::kPublicKey);
  auto writer = InitAndOpen(fs, scratch.Sub("p"), EncryptionMode::kPublicKey, pair, pair.write_key);
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(writer->CanWrite());
  EXPECT_FALSE(writer->CanRead());
  const std::string bytes = TestBytes(kChunk + 10, 3);
  ManifestFile file;
  ASSERT_OK(writer->PutFile(SourceOf(bytes), &file, nullptr));
  ASSERT_OK(writer->WriteManifest(MakeManifest("20250102T030405Z-0000000a", {file})));
  EXPECT_OK(writer->CheckStored(file));
  std::string read;
  const Status refused = ReadAll(*writer, file, &read);
  EXPECT_TRUE(refused.IsInvalidArgument());
  EXPECT_NE(refused.message().find("secret key"), std::string::npos) << refused.ToString();
  EXPECT_TRUE(read.empty());

  Result<std::unique_ptr<Repository>> reader =
      Repository::Open(fs, scratch.Sub("p"), pair.read_key);
  ASSERT_OK(reader);
  EXPECT_TRUE((*reader)->CanRead());
  ASSERT_OK(ReadAll(**reader, file, &read));
  EXPECT_EQ(read, bytes);
}

TEST(RepositoryTest, SymmetricRepositoryWithoutKeyOnlyChecks) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  const ModeKeys symmetric = MakeKeys(EncryptionMode::kKey);
  auto owner =
      InitAndOpen(fs, scratch.Sub("k"), EncryptionMode::kKey, symmetric, symmetric.read_key);
  ManifestFile file;
  ASSERT_OK(owner->PutFile(SourceOf(TestBytes(5000, 2)), &file, nullptr));
  Result<std::unique_ptr<Repository>> keyless = Repository::Open(fs, scratch.Sub("k"), {});
  ASSERT_OK(keyless);
  EXPECT_FALSE((*keyless)->CanRead());
  EXPECT_FALSE((*keyless)->CanWrite());
  EXPECT_OK((*keyless)->CheckStored(file));
  std::string read;
  EXPECT_TRUE(ReadAll(**keyless, file, &read).IsInvalidArgument());
  ManifestFile other;
  EXPECT_TRUE((*keyless)->PutFile(SourceOf(read), &other, nullptr).IsInvalidArgument());
}

TEST(RepositoryTest, ManifestsRoundTripAndListInOrder) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  auto repository = InitAndOpen(fs, scratch.Sub("r"), EncryptionMode::kNone, {}, {});
  ManifestFile file;
  file.kind = "sealed-segment";
  file.relative_path = "log/00000000000000000001.seg";
  file.segment_id = 1;
  file.first_lsn = 1;
  file.last_lsn = 42;
  file.segment_key = "db:1:abc";
  ASSERT_OK(repository->PutFile(SourceOf(TestBytes(4000, 4)), &file, nullptr));
  const std::vector<std::string> ids = {"20250102T030405Z-00000003", "20240102T030405Z-ffffffff",
                                        "20250102T030405Z-00000001"};
  for (const std::string& id : ids) {
    ASSERT_OK(repository->WriteManifest(MakeManifest(id, {file})));
  }
  // A leftover temporary is not a manifest.
  WriteDisk(scratch.Sub("r/manifests/.tmp-0123456789abcdef"), "{half");
  Result<std::unique_ptr<Repository>> reopened = Repository::Open(fs, scratch.Sub("r"), {});
  ASSERT_OK(reopened);
  Result<std::vector<Manifest>> listed = (*reopened)->ListManifests();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].backup_id, "20240102T030405Z-ffffffff");
  EXPECT_EQ((*listed)[1].backup_id, "20250102T030405Z-00000001");
  EXPECT_EQ((*listed)[2].backup_id, "20250102T030405Z-00000003");
  const Manifest expected = MakeManifest(ids[0], {file});
  Result<Manifest> read = (*reopened)->ReadManifest(ids[0]);
  ASSERT_OK(read);
  EXPECT_EQ(read->digest, expected.digest);
  EXPECT_EQ(read->last_lsn, 42u);
  EXPECT_EQ(read->keys, 7u);
  EXPECT_EQ(read->duration_seconds, 0.125);
  EXPECT_EQ(read->started, expected.started);
  ASSERT_EQ(read->files.size(), 1u);
  EXPECT_EQ(read->files[0].stored_name, file.stored_name);
  EXPECT_EQ(read->files[0].plain_sha256, file.plain_sha256);
  EXPECT_EQ(read->files[0].segment_key, "db:1:abc");
  EXPECT_EQ(read->files[0].relative_path, file.relative_path);
  EXPECT_TRUE((*reopened)->ReadManifest("20990101T000000Z-00000000").status().IsNotFound());

  std::optional<ManifestFile> found = (*reopened)->FindSealedSegment("db:1:abc");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->stored_name, file.stored_name);
  EXPECT_FALSE((*reopened)->FindSealedSegment("db:2:abc").has_value());

  // Publishing the same manifest again is a no-op; other contents under the same id are refused.
  EXPECT_OK(repository->WriteManifest(MakeManifest(ids[0], {file})));
  Manifest changed = MakeManifest(ids[0], {file});
  changed.keys = 8;
  EXPECT_TRUE(repository->WriteManifest(changed).IsInvalidArgument());
  EXPECT_TRUE(repository->WriteManifest(MakeManifest("bad/id", {file})).IsInvalidArgument());
  // A file the manifest names that is not in data/: Busy (a concurrent prune took it; the
  // writer stores it again), and no manifest is published.
  ManifestFile missing = file;
  missing.stored_name = std::string(64, 'b');
  const Status refused =
      repository->WriteManifest(MakeManifest("20260101T000000Z-00000000", {missing}));
  EXPECT_TRUE(refused.IsBusy()) << refused.ToString();
  EXPECT_NE(refused.message().find("store it again"), std::string::npos) << refused.ToString();
  EXPECT_TRUE(repository->ReadManifest("20260101T000000Z-00000000").status().IsNotFound());

  // Prune's calls.
  ASSERT_OK((*reopened)->RemoveManifest(ids[1]));
  EXPECT_EQ((*reopened)->ListManifests()->size(), 2u);
  ASSERT_OK((*reopened)->RemoveStored(file.stored_name));
  EXPECT_TRUE((*reopened)->ListStoredNames()->empty());
  EXPECT_FALSE((*reopened)->FindSealedSegment("db:1:abc").has_value());
}

TEST(RepositoryTest, DamagedManifestIsNamed) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  auto repository = InitAndOpen(fs, scratch.Sub("r"), EncryptionMode::kNone, {}, {});
  ASSERT_OK(repository->WriteManifest(MakeManifest("20250102T030405Z-00000001", {})));
  const std::string path = scratch.Sub("r/manifests/20250102T030405Z-00000001.json");
  const std::string original = ReadDisk(path);

  const auto expect_named_corruption = [&](const std::string& what) {
    Result<std::vector<Manifest>> listed = repository->ListManifests();
    EXPECT_TRUE(listed.status().IsCorruption()) << what << ": " << listed.status().ToString();
    EXPECT_NE(listed.status().message().find(path), std::string::npos) << what;
  };
  WriteDisk(path, original.substr(0, original.size() / 2));
  expect_named_corruption("truncated JSON");
  std::string digit_changed = original;
  const size_t lsn = digit_changed.find("\"last_lsn\": 42");
  ASSERT_NE(lsn, std::string::npos);
  digit_changed[lsn + 13] = '3';
  WriteDisk(path, digit_changed);
  expect_named_corruption("a changed digit");
  WriteDisk(path, "[]");
  expect_named_corruption("not an object");
  WriteDisk(path, original);
  EXPECT_OK(repository->ListManifests());
}

TEST(RepositoryTest, DamagedDescriptionIsRefused) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  ASSERT_OK(Repository::Init(fs, scratch.Sub("r"), EncryptionMode::kNone, {}, "", nullptr));
  const std::string path = scratch.Sub("r/ordo-repository.json");
  std::string text = ReadDisk(path);
  text.replace(text.find("\"none\""), 6, "\"key\" ");
  WriteDisk(path, text);
  Result<std::unique_ptr<Repository>> opened = Repository::Open(fs, scratch.Sub("r"), {});
  EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString();
  EXPECT_NE(opened.status().message().find(path), std::string::npos);
}

TEST(RepositoryTest, BackupIds) {
  const std::string id = NewBackupId(1735787045000000);  // 2025-01-02T03:04:05Z
  EXPECT_TRUE(IsValidBackupId(id)) << id;
  EXPECT_EQ(id.substr(0, 17), "20250102T030405Z-");
  EXPECT_FALSE(IsValidBackupId("20250102T030405Z-0000000"));
  EXPECT_FALSE(IsValidBackupId("../../etc/passwd-00000000"));
  EXPECT_FALSE(IsValidBackupId("20250102T030405Z-0000000G"));
}

// --- Crash and I/O-error loops ---

struct CrashWorkload {
  std::string a = TestBytes(300000, 11);
  std::string b = TestBytes(kChunk + 5000, 12);
  std::string c = TestBytes(1000, 13);
};

// The baseline, made durable before any fault: one backup of file A.
void MakeBaseline(FileSystem* fs, const std::string& path, EncryptionMode mode,
                  const ModeKeys& keys, const CrashWorkload& work) {
  auto repository = InitAndOpen(fs, path, mode, keys, keys.write_key);
  ManifestFile a;
  ASSERT_OK(repository->PutFile(SourceOf(work.a), &a, nullptr));
  const Status published =
      repository->WriteManifest(MakeManifest("20250101T000000Z-00000001", {a}));
  ASSERT_OK(published);
}

// The step under test: a second backup of A (already there), B and C.
Status SecondBackup(FileSystem* fs, const std::string& path, const ModeKeys& keys,
                    const CrashWorkload& work) {
  ORDO_ASSIGN_OR_RETURN(auto repository, Repository::Open(fs, path, keys.write_key));
  std::vector<ManifestFile> files(3);
  ORDO_RETURN_IF_ERROR(repository->PutFile(SourceOf(work.a), &files[0], nullptr));
  ORDO_RETURN_IF_ERROR(repository->PutFile(SourceOf(work.b), &files[1], nullptr));
  ORDO_RETURN_IF_ERROR(repository->PutFile(SourceOf(work.c), &files[2], nullptr));
  return repository->WriteManifest(MakeManifest("20250101T000001Z-00000002", files));
}

// After a crash: the repository opens, every manifest present reads and so does every file it
// lists, and every file with a final name holds the bytes its name says.
void CheckAfterCrash(const std::string& path, const ModeKeys& keys, const CrashWorkload& work) {
  FileSystem* fs = FileSystem::Default();
  Result<std::unique_ptr<Repository>> opened = Repository::Open(fs, path, keys.read_key);
  ASSERT_OK(opened);
  Repository& repository = **opened;
  Result<std::vector<Manifest>> manifests = repository.ListManifests();
  ASSERT_OK(manifests);
  ASSERT_GE(manifests->size(), 1u);
  EXPECT_EQ((*manifests)[0].backup_id, "20250101T000000Z-00000001");
  const std::vector<const std::string*> expected = {&work.a, &work.b, &work.c};
  for (const Manifest& manifest : *manifests) {
    for (size_t i = 0; i < manifest.files.size(); ++i) {
      std::string read;
      const Status status = ReadAll(repository, manifest.files[i], &read);
      ASSERT_OK(status) << manifest.backup_id << ": " << status.ToString();
      EXPECT_EQ(read, *expected[i]);
    }
  }
  Result<std::vector<std::string>> names = repository.ListStoredNames();
  ASSERT_OK(names);
  for (const std::string& name : *names) {
    ManifestFile file;
    file.stored_name = name;
    const Status status = repository.CheckStored(file);
    EXPECT_OK(status);
  }
}

class RepositoryCrashTest : public ::testing::TestWithParam<EncryptionMode> {};

TEST_P(RepositoryCrashTest, CrashAtEverySyncPointLeavesAValidRepository) {
  ordo::testing::ScratchDirectory scratch;
  const ModeKeys keys = MakeKeys(GetParam());
  const CrashWorkload work;
  // Count the sync points of the step.
  uint64_t sync_points = 0;
  {
    FaultFileSystem fault;
    MakeBaseline(&fault, scratch.Sub("count"), GetParam(), keys, work);
    fault.Reset();
    ASSERT_OK(SecondBackup(&fault, scratch.Sub("count"), keys, work));
    sync_points = fault.sync_count();
  }
  ASSERT_GE(sync_points, 6u);
  for (uint64_t n = 1; n <= sync_points; ++n) {
    for (const CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTornWriteWithGarbage}) {
      SCOPED_TRACE("crash after sync point " + std::to_string(n) + " mode " +
                   std::to_string(static_cast<int>(mode)));
      const std::string path =
          scratch.Sub("crash-" + std::to_string(n) + "-" + std::to_string(static_cast<int>(mode)));
      FaultFileSystem fault;
      MakeBaseline(&fault, path, GetParam(), keys, work);
      fault.Reset();
      fault.CrashAfterSyncs(n);
      (void)SecondBackup(&fault, path, keys, work);
      ASSERT_OK(fault.SimulateCrash(mode, n));
      CheckAfterCrash(path, keys, work);
      // The next backup succeeds and reads back.
      ASSERT_OK(SecondBackup(FileSystem::Default(), path, keys, work));
      CheckAfterCrash(path, keys, work);
    }
  }
}

TEST_P(RepositoryCrashTest, IoErrorAtEveryMutationLeavesAValidRepository) {
  ordo::testing::ScratchDirectory scratch;
  const ModeKeys keys = MakeKeys(GetParam());
  const CrashWorkload work;
  uint64_t mutations = 0;
  {
    FaultFileSystem fault;
    MakeBaseline(&fault, scratch.Sub("count"), GetParam(), keys, work);
    fault.Reset();
    ASSERT_OK(SecondBackup(&fault, scratch.Sub("count"), keys, work));
    mutations = fault.mutation_count();
  }
  for (uint64_t n = 1; n <= mutations; ++n) {
    SCOPED_TRACE("EIO at mutation " + std::to_string(n));
    const std::string path = scratch.Sub("eio-" + std::to_string(n));
    FaultFileSystem fault;
    MakeBaseline(&fault, path, GetParam(), keys, work);
    fault.Reset();
    fault.FailAfter(n, FaultKind::kAny, Errno::kEIO, false);
    const Status failed = SecondBackup(&fault, path, keys, work);
    if (fault.injected_count() > 0 && !failed.ok()) {
      EXPECT_TRUE(failed.IsIOError()) << failed.ToString();
    }
    fault.Reset();
    CheckAfterCrash(path, keys, work);
    ASSERT_OK(SecondBackup(&fault, path, keys, work));
    CheckAfterCrash(path, keys, work);
  }
}

// An error in the middle of a file, while other chunks are being read, compressed and written
// on the pipeline's threads (the file's 4th append, or the source's read at 2.5 MiB): PutFile
// returns it, data/ is left as it was (no temporary, no content file), and the next PutFile
// of the same bytes succeeds and reads back.
TEST_P(RepositoryCrashTest, ErrorWhileChunksAreInFlightLeavesNothing) {
  ordo::testing::ScratchDirectory scratch;
  const ModeKeys keys = MakeKeys(GetParam());
  const std::string bytes = TestBytes(6 * kChunk + 99, 21);
  FaultFileSystem fault;
  auto repository = InitAndOpen(&fault, scratch.Sub("repo"), GetParam(), keys, keys.read_key);
  ASSERT_NE(repository, nullptr);
  const std::string data = scratch.Sub("repo") + "/data";
  ManifestFile file;
  fault.FailAfter(4, FaultKind::kWrite, Errno::kENOSPC, false);
  const Status full = repository->PutFile(SourceOf(bytes), &file, nullptr);
  EXPECT_TRUE(full.IsNoSpace()) << full.ToString();
  EXPECT_TRUE(fault.GetChildren(data)->empty());

  auto offset = std::make_shared<size_t>(0);
  const ReadChunk failing = [&bytes, offset](char* buffer, size_t capacity) -> Result<size_t> {
    if (*offset >= 5 * kChunk / 2) return Status::IOError("source: injected read error");
    const size_t count = std::min({capacity, bytes.size() - *offset, size_t{100000}});
    std::memcpy(buffer, bytes.data() + *offset, count);
    *offset += count;
    return count;
  };
  const Status unreadable = repository->PutFile(failing, &file, nullptr);
  EXPECT_EQ(unreadable.message(), "source: injected read error");
  EXPECT_TRUE(fault.GetChildren(data)->empty());

  uint64_t written = 0;
  const Status stored = repository->PutFile(SourceOf(bytes), &file, &written);
  ASSERT_OK(stored);
  EXPECT_GT(written, 0u);
  EXPECT_EQ(*fault.GetChildren(data), std::vector<std::string>{file.stored_name});
  std::string read;
  ASSERT_OK(ReadAll(*repository, file, &read));
  EXPECT_TRUE(read == bytes);
}

INSTANTIATE_TEST_SUITE_P(Modes, RepositoryCrashTest,
                         ::testing::Values(EncryptionMode::kNone, EncryptionMode::kKey,
                                           EncryptionMode::kPublicKey));

}  // namespace
}  // namespace ordo::repository
