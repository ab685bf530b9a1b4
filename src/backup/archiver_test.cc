// Continuous archiving and restores through the archive: a random workload archived as it goes
// restores to many recorded points exactly (with and without a base backup); restarts resume
// without gap or duplicate; a missing piece is a reported gap; a data directory that does not
// continue the archive is refused; prune keeps what the oldest kept backup needs.
#include "backup/archiver.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <random>

#include "backup/backup_run.h"
#include "io/fault_file_system.h"
#include "io/file_system_wrapper.h"
#include "restore/archive_plan.h"
#include "restore/archive_verify.h"
#include "restore/log_walk.h"
#include "restore/prune.h"
#include "restore/restore.h"
#include "tests/backup_fixtures.h"
#include "util/clock.h"

namespace ordo::backup {
namespace {

using testing::ReadAll;

using testing::Recorded;

class ArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, DB::Open(testing::SmallSegments(), Data()));
    repository_ = testing::InitAndOpen(FileSystem::Default(), scratch_.Sub("repo"));
    ASSERT_NE(repository_, nullptr);
  }
  std::string Data() { return scratch_.Sub("data"); }
  void Write(WriteBatch batch) { ASSERT_OK(db_->Write(std::move(batch))); }
  void RandomWrites(std::mt19937& random, int count) {
    for (int i = 0; i < count; ++i) {
      WriteBatch batch;
      const std::string key = "k" + std::to_string(random() % 60);
      if (random() % 10 == 0) {
        batch.Delete(key);
      } else {
        batch.Put(key, std::string(200 + random() % 900, static_cast<char>('a' + i % 26)));
      }
      Write(std::move(batch));
    }
  }
  Recorded Record() { return testing::RecordState(db_.get()); }
  std::unique_ptr<Archiver> OpenArchiver(const std::string& data = "") {
    auto archiver = std::make_unique<Archiver>(FileSystem::Default(), data.empty() ? Data() : data,
                                               repository_.get());
    const Status opened = archiver->Open();
    EXPECT_OK(opened);
    if (data.empty()) archived_database_ = archiver->database_id_hex();  // the fixture's
    return archiver;
  }
  ArchiveStep Archive(Archiver* archiver) {
    ArchiveStep step;
    const Status shipped = archiver->ArchiveAvailable(&step);
    EXPECT_OK(shipped);
    return step;
  }
  void BackUp() {
    BackupResult result;
    const Status taken =
        TakeBackup(FileSystem::Default(), Data(), repository_.get(), BackupOptions{}, &result);
    ASSERT_OK(taken);
  }
  Result<restore::RestoreReport> RestoreTo(const restore::PointTarget& target,
                                           const std::string& name) {
    ORDO_ASSIGN_OR_RETURN(restore::RestorePlan plan,
                          restore::PlanRestore(repository_.get(), target));
    restore::RestoreReport report;
    ORDO_RETURN_IF_ERROR(restore::RestoreFrom(FileSystem::Default(), repository_.get(),
                                              plan.Sources(), scratch_.Sub(name), {}, &report,
                                              target));
    return report;
  }
  void ExpectState(const std::string& name, const Recorded& point, const std::string& context) {
    testing::ExpectRestoredState(scratch_.Sub(name), point, context);
  }
  std::vector<repository::ArchivePiece> Pieces() {
    auto listed = repository_->ListArchivePieces(archived_database_);
    EXPECT_OK(listed);
    return listed.ok() ? *listed : std::vector<repository::ArchivePiece>{};
  }

  ordo::testing::ScratchDirectory scratch_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<repository::Repository> repository_;
  std::string archived_database_;
};

