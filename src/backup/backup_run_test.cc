// Taking backups: a live database backed up and restored is equal key by key; a second backup
// copies only what changed; writers running during a backup leave a consistent prefix; a crash
// at every sync point of a backup leaves the repository valid and the next backup succeeds.
#include "backup/backup_run.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "io/fault_file_system.h"
#include "restore/restore.h"
#include "restore/verify.h"
#include "tests/backup_fixtures.h"

namespace ordo::backup {
namespace {

using testing::DigestOf;
using testing::Fill;
using testing::InitAndOpen;
using testing::ReadAll;

Status Backup(FileSystem* fs, const std::string& data, repository::Repository* repository,
              BackupResult* result) {
  return TakeBackup(fs, data, repository, BackupOptions{}, result);
}

TEST(TakeBackup, LiveRoundTripRestoresEveryValue) {
  ordo::testing::ScratchDirectory scratch;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch.Sub("data")));
  Fill(db.get(), 400);
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  ASSERT_NE(repository, nullptr);

  uint64_t last_total = 0;
  BackupOptions options;
  options.progress = [&](const repository::TransferProgress& progress) {
    EXPECT_LE(progress.bytes_done, progress.bytes_total);
    EXPECT_GE(progress.bytes_total, last_total);
    last_total = progress.bytes_total;
  };
  BackupResult result;
  Status status =
      TakeBackup(FileSystem::Default(), scratch.Sub("data"), repository.get(), options, &result);
  ASSERT_OK(status);
  const repository::Manifest& manifest = result.manifest;
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(manifest.digest, db->Digest());
  EXPECT_EQ(manifest.keys, db->CountKeys());
  EXPECT_EQ(manifest.last_lsn, db->AckedLsn());
  EXPECT_TRUE(manifest.parent_backup_id.empty());
  ASSERT_GE(manifest.files.size(), 5u);
  EXPECT_EQ(manifest.files.front().kind, "identity");
  EXPECT_EQ(manifest.files[1].kind, "sealed-segment");
  EXPECT_EQ(manifest.files.back().kind, "checkpoint");
  EXPECT_EQ(manifest.files[manifest.files.size() - 2].kind, "active-prefix");
  EXPECT_EQ(result.new_files, manifest.files.size());
  EXPECT_EQ(result.files.size(), manifest.files.size());
  EXPECT_GT(result.bytes_read, 200u * 1024);
  EXPECT_GT(result.bytes_written, 0u);
  EXPECT_EQ(manifest.bytes_read, result.bytes_read);
  EXPECT_OK(restore::CheckManifest(manifest));
  // The published manifest is what the repository lists.
  auto listed = repository->ListManifests();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().backup_id, manifest.backup_id);

  restore::RestoreReport report;
  status = restore::RestoreBackup(FileSystem::Default(), repository.get(), manifest,
                                  scratch.Sub("restored"), {}, &report);
  ASSERT_OK(status);
  EXPECT_EQ(report.files, manifest.files.size());
  OpenReport check;
  status = CheckDatabase(scratch.Sub("restored"), 3, FileSystem::Default(), &check);
  ASSERT_OK(status);
  EXPECT_EQ(ReadAll(scratch.Sub("restored")), ReadAll(scratch.Sub("data")));
  StateDigest digest;
  uint64_t keys = 0;
  DigestOf(scratch.Sub("restored"), &digest, &keys);
  EXPECT_EQ(digest, manifest.digest);
  EXPECT_EQ(keys, manifest.keys);
  // Sealed segments come back read-only.
  namespace stdfs = std::filesystem;
  const auto permissions =
      stdfs::status(scratch.Sub("restored") + "/" + manifest.files[1].relative_path).permissions();
  EXPECT_EQ(permissions & stdfs::perms::owner_write, stdfs::perms::none);
}

