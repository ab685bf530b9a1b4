// Directory entries survive a power loss only once their directory is fsynced (the crash model
// undoes creates and renames whose directory fsync never happened): a new log segment, an index
// checkpoint and an archive piece each vanish when the power goes as their directory's fsync is
// issued, and are there when it goes just after. Startup, and the next archiving round, handle
// each missing one: the segment is created again, the index is rebuilt from the log, the piece
// is shipped again, and nothing acknowledged is lost.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "backup/archiver.h"
#include "io/fault_file_system.h"
#include "ordo/db.h"
#include "restore/archive_plan.h"
#include "restore/restore.h"
#include "tests/backup_fixtures.h"
#include "tests/test_util.h"

namespace ordo {
namespace {

using State = std::map<std::string, std::string>;

Options TestOptions(FileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.segment_bytes = kSegmentBytesMin;
  options.checkpoint_interval_bytes = 0;
  options.expiry_sweep_interval_ms = 0;
  return options;
}

// Sync point n (1-based) of `points` named exactly `name`; fails the test if there is none.
uint64_t FindSyncPoint(const std::vector<std::string>& points, const std::string& name) {
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i] == name) return i + 1;
  }
  ADD_FAILURE() << "no sync point \"" << name << "\" among " << points.size();
  return 0;
}

State ReadState(DB* db) {
  State state;
  EXPECT_OK(db->ForEach("", "", [&](std::string_view key, std::string_view value, const ReadInfo&) {
    state.emplace(key, value);
    return true;
  }));
  return state;
}

// The power goes as the sync point is issued (`synced` false) or just after it completes.
void LosePowerAt(FaultFileSystem* fs, uint64_t point, bool synced) {
  if (synced) {
    fs->CrashAfterSyncs(point);
  } else {
    fs->CrashAtSync(point);
  }
}

class DirectoryCrashTest : public ::testing::Test {
 protected:
  testing::ScratchDirectory scratch_;
};

// Puts of 3000 bytes until the first rotation of 64 KiB segments, then a few more.
constexpr int kPuts = 30;
Status PutUntilFailure(DB* db, State* acknowledged) {
  for (int i = 0; i < kPuts; ++i) {
    const std::string key = "key" + std::to_string(i);
    const std::string value(3000, static_cast<char>('a' + i % 26));
    ORDO_RETURN_IF_ERROR(db->Put(key, value));
    (*acknowledged)[key] = value;
  }
  return Status::Ok();
}

TEST_F(DirectoryCrashTest, ANewSegmentIsThereAfterPowerLossOnlyOnceTheLogDirectoryIsSynced) {
  uint64_t point = 0;
  {
    FaultFileSystem fs;
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs), scratch_.Sub("count")));
    fs.Reset();
    State ignored;
    ASSERT_OK(PutUntilFailure(db.get(), &ignored));
    ASSERT_GE(db->GetStatistics().segments, 2u);
    // Rotation: seal segment 1 (fsync), create segment 2 (fsync), then its directory entry.
    point = FindSyncPoint(fs.sync_points(), "fsync directory " + scratch_.Sub("count") + "/log");
    ASSERT_GT(point, 0u);
  }
  for (const bool synced : {false, true}) {
    SCOPED_TRACE(synced ? "power lost after the log directory's fsync"
                        : "power lost as the log directory's fsync was issued");
    const std::string directory = scratch_.Sub(synced ? "after" : "at");
    const std::string second = directory + "/log/00000000000000000002.seg";
    FaultFileSystem fs;
    State acknowledged;
    {
      std::unique_ptr<DB> db;
      ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs), directory));
      fs.Reset();
      LosePowerAt(&fs, point, synced);
      EXPECT_FALSE(PutUntilFailure(db.get(), &acknowledged).ok());
      EXPECT_TRUE(std::filesystem::exists(second));  // created, in the live directory
    }
    ASSERT_OK(fs.SimulateCrash());
    EXPECT_EQ(std::filesystem::exists(second), synced);
    OpenReport report;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(TestOptions(&fs), directory, &report));
    EXPECT_EQ(ReadState(db.get()), acknowledged);
    EXPECT_TRUE(std::filesystem::exists(second));  // created again when it was missing
    EXPECT_EQ(db->GetStatistics().active_segment_id, 2u);
    ASSERT_OK(db->Put("after", "ok"));
    ASSERT_OK(db->Close());
  }
}