TEST_F(ArchiverTest, ArchivedLogRestoresToManyRecordedPointsExactly) {
  std::mt19937 random(11);
  auto archiver = OpenArchiver();
  std::vector<Recorded> points;
  points.push_back(Record());
  for (int round = 0; round < 60; ++round) {
    RandomWrites(random, 1 + static_cast<int>(random() % 9));
    points.push_back(Record());
    if (round % 3 == 0) Archive(archiver.get());
    if (round == 25) BackUp();  // a base in the middle: later points start from it
  }
  const ArchiveStep last = Archive(archiver.get());
  EXPECT_EQ(archiver->archived_lsn(), db_->AckedLsn());
  EXPECT_GT(last.records, 0u);
  ASSERT_GE(db_->GetStatistics().segments, 4u);
  const restore::ArchiveLayout layout = restore::LayOutArchive(archived_database_, Pieces());
  ASSERT_EQ(layout.runs.size(), 1u) << layout.gaps.front();
  EXPECT_EQ(layout.runs.front().first_lsn(), 1u);
  EXPECT_EQ(layout.runs.front().last_lsn(), db_->AckedLsn());

  ASSERT_GE(points.size(), 50u);
  for (size_t i = 0; i < points.size(); ++i) {
    const Recorded& point = points[i];
    restore::PointTarget target;
    target.kind = i % 3 == 0   ? restore::PointTarget::Kind::kLsn
                  : i % 3 == 1 ? restore::PointTarget::Kind::kBeforeLsn
                               : restore::PointTarget::Kind::kTime;
    target.lsn = target.kind == restore::PointTarget::Kind::kBeforeLsn ? point.lsn + 1 : point.lsn;
    target.time_micros = point.time_micros;
    const std::string name = "restore" + std::to_string(i);
    auto report = RestoreTo(target, name);
    ASSERT_OK(report) << target.Describe() << ": " << report.status().ToString();
    EXPECT_EQ(report->lsn, point.lsn) << target.Describe();
    EXPECT_EQ(report->digest, point.digest) << target.Describe();
    ExpectState(name, point, target.Describe());
    if (HasFatalFailure()) return;
  }
  // No target: the newest archived commit, which is the database's newest.
  auto latest = RestoreTo(restore::PointTarget{}, "latest");
  ASSERT_OK(latest);
  EXPECT_FALSE(latest->backup_id.empty());  // the backup is the cheaper base
  EXPECT_GT(latest->archive_pieces, 0u);
  ExpectState("latest", Record(), "latest");
}

TEST_F(ArchiverTest, TheArchiveAloneRestoresWithoutAnyBackup) {
  std::mt19937 random(3);
  auto archiver = OpenArchiver();
  RandomWrites(random, 150);
  Archive(archiver.get());
  auto latest = RestoreTo(restore::PointTarget{}, "latest");
  ASSERT_OK(latest);
  EXPECT_TRUE(latest->backup_id.empty());
  ExpectState("latest", Record(), "archive alone");
}

TEST_F(ArchiverTest, JustBeforeAFlushAllBringsEverythingBackFromTheArchive) {
  auto archiver = OpenArchiver();
  for (int i = 0; i < 200; ++i) {
    WriteBatch batch;
    batch.Put("precious" + std::to_string(i), std::string(500, 'p'));
    Write(std::move(batch));
  }
  BackUp();  // the nightly backup, before the day's writes
  WriteBatch more;
  more.Put("written-after-the-backup", "y");
  Write(std::move(more));
  const Recorded before = Record();
  WriteBatch flush;
  flush.ClearDatabase();
  Write(std::move(flush));
  const uint64_t flush_lsn = db_->AckedLsn();
  WriteBatch after;
  after.Put("after", "x");
  Write(std::move(after));
  Archive(archiver.get());
  restore::PointTarget target;
  target.kind = restore::PointTarget::Kind::kBeforeLsn;
  target.lsn = flush_lsn;
  auto report = RestoreTo(target, "restored");
  ASSERT_OK(report);
  ExpectState("restored", before, "before the FLUSHALL");
  EXPECT_EQ(ReadAll(scratch_.Sub("restored")).size(), 201u);
}