TEST(TakeBackup, SecondBackupCopiesOnlyWhatChanged) {
  ordo::testing::ScratchDirectory scratch;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch.Sub("data")));
  Fill(db.get(), 600);
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  BackupResult first;
  ASSERT_OK(Backup(FileSystem::Default(), scratch.Sub("data"), repository.get(), &first));
  ASSERT_OK(db->Put("one-small-change", "v"));

  BackupResult second;
  Status status = Backup(FileSystem::Default(), scratch.Sub("data"), repository.get(), &second);
  ASSERT_OK(status);
  EXPECT_EQ(second.manifest.parent_backup_id, first.manifest.backup_id);
  EXPECT_GT(second.manifest.backup_id, first.manifest.backup_id);
  size_t sealed = 0;
  uint64_t sealed_bytes = 0;
  for (const BackupFileFigure& file : second.files) {
    if (file.kind == "sealed-segment") {
      ++sealed;
      sealed_bytes += file.plain_bytes;
      EXPECT_TRUE(file.reused) << file.relative_path;
      EXPECT_EQ(file.bytes_written, 0u) << file.relative_path;
    }
  }
  EXPECT_GE(sealed, 4u);
  EXPECT_EQ(second.reused_files, sealed);
  // Only the active prefix changed (identity and checkpoint have the same content).
  EXPECT_EQ(second.new_files, 1u);
  // Read again: identity, active prefix (one commit longer) and checkpoint; no sealed segment.
  EXPECT_LT(second.bytes_read, first.bytes_read - sealed_bytes + 4096);
  EXPECT_LT(second.bytes_written, first.bytes_written / 4);
  EXPECT_EQ(second.manifest.digest, db->Digest());

  // Both restore to their own state.
  for (const BackupResult* backup : {&first, &second}) {
    const std::string target = scratch.Sub("restored-" + backup->manifest.backup_id);
    restore::RestoreReport report;
    status = restore::RestoreBackup(FileSystem::Default(), repository.get(), backup->manifest,
                                    target, {}, &report);
    ASSERT_OK(status);
    StateDigest digest;
    uint64_t keys = 0;
    DigestOf(target, &digest, &keys);
    EXPECT_EQ(digest, backup->manifest.digest);
    EXPECT_EQ(keys, backup->manifest.keys);
  }
}

// Each writer commits (counter = i, item i) atomically, so any consistent state has, for each
// writer, a counter c with items 0..c present and item c + 1 absent.
TEST(TakeBackup, ConcurrentWritersLeaveAConsistentPrefix) {
  ordo::testing::ScratchDirectory scratch;
  Options options = testing::SmallSegments();
  options.sync_mode = SyncMode::kNone;  // many commits quickly; the copy reads the page cache
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(options, scratch.Sub("data")));
  constexpr int kWriters = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::vector<int> final_counter(kWriters, -1);
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        WriteBatch batch;
        batch.Put("w" + std::to_string(t) + ":counter", std::to_string(i));
        batch.Put("w" + std::to_string(t) + ":item:" + std::to_string(i), std::string(300, 'x'));
        if (!db->Write(std::move(batch)).ok()) return;
        final_counter[t] = i;
        ++written;
      }
    });
  }
  // The backup starts once there is a log worth copying, and runs while writers go on.
  while (written < 2000) std::this_thread::yield();
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  BackupResult result;
  BackupOptions backup_options;
  backup_options.rate_limit_mib_per_second = 4;  // stretch the copy across many commits
  const int written_before = written;
  Status status = TakeBackup(FileSystem::Default(), scratch.Sub("data"), repository.get(),
                             backup_options, &result);
  const int written_after = written;
  stop = true;
  for (auto& writer : writers) writer.join();
  ASSERT_OK(status);
  EXPECT_GT(written_after, written_before) << "no write happened during the backup";

  restore::RestoreReport report;
  status = restore::RestoreBackup(FileSystem::Default(), repository.get(), result.manifest,
                                  scratch.Sub("restored"), {}, &report);
  ASSERT_OK(status);
  StateDigest digest;
  uint64_t keys = 0;
  DigestOf(scratch.Sub("restored"), &digest, &keys);
  EXPECT_EQ(digest, result.manifest.digest);
  EXPECT_EQ(keys, result.manifest.keys);
  const auto restored = ReadAll(scratch.Sub("restored"));
  uint64_t expected_keys = 0;
  for (int t = 0; t < kWriters; ++t) {
    const std::string prefix = "w" + std::to_string(t) + ":";
    auto counter = restored.find(prefix + "counter");
    ASSERT_NE(counter, restored.end()) << "writer " << t;
    const int c = std::stoi(counter->second);
    EXPECT_LE(c, final_counter[t]);
    for (int i = 0; i <= c; ++i) {
      ASSERT_TRUE(restored.contains(prefix + "item:" + std::to_string(i))) << prefix << i;
    }
    EXPECT_FALSE(restored.contains(prefix + "item:" + std::to_string(c + 1)));
    expected_keys += static_cast<uint64_t>(c) + 2;
  }
  EXPECT_EQ(restored.size(), expected_keys);
  EXPECT_EQ(keys, expected_keys);
}

