// Walking a log: from a data directory (live and closed) and from a repository after a backup,
// every LSN once, in order, with its ops; the last record's digest is the database's; the
// time and key filters select the right commits; damage and bad arguments are errors.
#include "restore/log_walk.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "backup/backup_run.h"
#include "log/format.h"
#include "log/write_batch_internal.h"
#include "tests/backup_fixtures.h"
#include "util/time_format.h"

namespace ordo::restore {
namespace {

using testing::InitAndOpen;

struct SeenOp {
  log::OpType type;
  std::string key;
  size_t value_bytes = 0;
  int64_t expire_at_ms = 0;
};

struct Seen {
  uint64_t lsn = 0;
  int64_t time = 0;
  StateDigest digest;
  uint64_t live_keys = 0;
  uint64_t segment_id = 0;
  std::vector<SeenOp> ops;
};

LogVisitor Collect(std::vector<Seen>* seen) {
  return [seen](const LogCommit& commit) {
    Seen entry;
    entry.lsn = commit.record->lsn;
    entry.time = commit.record->commit_time_micros;
    entry.digest = commit.record->digest;
    entry.live_keys = commit.record->live_keys;
    entry.segment_id = commit.segment_id;
    for (const auto& op : commit.record->ops) {
      entry.ops.push_back(SeenOp{op.type, std::string(op.key), op.value.size(), op.expire_at_ms});
    }
    seen->push_back(std::move(entry));
    return true;
  };
}

// The workload: several segments of puts, deletes, an expiry with TTL, an explicit expire op,
// a CLEAR in the middle, more puts after it. Returns the LSN of the clear.
uint64_t Workload(DB* db) {
  for (int i = 0; i < 300; ++i) {
    EXPECT_OK(db->Put("key" + std::to_string(i % 40), std::string(600, 'a' + i % 26)));
  }
  EXPECT_OK(db->Delete("key3"));
  EXPECT_OK(db->Put("ttl", "short", /*expire_at_ms=*/4102444800000));
  WriteBatch expire;
  WriteBatchInternal::Expire(&expire, "ttl");
  EXPECT_OK(db->Write(std::move(expire)));
  WriteBatch clear;
  clear.ClearDatabase();
  EXPECT_OK(db->Write(std::move(clear)));
  const uint64_t clear_lsn = db->AckedLsn();
  for (int i = 0; i < 120; ++i) {
    EXPECT_OK(db->Put("after" + std::to_string(i % 30), std::string(700, 'z')));
  }
  WriteBatch batch;
  batch.Put("key5", "five");
  batch.Delete("after1");
  batch.Put("bin\xff", std::string("\0\x01", 2));
  EXPECT_OK(db->Write(std::move(batch)));
  return clear_lsn;
}

void ExpectWholeLog(const std::vector<Seen>& seen, uint64_t last_lsn, uint64_t clear_lsn,
                    const StateDigest& digest, uint64_t keys) {
  ASSERT_EQ(seen.size(), last_lsn);
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].lsn, i + 1);
    if (i > 0) {
      ASSERT_GE(seen[i].segment_id, seen[i - 1].segment_id);
    }
  }
  EXPECT_GT(seen.back().segment_id, seen.front().segment_id + 2) << "several segments";
  EXPECT_EQ(seen.back().digest, digest);
  EXPECT_EQ(seen.back().live_keys, keys);
  // The ops are the ones written.
  EXPECT_EQ(seen[0].ops.size(), 1u);
  EXPECT_EQ(seen[0].ops[0].type, log::OpType::kPut);
  EXPECT_EQ(seen[0].ops[0].key, "key0");
  EXPECT_EQ(seen[0].ops[0].value_bytes, 600u);
  const Seen& clear = seen[clear_lsn - 1];
  ASSERT_EQ(clear.ops.size(), 1u);
  EXPECT_EQ(clear.ops[0].type, log::OpType::kClear);
  EXPECT_EQ(clear.live_keys, 0u);
  const Seen& expire = seen[clear_lsn - 2];
  ASSERT_EQ(expire.ops.size(), 1u);
  EXPECT_EQ(expire.ops[0].type, log::OpType::kExpire);
  EXPECT_EQ(expire.ops[0].key, "ttl");
  const Seen& ttl = seen[clear_lsn - 3];
  EXPECT_EQ(ttl.ops[0].key, "ttl");
  EXPECT_EQ(ttl.ops[0].expire_at_ms, 4102444800000);
  EXPECT_EQ(seen[clear_lsn - 4].ops[0].type, log::OpType::kDelete);
  const Seen& batch = seen.back();
  ASSERT_EQ(batch.ops.size(), 3u);
  EXPECT_EQ(batch.ops[1].type, log::OpType::kDelete);
  EXPECT_EQ(batch.ops[2].key, "bin\xff");
  EXPECT_EQ(batch.ops[2].value_bytes, 2u);
}