TEST_F(ArchiverTest, TheRepositorysLogIncludesTheArchiveAfterTheNewestBackup) {
  std::mt19937 random(19);
  auto archiver = OpenArchiver();
  RandomWrites(random, 100);
  BackUp();
  WriteBatch late;
  late.Put("late-key", "v1");
  Write(std::move(late));
  const uint64_t late_lsn = db_->AckedLsn();
  RandomWrites(random, 100);
  Archive(archiver.get());
  std::vector<uint64_t> seen;
  restore::LogWalkOptions options;
  options.filter.key = "late-key";
  options.scratch_directory = scratch_.path();
  restore::LogWalkSummary summary;
  const Status walked = restore::WalkRepository(
      FileSystem::Default(), repository_.get(), options,
      [&](const restore::LogCommit& commit) {
        seen.push_back(commit.record->lsn);
        return true;
      },
      &summary);
  ASSERT_OK(walked);
  EXPECT_EQ(seen, std::vector<uint64_t>{late_lsn});
  EXPECT_EQ(summary.last_lsn, db_->AckedLsn());
  EXPECT_EQ(summary.records_read, db_->AckedLsn());
}

TEST_F(ArchiverTest, ResumesAfterARestartWithoutGapOrDuplicate) {
  std::mt19937 random(5);
  {
    auto first = OpenArchiver();
    RandomWrites(random, 80);
    Archive(first.get());
  }
  const size_t pieces_before = Pieces().size();
  {
    auto again = OpenArchiver();  // nothing new: ships nothing, repeats nothing
    EXPECT_EQ(Archive(again.get()).pieces, 0u);
    EXPECT_EQ(Pieces().size(), pieces_before);
    RandomWrites(random, 80);
    EXPECT_GT(Archive(again.get()).pieces, 0u);
    EXPECT_EQ(again->archived_lsn(), db_->AckedLsn());
  }
  const restore::ArchiveLayout layout = restore::LayOutArchive(archived_database_, Pieces());
  EXPECT_EQ(layout.runs.size(), 1u);
  EXPECT_TRUE(layout.gaps.empty());
  auto latest = RestoreTo(restore::PointTarget{}, "latest");
  ASSERT_OK(latest);
  ExpectState("latest", Record(), "after a restart");
}

// Forwards to the default file system; calls `on_reopen` after each ReopenWritableFile, which
// the archiver calls just before it ships a prefix of the active segment (to sync it).
class ReopenHookFileSystem final : public FileSystemWrapper {
 public:
  explicit ReopenHookFileSystem(std::function<void()> on_reopen)
      : FileSystemWrapper(FileSystem::Default()), on_reopen_(std::move(on_reopen)) {}
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    auto file = FileSystemWrapper::ReopenWritableFile(path);
    on_reopen_();
    return file;
  }

 private:
  std::function<void()> on_reopen_;
};

// Under a steady write load the active segment grows while its piece is stored; a call ships
// one piece of it and leaves what came meanwhile to the next call, instead of chasing the load
// (before, this call went on shipping a piece per commit made during the previous piece).
TEST_F(ArchiverTest, ACallShipsOnePieceOfTheActiveSegmentWhileTheLoadGoesOn) {
  std::mt19937 random(3);
  RandomWrites(random, 10);
  int commits_during_shipping = 0;
  ReopenHookFileSystem fs([&] {
    if (commits_during_shipping < 5) {
      ++commits_during_shipping;
      EXPECT_OK(db_->Put("during-" + std::to_string(commits_during_shipping), "v"));
    }
  });
  Archiver archiver(&fs, Data(), repository_.get());
  ASSERT_OK(archiver.Open());
  archived_database_ = archiver.database_id_hex();
  const uint64_t segments = db_->GetStatistics().segments;
  const ArchiveStep first = Archive(&archiver);
  // Every sealed segment, then one piece of the active one; the commit made while that piece
  // was stored is not in it.
  EXPECT_EQ(first.pieces, segments);
  EXPECT_EQ(commits_during_shipping, 1);
  EXPECT_EQ(archiver.archived_lsn(), db_->AckedLsn() - 1);
  const ArchiveStep second = Archive(&archiver);
  EXPECT_EQ(second.pieces, 1u);
  EXPECT_EQ(second.records, 1u);
  EXPECT_EQ(commits_during_shipping, 2);
  EXPECT_EQ(archiver.archived_lsn(), db_->AckedLsn() - 1);
  const restore::ArchiveLayout layout = restore::LayOutArchive(archived_database_, Pieces());
  EXPECT_EQ(layout.runs.size(), 1u);
  EXPECT_TRUE(layout.gaps.empty());
}

