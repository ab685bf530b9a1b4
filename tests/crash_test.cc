// Crash and I/O-error tests of the engine on the fault-injecting file system.
//
// A scripted workload (puts, overwrites, deletes, batches, a clear, rotations through a tiny
// segment size, checkpoints) runs one write at a time, or in groups of up to eight writes that
// go out together (one write(2) of many records and pages). Each test counts the sync points
// (or the mutating calls) of one clean run, then for every one of them runs the workload again,
// crashing or failing there, and tears what was not synced in every way the crash model knows
// (a prefix, pages or byte ranges out of order, zeros or garbage). After the crash the database
// must open by itself (a torn write is never called damage) at some LSN K, and hold exactly the
// state after the first K writes, where K is at least every write known durable (in sync mode
// always: every acknowledged one) and at most every write submitted. Nothing acknowledged may
// be missing; nothing never written may appear.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "db/db_internal.h"
#include "io/fault_file_system.h"
#include "log/format.h"
#include "log/segment_reader.h"
#include "log/write_batch_internal.h"
#include "ordo/db.h"
#include "tests/test_util.h"

namespace ordo {
namespace {

using State = std::map<std::string, std::string>;

struct Step {
  WriteBatch batch;
  bool checkpoint_after = false;
  bool group_end = true;  // the grouped runner commits the group after this write
  // A transaction: these batches are submitted one by one inside one atomic section
  // (db_internal.h), which logs them as one record; `batch` holds all their ops, in order.
  std::vector<WriteBatch> parts;
};

std::vector<Step> Workload() {
  std::vector<Step> steps;
  for (int i = 0; i < 48; ++i) {
    Step step;
    const std::string key = "key" + std::to_string(i % 17);
    if (i % 11 == 10) {
      step.batch.Delete("key" + std::to_string((i + 3) % 17));
    } else if (i % 7 == 6) {
      step.batch.Put(key, std::string(200, static_cast<char>('a' + i % 26)));
      step.batch.Put("batch" + std::to_string(i), "b");
      step.batch.Delete("key" + std::to_string((i + 5) % 17));
    } else if (i == 30) {
      step.batch.ClearDatabase();
      step.batch.Put("after-clear", "yes");
    } else {
      // Large enough that the 64 KiB segments rotate every dozen writes.
      step.batch.Put(key, std::string(5000 + i, static_cast<char>('A' + i % 26)));
    }
    step.checkpoint_after = i % 13 == 12;
    steps.push_back(std::move(step));
  }
  return steps;
}

// Groups of 1 to 8 writes of 40 bytes to 9 KB (so a group is one page or many), with deletes,
// a clear, rotations of the 64 KiB segments and checkpoints.
std::vector<Step> GroupedWorkload() {
  std::vector<Step> steps;
  size_t group_left = 0;
  for (int i = 0; i < 90; ++i) {
    if (group_left == 0) group_left = 1 + (i * 7 + 3) % 8;
    Step step;
    const std::string key = "g" + std::to_string(i % 23);
    if (i % 13 == 12) {
      step.batch.Delete("g" + std::to_string((i + 4) % 23));
    } else if (i == 50) {
      step.batch.ClearDatabase();
      step.batch.Put("after-clear", "yes");
    } else {
      const size_t sizes[] = {40, 1500, 9000, 300, 4100};
      step.batch.Put(key, std::string(sizes[i % 5] + i, static_cast<char>('a' + i % 26)));
    }
    step.group_end = --group_left == 0;
    step.checkpoint_after = step.group_end && i % 29 == 28;
    steps.push_back(std::move(step));
  }
  steps.back().group_end = true;
  return steps;
}

// Transactions of 1 to 5 writes (MULTI/EXEC, scripts), grouped as GroupedWorkload's writes
// are: each transaction is one record, so LSN n is transaction n, and a crash keeps or drops
// each one whole.
std::vector<Step> TransactionWorkload() {
  std::vector<Step> steps;
  size_t group_left = 0;
  for (int i = 0; i < 60; ++i) {
    if (group_left == 0) group_left = 1 + (i * 5 + 2) % 6;
    Step step;
    const int parts = 1 + i % 5;
    for (int j = 0; j < parts; ++j) {
      WriteBatch part;
      const std::string key = "t" + std::to_string((i * 3 + j) % 19);
      const std::string other = "t" + std::to_string((i * 3 + j + 5) % 19);
      if ((i + j) % 9 == 8) {
        part.Delete("t" + std::to_string((i + j + 4) % 19));
      } else if ((i + j) % 7 == 3) {  // metadata-only ops (FORMAT.md 10 to 12): no value
        WriteBatchInternal::Rename(&part, 0, key, 0, other);
      } else if ((i + j) % 11 == 5) {
        WriteBatchInternal::Copy(&part, 0, other, 0, key);
      } else if ((i + j) % 13 == 6) {
        WriteBatchInternal::SetExpiry(&part, 0, key, 4102444800000);
      } else if (i == 33 && j == 1) {
        part.ClearDatabase();
      } else {
        const size_t sizes[] = {30, 2500, 7000, 500};
        part.Put(key, std::string(sizes[(i + j) % 4] + i, static_cast<char>('a' + (i + j) % 26)));
      }
      for (const auto& op : WriteBatchInternal::Ops(part)) {
        WriteBatchInternal::MutableOps(&step.batch).push_back(op);
      }
      step.parts.push_back(std::move(part));
    }
    step.group_end = --group_left == 0;
    step.checkpoint_after = step.group_end && i % 23 == 22;
    steps.push_back(std::move(step));
  }
  steps.back().group_end = true;
  return steps;
}

void Apply(const WriteBatch& batch, State* state) {
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    switch (op.type) {
      case log::OpType::kPut:
        (*state)[op.key] = op.value;
        break;
      case log::OpType::kDelete:
      case log::OpType::kExpire:
        state->erase(op.key);
        break;
      case log::OpType::kClear:
        state->clear();
        break;
      case log::OpType::kRestorePoint:
        break;
      case log::OpType::kFlushDatabase:
        ADD_FAILURE() << "the crash workloads use database 0 alone";
        break;
      case log::OpType::kSetExpiry:  // far in the future: the value stays readable
        break;
      case log::OpType::kRename:
      case log::OpType::kCopy: {
        assert(op.db == 0 && op.target_db == 0);
        auto found = state->find(op.key);
        if (found == state->end()) break;  // an absent key: no change
        const std::string value = found->second;
        if (op.type == log::OpType::kRename) state->erase(found);
        (*state)[op.target_key] = value;
        break;
      }
      case log::OpType::kHashSet:
      case log::OpType::kHashDelete:
      case log::OpType::kSetAdd:
      case log::OpType::kSetRemove:
        ADD_FAILURE() << "the crash workloads write strings alone (collections: to come)";
        break;
    }
  }
}

Options TestOptions(FileSystem* fs, SyncMode sync_mode = SyncMode::kAlways) {
  Options options;
  options.file_system = fs;
  options.sync_mode = sync_mode;
  options.segment_bytes = kSegmentBytesMin;
  options.checkpoint_interval_bytes = 0;  // checkpoints only where the workload asks
  options.expiry_sweep_interval_ms = 0;
  return options;
}

State ReadState(DB* db) {
  State state;
  Status walked =
      db->ForEach("", "", [&](std::string_view key, std::string_view value, const ReadInfo&) {
        state.emplace(key, value);
        return true;
      });
  EXPECT_OK(walked);
  return state;
}

// How the workload's writes are committed.
enum class Committer {
  kThread,  // DB::Write: the committer thread
  kCaller,  // SubmitDeferred then CommitPending (db_internal.h), as the server's event loop does
};

// Runs the workload until the first failed write; returns how many writes were acknowledged.
size_t RunUntilFailure(db::DBInternal* db, const std::vector<Step>& steps,
                       Committer committer = Committer::kThread) {
  size_t acknowledged = 0;
  for (const auto& step : steps) {
    if (committer == Committer::kThread) {
      if (!db->Write(step.batch).ok()) break;
    } else {
      Result<uint64_t> lsn = db->SubmitDeferred(step.batch);
      if (!lsn.ok() || !db->CommitPending().ok()) break;
      // CommitPending leaves the group to the committer thread when that one is busy.
      if (!db->WaitForAck(*lsn).ok()) break;
    }
    ++acknowledged;
    if (step.checkpoint_after && !db->Checkpoint().ok()) break;
  }
  return acknowledged;
}

// Submits a step deferred: its batch, or its parts inside one atomic section.
Result<uint64_t> SubmitStep(db::DBInternal* db, const Step& step) {
  if (step.parts.empty()) return db->SubmitDeferred(step.batch);
  db->BeginAtomic();
  for (const WriteBatch& part : step.parts) {
    Result<uint64_t> lsn = db->SubmitDeferred(part);
    if (!lsn.ok()) {
      (void)db->EndAtomic();
      return lsn.status();
    }
  }
  return db->EndAtomic();
}

// How far a grouped run got before its first failure.
struct GroupedRun {
  size_t submitted = 0;     // writes handed to the database
  size_t acknowledged = 0;  // writes whose acknowledgement came back
  size_t durable = 0;       // writes the database knew durable (synced) when it stopped
};

// Runs the workload a group at a time: SubmitDeferred for each write of the group, then one
// CommitPending (one write(2) for the group, or for several when the committer thread joins in),
// then waits for the last acknowledgement. LSN n is write n: a fresh database starts at LSN 1.
GroupedRun RunGroupedUntilFailure(db::DBInternal* db, const std::vector<Step>& steps) {
  GroupedRun run;
  uint64_t last_lsn = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    Result<uint64_t> lsn = SubmitStep(db, steps[i]);
    if (!lsn.ok()) break;
    ++run.submitted;
    last_lsn = *lsn;
    if (!steps[i].group_end) continue;
    if (!db->CommitPending().ok() || !db->WaitForAck(last_lsn).ok()) break;
    run.acknowledged = run.submitted;
    if (steps[i].checkpoint_after && !db->Checkpoint().ok()) break;
  }
  run.durable = db->GetStatistics().durable_lsn;
  return run;
}