TEST_F(DirectoryCrashTest, ACheckpointIsThereAfterPowerLossOnlyOnceTheIndexDirectoryIsSynced) {
  uint64_t point = 0;
  const auto fill = [](DB* db, State* acknowledged) {
    for (int i = 0; i < 8; ++i) {
      const std::string key = "key" + std::to_string(i);
      ASSERT_OK(db->Put(key, std::string(500, 'v')));
      (*acknowledged)[key] = std::string(500, 'v');
    }
  };
  {
    FaultFileSystem fs;
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs), scratch_.Sub("count")));
    State ignored;
    fill(db.get(), &ignored);
    fs.Reset();
    ASSERT_OK(db->Checkpoint());
    point = FindSyncPoint(fs.sync_points(), "fsync directory " + scratch_.Sub("count") + "/index");
    ASSERT_GT(point, 0u);
  }
  for (const bool synced : {false, true}) {
    SCOPED_TRACE(synced ? "power lost after the index directory's fsync"
                        : "power lost as the index directory's fsync was issued");
    const std::string directory = scratch_.Sub(synced ? "after" : "at");
    const std::string checkpoint = directory + "/index/00000000000000000008.idx";
    FaultFileSystem fs;
    State acknowledged;
    {
      std::unique_ptr<DB> db;
      ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs), directory));
      fill(db.get(), &acknowledged);
      fs.Reset();
      LosePowerAt(&fs, point, synced);
      EXPECT_EQ(db->Checkpoint().ok(), synced);
      EXPECT_TRUE(std::filesystem::exists(checkpoint));  // renamed, in the live directory
    }
    ASSERT_OK(fs.SimulateCrash());
    EXPECT_EQ(std::filesystem::exists(checkpoint), synced);
    // Nothing of the checkpoint is left half-made: no temporary survives either.
    for (const auto& entry : std::filesystem::directory_iterator(directory + "/index")) {
      EXPECT_EQ(entry.path().string(), checkpoint);
    }
    OpenReport report;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(TestOptions(&fs), directory, &report));
    EXPECT_EQ(report.checkpoint, synced ? checkpoint : "");
    EXPECT_EQ(ReadState(db.get()), acknowledged);
  }
}

TEST_F(DirectoryCrashTest, AnArchivePieceIsThereAfterPowerLossOnlyOnceItsDirectoryIsSynced) {
  const std::string data = scratch_.Sub("data");
  testing::Recorded expected;
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
    testing::Fill(db.get(), 120, 3);
    expected = testing::RecordState(db.get());
  }
  uint64_t point = 0;
  std::string piece_directory;
  {
    FaultFileSystem fs;
    auto repository = testing::InitAndOpen(&fs, scratch_.Sub("count"));
    ASSERT_NE(repository, nullptr);
    backup::Archiver archiver(&fs, data, repository.get());
    ASSERT_OK(archiver.Open());
    piece_directory = "/archive/" + archiver.database_id_hex();
    fs.Reset();
    backup::ArchiveStep step;
    ASSERT_OK(archiver.ArchiveAvailable(&step));
    ASSERT_GT(step.pieces, 1u);
    // The first piece: content file published, its description renamed into place, then the
    // directory's fsync.
    point = FindSyncPoint(fs.sync_points(),
                          "fsync directory " + scratch_.Sub("count") + piece_directory);
    ASSERT_GT(point, 0u);
  }
  for (const bool synced : {false, true}) {
    SCOPED_TRACE(synced ? "power lost after the archive directory's fsync"
                        : "power lost as the archive directory's fsync was issued");
    const std::string repo = scratch_.Sub(synced ? "repo-after" : "repo-at");
    const std::string first_piece =
        repo + piece_directory + "/00000000000000000001-00000000000000000000.json";
    FaultFileSystem fs;
    {
      auto repository = testing::InitAndOpen(&fs, repo);
      ASSERT_NE(repository, nullptr);
      backup::Archiver archiver(&fs, data, repository.get());
      ASSERT_OK(archiver.Open());
      fs.Reset();
      LosePowerAt(&fs, point, synced);
      backup::ArchiveStep step;
      EXPECT_FALSE(archiver.ArchiveAvailable(&step).ok());
      EXPECT_TRUE(std::filesystem::exists(first_piece));  // renamed, in the live directory
    }
    ASSERT_OK(fs.SimulateCrash());
    EXPECT_EQ(std::filesystem::exists(first_piece), synced);
    // The next round resumes from what the archive holds and ships the rest (or all again).
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), repo);
    ASSERT_NE(repository, nullptr);
    backup::Archiver resumed(FileSystem::Default(), data, repository.get());
    ASSERT_OK(resumed.Open());
    backup::ArchiveStep step;
    ASSERT_OK(resumed.ArchiveAvailable(&step));
    EXPECT_EQ(resumed.archived_lsn(), expected.lsn);
    auto plan = restore::PlanRestore(repository.get(), restore::PointTarget{});
    ASSERT_OK(plan);
    restore::RestoreReport report;
    const std::string target = scratch_.Sub(synced ? "restored-after" : "restored-at");
    ASSERT_OK(restore::RestoreFrom(FileSystem::Default(), repository.get(), plan->Sources(), target,
                                   {}, &report));
    testing::ExpectRestoredState(target, expected, "restored after the crash");
  }
}

}  // namespace
}  // namespace ordo
