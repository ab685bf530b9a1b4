// Prune beside a running backup, at every step of the backup: a prune that runs between any two
// of the backup's file-system changes (or dies part way, leaving trash/) never leaves a
// published manifest naming a file that is gone, and the next prune settles what is left.
//
// A backup killed at any step leaves nothing a prune or the next backup trips on.
//
// The race it rules out: backup B3 of a copy of an old directory reuses content files only an
// old backup (B1) references; a prune that plans before B3's manifest exists dooms B1 and those
// files (keep_last = 1 keeps B2), and removes them while B3 is about to publish.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>

#include "backup/backup_run.h"
#include "io/file_system_wrapper.h"
#include "restore/prune.h"
#include "restore/verify.h"
#include "tests/backup_fixtures.h"

namespace ordo::restore {
namespace {

using testing::Fill;

// Forwards to the POSIX file system, calling `before_change` before every call that changes
// the file system; a non-OK status from it fails that call unperformed (a process killed there).
class HookedFileSystem final : public FileSystemWrapper {
 public:
  HookedFileSystem() : FileSystemWrapper(FileSystem::Default()) {}

  std::function<Status()> before_change = [] { return Status::Ok(); };
  int changes = 0;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::NewWritableFile(path);
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::ReopenWritableFile(path);
  }
  Status CreateDir(const std::string& directory) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::CreateDir(directory);
  }
  Status RemoveFile(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::RemoveFile(path);
  }
  Status RenameFile(const std::string& source, const std::string& target) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::RenameFile(source, target);
  }
  Status SyncDir(const std::string& directory) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::SyncDir(directory);
  }
  Status SyncFile(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::SyncFile(path);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::Truncate(path, size);
  }
  Status SetReadOnly(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::SetReadOnly(path);
  }
  Status SetWritable(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(Change());
    return FileSystemWrapper::SetWritable(path);
  }

 private:
  Status Change() {
    ++changes;
    return before_change();
  }
};

class PruneRaceTest : public ::testing::Test {
 protected:
  // A template repository: B1 of `a`, then `a1` copied from `a`, more writes to `a`, B2.
  void SetUp() override {
    namespace stdfs = std::filesystem;
    ASSERT_NE(testing::InitAndOpen(FileSystem::Default(), Template()), nullptr);
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch_.Sub("a")));
    Fill(db.get(), 150, 0);
    TakeTemplateBackup(&b1_);
    db.reset();
    stdfs::copy(scratch_.Sub("a"), scratch_.Sub("a1"), stdfs::copy_options::recursive);
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch_.Sub("a")));
    Fill(db.get(), 150, 1);
    db.reset();
    TakeTemplateBackup(&b2_);
  }

  void TakeTemplateBackup(std::string* id) {
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Template());
    ASSERT_NE(repository, nullptr);
    backup::BackupResult result;
    const Status status =
        backup::TakeBackup(FileSystem::Default(), scratch_.Sub("a"), repository.get(), {}, &result);
    ASSERT_OK(status);
    *id = result.manifest.backup_id;
  }

  std::string Template() const { return scratch_.Sub("template"); }

  // A fresh copy of the template repository for one run.
  std::string FreshRepository(int run) {
    const std::string path = scratch_.Sub("run" + std::to_string(run));
    std::filesystem::remove_all(path);
    std::filesystem::copy(Template(), path, std::filesystem::copy_options::recursive);
    // Stored an hour ago: older than any running backup, so only the leases keep them.
    const auto an_hour_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& entry : std::filesystem::directory_iterator(path + "/data")) {
      std::filesystem::last_write_time(entry.path(), an_hour_ago);
    }
    return path;
  }

  // Prune (keep_last 1, no grace period) of `path` through `fs`.
  static Status PruneThrough(FileSystem* fs, const std::string& path, PruneReport* report) {
    auto repository = repository::Repository::Open(fs, path, {});
    if (!repository.ok()) return repository.status();
    return Prune(repository->get(), 1, std::nullopt, false, report, 0);
  }

  // Every manifest's files are readable and hash as recorded (from data/ or trash/).
  static void ExpectEveryManifestVerifies(const std::string& path, const std::string& context) {
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), path);
    ASSERT_NE(repository, nullptr);
    auto manifests = repository->ListManifests();
    ASSERT_OK(manifests) << context << ": " << manifests.status().ToString();
    for (const repository::Manifest& manifest : *manifests) {
      VerifyReport report;
      const Status verified =
          VerifyBackup(FileSystem::Default(), repository.get(), manifest, {}, &report);
      EXPECT_OK(verified) << context << ", backup " << manifest.backup_id << ": "
                          << verified.ToString();
    }
  }

  // After a prune and a backup side by side: every manifest verifies, no lease or trash is
  // left, and the next prune keeps the new backup and what it needs.
  static void ExpectSettled(const std::string& path, const std::string& new_backup,
                            const std::string& context) {
    ExpectEveryManifestVerifies(path, context);
    EXPECT_TRUE(Children(path + "/leases").empty()) << context;
    EXPECT_TRUE(Children(path + "/trash").empty()) << context;
    PruneReport again;
    ASSERT_OK(PruneThrough(FileSystem::Default(), path, &again));
    EXPECT_EQ(again.kept_backups, std::vector<std::string>{new_backup}) << context;
    ExpectEveryManifestVerifies(path, context + ", pruned again");
  }

  static std::set<std::string> Children(const std::string& directory) {
    std::set<std::string> names;
    if (!std::filesystem::exists(directory)) return names;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  // Backs up `a1` into `path` through a file system that runs `hook` before its `at`th change.
  // Returns the backup's status; *changes is how many changes the backup made.
  Status BackUpA1With(const std::string& path, int at, const std::function<void()>& hook,
                      int* changes, backup::BackupResult* result) {
    HookedFileSystem hooked;
    hooked.before_change = [&] {
      if (hooked.changes == at) hook();
      return Status::Ok();
    };
    auto repository = repository::Repository::Open(&hooked, path, {});
    if (!repository.ok()) return repository.status();
    const Status status = backup::TakeBackup(FileSystem::Default(), scratch_.Sub("a1"),
                                             repository->get(), {}, result);
    repository->reset();  // ends the lease
    *changes = hooked.changes;
    return status;
  }

  ordo::testing::ScratchDirectory scratch_;
  std::string b1_, b2_;
};