class CrashTest : public ::testing::Test {
 protected:
  std::string Directory(const std::string& name) {
    // The fault file system models durability itself, so the scratch space need not be
    // durable: tmpfs makes the loops fast.
    const std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    const std::string path = base + "/ordo-crash-" + std::to_string(::getpid()) + "-" + name;
    std::filesystem::remove_all(path);
    created_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& path : created_) std::filesystem::remove_all(path);
  }

  // Reopens `directory` and checks its state is the acknowledged prefix (or one write more).
  void ExpectAcknowledgedPrefix(FileSystem* fs, const std::string& directory,
                                const std::vector<Step>& steps, size_t acknowledged,
                                const std::string& context) {
    ExpectPrefix(fs, directory, SyncMode::kAlways, steps, acknowledged,
                 std::min(acknowledged + 1, steps.size()), context);
  }

  // Reopens `directory`, which must open by itself, at some LSN K in [at_least, at_most], with
  // exactly the state of the first K writes; then checks the digest, that it takes writes, and
  // that it passes level 3.
  void ExpectPrefix(FileSystem* fs, const std::string& directory, SyncMode sync_mode,
                    const std::vector<Step>& steps, size_t at_least, size_t at_most,
                    const std::string& context, OpenReport* opened_report = nullptr) {
    OpenReport local_report;
    OpenReport& report = opened_report != nullptr ? *opened_report : local_report;
    auto opened = DB::Open(TestOptions(fs, sync_mode), directory, &report);
    ASSERT_OK(opened) << context << ": " << opened.status().ToString();
    std::unique_ptr<DB> db = std::move(*opened);
    const uint64_t lsn = report.last_lsn;
    ASSERT_GE(lsn, at_least) << context << ": writes known durable are missing";
    ASSERT_LE(lsn, at_most) << context << ": LSN past every write submitted";
    if (report.cut_from_lsn != 0) {
      // A cut starts right after what was kept, and never at a write known durable.
      EXPECT_EQ(report.cut_from_lsn, lsn + 1) << context;
      EXPECT_GT(report.cut_from_lsn, at_least) << context;
    }
    State expected;
    for (size_t i = 0; i < lsn; ++i) Apply(steps[i].batch, &expected);
    const State actual = ReadState(db.get());
    ASSERT_TRUE(actual == expected)
        << context << ": state has " << actual.size() << " keys, the first " << lsn
        << " writes make " << expected.size();
    auto computed = db->ComputeDigest();
    ASSERT_OK(computed) << context;
    EXPECT_EQ(*computed, db->Digest()) << context;
    // The database must take writes again after recovery.
    ASSERT_OK(db->Put("post-recovery", "ok")) << context;
    ASSERT_OK(db->Close()) << context;
    Options check = TestOptions(fs);
    check.integrity_level = 3;
    ASSERT_OK(DB::Open(check, directory)) << context << ": level 3 after recovery";
  }

  void CrashAtEverySyncPoint(Committer committer);
  void PowerLossBeforeEveryMutation(Committer committer);
  // Where the grouped crash loops lose power.
  enum class PowerLoss {
    kAfterSync,       // just after each sync point completes (CrashAfterSyncs)
    kAtSync,          // as each sync point is issued, the writes before it unsynced (CrashAtSync)
    kBeforeMutation,  // before each mutating call (FailAfter, persistent)
  };
  // The grouped workload in `sync_mode`, losing power at every point `where` names, each crash
  // torn in every crash mode (before every mutation: one mode a point, in turn).
  void GroupedCrashes(SyncMode sync_mode, PowerLoss where,
                      const std::vector<Step>& steps = GroupedWorkload());

  std::vector<std::string> created_;
};

