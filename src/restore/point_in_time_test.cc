// Point-in-time restore within a backup: a random workload records the state (digest, keys,
// every value) after many commits; restores to at least 50 of those points, by LSN, by the LSN
// after it and by time, give exactly those states; a restore to just before a FLUSHALL brings
// everything back; a target past the repository's range is refused with the range.
#include "restore/point_in_time.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "backup/backup_run.h"
#include "db/db_internal.h"
#include "log/segment_reader.h"
#include "restore/restore.h"
#include "tests/backup_fixtures.h"
#include "util/clock.h"

namespace ordo::restore {
namespace {

using testing::ReadAll;

using testing::Recorded;

class PointInTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, db::DBInternal::Open(testing::SmallSegments(), scratch_.Sub("data")));
  }
  void Write(WriteBatch batch) { ASSERT_OK(db_->Write(std::move(batch))); }
  Recorded Record() { return testing::RecordState(db_.get()); }
  std::unique_ptr<repository::Repository> BackUp() {
    auto repository = testing::InitAndOpen(FileSystem::Default(), scratch_.Sub("repo"));
    backup::BackupResult result;
    Status taken = backup::TakeBackup(FileSystem::Default(), scratch_.Sub("data"), repository.get(),
                                      backup::BackupOptions{}, &result);
    EXPECT_OK(taken);
    return repository;
  }
  RestoreReport RestoreTo(repository::Repository* repository, const PointTarget& target,
                          const std::string& name) {
    auto manifests = repository->ListManifests();
    EXPECT_OK(manifests);
    auto chosen = ChooseBackupForPoint(*manifests, target);
    EXPECT_OK(chosen);
    RestoreReport report;
    Status restored = RestoreBackup(FileSystem::Default(), repository, *chosen, scratch_.Sub(name),
                                    {}, &report, target);
    EXPECT_OK(restored);
    return report;
  }
  void ExpectState(const std::string& name, const Recorded& point, const std::string& context) {
    testing::ExpectRestoredState(scratch_.Sub(name), point, context);
  }

  ordo::testing::ScratchDirectory scratch_;
  std::unique_ptr<db::DBInternal> db_;  // restore points are the engine's (db_internal.h)
};

TEST_F(PointInTimeTest, RestoresToManyRecordedPointsExactly) {
  std::mt19937 random(7);
  std::vector<Recorded> points;
  points.push_back(Record());  // LSN 0: the empty database
  for (int i = 0; i < 400; ++i) {
    WriteBatch batch;
    const int kind = static_cast<int>(random() % 10);
    const std::string key = "k" + std::to_string(random() % 60);
    if (kind == 0) {
      batch.Delete(key);
    } else if (kind == 1 && i % 97 == 0) {
      batch.ClearDatabase();
    } else {
      batch.Put(key, std::string(200 + random() % 900, static_cast<char>('a' + i % 26)));
      if (kind == 2) batch.Put("pair" + key, std::to_string(i));
    }
    Write(std::move(batch));
    if (i % 7 == 0) points.push_back(Record());
  }
  ASSERT_GE(points.size(), 50u);
  ASSERT_GE(db_->GetStatistics().segments, 4u);
  auto repository = BackUp();
  for (size_t i = 0; i < points.size(); ++i) {
    const Recorded& point = points[i];
    PointTarget target;
    target.kind = i % 3 == 0   ? PointTarget::Kind::kLsn
                  : i % 3 == 1 ? PointTarget::Kind::kBeforeLsn
                               : PointTarget::Kind::kTime;
    target.lsn = target.kind == PointTarget::Kind::kBeforeLsn ? point.lsn + 1 : point.lsn;
    target.time_micros = point.time_micros;
    const std::string name = "restore" + std::to_string(i);
    const RestoreReport report = RestoreTo(repository.get(), target, name);
    EXPECT_EQ(report.point.lsn, point.lsn) << target.Describe();
    EXPECT_EQ(report.point.digest, point.digest) << target.Describe();
    ExpectState(name, point, target.Describe());
    if (HasFatalFailure()) return;
  }
}

TEST_F(PointInTimeTest, JustBeforeAFlushAllBringsEverythingBack) {
  for (int i = 0; i < 200; ++i) {
    WriteBatch batch;
    batch.Put("precious" + std::to_string(i), std::string(500, 'p'));
    Write(std::move(batch));
  }
  const Recorded before = Record();
  WriteBatch flush;
  flush.ClearDatabase();
  Write(std::move(flush));
  const uint64_t flush_lsn = db_->AckedLsn();
  WriteBatch after;
  after.Put("after", "x");
  Write(std::move(after));
  auto repository = BackUp();
  PointTarget target;
  target.kind = PointTarget::Kind::kBeforeLsn;
  target.lsn = flush_lsn;
  RestoreTo(repository.get(), target, "restored");
  ExpectState("restored", before, "before the FLUSHALL");
  EXPECT_EQ(ReadAll(scratch_.Sub("restored")).size(), 200u);
}

