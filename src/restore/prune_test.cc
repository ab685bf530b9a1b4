// Prune keeps what it says and never removes a file a kept backup needs: every kept backup
// still passes a drill afterwards; a dry run deletes nothing.
#include "restore/prune.h"

#include <gtest/gtest.h>

#include <set>

#include "backup/backup_run.h"
#include "repository/manifest_json.h"
#include "restore/verify.h"
#include "tests/backup_fixtures.h"

namespace ordo::restore {
namespace {

using testing::Fill;
using testing::InitAndOpen;

std::set<std::string> FilesUnder(const std::string& directory) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    names.insert(entry.path().string());
  }
  return names;
}

class PruneTest : public ::testing::Test {
 protected:
  // Four backups, each after more writes (new sealed segments, a new active prefix).
  void SetUp() override {
    repository_ = InitAndOpen(FileSystem::Default(), Repo());
    ASSERT_NE(repository_, nullptr);
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch_.Sub("data")));
    for (int round = 0; round < 4; ++round) {
      Fill(db.get(), 150, round);
      backup::BackupResult result;
      const Status status = backup::TakeBackup(FileSystem::Default(), scratch_.Sub("data"),
                                               repository_.get(), {}, &result);
      ASSERT_OK(status);
      ids_.push_back(result.manifest.backup_id);
    }
  }

  std::string Repo() const { return scratch_.Sub("repo"); }

  void ExpectDrillPasses(const std::string& backup_id) {
    SCOPED_TRACE(backup_id);
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
    auto manifest = repository->ReadManifest(backup_id);
    ASSERT_OK(manifest);
    const std::string scratch = scratch_.Sub("drill-" + backup_id);
    std::filesystem::remove_all(scratch);  // a backup may be drilled more than once
    std::filesystem::create_directories(scratch);
    VerifyOptions options;
    options.drill = true;
    options.scratch_directory = scratch;
    VerifyReport report;
    const Status status =
        VerifyBackup(FileSystem::Default(), repository.get(), *manifest, options, &report);
    EXPECT_OK(status);
    EXPECT_TRUE(report.drilled);
  }

  ordo::testing::ScratchDirectory scratch_;
  std::unique_ptr<repository::Repository> repository_;
  std::vector<std::string> ids_;
};

TEST_F(PruneTest, DryRunDeletesNothing) {
  const auto before = FilesUnder(Repo());
  PruneReport report;
  const Status status = Prune(repository_.get(), 1, std::nullopt, true, &report);
  ASSERT_OK(status);
  EXPECT_TRUE(report.dry_run);
  EXPECT_EQ(report.kept_backups, std::vector<std::string>{ids_.back()});
  EXPECT_EQ(report.removed_backups.size(), 3u);
  EXPECT_FALSE(report.removed_files.empty());
  EXPECT_EQ(FilesUnder(Repo()), before);
}

TEST_F(PruneTest, KeepsTheNewestAndEverythingTheyNeed) {
  PruneReport report;
  Status status = Prune(repository_.get(), 2, std::nullopt, false, &report);
  ASSERT_OK(status);
  EXPECT_EQ(report.kept_backups, (std::vector<std::string>{ids_[2], ids_[3]}));
  EXPECT_EQ(report.removed_backups, (std::vector<std::string>{ids_[0], ids_[1]}));
  // The oldest backups' active prefixes were superseded: there was something to remove.
  EXPECT_FALSE(report.removed_files.empty());
  auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
  auto listed = repository->ListManifests();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  // Every stored file is referenced by a kept backup, and every referenced file is there.
  std::set<std::string> referenced;
  for (const repository::Manifest& manifest : *listed) {
    for (const repository::ManifestFile& file : manifest.files) referenced.insert(file.stored_name);
  }
  auto stored = repository->ListStoredNames();
  ASSERT_OK(stored);
  EXPECT_EQ(std::set<std::string>(stored->begin(), stored->end()), referenced);
  ExpectDrillPasses(ids_[2]);
  ExpectDrillPasses(ids_[3]);

  // Pruning again changes nothing.
  status = Prune(repository_.get(), 2, std::nullopt, false, &report);
  ASSERT_OK(status);
  EXPECT_TRUE(report.removed_backups.empty());
  EXPECT_TRUE(report.removed_files.empty());
}

