// The continuous archiving loop: it ships commits while the database writes, retries with
// backoff while the repository fails and catches up when it recovers, stops on a diverged data
// directory without spinning, ships the last commits on Stop(), and keeps its figures.
#include "backup/archive_loop.h"

#include <gtest/gtest.h>

#include "io/fault_file_system.h"
#include "restore/archive_plan.h"
#include "restore/restore.h"
#include "tests/backup_fixtures.h"
#include "util/clock.h"

namespace ordo::backup {
namespace {

// Generous bound for waits on the loop thread: a test fails, instead of hanging, when the loop
// does not get there. Never a timing assertion.
constexpr int64_t kWaitMs = 60 * 1000;

class ArchiveLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, DB::Open(testing::SmallSegments(), Data()));
    testing::InitAndOpen(&faults_, Repo());  // created, then opened again by each loop
  }
  std::string Data() { return scratch_.Sub("data"); }
  std::string Repo() { return scratch_.Sub("repo"); }

  std::unique_ptr<ContinuousArchiver> StartLoop(int64_t interval_ms = kArchiveIntervalMinMs,
                                                int64_t backoff_max_ms = 400) {
    ContinuousArchiverOptions options;
    options.interval_ms = interval_ms;
    options.backoff_max_ms = backoff_max_ms;
    auto started = ContinuousArchiver::Start(
        FileSystem::Default(), Data(), testing::OpenRepositoryOrDie(&faults_, Repo()), options);
    EXPECT_OK(started);
    return started.ok() ? std::move(*started) : nullptr;
  }
  void Write(int count, int salt = 0) {
    for (int i = 0; i < count; ++i) {
      ASSERT_OK(db_->Put("key" + std::to_string((i + salt) % 97),
                         std::string(500, static_cast<char>('a' + (i + salt) % 26))));
    }
  }
  // Waits, round by round, until `predicate` holds for the snapshot or the loop ended.
  template <typename Predicate>
  ArchiveSnapshot WaitFor(const ContinuousArchiver& loop, Predicate predicate) {
    ArchiveSnapshot snapshot = loop.Snapshot();
    const int64_t deadline = MonotonicMicros() + kWaitMs * 1000;
    while (!predicate(snapshot) && snapshot.state != ArchiveState::kFailed &&
           MonotonicMicros() < deadline) {
      snapshot = loop.WaitForRounds(snapshot.rounds + 1, kWaitMs);
    }
    return snapshot;
  }
  void ExpectRestoresToLatest(const std::string& name) {
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
    auto plan = restore::PlanRestore(repository.get(), restore::PointTarget{});
    ASSERT_OK(plan);
    restore::RestoreReport report;
    const Status restored = restore::RestoreFrom(FileSystem::Default(), repository.get(),
                                                 plan->Sources(), scratch_.Sub(name), {}, &report);
    ASSERT_OK(restored);
    testing::ExpectRestoredState(scratch_.Sub(name), testing::RecordState(db_.get()), name);
  }

  ordo::testing::ScratchDirectory scratch_;
  FaultFileSystem faults_;  // the repository's file system; the data directory's is the default
  std::unique_ptr<DB> db_;
};

TEST_F(ArchiveLoopTest, RefusesAnIntervalOutsideItsLimits) {
  for (const int64_t interval_ms : {kArchiveIntervalMinMs - 1, kArchiveIntervalMaxMs + 1}) {
    ContinuousArchiverOptions options;
    options.interval_ms = interval_ms;
    auto started = ContinuousArchiver::Start(
        FileSystem::Default(), Data(), testing::OpenRepositoryOrDie(&faults_, Repo()), options);
    EXPECT_TRUE(started.status().IsInvalidArgument()) << interval_ms;
  }
  auto boundary = StartLoop(kArchiveIntervalMinMs);
  ASSERT_NE(boundary, nullptr);
  EXPECT_OK(boundary->Stop());
}