TEST_F(CrashTest, CrashAtEverySyncPointReopensToAcknowledgedPrefix) {
  CrashAtEverySyncPoint(Committer::kThread);
}

TEST_F(CrashTest, CrashAtEverySyncPointWithCallerCommitsReopensToAcknowledgedPrefix) {
  CrashAtEverySyncPoint(Committer::kCaller);
}

void CrashTest::CrashAtEverySyncPoint(Committer committer) {
  const auto steps = Workload();
  uint64_t sync_points = 0;
  {
    FaultFileSystem fs;
    const std::string directory = Directory("count");
    std::unique_ptr<db::DBInternal> db;
    ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
    fs.Reset();
    ASSERT_EQ(RunUntilFailure(db.get(), steps, committer), steps.size());
    sync_points = fs.sync_count();
    // The caller path is what this variant is for: it must actually have run.
    const uint64_t caller_groups = db->GetStatistics().caller_groups;
    if (committer == Committer::kCaller) {
      EXPECT_GT(caller_groups, 0u);
    } else {
      EXPECT_EQ(caller_groups, 0u);
    }
    ASSERT_OK(db->Close());
  }
  ASSERT_GT(sync_points, steps.size());
  RecordProperty("sync_points", static_cast<int>(sync_points));
  std::printf("workload: %zu writes, %llu sync points\n", steps.size(),
              static_cast<unsigned long long>(sync_points));
  for (uint64_t point = 1; point <= sync_points; ++point) {
    for (const bool at_sync : {false, true}) {
      for (const CrashMode mode : kCrashModes) {
        FaultFileSystem fs;
        const std::string directory = Directory("point" + std::to_string(point));
        size_t acknowledged = 0;
        {
          std::unique_ptr<db::DBInternal> db;
          ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
          fs.Reset();
          // Just after the sync point, or as it is issued (what was written before it unsynced).
          if (at_sync) {
            fs.CrashAtSync(point);
          } else {
            fs.CrashAfterSyncs(point);
          }
          acknowledged = RunUntilFailure(db.get(), steps, committer);
          db.reset();  // Close fails against the frozen file system; that is the crash
        }
        ASSERT_OK(fs.SimulateCrash(mode, point));
        ExpectAcknowledgedPrefix(&fs, directory, steps, acknowledged,
                                 std::string(at_sync ? "crash at" : "crash after") +
                                     " sync point " + std::to_string(point) + ", " +
                                     CrashModeName(mode));
        if (HasFatalFailure()) return;
        std::filesystem::remove_all(directory);
      }
    }
  }
}