TEST(LogWalk, DataDirectoryLiveAndClosedGivesEveryLsnOnce) {
  ordo::testing::ScratchDirectory scratch;
  const std::string data = scratch.Sub("data");
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
  const uint64_t clear_lsn = Workload(db.get());
  const uint64_t last = db->AckedLsn();
  const StateDigest digest = db->Digest();
  const uint64_t keys = db->CountKeys();

  std::vector<Seen> seen;
  LogWalkSummary summary;
  Status walked = WalkDataDirectory(FileSystem::Default(), data, {}, Collect(&seen), &summary);
  ASSERT_OK(walked);
  ExpectWholeLog(seen, last, clear_lsn, digest, keys);
  EXPECT_EQ(summary.first_lsn, 1u);
  EXPECT_EQ(summary.last_lsn, last);
  EXPECT_EQ(summary.records_read, last);
  EXPECT_EQ(summary.records_matched, last);
  EXPECT_FALSE(summary.stopped);

  ASSERT_OK(db->Close());
  db.reset();
  seen.clear();
  walked = WalkDataDirectory(FileSystem::Default(), data, {}, Collect(&seen), &summary);
  ASSERT_OK(walked);
  ExpectWholeLog(seen, last, clear_lsn, digest, keys);
}

TEST(LogWalk, RepositoryAfterBackupGivesTheSameLog) {
  ordo::testing::ScratchDirectory scratch;
  const std::string data = scratch.Sub("data");
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
  const uint64_t clear_lsn = Workload(db.get());
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  ASSERT_NE(repository, nullptr);
  backup::BackupResult first;
  ASSERT_OK(backup::TakeBackup(FileSystem::Default(), data, repository.get(), {}, &first));
  // A second backup after more writes: the walk reads the newest by default.
  ASSERT_OK(db->Put("late", "value"));
  backup::BackupResult second;
  ASSERT_OK(backup::TakeBackup(FileSystem::Default(), data, repository.get(), {}, &second));
  const uint64_t last = db->AckedLsn();

  ASSERT_TRUE(std::filesystem::create_directory(scratch.Sub("tmp")));
  LogWalkOptions options;
  options.scratch_directory = scratch.Sub("tmp");
  std::vector<Seen> seen;
  LogWalkSummary summary;
  Status walked =
      WalkRepository(FileSystem::Default(), repository.get(), options, Collect(&seen), &summary);
  ASSERT_OK(walked);
  EXPECT_EQ(summary.backup_id, second.manifest.backup_id);
  ASSERT_EQ(seen.size(), last);
  EXPECT_EQ(seen.back().digest, db->Digest());
  EXPECT_EQ(seen.back().ops[0].key, "late");
  EXPECT_TRUE(std::filesystem::is_empty(scratch.Sub("tmp"))) << "scratch space left behind";

  // The older backup, by id: the log up to its commit.
  seen.clear();
  options.backup_id = first.manifest.backup_id;
  walked =
      WalkRepository(FileSystem::Default(), repository.get(), options, Collect(&seen), &summary);
  ASSERT_OK(walked);
  ExpectWholeLog(seen, last - 1, clear_lsn, first.manifest.digest, first.manifest.keys);

  options.backup_id = "20200101T000000Z-00000000";
  EXPECT_TRUE(
      WalkRepository(FileSystem::Default(), repository.get(), options, Collect(&seen), &summary)
          .IsNotFound());
}

TEST(LogWalk, EmptyRepositoryIsNotFound) {
  ordo::testing::ScratchDirectory scratch;
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  ASSERT_NE(repository, nullptr);
  std::vector<Seen> seen;
  LogWalkSummary summary;
  EXPECT_TRUE(WalkRepository(FileSystem::Default(), repository.get(), {}, Collect(&seen), &summary)
                  .IsNotFound());
}