TEST_F(ArchiverTest, AMissingPieceIsAReportedGapNeverBridged) {
  std::mt19937 random(9);
  auto archiver = OpenArchiver();
  for (int round = 0; round < 6; ++round) {
    RandomWrites(random, 40);
    Archive(archiver.get());
  }
  std::vector<repository::ArchivePiece> pieces = Pieces();
  ASSERT_GE(pieces.size(), 4u);
  const repository::ArchivePiece& removed = pieces[pieces.size() / 2];
  const uint64_t before_gap = pieces[pieces.size() / 2 - 1].last_lsn;
  ASSERT_OK(repository_->RemoveArchivePiece(removed));
  const restore::ArchiveLayout layout = restore::LayOutArchive(archived_database_, Pieces());
  ASSERT_EQ(layout.gaps.size(), 1u);
  EXPECT_NE(layout.gaps.front().find(removed.Name()), std::string::npos) << layout.gaps.front();

  auto latest = RestoreTo(restore::PointTarget{}, "latest");
  ASSERT_FALSE(latest.ok());
  EXPECT_TRUE(latest.status().IsInvalidArgument());
  EXPECT_NE(latest.status().message().find("gap"), std::string::npos) << latest.status().ToString();
  EXPECT_NE(latest.status().message().find("--lsn " + std::to_string(before_gap)),
            std::string::npos)
      << latest.status().ToString();
  // Up to the gap is still restorable.
  restore::PointTarget target;
  target.kind = restore::PointTarget::Kind::kLsn;
  target.lsn = before_gap;
  auto report = RestoreTo(target, "to-the-gap");
  ASSERT_OK(report);
  EXPECT_EQ(report->lsn, before_gap);
  // Past it is refused, naming the gap.
  target.lsn = db_->AckedLsn();
  auto past = RestoreTo(target, "past-the-gap");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("gap"), std::string::npos) << past.status().ToString();
}