TEST_F(CrashTest, PowerLossBeforeEveryMutationReopensToAcknowledgedPrefix) {
  PowerLossBeforeEveryMutation(Committer::kThread);
}

TEST_F(CrashTest, PowerLossBeforeEveryMutationWithCallerCommits) {
  PowerLossBeforeEveryMutation(Committer::kCaller);
}

void CrashTest::PowerLossBeforeEveryMutation(Committer committer) {
  // A power loss can come between any two calls, not only at sync points: before the nth
  // mutating call, every call from the nth on fails and changes nothing, then the crash.
  const auto steps = Workload();
  uint64_t mutations = 0;
  {
    FaultFileSystem fs;
    const std::string directory = Directory("count-mutations");
    std::unique_ptr<db::DBInternal> db;
    ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
    fs.Reset();
    ASSERT_EQ(RunUntilFailure(db.get(), steps, committer), steps.size());
    mutations = fs.mutation_count();
  }
  ASSERT_GT(mutations, 2 * steps.size());
  for (uint64_t point = 1; point <= mutations; ++point) {
    FaultFileSystem fs;
    const std::string directory = Directory("mutation" + std::to_string(point));
    size_t acknowledged = 0;
    {
      std::unique_ptr<db::DBInternal> db;
      ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
      fs.Reset();
      fs.FailAfter(point, FaultKind::kAny, Errno::kEIO, /*persistent=*/true);
      acknowledged = RunUntilFailure(db.get(), steps, committer);
    }
    const CrashMode mode = kCrashModes[point % std::size(kCrashModes)];
    ASSERT_OK(fs.SimulateCrash(mode, point));
    ExpectAcknowledgedPrefix(
        &fs, directory, steps, acknowledged,
        "power loss before mutation " + std::to_string(point) + ", " + CrashModeName(mode));
    if (HasFatalFailure()) return;
    std::filesystem::remove_all(directory);
  }
}