TEST_F(PruneRaceTest, APruneAtAnyStepOfABackupNeverRemovesWhatItsManifestNames) {
  int restored_somewhere = 0;
  int busy_somewhere = 0;
  for (int at = 1;; ++at) {
    const std::string context = "prune before change " + std::to_string(at);
    SCOPED_TRACE(context);
    const std::string path = FreshRepository(at);
    PruneReport pruned;
    Status prune_status = Status::Ok();
    bool ran = false;
    backup::BackupResult result;
    int changes = 0;
    const Status backed_up = BackUpA1With(
        path, at,
        [&] {
          ran = true;
          prune_status = PruneThrough(FileSystem::Default(), path, &pruned);
        },
        &changes, &result);
    ASSERT_OK(backed_up);
    if (!ran) break;  // past the backup's last change: every step was covered
    ASSERT_OK(prune_status);
    restored_somewhere += pruned.restored_files.empty() ? 0 : 1;
    busy_somewhere += result.errors.empty() ? 0 : 1;
    ExpectSettled(path, result.manifest.backup_id, context);
    if (HasFatalFailure()) return;
  }
  // The race was met: the backup found a file it meant to reuse taken, and stored it again.
  EXPECT_GT(busy_somewhere, 0);
  EXPECT_EQ(restored_somewhere, 0);  // a prune run whole between two steps cannot meet a lease
}

TEST_F(PruneRaceTest, ABackupAtAnyStepOfAPruneNeverLosesWhatItsManifestNames) {
  int restored_somewhere = 0;
  for (int at = 1;; ++at) {
    const std::string context = "backup before prune change " + std::to_string(at);
    SCOPED_TRACE(context);
    const std::string path = FreshRepository(at);
    bool ran = false;
    backup::BackupResult result;
    Status backed_up = Status::Ok();
    HookedFileSystem hooked;
    hooked.before_change = [&] {
      if (hooked.changes == at) {
        ran = true;
        int changes = 0;
        backed_up = BackUpA1With(
            path, 0, [] {}, &changes, &result);
      }
      return Status::Ok();
    };
    PruneReport pruned;
    const Status prune_status = PruneThrough(&hooked, path, &pruned);
    ASSERT_OK(prune_status);
    if (!ran) break;  // past the prune's last change: every step was covered
    ASSERT_OK(backed_up);
    restored_somewhere += pruned.restored_files.empty() ? 0 : 1;
    ExpectSettled(path, result.manifest.backup_id, context);
    if (HasFatalFailure()) return;
  }
  // The race was met: prune put back files the backup leased after they went to trash/.
  EXPECT_GT(restored_somewhere, 0);
}