TEST_F(PruneTest, KeepWithinKeepsRecentBackups) {
  PruneReport report;
  Status status = Prune(repository_.get(), 1, int64_t{3600}, false, &report);
  ASSERT_OK(status);
  EXPECT_EQ(report.kept_backups, ids_);
  EXPECT_TRUE(report.removed_backups.empty());
  EXPECT_TRUE(report.removed_files.empty());
  status = Prune(repository_.get(), 1, int64_t{0}, false, &report);
  ASSERT_OK(status);
  EXPECT_EQ(report.kept_backups, std::vector<std::string>{ids_.back()});
  ExpectDrillPasses(ids_.back());
}

TEST_F(PruneTest, RefusesToRemoveEveryBackupAndRemovesLeftoverTemporaries) {
  PruneReport report;
  EXPECT_TRUE(Prune(repository_.get(), 0, std::nullopt, false, &report).IsInvalidArgument());
  // What an interrupted write leaves (repository.h: ".tmp-*").
  { std::ofstream(Repo() + "/data/.tmp-interrupted") << "partial"; }
  ASSERT_OK(RemoveTemporaryFiles(FileSystem::Default(), Repo(), true, &report));
  EXPECT_EQ(report.removed_temporary, std::vector<std::string>{"data/.tmp-interrupted"});
  EXPECT_TRUE(std::filesystem::exists(Repo() + "/data/.tmp-interrupted"));
  report = PruneReport{};
  ASSERT_OK(RemoveTemporaryFiles(FileSystem::Default(), Repo(), false, &report));
  EXPECT_FALSE(std::filesystem::exists(Repo() + "/data/.tmp-interrupted"));
  for (const std::string& id : ids_) ExpectDrillPasses(id);
}

// A damaged manifest may reference anything: prune deletes nothing rather than guess.
TEST_F(PruneTest, ADamagedManifestStopsPruneBeforeAnyDeletion) {
  testing::EditFile(Repo() + "/manifests/" + ids_[0] + ".json",
                    [](std::string& bytes) { bytes.resize(bytes.size() / 2); });
  const auto before = FilesUnder(Repo());
  PruneReport report;
  const Status status = Prune(repository_.get(), 1, std::nullopt, false, &report);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_EQ(FilesUnder(Repo()), before);
}

// A repository may hold the backups of several databases (restore --database picks one):
// retention counts each database's backups on its own, so a database backed up less often than
// another sharing the repository keeps its newest backups instead of losing every one.
TEST_F(PruneTest, KeepsTheNewestBackupsOfEveryDatabase) {
  std::unique_ptr<DB> other;
  ASSERT_OK_AND_ASSIGN(other, DB::Open(testing::SmallSegments(), scratch_.Sub("other")));
  Fill(other.get(), 20);
  backup::BackupResult result;
  Status status = backup::TakeBackup(FileSystem::Default(), scratch_.Sub("other"),
                                     repository_.get(), {}, &result);
  ASSERT_OK(status);
  const std::string other_id = result.manifest.backup_id;
  ASSERT_NE(result.manifest.database_id, repository_->ReadManifest(ids_[0])->database_id);

  PruneReport report;
  status = Prune(repository_.get(), 1, std::nullopt, false, &report);
  ASSERT_OK(status);
  EXPECT_EQ(report.kept_backups, (std::vector<std::string>{ids_.back(), other_id}));
  ExpectDrillPasses(ids_.back());
  ExpectDrillPasses(other_id);
}

// Files only the oldest backup names: what prune with keep_last 1 removes.
std::vector<std::string> OnlyIn(repository::Repository* repository, const std::string& oldest) {
  std::set<std::string> others;
  auto manifests = repository->ListManifests();
  EXPECT_OK(manifests);
  std::set<std::string> own;
  for (const repository::Manifest& manifest : *manifests) {
    for (const repository::ManifestFile& file : manifest.files) {
      (manifest.backup_id == oldest ? own : others).insert(file.stored_name);
    }
  }
  std::vector<std::string> only;
  for (const std::string& name : own) {
    if (!others.contains(name)) only.push_back(name);
  }
  return only;
}

void PlaceLease(const std::string& repository, const repository::Lease& lease) {
  std::filesystem::create_directories(repository + "/leases");
  std::ofstream(repository + "/leases/" + lease.id + ".json") << repository::LeaseToJson(lease);
}