TEST_F(CrashTest, GroupedWritesLosePowerAtAndAfterEverySyncPointInSyncModeAlways) {
  GroupedCrashes(SyncMode::kAlways, PowerLoss::kAtSync);
  GroupedCrashes(SyncMode::kAlways, PowerLoss::kAfterSync);
}
TEST_F(CrashTest, GroupedWritesLosePowerAtAndAfterEverySyncPointInSyncModeEverySec) {
  GroupedCrashes(SyncMode::kEverySec, PowerLoss::kAtSync);
  GroupedCrashes(SyncMode::kEverySec, PowerLoss::kAfterSync);
}
TEST_F(CrashTest, GroupedWritesLosePowerAtAndAfterEverySyncPointInSyncModeNone) {
  GroupedCrashes(SyncMode::kNone, PowerLoss::kAtSync);
  GroupedCrashes(SyncMode::kNone, PowerLoss::kAfterSync);
}
TEST_F(CrashTest, GroupedWritesLosePowerBeforeEveryMutationInSyncModeAlways) {
  GroupedCrashes(SyncMode::kAlways, PowerLoss::kBeforeMutation);
}
TEST_F(CrashTest, GroupedWritesLosePowerBeforeEveryMutationInSyncModeEverySec) {
  GroupedCrashes(SyncMode::kEverySec, PowerLoss::kBeforeMutation);
}

TEST_F(CrashTest, TransactionsLosePowerAtAndAfterEverySyncPointAndStayWhole) {
  GroupedCrashes(SyncMode::kAlways, PowerLoss::kAtSync, TransactionWorkload());
  if (HasFatalFailure()) return;
  GroupedCrashes(SyncMode::kAlways, PowerLoss::kAfterSync, TransactionWorkload());
}

TEST_F(CrashTest, TransactionsLosePowerBeforeEveryMutationAndStayWhole) {
  GroupedCrashes(SyncMode::kAlways, PowerLoss::kBeforeMutation, TransactionWorkload());
}

void CrashTest::GroupedCrashes(SyncMode sync_mode, PowerLoss where,
                               const std::vector<Step>& steps) {
  const bool at_mutations = where == PowerLoss::kBeforeMutation;
  uint64_t points = 0;
  {
    FaultFileSystem fs;
    const std::string directory = Directory("count-grouped");
    std::unique_ptr<db::DBInternal> db;
    ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs, sync_mode), directory));
    fs.Reset();
    const GroupedRun run = RunGroupedUntilFailure(db.get(), steps);
    ASSERT_EQ(run.acknowledged, steps.size());
    points = at_mutations ? fs.mutation_count() : fs.sync_count();
    ASSERT_OK(db->Close());
  }
  ASSERT_GT(points, 3u);
  std::printf("grouped workload (%s): %zu writes, %llu %s\n", SyncModeName(sync_mode), steps.size(),
              static_cast<unsigned long long>(points), at_mutations ? "mutations" : "sync points");
  for (uint64_t point = 1; point <= points; ++point) {
    // Every crash mode at every point would be 6x the loop before every mutation; there one
    // mode a point, in turn, covers each mode at a sixth of the points.
    std::vector<CrashMode> modes(std::begin(kCrashModes), std::end(kCrashModes));
    if (at_mutations) modes = {kCrashModes[point % std::size(kCrashModes)]};
    for (const CrashMode mode : modes) {
      FaultFileSystem fs;
      const std::string directory = Directory("grouped" + std::to_string(point));
      GroupedRun run;
      {
        std::unique_ptr<db::DBInternal> db;
        ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs, sync_mode), directory));
        fs.Reset();
        switch (where) {
          case PowerLoss::kAfterSync:
            fs.CrashAfterSyncs(point);
            break;
          case PowerLoss::kAtSync:
            fs.CrashAtSync(point);
            break;
          case PowerLoss::kBeforeMutation:
            fs.FailAfter(point, FaultKind::kAny, Errno::kEIO, /*persistent=*/true);
            break;
        }
        run = RunGroupedUntilFailure(db.get(), steps);
      }
      ASSERT_OK(fs.SimulateCrash(mode, point));
      // What the database knew durable survives; in sync mode always that is every write
      // acknowledged (it acknowledges only after the sync).
      if (sync_mode == SyncMode::kAlways) {
        EXPECT_GE(run.durable, run.acknowledged);
      }
      ExpectPrefix(&fs, directory, sync_mode, steps, run.durable, run.submitted,
                   std::string(SyncModeName(sync_mode)) + ", power loss " +
                       (where == PowerLoss::kBeforeMutation ? "before mutation "
                        : where == PowerLoss::kAtSync       ? "at sync point "
                                                            : "after sync point ") +
                       std::to_string(point) + ", " + CrashModeName(mode));
      if (HasFatalFailure()) return;
      std::filesystem::remove_all(directory);
    }
  }
}