TEST_F(PruneRaceTest, APruneThatDiesPartWayLeavesTrashThatReadersFindAndTheNextPruneSettles) {
  // The prune runs at a step where the backup has leased what it reuses, and dies at each of its
  // own changes in turn.
  int backup_changes = 0;
  {
    backup::BackupResult result;
    ASSERT_OK(BackUpA1With(
        FreshRepository(0), 0, [] {}, &backup_changes, &result));
  }
  ASSERT_GT(backup_changes, 4);
  int left_trash = 0;
  for (const int at : {1, backup_changes - 2, backup_changes}) {
    for (int dies_at = 1;; ++dies_at) {
      const std::string context =
          "backup change " + std::to_string(at) + ", prune dies at " + std::to_string(dies_at);
      SCOPED_TRACE(context);
      const std::string path = FreshRepository(at * 1000 + dies_at);
      bool died = false;
      backup::BackupResult result;
      int changes = 0;
      const Status backed_up = BackUpA1With(
          path, at,
          [&] {
            HookedFileSystem dying;
            dying.before_change = [&] {
              if (dying.changes < dies_at) return Status::Ok();
              died = true;
              return Status::IOError("killed");
            };
            PruneReport report;
            (void)PruneThrough(&dying, path, &report);
          },
          &changes, &result);
      ASSERT_OK(backed_up);
      if (!died) break;  // the prune ran to its end: every death was covered
      left_trash += Children(path + "/trash").empty() ? 0 : 1;
      ExpectEveryManifestVerifies(path, context);
      PruneReport settled;
      const Status pruned = PruneThrough(FileSystem::Default(), path, &settled);
      ASSERT_OK(pruned);
      EXPECT_TRUE(Children(path + "/trash").empty()) << context;
      EXPECT_EQ(settled.kept_backups, std::vector<std::string>{result.manifest.backup_id});
      ExpectEveryManifestVerifies(path, context + ", settled");
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(left_trash, 0);
}

TEST_F(PruneRaceTest, ABackupKilledAtAnyStepLeavesNothingAPruneOrTheNextBackupTripsOn) {
  for (int dies_at = 1;; ++dies_at) {
    const std::string context = "backup dies at change " + std::to_string(dies_at);
    SCOPED_TRACE(context);
    const std::string path = FreshRepository(dies_at);
    bool died = false;
    {
      HookedFileSystem dying;
      dying.before_change = [&] {
        if (dying.changes < dies_at) return Status::Ok();
        died = true;
        return Status::IOError("killed");  // and every change after, its lease's removal too
      };
      auto repository = repository::Repository::Open(&dying, path, {});
      ASSERT_OK(repository);
      backup::BackupResult result;
      const Status status = backup::TakeBackup(FileSystem::Default(), scratch_.Sub("a1"),
                                               repository->get(), {}, &result);
      if (!died) {
        ASSERT_OK(status);
        break;  // the backup ran to its end: every death was covered
      }
      // Killed after its manifest was published (only its lease's removal failed): a backup.
      if (status.ok()) {
        EXPECT_OK(repository->get()->ReadManifest(result.manifest.backup_id));
      }
    }
    PruneReport pruned;
    ASSERT_OK(PruneThrough(FileSystem::Default(), path, &pruned));
    ExpectEveryManifestVerifies(path, context);
    backup::BackupResult result;
    int changes = 0;
    const Status again = BackUpA1With(
        path, 0, [] {}, &changes, &result);
    ASSERT_OK(again);
    PruneReport settled;
    ASSERT_OK(PruneThrough(FileSystem::Default(), path, &settled));
    EXPECT_EQ(settled.kept_backups, std::vector<std::string>{result.manifest.backup_id});
    ExpectEveryManifestVerifies(path, context + ", backed up again");
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace ordo::restore