TEST(TakeBackup, RefusesWithoutAKeyAndOnAMissingDirectory) {
  ordo::testing::ScratchDirectory scratch;
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  BackupResult result;
  Status status = Backup(FileSystem::Default(), scratch.Sub("nothing"), repository.get(), &result);
  EXPECT_TRUE(status.IsNotFound()) << status.ToString();
  EXPECT_NE(status.message().find(scratch.Sub("nothing")), std::string::npos);
  auto listed = repository->ListManifests();
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
}

// Counts the manifests, checks each restores to its digest, and returns their ids.
std::vector<std::string> CheckEveryBackupRestores(const std::string& repository_path,
                                                  const std::string& scratch) {
  auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), repository_path);
  std::vector<std::string> ids;
  if (repository == nullptr) return ids;
  auto manifests = repository->ListManifests();
  EXPECT_OK(manifests);
  if (!manifests.ok()) return ids;
  for (const repository::Manifest& manifest : *manifests) {
    ids.push_back(manifest.backup_id);
    const std::string target = scratch + "/" + manifest.backup_id;
    std::filesystem::remove_all(target);
    restore::VerifyOptions options;
    options.drill = true;
    std::filesystem::create_directories(target);
    options.scratch_directory = target;
    restore::VerifyReport report;
    const Status verified =
        restore::VerifyBackup(FileSystem::Default(), repository.get(), manifest, options, &report);
    EXPECT_OK(verified);
    EXPECT_TRUE(report.drilled);
    std::filesystem::remove_all(target);
  }
  return ids;
}

// DESIGN rule 2: backup data files first, the manifest last. A power loss after any sync point
// leaves the earlier backup restorable, the interrupted one absent, and the next one succeeds.
TEST(TakeBackup, CrashAtEverySyncPointLeavesTheRepositoryValid) {
  ordo::testing::ScratchDirectory scratch;
  // "old" is the database at the earlier backup; "data" the same database later (new sealed
  // segments, a new active prefix and checkpoint), as an incremental backup finds it.
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch.Sub("data")));
    Fill(db.get(), 300);
  }
  std::filesystem::copy(scratch.Sub("data"), scratch.Sub("old"),
                        std::filesystem::copy_options::recursive);
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch.Sub("data")));
    Fill(db.get(), 200, 7);
  }
  const std::string data = scratch.Sub("data");
  FaultFileSystem fault;
  bool completed = false;
  uint64_t crashes = 0;
  for (uint64_t n = 1; n < 500 && !completed; ++n) {
    SCOPED_TRACE("crash after sync point " + std::to_string(n));
    const std::string repo = scratch.Sub("repo-" + std::to_string(n));
    std::string earlier_id;
    {
      auto repository = InitAndOpen(&fault, repo);
      ASSERT_NE(repository, nullptr);
      BackupResult earlier;
      ASSERT_OK(Backup(&fault, scratch.Sub("old"), repository.get(), &earlier));
      earlier_id = earlier.manifest.backup_id;
    }
    fault.Reset();
    fault.CrashAfterSyncs(n);
    Status status;
    {
      auto repository = testing::OpenRepositoryOrDie(&fault, repo);
      ASSERT_NE(repository, nullptr);
      BackupResult interrupted;
      status = Backup(&fault, data, repository.get(), &interrupted);
    }
    completed = status.ok();
    if (!completed) ++crashes;
    const CrashMode mode = n % 2 == 0 ? CrashMode::kDropUnsynced : CrashMode::kTornWriteWithGarbage;
    ASSERT_OK(fault.SimulateCrash(mode, n));
    fault.Reset();

    const auto ids = CheckEveryBackupRestores(repo, scratch.Sub("check"));
    // The manifest exists exactly when the backup reported success.
    ASSERT_EQ(ids.size(), completed ? 2u : 1u);
    EXPECT_EQ(ids.front(), earlier_id);

    // The next backup succeeds and reuses what the interrupted one stored.
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), repo);
    BackupResult next;
    status = Backup(FileSystem::Default(), data, repository.get(), &next);
    ASSERT_OK(status);
    EXPECT_EQ(CheckEveryBackupRestores(repo, scratch.Sub("check")).size(), ids.size() + 1);
    std::filesystem::remove_all(repo);
  }
  EXPECT_TRUE(completed) << "the loop never reached a backup with no crash";
  // Identity and checkpoint are reused; new sealed segments, the prefix and the manifest each
  // have a file sync and a directory sync: many distinct crash points.
  EXPECT_GE(crashes, 8u);
}

}  // namespace
}  // namespace ordo::backup