struct FaultCase {
  FaultKind kind;
  Errno error;
  bool persistent;
  const char* name;
};

TEST_F(CrashTest, WriteAndSyncErrorsFailTheDatabaseAndLoseNothingAcknowledged) {
  const auto steps = Workload();
  const FaultCase cases[] = {
      {FaultKind::kWrite, Errno::kEIO, false, "EIO on write, once"},
      {FaultKind::kWrite, Errno::kENOSPC, true, "ENOSPC on write, forever"},
      {FaultKind::kSync, Errno::kEIO, false, "EIO on fsync, once"},
      {FaultKind::kSync, Errno::kENOSPC, true, "ENOSPC on fsync, forever"},
      {FaultKind::kAny, Errno::kEIO, false, "EIO on any mutation, once"},
  };
  for (const auto& fault : cases) {
    for (uint64_t n = 1; n <= 60; n += 3) {
      for (Committer committer : {Committer::kThread, Committer::kCaller}) {
        const std::string context = std::string(fault.name) + " at call " + std::to_string(n) +
                                    (committer == Committer::kCaller ? ", caller commits" : "");
        FaultFileSystem fs;
        fs.SetShortWrite(n % 2 ? ShortWrite::kHalf : ShortWrite::kNone);
        const std::string directory = Directory("fault");
        size_t acknowledged = 0;
        {
          std::unique_ptr<db::DBInternal> db;
          ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
          fs.Reset();
          fs.SetShortWrite(n % 2 ? ShortWrite::kHalf : ShortWrite::kNone);
          fs.FailAfter(n, fault.kind, fault.error, fault.persistent);
          acknowledged = RunUntilFailure(db.get(), steps, committer);
          if (acknowledged < steps.size() && fs.injected_count() > 0) {
            // Failed for good: even when the fault was once, the next write is refused.
            const Statistics stats = db->GetStatistics();
            if (stats.failed) {
              Status again = db->Put("after-failure", "x");
              EXPECT_TRUE(again.IsFailed()) << context << ": " << again.ToString();
              EXPECT_NE(again.message().find("injected fault"), std::string::npos) << context;
              // Reads serve what was acknowledged.
              State expected;
              for (size_t i = 0; i < acknowledged; ++i) Apply(steps[i].batch, &expected);
              EXPECT_EQ(ReadState(db.get()), expected) << context;
            }
          }
        }
        ASSERT_OK(fs.SimulateCrash(CrashMode::kDropUnsynced, n));
        ExpectAcknowledgedPrefix(&fs, directory, steps, acknowledged, context);
        if (HasFatalFailure()) return;
        std::filesystem::remove_all(directory);
      }
    }
  }
}

TEST_F(CrashTest, CrashDuringRecoveryIsSafeToRepeat) {
  // A torn tail is cut during recovery; a crash in the middle of recovery itself (freeze at
  // each of its sync points) must leave a directory that the next recovery handles.
  const auto steps = Workload();
  for (uint64_t point = 1; point <= 6; ++point) {
    FaultFileSystem fs;
    const std::string directory = Directory("recovery" + std::to_string(point));
    size_t acknowledged = 0;
    {
      std::unique_ptr<db::DBInternal> db;
      ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
      fs.Reset();
      fs.CrashAfterSyncs(40);
      acknowledged = RunUntilFailure(db.get(), steps);
    }
    ASSERT_OK(fs.SimulateCrash(CrashMode::kTornWriteWithGarbage, point));
    {
      fs.CrashAfterSyncs(point);
      auto opened = DB::Open(TestOptions(&fs), directory);
      (void)opened;  // may fail against the frozen file system: that is the crash
    }
    ASSERT_OK(fs.SimulateCrash(CrashMode::kDropUnsynced, point));
    ExpectAcknowledgedPrefix(&fs, directory, steps, acknowledged,
                             "crash during recovery at sync point " + std::to_string(point));
    if (HasFatalFailure()) return;
  }
}