TEST_F(ArchiveLoopTest, ShipsCommitsWhileTheDatabaseWritesAndKeepsFigures) {
  auto loop = StartLoop();
  ASSERT_NE(loop, nullptr);
  for (int batch = 0; batch < 20; ++batch) Write(40, batch);  // several segments
  const uint64_t acked = db_->AckedLsn();
  const ArchiveSnapshot snapshot =
      WaitFor(*loop, [&](const ArchiveSnapshot& s) { return s.archived_lsn >= acked; });
  EXPECT_EQ(snapshot.state, ArchiveState::kOk);
  EXPECT_EQ(snapshot.status, "ok");
  EXPECT_EQ(snapshot.archived_lsn, acked);
  EXPECT_EQ(snapshot.errors, 0u);
  EXPECT_EQ(snapshot.records, acked);  // every commit once: no duplicate
  EXPECT_GE(snapshot.pieces, db_->GetStatistics().segments);
  EXPECT_GT(snapshot.bytes_read, 0u);
  EXPECT_GT(snapshot.bytes_written, 0u);
  EXPECT_EQ(snapshot.lags_counted, acked);
  EXPECT_LE(snapshot.lag_p50_micros, snapshot.lag_p99_micros);
  EXPECT_LE(snapshot.lag_p99_micros, snapshot.lag_max_micros);
  EXPECT_GT(snapshot.covered_since_micros, 0);
  EXPECT_EQ(LiveLagMicros(snapshot, acked, WallMicros()), 0);
  ASSERT_OK(loop->Stop());
  ExpectRestoresToLatest("latest");
}

// A sealed segment does not wait for the interval: with an interval of an hour, the loop's
// first round runs at start, and the next one only because a segment was sealed.
TEST_F(ArchiveLoopTest, ShipsASealedSegmentWithoutWaitingForTheInterval) {
  Write(10);
  auto loop = StartLoop(kArchiveIntervalMaxMs);
  ASSERT_NE(loop, nullptr);
  const ArchiveSnapshot first = loop->WaitForRounds(1, kWaitMs);
  ASSERT_EQ(first.rounds, 1u);
  const uint64_t segments = db_->GetStatistics().segments;
  while (db_->GetStatistics().segments == segments) Write(40);
  const uint64_t sealed_segments = db_->GetStatistics().segments - 1;  // all but the active one
  const ArchiveSnapshot after =
      WaitFor(*loop, [](const ArchiveSnapshot& s) { return s.rounds >= 2; });
  EXPECT_EQ(after.state, ArchiveState::kOk);
  ASSERT_GE(after.rounds, 2u);
  auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
  auto pieces = repository->ListArchivePieces(repository->ListArchivedDatabases()->front());
  ASSERT_OK(pieces);
  uint64_t sealed_pieces = 0;
  for (const repository::ArchivePiece& piece : *pieces) sealed_pieces += piece.sealed ? 1 : 0;
  EXPECT_GE(sealed_pieces, sealed_segments);
  ASSERT_OK(loop->Stop());
}

TEST_F(ArchiveLoopTest, RetriesWithBackoffWhileTheRepositoryFailsAndCatchesUp) {
  auto loop = StartLoop();
  ASSERT_NE(loop, nullptr);
  Write(50);
  const uint64_t first = db_->AckedLsn();
  WaitFor(*loop, [&](const ArchiveSnapshot& s) { return s.archived_lsn >= first; });

  faults_.FailAfter(1, FaultKind::kAny, Errno::kENOSPC, /*persistent=*/true);
  Write(300, 7);  // commits go on while the repository is full
  const uint64_t during = db_->AckedLsn();
  ArchiveSnapshot failing = WaitFor(*loop, [](const ArchiveSnapshot& s) { return s.errors >= 3; });
  EXPECT_EQ(failing.state, ArchiveState::kRetrying);
  EXPECT_EQ(failing.status, "retrying");
  EXPECT_NE(failing.last_error.find("injected fault"), std::string::npos) << failing.last_error;
  EXPECT_LT(failing.archived_lsn, during);
  EXPECT_GT(LiveLagMicros(failing, during, WallMicros()), 0);

  faults_.Reset();  // the repository has room again
  const ArchiveSnapshot recovered = WaitFor(*loop, [&](const ArchiveSnapshot& s) {
    return s.state == ArchiveState::kOk && s.archived_lsn >= during;
  });
  EXPECT_EQ(recovered.state, ArchiveState::kOk);
  EXPECT_EQ(recovered.archived_lsn, during);
  EXPECT_GE(recovered.errors, 3u);
  EXPECT_FALSE(recovered.last_error.empty());  // kept for the operator
  ASSERT_OK(loop->Stop());

  auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
  auto databases = repository->ListArchivedDatabases();
  ASSERT_TRUE(databases.ok() && databases->size() == 1u);
  auto pieces = repository->ListArchivePieces(databases->front());
  ASSERT_OK(pieces);
  const restore::ArchiveLayout layout = restore::LayOutArchive(databases->front(), *pieces);
  EXPECT_EQ(layout.runs.size(), 1u);  // no gap, no duplicate left by the failures
  ExpectRestoresToLatest("after-faults");
}