namespace ordo::backup {
namespace {

// 20 000 small keys: a checkpoint of them outweighs the log of a few later commits.
void WriteManySmallKeys(DB* db) {
  for (int batch_index = 0; batch_index < 20; ++batch_index) {
    WriteBatch batch;
    for (int i = 0; i < 1000; ++i) batch.Put("key" + std::to_string(batch_index * 1000 + i), "v");
    ASSERT_OK(db->Write(std::move(batch)));
  }
}

TEST(TakeBackup, IncrementalReusesTheStoredCheckpointWhenReplayIsCheaper) {
  ordo::testing::ScratchDirectory scratch;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(Options{}, scratch.Sub("data")));
  WriteManySmallKeys(db.get());
  ASSERT_OK(db->Checkpoint());
  auto repository = testing::InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  BackupResult first;
  ASSERT_OK(TakeBackup(FileSystem::Default(), scratch.Sub("data"), repository.get(), {}, &first));
  ASSERT_OK(db->Put("key5", "changed"));
  ASSERT_OK(db->Checkpoint());  // the data directory now has a newer checkpoint
  BackupResult second;
  ASSERT_OK(TakeBackup(FileSystem::Default(), scratch.Sub("data"), repository.get(), {}, &second));
  auto stored_checkpoint = [](const repository::Manifest& manifest) {
    for (const auto& file : manifest.files) {
      if (file.kind == "checkpoint") return file;
    }
    return repository::ManifestFile{};
  };
  const repository::ManifestFile old_checkpoint = stored_checkpoint(first.manifest);
  const repository::ManifestFile reused = stored_checkpoint(second.manifest);
  ASSERT_FALSE(old_checkpoint.stored_name.empty());
  EXPECT_EQ(reused.stored_name, old_checkpoint.stored_name);
  EXPECT_LT(reused.last_lsn, second.manifest.last_lsn);
  EXPECT_LT(second.bytes_read, old_checkpoint.plain_bytes);
  restore::RestoreReport report;
  ASSERT_OK(restore::RestoreBackup(FileSystem::Default(), repository.get(), second.manifest,
                                   scratch.Sub("restored"), {}, &report));
  Options check;
  check.integrity_level = 3;
  std::unique_ptr<DB> restored;
  OpenReport open_report;
  ASSERT_OK_AND_ASSIGN(restored, DB::Open(check, scratch.Sub("restored"), &open_report));
  EXPECT_EQ(restored->Digest(), second.manifest.digest);
  EXPECT_FALSE(open_report.checkpoint.empty());  // the older checkpoint, replayed from
  std::string value;
  ASSERT_OK(restored->Get("key5", &value));
  EXPECT_EQ(value, "changed");
}

// A directory restored to an earlier point keeps its database id, and may be backed up into the
// same repository. The newest stored checkpoint of that id is then from the old history, at an
// LSN the restored log may not reach yet: reusing it would make a backup whose checkpoint is newer
// than its own commit, which verify refuses (and no open could use).
TEST(TakeBackup, NeverReusesAStoredCheckpointNewerThanTheBackup) {
  ordo::testing::ScratchDirectory scratch;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(Options{}, scratch.Sub("data")));
  WriteManySmallKeys(db.get());
  const uint64_t early_lsn = db->AckedLsn();
  for (int i = 0; i < 10; ++i) ASSERT_OK(db->Put("later" + std::to_string(i), "v"));
  ASSERT_OK(db->Checkpoint());
  auto repository = testing::InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  BackupResult first;
  ASSERT_OK(Backup(FileSystem::Default(), scratch.Sub("data"), repository.get(), &first));
  db.reset();

  // Restore to the early point; the restored database writes a little and checkpoints.
  restore::PointTarget target;
  target.kind = restore::PointTarget::Kind::kLsn;
  target.lsn = early_lsn;
  restore::RestoreReport restored;
  const Status cut = restore::RestoreBackup(FileSystem::Default(), repository.get(), first.manifest,
                                            scratch.Sub("restored"), {}, &restored, target);
  ASSERT_OK(cut);
  ASSERT_OK_AND_ASSIGN(db, DB::Open(Options{}, scratch.Sub("restored")));
  ASSERT_OK(db->Put("new-history", "v"));
  ASSERT_OK(db->Checkpoint());
  ASSERT_LT(db->AckedLsn(), first.manifest.last_lsn);
  db.reset();

  BackupResult second;
  ASSERT_OK(Backup(FileSystem::Default(), scratch.Sub("restored"), repository.get(), &second));
  for (const repository::ManifestFile& file : second.manifest.files) {
    if (file.kind == "checkpoint") {
      EXPECT_LE(file.last_lsn, second.manifest.last_lsn);
    }
  }
  const Status checked = restore::CheckManifest(second.manifest);
  EXPECT_OK(checked);
}

}  // namespace
}  // namespace ordo::backup