// Issue 19, the shape seen after real power cuts: the last group write (five records in one
// write(2)), never fdatasynced and so never acknowledged, reached the disk out of order: its first
// and last parts persisted, the middle stayed the preallocated zeros. Records 1-2 read valid, 3-4
// are gone, 5 is whole after the hole. Startup must cut the group from record 3 on as a torn
// tail and open by itself, not refuse the directory as damaged.
TEST_F(CrashTest, AGroupTornOutOfOrderIsCutAsATornTail) {
  FaultFileSystem fs;
  const std::string directory = Directory("out-of-order");
  std::unique_ptr<db::DBInternal> db;
  ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory));
  State expected;
  for (int i = 0; i < 10; ++i) {
    const std::string key = "acked" + std::to_string(i);
    ASSERT_OK(db->Put(key, std::string(700, static_cast<char>('a' + i))));
    expected[key] = std::string(700, static_cast<char>('a' + i));
  }
  // A slow disk: the committer stalls in the fdatasync of "held", and five writes line up behind
  // it; they go out together in the next group, whose fdatasync then fails (power lost).
  fs.HoldSyncs();
  std::thread held([&] { EXPECT_OK(db->Put("held", "acknowledged")); });
  fs.WaitUntilSyncsHeld();
  expected["held"] = "acknowledged";
  const uint64_t written_before = db->GetStatistics().bytes_written;
  std::vector<uint64_t> lsns;
  for (int i = 0; i < 5; ++i) {
    WriteBatch batch;
    batch.Put("group" + std::to_string(i), std::string(1000, static_cast<char>('A' + i)));
    Result<uint64_t> lsn = db->Submit(std::move(batch));
    ASSERT_OK(lsn);
    lsns.push_back(*lsn);
  }
  fs.FailAfter(2, FaultKind::kSync, Errno::kEIO, /*persistent=*/true);
  fs.ReleaseSyncs();
  held.join();
  EXPECT_TRUE(db->WaitForAck(lsns.back()).IsFailed());
  const uint64_t group_bytes = db->GetStatistics().bytes_written - written_before;
  ASSERT_EQ(group_bytes % 5, 0u) << "the five records must have gone out as one group";
  const uint64_t record_bytes = group_bytes / 5;
  db.reset();

  // Parts 1 and 3 of 3 reach the disk: records 1-2 and 5. Records 3-4 stay zeros.
  ASSERT_OK(fs.SimulateCrash([&](const std::string& path, uint64_t, std::string_view unsynced) {
    std::string kept(unsynced);
    if (path.ends_with(".seg")) {
      EXPECT_GE(kept.size(), group_bytes) << path;
      std::fill(kept.begin() + 2 * record_bytes, kept.begin() + 4 * record_bytes, '\0');
    }
    return kept;
  }));
  OpenReport report;
  ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(TestOptions(&fs), directory, &report));
  // A crash may keep any whole prefix of what was written: records 1-2 of the group stay.
  expected["group0"] = std::string(1000, 'A');
  expected["group1"] = std::string(1000, 'B');
  EXPECT_EQ(ReadState(db.get()), expected);
  EXPECT_EQ(report.last_lsn, lsns[1]);
  EXPECT_GT(report.torn_tail_bytes, 3 * record_bytes);
  EXPECT_EQ(report.cut_from_lsn, lsns[2]);
  EXPECT_EQ(report.cut_through_lsn, lsns[4]);
  ASSERT_OK(db->Put("post-recovery", "ok"));
  ASSERT_OK(db->Close());
  Options check = TestOptions(&fs);
  check.integrity_level = 3;
  ASSERT_OK_AND_ASSIGN(db, db::DBInternal::Open(check, directory));
}

// A crash while sealing, in sync mode none (the segment's records were never synced): the
// footer reached the disk, a page of records before it did not. `ordo check --level 3` (read-only)
// calls it a torn seal, not damage, and startup undoes the seal, cuts at the hole and goes on
// writing to the segment.
TEST_F(CrashTest, ATornSealIsUndoneNotCalledDamage) {
  FaultFileSystem fs;
  const std::string directory = Directory("torn-seal");
  const std::string first = directory + "/log/00000000000000000001.seg";
  std::vector<Step> steps;
  size_t submitted = 0;
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs, SyncMode::kNone), directory));
    fs.Reset();
    fs.CrashAtSync(1);  // in sync mode none the first sync is the seal's
    for (int i = 0; i < 40; ++i) {
      Step step;
      step.batch.Put("key" + std::to_string(i), std::string(3000, static_cast<char>('a' + i)));
      steps.push_back(step);
      ++submitted;
      if (!db->Write(step.batch).ok()) break;
    }
    ASSERT_EQ(fs.sync_points().size(), 1u);
    EXPECT_EQ(fs.sync_points()[0], "fsync " + first);
  }
  const uint64_t sealed_size = std::filesystem::file_size(first);
  ASSERT_OK(fs.SimulateCrash([&](const std::string& path, uint64_t, std::string_view unsynced) {
    std::string kept(unsynced);
    if (path == first) std::fill(kept.begin() + 20000, kept.begin() + 24096, '\0');
    return kept;
  }));
  ASSERT_EQ(std::filesystem::file_size(first), sealed_size);  // the footer is there, sealed
  OpenReport checked;
  const Status check = CheckDatabase(directory, 3, &fs, &checked);
  ASSERT_OK(check);
  const auto said = [](const OpenReport& report, const std::string& words) {
    for (const auto& action : report.actions) {
      if (action.find(words) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(said(checked, "ignored the seal of " + first)) << checked.actions.size();
  EXPECT_EQ(std::filesystem::file_size(first), sealed_size);  // a check changes nothing
  OpenReport report;
  ExpectPrefix(&fs, directory, SyncMode::kNone, steps, 0, submitted, "torn seal", &report);
  if (HasFatalFailure()) return;
  EXPECT_TRUE(said(report, "undid the seal of " + first));
  EXPECT_GT(report.cut_through_lsn, report.cut_from_lsn);  // whole records after the hole, cut
  EXPECT_LT(std::filesystem::file_size(first), 24096u);
  // The repaired segment is the active one again: it took the post-recovery write.
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs), directory));
  EXPECT_EQ(db->GetStatistics().active_segment_id, 1u);
  EXPECT_EQ(db->GetStatistics().segments, 1u);
}