// A running writer's lease keeps the files it names; a lease not refreshed for a day is a
// writer that died: prune names it, removes it, and does not keep its files.
TEST_F(PruneTest, ALiveLeaseKeepsWhatItNamesAndAStaleOneIsRemoved) {
  const std::vector<std::string> doomed = OnlyIn(repository_.get(), ids_[0]);
  ASSERT_GE(doomed.size(), 2u);
  repository::Lease live;
  live.id = "00000000000000aa";
  live.writer = "backup live";
  live.host = "here";
  live.pid = 1;
  live.created_micros = live.refreshed_micros = WallMicros();
  live.files = {doomed[0]};
  PlaceLease(Repo(), live);
  repository::Lease stale = live;
  stale.id = "00000000000000bb";
  stale.writer = "backup crashed";
  stale.refreshed_micros = WallMicros() - (repository::kLeaseLifetimeSeconds + 1) * 1000000;
  stale.files = {doomed[1]};
  PlaceLease(Repo(), stale);

  PruneReport report;
  const Status status = Prune(repository_.get(), 1, std::nullopt, false, &report);
  ASSERT_OK(status);
  EXPECT_EQ(report.live_leases, 1u);
  EXPECT_EQ(report.removed_leases,
            std::vector<std::string>{"00000000000000bb (backup crashed on here, pid 1)"});
  EXPECT_TRUE(std::filesystem::exists(Repo() + "/data/" + doomed[0]));
  EXPECT_FALSE(std::filesystem::exists(Repo() + "/data/" + doomed[1]));
  EXPECT_TRUE(std::filesystem::exists(Repo() + "/leases/00000000000000aa.json"));
  EXPECT_FALSE(std::filesystem::exists(Repo() + "/leases/00000000000000bb.json"));
  EXPECT_TRUE(std::filesystem::is_empty(Repo() + "/trash"));
  ExpectDrillPasses(ids_.back());
}

// What a prune that died between its two phases left in trash/: readers find it there, and the
// next prune puts back what a manifest names and removes the rest.
TEST_F(PruneTest, FilesLeftInTrashAreReadThereAndTheNextPruneSettlesThem) {
  const std::vector<std::string> doomed = OnlyIn(repository_.get(), ids_[0]);
  ASSERT_FALSE(doomed.empty());
  auto newest = repository_->ReadManifest(ids_.back());
  ASSERT_OK(newest);
  const std::string named = newest->files.front().stored_name;
  std::filesystem::create_directories(Repo() + "/trash");
  for (const std::string& name : {named, doomed[0]}) {
    std::filesystem::rename(Repo() + "/data/" + name, Repo() + "/trash/" + name);
  }
  ExpectDrillPasses(ids_.back());  // reads `named` from trash/

  PruneReport report;
  const Status status = Prune(repository_.get(), 4, std::nullopt, false, &report);
  ASSERT_OK(status);
  EXPECT_TRUE(report.removed_backups.empty());
  EXPECT_TRUE(std::filesystem::exists(Repo() + "/data/" + named));
  // The oldest backup still names doomed[0] (keep_last 4 keeps it): put back too.
  EXPECT_TRUE(std::filesystem::exists(Repo() + "/data/" + doomed[0]));
  EXPECT_TRUE(std::filesystem::is_empty(Repo() + "/trash"));
  for (const std::string& id : ids_) ExpectDrillPasses(id);

  // Unnamed once the oldest backup goes: a file left in trash/ then is removed for good.
  ASSERT_OK(Prune(repository_.get(), 3, std::nullopt, true, &report));
  std::filesystem::rename(Repo() + "/data/" + doomed[0], Repo() + "/trash/" + doomed[0]);
  report = PruneReport{};
  ASSERT_OK(Prune(repository_.get(), 3, std::nullopt, false, &report));
  EXPECT_FALSE(std::filesystem::exists(Repo() + "/trash/" + doomed[0]));
  EXPECT_FALSE(std::filesystem::exists(Repo() + "/data/" + doomed[0]));
  ExpectDrillPasses(ids_.back());
}

// A lease that does not parse might name anything: prune deletes nothing rather than guess.
TEST_F(PruneTest, ADamagedLeaseStopsPruneBeforeAnyDeletion) {
  std::filesystem::create_directories(Repo() + "/leases");
  std::ofstream(Repo() + "/leases/00000000000000cc.json") << "{\"format\": \"ordo-lease\"";
  const auto before = FilesUnder(Repo());
  PruneReport report;
  const Status status = Prune(repository_.get(), 1, std::nullopt, false, &report);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("00000000000000cc.json"), std::string::npos) << status.ToString();
  EXPECT_EQ(FilesUnder(Repo()), before);
}

}  // namespace
}  // namespace ordo::restore