TEST(LogWalk, FiltersSelectCommits) {
  ordo::testing::ScratchDirectory scratch;
  const std::string data = scratch.Sub("data");
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
  const uint64_t clear_lsn = Workload(db.get());
  const uint64_t last = db->AckedLsn();
  std::vector<Seen> all;
  LogWalkSummary summary;
  ASSERT_OK(WalkDataDirectory(FileSystem::Default(), data, {}, Collect(&all), &summary));

  // Key: every op on it, and the clear.
  LogWalkOptions options;
  options.filter.key = "key5";
  std::vector<Seen> seen;
  ASSERT_OK(WalkDataDirectory(FileSystem::Default(), data, options, Collect(&seen), &summary));
  std::vector<uint64_t> expected;
  for (const Seen& entry : all) {
    for (const SeenOp& op : entry.ops) {
      if (op.key == "key5" || op.type == log::OpType::kClear) {
        expected.push_back(entry.lsn);
        break;
      }
    }
  }
  std::vector<uint64_t> got;
  for (const Seen& entry : seen) got.push_back(entry.lsn);
  EXPECT_EQ(got, expected);
  EXPECT_NE(std::find(got.begin(), got.end(), clear_lsn), got.end());
  EXPECT_EQ(got.back(), last);
  EXPECT_EQ(summary.records_read, last);
  EXPECT_EQ(summary.records_matched, expected.size());

  // Time: since and until bound the commit times (inclusive).
  const int64_t since = all[100].time;
  const int64_t until = all[200].time;
  options = {};
  options.filter.since_micros = since;
  options.filter.until_micros = until;
  seen.clear();
  ASSERT_OK(WalkDataDirectory(FileSystem::Default(), data, options, Collect(&seen), &summary));
  size_t count = 0;
  for (const Seen& entry : all) count += entry.time >= since && entry.time <= until;
  EXPECT_EQ(seen.size(), count);
  EXPECT_GE(seen.size(), 101u);
  for (const Seen& entry : seen) {
    EXPECT_GE(entry.time, since);
    EXPECT_LE(entry.time, until);
  }

  // The visitor stops the walk.
  size_t visited = 0;
  ASSERT_OK(WalkDataDirectory(
      FileSystem::Default(), data, {}, [&](const LogCommit&) { return ++visited < 7; }, &summary));
  EXPECT_EQ(visited, 7u);
  EXPECT_TRUE(summary.stopped);
}

TEST(LogWalk, MissingDirectoryIsNotFoundAndDamageIsCorruption) {
  ordo::testing::ScratchDirectory scratch;
  LogWalkSummary summary;
  std::vector<Seen> seen;
  EXPECT_TRUE(
      WalkDataDirectory(FileSystem::Default(), scratch.Sub("nothing"), {}, Collect(&seen), &summary)
          .IsNotFound());

  const std::string data = scratch.Sub("data");
  {
    std::unique_ptr<DB> db;
    ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
    Workload(db.get());
    ASSERT_OK(db->Close());
  }
  // Flip a byte inside the first (sealed) segment's records.
  const std::string first = data + "/log/" + log::SegmentFileName(1);
  std::filesystem::permissions(first, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::fstream file(first, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(log::kSegmentHeaderBytes + 2000);
    char c = 0;
    file.read(&c, 1);
    file.seekp(log::kSegmentHeaderBytes + 2000);
    c = static_cast<char>(c ^ 0x5a);
    file.write(&c, 1);
  }
  const Status walked =
      WalkDataDirectory(FileSystem::Default(), data, {}, Collect(&seen), &summary);
  EXPECT_TRUE(walked.IsCorruption()) << walked.ToString();
  EXPECT_NE(walked.ToString().find(log::SegmentFileName(1)), std::string::npos)
      << walked.ToString();
}

TEST(LogWalk, PublicKeyRepositoryNeedsTheSecretKey) {
  ASSERT_GE(sodium_init(), 0);
  std::string public_key(32, '\0');
  std::string secret(32, '\0');
  crypto_box_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                     reinterpret_cast<unsigned char*>(secret.data()));
  repository::KeyMaterial write_key;
  write_key.public_key = public_key;
  repository::KeyMaterial read_key = write_key;
  read_key.secret_key = secret;

  ordo::testing::ScratchDirectory scratch;
  const std::string data = scratch.Sub("data");
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
  const uint64_t clear_lsn = Workload(db.get());
  auto writer = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"),
                            repository::EncryptionMode::kPublicKey, read_key, public_key);
  ASSERT_NE(writer, nullptr);
  writer = testing::OpenRepositoryOrDie(FileSystem::Default(), scratch.Sub("repo"), write_key);
  backup::BackupResult result;
  const Status backed_up =
      backup::TakeBackup(FileSystem::Default(), data, writer.get(), {}, &result);
  ASSERT_OK(backed_up);

  std::vector<Seen> seen;
  LogWalkSummary summary;
  const Status refused =
      WalkRepository(FileSystem::Default(), writer.get(), {}, Collect(&seen), &summary);
  EXPECT_TRUE(refused.IsInvalidArgument()) << refused.ToString();
  EXPECT_NE(refused.ToString().find("--key-file"), std::string::npos);

  auto reader = testing::OpenRepositoryOrDie(FileSystem::Default(), scratch.Sub("repo"), read_key);
  ASSERT_NE(reader, nullptr);
  const Status walked =
      WalkRepository(FileSystem::Default(), reader.get(), {}, Collect(&seen), &summary);
  ASSERT_OK(walked);
  ExpectWholeLog(seen, db->AckedLsn(), clear_lsn, db->Digest(), db->CountKeys());
}