// A run killed while sealing (the footer written, its fsync never returned) leaves the seal in
// the page cache only. The next start reads a sealed newest segment; it must make that seal
// durable before it creates the next segment, since a newer segment vouches for the seal before
// it, and writes after it name everything before them durable. Without that, a power cut tore
// the seal and startup refused the directory as damaged.
TEST_F(CrashTest, ASealLeftInThePageCacheIsMadeDurableBeforeTheNextSegment) {
  const std::string killed = Directory("killed-run");
  const std::string restarted = Directory("restarted");
  const std::string second = "/log/00000000000000000002.seg";
  Options options = TestOptions(FileSystem::Default());
  State acknowledged;
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(options, killed));
    for (int i = 0; !std::filesystem::exists(killed + second) ||
                    std::filesystem::file_size(killed + second) < 10000;
         ++i) {
      const std::string key = "before" + std::to_string(i);
      ASSERT_OK(db->Put(key, std::string(3000, 'b')));
      acknowledged[key] = std::string(3000, 'b');
    }
    ASSERT_OK(db->Close());
  }
  // The restarted directory starts as a copy; the killed run then writes 5 more records and the
  // seal of segment 2, all reaching only the page cache of the restarted directory.
  std::filesystem::copy(killed, restarted, std::filesystem::copy_options::recursive);
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(options, killed));
    for (int i = 0; i < 5; ++i) {
      const std::string key = "sealed-in-cache" + std::to_string(i);
      ASSERT_OK(db->Put(key, std::string(3000, 's')));
      acknowledged[key] = std::string(3000, 's');
    }
    ASSERT_OK(db->Close());
  }
  std::string records;
  {
    std::ifstream input(killed + second, std::ios::binary);
    records.assign(std::istreambuf_iterator<char>(input), {});
  }
  const uint64_t durable_size = std::filesystem::file_size(restarted + second);
  ASSERT_GT(records.size(), durable_size);
  auto reader = log::SegmentReader::Open(FileSystem::Default(), killed + second, records.size());
  ASSERT_OK(reader);
  log::SegmentFooter footer;
  footer.last_lsn = acknowledged.size();
  footer.record_count = footer.last_lsn - (*reader)->header().first_lsn + 1;
  footer.records_end = records.size();
  footer.segment_checksum = *(*reader)->ChecksumPrefix(records.size());
  FaultFileSystem fs;
  {
    auto file = fs.ReopenWritableFile(restarted + second);
    ASSERT_OK(file);
    ASSERT_OK((*file)->Append(std::string_view(records).substr(durable_size)));
    ASSERT_OK((*file)->Append(log::EncodeSegmentFooter(&footer)));
    ASSERT_OK((*file)->Close());
  }
  {
    // The restart: a sealed newest segment, so it creates segment 3 and takes writes there.
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(TestOptions(&fs), restarted));
    EXPECT_EQ(db->GetStatistics().active_segment_id, 3u);
    for (int i = 0; i < 3; ++i) {
      const std::string key = "after-restart" + std::to_string(i);
      ASSERT_OK(db->Put(key, "r"));
      acknowledged[key] = "r";
    }
  }
  // The power cut loses what is still only in the page cache, a page at a time.
  ASSERT_OK(fs.SimulateCrash(CrashMode::kTornPages, 7));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(TestOptions(&fs), restarted));
  EXPECT_EQ(ReadState(db.get()), acknowledged);
}

}  // namespace
}  // namespace ordo