TEST_F(ArchiverTest, VerifyDrillsTheArchiveAndReportsAGapAndADamagedPiece) {
  std::mt19937 random(21);
  auto archiver = OpenArchiver();
  for (int round = 0; round < 5; ++round) {
    RandomWrites(random, 40);
    Archive(archiver.get());
  }
  restore::ArchiveVerifyOptions options;
  options.drill = true;
  options.scratch_directory = scratch_.Sub("verify-scratch");
  ASSERT_OK(FileSystem::Default()->CreateDir(options.scratch_directory));
  restore::ArchiveVerifyReport report;
  Status verified = restore::VerifyArchive(FileSystem::Default(), repository_.get(),
                                           archived_database_, options, &report);
  ASSERT_OK(verified);
  EXPECT_TRUE(report.drilled);
  EXPECT_EQ(report.restored_last_lsn, db_->AckedLsn());
  EXPECT_EQ(report.restored_digest, db_->Digest());
  EXPECT_EQ(report.contents_checked, report.stored_checked);

  // A damaged content file is named.
  std::vector<repository::ArchivePiece> pieces = Pieces();
  ASSERT_GE(pieces.size(), 4u);
  testing::EditFile(scratch_.Sub("repo") + "/data/" + pieces[1].file.stored_name,
                    [](std::string& bytes) { bytes[bytes.size() / 2] ^= 0x20; });
  options.drill = false;
  options.scratch_directory = scratch_.Sub("verify-scratch2");
  ASSERT_OK(FileSystem::Default()->CreateDir(options.scratch_directory));
  verified = restore::VerifyArchive(FileSystem::Default(), repository_.get(), archived_database_,
                                    options, &report);
  ASSERT_TRUE(verified.IsCorruption()) << verified.ToString();
  EXPECT_NE(verified.message().find(pieces[1].file.stored_name), std::string::npos)
      << verified.ToString();

  // A removed description is a gap, named by the missing piece.
  ASSERT_OK(repository_->RemoveArchivePiece(pieces[2]));
  verified = restore::VerifyArchive(FileSystem::Default(), repository_.get(), archived_database_,
                                    options, &report);
  ASSERT_FALSE(verified.ok());
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_NE(report.problems.front().find("gap"), std::string::npos) << report.problems.front();
  EXPECT_NE(report.problems.front().find(pieces[2].Name()), std::string::npos)
      << report.problems.front();
}

TEST_F(ArchiverTest, ADataDirectoryThatDoesNotContinueTheArchiveIsRefused) {
  std::mt19937 random(13);
  auto archiver = OpenArchiver();
  RandomWrites(random, 60);
  const uint64_t middle = db_->AckedLsn();
  RandomWrites(random, 60);
  Archive(archiver.get());
  // A point-in-time restore, then new writes there: another history under the same id.
  restore::PointTarget target;
  target.kind = restore::PointTarget::Kind::kLsn;
  target.lsn = middle;
  ASSERT_OK(RestoreTo(target, "restored"));
  {
    std::unique_ptr<DB> restored;
    Options options;
    options.create_if_missing = false;
    ASSERT_OK_AND_ASSIGN(restored, DB::Open(options, scratch_.Sub("restored")));
    ASSERT_OK(restored->Put("other", "history"));
  }
  Archiver other(FileSystem::Default(), scratch_.Sub("restored"), repository_.get());
  const Status opened = other.Open();
  EXPECT_TRUE(opened.IsFailed()) << opened.ToString();
  EXPECT_NE(opened.message().find("does not continue the archive"), std::string::npos)
      << opened.ToString();
}

// A repository can hold several databases (a data directory created anew, or two servers
// sharing the repository). A restore that names none must not pick one on its own: the
// database of the newest backup is not the one whose commits are newest when the other is only
// archived, and restoring the wrong database would report success.
TEST_F(ArchiverTest, ARestoreOfARepositoryHoldingSeveralDatabasesMustNameOne) {
  std::mt19937 random(23);
  RandomWrites(random, 30);
  BackUp();
  auto manifests = repository_->ListManifests();
  ASSERT_TRUE(manifests.ok() && manifests->size() == 1);
  const std::string backed_up = manifests->front().database_id;
  // A new database, archived into the same repository, without a backup yet.
  {
    std::unique_ptr<DB> other;
    ASSERT_OK_AND_ASSIGN(other, DB::Open(testing::SmallSegments(), scratch_.Sub("other")));
    ASSERT_OK(other->Put("newer", "database"));
  }
  auto archiver = OpenArchiver(scratch_.Sub("other"));
  Archive(archiver.get());
  const std::string archived = archiver->database_id_hex();
  ASSERT_NE(archived, backed_up);

  auto plan = restore::PlanRestore(repository_.get(), restore::PointTarget{});
  ASSERT_FALSE(plan.ok()) << "restored database " << plan->database_id_hex;
  EXPECT_TRUE(plan.status().IsInvalidArgument()) << plan.status().ToString();
  for (const std::string& id : {backed_up, archived, std::string("--database")}) {
    EXPECT_NE(plan.status().message().find(id), std::string::npos) << plan.status().ToString();
  }
  for (const std::string& id : {backed_up, archived}) {
    auto named = restore::PlanRestore(repository_.get(), restore::PointTarget{}, id);
    ASSERT_OK(named);
    EXPECT_EQ(named->database_id_hex, id);
  }
}

