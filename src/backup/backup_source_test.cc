// Capturing a backup source from a live database: the files and the commit boundary it names,
// copied as named, open to exactly the state the capture reports (digest and key count), even
// while writers go on.
#include "backup/backup_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "io/fault_file_system.h"
#include "tests/test_util.h"

namespace ordo::backup {
namespace {

// Copies the source's files as a restore would: each file's first `bytes` bytes.
void CopySource(const BackupSource& source, const std::string& target) {
  std::filesystem::create_directories(target + "/log");
  std::filesystem::create_directories(target + "/index");
  for (const auto& file : source.files) {
    std::ifstream input(file.path, std::ios::binary);
    std::string bytes(file.bytes, '\0');
    input.read(bytes.data(), static_cast<std::streamsize>(file.bytes));
    ASSERT_EQ(static_cast<uint64_t>(input.gcount()), file.bytes) << file.path;
    std::ofstream output(target + "/" + file.relative_path, std::ios::binary);
    output << bytes;
  }
}

TEST(BackupSource, LiveDatabaseCaptureOpensToTheCapturedState) {
  testing::ScratchDirectory scratch;
  Options options;
  options.segment_bytes = kSegmentBytesMin;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(options, scratch.Sub("data")));
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(db->Put("key" + std::to_string(i % 120), std::string(700, 'a' + i % 26)));
  }
  ASSERT_OK(db->Checkpoint());
  ASSERT_OK(db->Delete("key5"));

  BackupSource source;
  Status captured = CaptureBackupSource(FileSystem::Default(), scratch.Sub("data"), &source);
  ASSERT_OK(captured);
  EXPECT_EQ(source.last_lsn, db->AckedLsn());
  EXPECT_EQ(source.digest, db->Digest());
  EXPECT_EQ(source.keys, db->CountKeys());
  EXPECT_EQ(source.first_lsn, 1u);
  EXPECT_GT(source.last_commit_time_micros, source.first_commit_time_micros);
  ASSERT_GE(source.files.size(), 4u);
  EXPECT_EQ(source.files.front().kind, SourceKind::kIdentity);
  EXPECT_EQ(source.files[1].kind, SourceKind::kSealedSegment);
  EXPECT_EQ(source.files.back().kind, SourceKind::kCheckpoint);
  EXPECT_EQ(source.files[source.files.size() - 2].kind, SourceKind::kActivePrefix);

  CopySource(source, scratch.Sub("copy"));
  Options check;
  check.integrity_level = 3;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> copy, DB::Open(check, scratch.Sub("copy")));
  EXPECT_EQ(copy->Digest(), source.digest);
  EXPECT_EQ(copy->CountKeys(), source.keys);
}

TEST(BackupSource, CaptureDuringConcurrentWritesIsAConsistentPrefix) {
  testing::ScratchDirectory scratch;
  Options options;
  options.segment_bytes = kSegmentBytesMin;
  options.sync_mode = SyncMode::kNone;  // many commits quickly; durability is not the point here
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(options, scratch.Sub("data")));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        WriteBatch batch;
        batch.Put("w" + std::to_string(t) + "-" + std::to_string(i % 200), std::to_string(i));
        batch.Put("last" + std::to_string(t), std::to_string(i));
        ASSERT_OK(db->Write(batch));
      }
    });
  }
  for (int round = 0; round < 5; ++round) {
    while (db->AckedLsn() < static_cast<uint64_t>(400 * (round + 1))) std::this_thread::yield();
    BackupSource source;
    ASSERT_OK(CaptureBackupSource(FileSystem::Default(), scratch.Sub("data"), &source));
    const std::string target = scratch.Sub("copy" + std::to_string(round));
    CopySource(source, target);
    Options check;
    check.integrity_level = 3;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> copy, DB::Open(check, target));
    EXPECT_EQ(copy->Digest(), source.digest) << "round " << round;
    EXPECT_EQ(copy->CountKeys(), source.keys) << "round " << round;
    EXPECT_EQ(copy->GetStatistics().last_lsn, source.last_lsn);
  }
  stop = true;
  for (auto& writer : writers) writer.join();
}

TEST(BackupSource, EmptyAndMissingDirectories) {
  testing::ScratchDirectory scratch;
  BackupSource source;
  EXPECT_TRUE(
      CaptureBackupSource(FileSystem::Default(), scratch.Sub("none"), &source).IsNotFound());
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(Options{}, scratch.Sub("data")));
  ASSERT_OK(CaptureBackupSource(FileSystem::Default(), scratch.Sub("data"), &source));
  EXPECT_EQ(source.last_lsn, 0u);
  EXPECT_EQ(source.keys, 0u);
  EXPECT_EQ(source.digest, StateDigest{});
}

// What a backup copies of the active segment is durable in the data directory first: commits a
// writer has written but not synced (here all of them: sync mode none) survive a power failure
// right after the capture, so the database's history cannot part from the backup's.
TEST(BackupSource, CapturedActivePrefixIsDurableInTheDataDirectory) {
  testing::ScratchDirectory scratch;
  FaultFileSystem fault;
  Options options;
  options.file_system = &fault;
  options.sync_mode = SyncMode::kNone;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(options, scratch.Sub("data")));
  for (int i = 0; i < 50; ++i) ASSERT_OK(db->Put("key" + std::to_string(i), "value"));

  BackupSource source;
  ASSERT_OK(CaptureBackupSource(&fault, scratch.Sub("data"), &source));
  ASSERT_EQ(source.last_lsn, 50u);
  const SourceFile& active = source.files.back();
  ASSERT_EQ(active.kind, SourceKind::kActivePrefix);

  ASSERT_OK(fault.SimulateCrash(CrashMode::kDropUnsynced));
  db.reset();  // its handles died with the crash: closing fails and writes nothing
  auto size = FileSystem::Default()->GetFileSize(active.path);
  ASSERT_OK(size);
  EXPECT_GE(*size, active.bytes) << "the power failure took bytes the backup copied";
  std::unique_ptr<DB> reopened;
  ASSERT_OK_AND_ASSIGN(reopened, DB::Open(Options{}, scratch.Sub("data")));
  EXPECT_EQ(reopened->GetStatistics().last_lsn, 50u);
  EXPECT_EQ(reopened->Digest(), source.digest);
}

}  // namespace
}  // namespace ordo::backup