TEST_F(ArchiveLoopTest, StopShipsTheLastCommitsAndJoinsAtOnce) {
  // An interval far longer than the test: Stop() must wake the loop, not wait for it.
  auto loop = StartLoop(kArchiveIntervalMaxMs);
  ASSERT_NE(loop, nullptr);
  WaitFor(*loop, [](const ArchiveSnapshot& s) { return s.rounds >= 1; });
  // Few enough commits that no segment is sealed: a seal would start a round early (see
  // ShipsASealedSegmentWithoutWaitingForTheInterval) and the count below would depend on timing.
  Write(60);
  ASSERT_EQ(db_->GetStatistics().segments, 1u);
  const uint64_t acked = db_->AckedLsn();
  ASSERT_OK(db_->Close());  // as the server does: close, then the final round
  ASSERT_OK(loop->Stop());
  const ArchiveSnapshot snapshot = loop->Snapshot();
  EXPECT_EQ(snapshot.archived_lsn, acked);
  EXPECT_EQ(snapshot.rounds, 2u);
  EXPECT_OK(loop->Stop());  // idempotent
}

TEST_F(ArchiveLoopTest, ADivergedDataDirectoryStopsTheLoopWithoutSpinning) {
  Write(60);
  {
    auto loop = StartLoop();
    ASSERT_NE(loop, nullptr);
    const uint64_t acked = db_->AckedLsn();
    WaitFor(*loop, [&](const ArchiveSnapshot& s) { return s.archived_lsn >= acked; });
  }
  // Another database in the same place: its id differs, so it is archived apart; make the same
  // id diverge instead by cutting the archived history back (a restore to an earlier point).
  ASSERT_OK(db_->Close());
  db_.reset();
  auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
  restore::PointTarget earlier;
  earlier.kind = restore::PointTarget::Kind::kLsn;
  earlier.lsn = 10;
  auto plan = restore::PlanRestore(repository.get(), earlier);
  ASSERT_OK(plan);
  restore::RestoreReport report;
  ASSERT_OK(restore::RestoreFrom(FileSystem::Default(), repository.get(), plan->Sources(),
                                 scratch_.Sub("earlier"), {}, &report, earlier));
  {
    std::unique_ptr<DB> earlier_db;
    ASSERT_OK_AND_ASSIGN(earlier_db, DB::Open(testing::SmallSegments(), scratch_.Sub("earlier")));
    ASSERT_OK(earlier_db->Put("a different", "history"));
  }
  ContinuousArchiverOptions options;
  options.interval_ms = kArchiveIntervalMinMs;
  auto started = ContinuousArchiver::Start(FileSystem::Default(), scratch_.Sub("earlier"),
                                           testing::OpenRepositoryOrDie(&faults_, Repo()), options);
  ASSERT_OK(started);
  auto& loop = *started;
  const ArchiveSnapshot failed =
      WaitFor(*loop, [](const ArchiveSnapshot& s) { return s.state == ArchiveState::kFailed; });
  EXPECT_EQ(failed.status, "failed: diverged");
  EXPECT_NE(failed.last_error.find("does not continue the archive"), std::string::npos)
      << failed.last_error;
  // The thread has ended after that one round: no final round, no second error.
  EXPECT_OK(loop->Stop());
  EXPECT_EQ(loop->Snapshot().rounds, 1u);
  EXPECT_EQ(loop->Snapshot().errors, 1u);
}

TEST(LiveLagTest, IsZeroWhenArchivedElseCountsFromTheLaterKnownPoint) {
  ArchiveSnapshot snapshot;
  snapshot.started_micros = 1'000;
  EXPECT_EQ(LiveLagMicros(snapshot, 0, 5'000), 0);
  EXPECT_EQ(LiveLagMicros(snapshot, 3, 5'000), 4'000);  // nothing known: since the start
  snapshot.archived_lsn = 3;
  snapshot.archived_commit_time_micros = 2'000;
  EXPECT_EQ(LiveLagMicros(snapshot, 3, 5'000), 0);
  EXPECT_EQ(LiveLagMicros(snapshot, 4, 5'000), 3'000);
  snapshot.covered_since_micros = 2'500;
  EXPECT_EQ(LiveLagMicros(snapshot, 4, 5'000), 2'500);
}

TEST(RoundPeriodTest, StartsEarlyByTheLongestRecentRoundAndAtMostHalfAnInterval) {
  EXPECT_EQ(RoundPeriodMicros(1000, {}), 1'000'000);  // no round timed yet: the interval
  EXPECT_EQ(RoundPeriodMicros(1000, {30'000, 50'000, 20'000}), 950'000);
  EXPECT_EQ(RoundPeriodMicros(1000, {900'000}), 500'000);  // never more than twice an interval
  EXPECT_EQ(RoundPeriodMicros(100, {40'000}), 60'000);
}

}  // namespace
}  // namespace ordo::backup