TEST_F(ArchiverTest, PruneKeepsThePiecesTheOldestKeptBackupNeeds) {
  std::mt19937 random(17);
  auto archiver = OpenArchiver();
  for (int round = 0; round < 3; ++round) {
    RandomWrites(random, 120);
    Archive(archiver.get());
    BackUp();
  }
  RandomWrites(random, 50);
  Archive(archiver.get());
  const size_t pieces_before = Pieces().size();
  restore::PruneReport report;
  ASSERT_OK(restore::Prune(repository_.get(), 1, std::nullopt, false, &report));
  EXPECT_EQ(report.kept_backups.size(), 1u);
  EXPECT_FALSE(report.removed_archive_pieces.empty());
  EXPECT_LT(Pieces().size(), pieces_before);
  EXPECT_EQ(report.kept_archive_pieces, Pieces().size());
  // The newest commit is still restorable, from the kept backup and the kept pieces.
  auto latest = RestoreTo(restore::PointTarget{}, "latest");
  ASSERT_OK(latest);
  ExpectState("latest", Record(), "after prune");
  // Every content file a kept piece names is still there.
  for (const repository::ArchivePiece& piece : Pieces()) {
    EXPECT_OK(repository_->CheckStored(piece.file)) << piece.Name();
  }
}

// A database that wrote nothing since its last archived commit, then was backed up: every
// piece lies before the kept backup's end, but the newest is where the archiver resumes. Without
// it the archive looks empty and the next archiver (a restart, or a round after an error)
// ships the whole log again from segment 1.
TEST_F(ArchiverTest, PruneKeepsTheNewestPieceWhereTheArchiverResumes) {
  std::mt19937 random(29);
  auto archiver = OpenArchiver();
  RandomWrites(random, 200);
  Archive(archiver.get());
  BackUp();  // at the archive's end: no commit since
  const repository::ArchivePiece newest = Pieces().back();
  restore::PruneReport report;
  ASSERT_OK(restore::Prune(repository_.get(), 1, std::nullopt, false, &report));
  ASSERT_FALSE(Pieces().empty());
  EXPECT_EQ(Pieces().back().Name(), newest.Name());
  EXPECT_OK(repository_->CheckStored(Pieces().back().file));

  auto resumed = OpenArchiver();
  EXPECT_EQ(resumed->archived_lsn(), db_->AckedLsn());
  EXPECT_EQ(Archive(resumed.get()).bytes_read, 0u);
  auto latest = RestoreTo(restore::PointTarget{}, "latest");
  ASSERT_OK(latest);
  ExpectState("latest", Record(), "after prune");
}

TEST_F(ArchiverTest, PruneLeavesFreshUnreferencedFilesToTheirWriter) {
  // What a running archiver or backup has stored but not yet described.
  const std::string content = "stored, its description still to come";
  size_t offset = 0;
  repository::ManifestFile file;
  uint64_t written = 0;
  ASSERT_OK(repository_->PutFile(
      [&](char* buffer, size_t capacity) -> Result<size_t> {
        const size_t count = std::min(capacity, content.size() - offset);
        std::memcpy(buffer, content.data() + offset, count);
        offset += count;
        return count;
      },
      &file, &written));
  BackUp();
  restore::PruneReport report;
  ASSERT_OK(restore::Prune(repository_.get(), 1, std::nullopt, false, &report, 3600));
  EXPECT_EQ(report.kept_recent, 1u);
  EXPECT_OK(repository_->CheckStored(file));
  ASSERT_OK(restore::Prune(repository_.get(), 1, std::nullopt, false, &report, 0));
  EXPECT_EQ(report.removed_files, std::vector<std::string>{file.stored_name});
  EXPECT_FALSE(repository_->CheckStored(file).ok());
}