// Points and LSN targets across many segments: the cut reads only from the segment holding the
// target (segment headers say where each starts) and the name lookup reads newest first; both
// must still land exactly: at a segment's first and last record, and on the newest of two
// points with one name.
TEST_F(PointInTimeTest, TargetsAcrossManySegmentsLandExactly) {
  auto write_keys = [&](int count, char fill) {
    for (int i = 0; i < count; ++i) {
      WriteBatch batch;
      batch.Put("k" + std::to_string(i % 50), std::string(900, fill));
      Write(std::move(batch));
    }
  };
  auto early = db_->CreateRestorePoint("only-early");
  ASSERT_OK(early);
  const Recorded at_early = Record();
  write_keys(150, 'a');
  ASSERT_OK(db_->CreateRestorePoint("twice"));
  write_keys(150, 'b');
  auto twice = db_->CreateRestorePoint("twice");
  ASSERT_OK(twice);
  const Recorded at_twice = Record();
  std::vector<Recorded> points;  // every commit of the last stretch
  for (int i = 0; i < 150; ++i) {
    write_keys(1, static_cast<char>('c' + i % 20));
    points.push_back(Record());
  }
  ASSERT_GE(db_->GetStatistics().segments, 5u);
  auto repository = BackUp();

  PointTarget target;
  target.kind = PointTarget::Kind::kPoint;
  target.point_name = "twice";
  EXPECT_EQ(RestoreTo(repository.get(), target, "twice").point.lsn, *twice);
  ExpectState("twice", at_twice, "the newer of two points named twice");
  target.point_name = "only-early";
  EXPECT_EQ(RestoreTo(repository.get(), target, "early").point.lsn, *early);
  ExpectState("early", at_early, "a point in the first segment");

  // Segment boundaries: the first and last commit of every segment the stretch crossed.
  auto segments = log::ListSegmentIds(FileSystem::Default(), scratch_.Sub("data") + "/log");
  ASSERT_OK(segments);
  std::vector<uint64_t> starts;
  for (const uint64_t id : *segments) {
    const std::string path = scratch_.Sub("data") + "/log/" + log::SegmentFileName(id);
    auto size = FileSystem::Default()->GetFileSize(path);
    ASSERT_OK(size);
    auto reader = log::SegmentReader::Open(FileSystem::Default(), path, *size);
    ASSERT_OK(reader);
    starts.push_back((*reader)->header().first_lsn);
  }
  int checked = 0;
  for (const Recorded& point : points) {
    const bool at_boundary = std::find(starts.begin(), starts.end(), point.lsn) != starts.end() ||
                             std::find(starts.begin(), starts.end(), point.lsn + 1) != starts.end();
    if (!at_boundary) continue;
    target = PointTarget{};
    target.kind = checked % 2 == 0 ? PointTarget::Kind::kLsn : PointTarget::Kind::kBeforeLsn;
    target.lsn = target.kind == PointTarget::Kind::kLsn ? point.lsn : point.lsn + 1;
    const std::string name = "boundary-" + std::to_string(point.lsn);
    EXPECT_EQ(RestoreTo(repository.get(), target, name).point.lsn, point.lsn);
    ExpectState(name, point, name);
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST_F(PointInTimeTest, NamedRestorePointRestoresTheStateAtIt) {
  WriteBatch first;
  first.Put("a", "1");
  Write(std::move(first));
  EXPECT_TRUE(db_->CreateRestorePoint("").status().IsInvalidArgument());
  EXPECT_TRUE(db_->CreateRestorePoint(std::string(257, 'n')).status().IsInvalidArgument());
  auto lsn = db_->CreateRestorePoint("before-migration");
  ASSERT_OK(lsn);
  EXPECT_EQ(*lsn, db_->AckedLsn());
  const Recorded at_point = Record();
  WriteBatch migration;
  migration.ClearDatabase();
  migration.Put("b", "2");
  Write(std::move(migration));
  auto repository = BackUp();
  PointTarget target;
  target.kind = PointTarget::Kind::kPoint;
  target.point_name = "before-migration";
  const RestoreReport report = RestoreTo(repository.get(), target, "restored");
  EXPECT_EQ(report.point.lsn, *lsn);
  ExpectState("restored", at_point, "restore point");
  target.point_name = "never-made";
  auto manifests = repository->ListManifests();
  ASSERT_OK(manifests);
  RestoreReport missing;
  Status status = RestoreBackup(FileSystem::Default(), repository.get(), manifests->back(),
                                scratch_.Sub("missing"), {}, &missing, target);
  EXPECT_TRUE(status.IsNotFound()) << status.ToString();
  EXPECT_NE(status.message().find("never-made"), std::string::npos);
}

TEST_F(PointInTimeTest, TargetOutsideTheRepositoryIsRefusedWithTheRange) {
  WriteBatch batch;
  batch.Put("a", "1");
  Write(std::move(batch));
  auto repository = BackUp();
  auto manifests = repository->ListManifests();
  ASSERT_OK(manifests);
  PointTarget target;
  target.kind = PointTarget::Kind::kLsn;
  target.lsn = 1000;
  auto chosen = ChooseBackupForPoint(*manifests, target);
  ASSERT_FALSE(chosen.ok());
  EXPECT_TRUE(chosen.status().IsInvalidArgument());
  EXPECT_NE(chosen.status().message().find("LSN 1 to 1"), std::string::npos)
      << chosen.status().ToString();
}

}  // namespace
}  // namespace ordo::restore