// A walk of a directory that writers are appending to (and rotating segments in) sees a
// consistent prefix: contiguous LSNs from 1, no error, each record's digest the one committed.
TEST(LogWalk, LiveDirectoryUnderWritesIsAConsistentPrefix) {
  ordo::testing::ScratchDirectory scratch;
  const std::string data = scratch.Sub("data");
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), data));
  ASSERT_OK(db->Put("seed", "x"));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (!db->Put("w" + std::to_string(i % 500), std::string(900, 'w')).ok()) break;
    }
  });
  uint64_t previous = 0;
  for (int round = 0; round < 10; ++round) {
    // Let the writer move on by a segment or so between walks (bounded wait).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (db->AckedLsn() < previous + 100 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    std::vector<Seen> seen;
    LogWalkSummary summary;
    const Status walked =
        WalkDataDirectory(FileSystem::Default(), data, {}, Collect(&seen), &summary);
    ASSERT_OK(walked);
    ASSERT_EQ(seen.size(), summary.last_lsn);
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].lsn, i + 1);
    EXPECT_GE(summary.last_lsn, previous);
    previous = summary.last_lsn;
  }
  EXPECT_GT(previous, 900u) << "the writer rotated through several segments";
  stop = true;
  writer.join();
}

TEST(LogWalk, ParseTimeArgument) {
  int64_t micros = 0;
  ASSERT_TRUE(ParseTimeArgument("1700000000", &micros));
  EXPECT_EQ(micros, 1700000000LL * 1000000);
  ASSERT_TRUE(ParseTimeArgument("1700000000.25", &micros));
  EXPECT_EQ(micros, 1700000000LL * 1000000 + 250000);
  ASSERT_TRUE(ParseTimeArgument("2023-11-14T22:13:20Z", &micros));
  EXPECT_EQ(micros, 1700000000LL * 1000000);
  ASSERT_TRUE(ParseTimeArgument("2023-11-14 22:13:20.5z", &micros));
  EXPECT_EQ(micros, 1700000000LL * 1000000 + 500000);
  ASSERT_TRUE(ParseTimeArgument("2023-11-15T00:13:20+02:00", &micros));
  EXPECT_EQ(micros, 1700000000LL * 1000000);
  ASSERT_TRUE(ParseTimeArgument("2023-11-14", &micros));
  EXPECT_EQ(micros, (1700000000LL - 22 * 3600 - 13 * 60 - 20) * 1000000);
  ASSERT_TRUE(ParseTimeArgument("1970-01-01T00:00:00Z", &micros));
  EXPECT_EQ(micros, 0);
  for (const char* bad : {"", "yesterday", "2023-11-14T22:13:20", "2023-13-01", "12:00:00",
                          "2023-11-14T22:13Z", "17000x", "2023-11-14T22:13:20+0200"}) {
    EXPECT_FALSE(ParseTimeArgument(bad, &micros)) << bad;
  }
  EXPECT_EQ(FormatRfc3339Millis(1700000000LL * 1000000 + 123456), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace ordo::restore