// A power loss after any sync point of an archiving run leaves an archive without gap or
// overlap that the next run resumes, and a restore to the newest commit equals the database.
TEST(ArchiverCrash, CrashAtEverySyncPointResumesWithoutGap) {
  ordo::testing::ScratchDirectory scratch;
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch.Sub("data")));
    testing::Fill(db.get(), 300);
  }
  std::filesystem::copy(scratch.Sub("data"), scratch.Sub("old"),
                        std::filesystem::copy_options::recursive);
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch.Sub("data")));
    testing::Fill(db.get(), 200, 7);
  }
  const testing::Recorded expected = [&] {
    Options options;
    options.read_only = true;
    auto db = DB::Open(options, scratch.Sub("data"));
    EXPECT_OK(db);
    if (!db.ok()) return testing::Recorded{};
    return testing::RecordState(db->get());
  }();
  FaultFileSystem fault;
  bool completed = false;
  uint64_t crashes = 0;
  for (uint64_t n = 1; n < 400 && !completed; ++n) {
    SCOPED_TRACE("crash after sync point " + std::to_string(n));
    const std::string repo = scratch.Sub("repo-" + std::to_string(n));
    std::string database;
    {
      auto repository = testing::InitAndOpen(FileSystem::Default(), repo);
      Archiver earlier(FileSystem::Default(), scratch.Sub("old"), repository.get());
      ASSERT_OK(earlier.Open());
      ArchiveStep step;
      ASSERT_OK(earlier.ArchiveAvailable(&step));
      database = earlier.database_id_hex();
    }
    fault.Reset();
    fault.CrashAfterSyncs(n);
    Status status;
    {
      auto repository = testing::OpenRepositoryOrDie(&fault, repo);
      ASSERT_NE(repository, nullptr);
      Archiver interrupted(&fault, scratch.Sub("data"), repository.get());
      status = interrupted.Open();
      ArchiveStep step;
      if (status.ok()) status = interrupted.ArchiveAvailable(&step);
    }
    completed = status.ok();
    if (!completed) ++crashes;
    const CrashMode mode = n % 2 == 0 ? CrashMode::kDropUnsynced : CrashMode::kTornWriteWithGarbage;
    ASSERT_OK(fault.SimulateCrash(mode, n));
    fault.Reset();

    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), repo);
    auto pieces = repository->ListArchivePieces(database);
    ASSERT_OK(pieces);
    const restore::ArchiveLayout layout = restore::LayOutArchive(database, *pieces);
    ASSERT_EQ(layout.runs.size(), 1u) << layout.gaps.front();
    Archiver resumed(FileSystem::Default(), scratch.Sub("data"), repository.get());
    ASSERT_OK(resumed.Open());
    ArchiveStep step;
    ASSERT_OK(resumed.ArchiveAvailable(&step));
    EXPECT_EQ(resumed.archived_lsn(), expected.lsn);
    auto plan = restore::PlanRestore(repository.get(), restore::PointTarget{});
    ASSERT_OK(plan);
    restore::RestoreReport report;
    const std::string target = scratch.Sub("restored-" + std::to_string(n));
    ASSERT_OK(restore::RestoreFrom(FileSystem::Default(), repository.get(), plan->Sources(), target,
                                   {}, &report));
    testing::ExpectRestoredState(target, expected, "after the crash");
    if (HasFatalFailure()) return;
    std::filesystem::remove_all(repo);
    std::filesystem::remove_all(target);
  }
  EXPECT_TRUE(completed) << "the archiving run never completed";
  EXPECT_GT(crashes, 3u);
}

}  // namespace
}  // namespace ordo::backup
