// Recovery's handling of a checkpoint whose replay position does not fit the log (found by
// fuzz/checkpoint_fuzzer.cc): the checkpoint is ignored and the index rebuilt from the log, as
// for any other checkpoint that does not fit. Before the fix, a position past a sealed
// segment's records crashed the open (std::out_of_range from the reader), one before the
// header's end tripped an assertion, and one inside a record failed the open as damage of the
// (intact) log; so did a checkpoint whose entries disagree with the digests of the records
// replayed after it, or one naming a segment past the end of the log.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "db/identity.h"
#include "index/checkpoint.h"
#include "ordo/db.h"
#include "ordo/file_system.h"
#include "tests/test_util.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo {
namespace {

class RecoveryCheckpointTest : public ::testing::Test {
 protected:
  std::string data() const { return scratch_.Sub("data"); }

  // Writes enough to seal a few segments, closes (which writes a checkpoint at the end of the
  // log), and returns the checkpoint's path.
  std::string WriteDatabase() {
    Options options;
    options.segment_bytes = kSegmentBytesMin;
    auto opened = DB::Open(options, data());
    EXPECT_OK(opened);
    if (!opened.ok()) return {};
    std::unique_ptr<DB> db = std::move(*opened);
    for (int i = 0; i < 200; ++i) {
      EXPECT_OK(db->Put("key" + std::to_string(i), std::string(1000, 'v')));
    }
    digest_ = db->Digest();
    EXPECT_OK(db->Close());
    std::string path;
    for (const auto& entry : std::filesystem::directory_iterator(data() + "/index")) {
      path = entry.path();
    }
    return path;
  }

  // Points the checkpoint at `offset` of segment `segment_id` (by default 1, sealed), with a
  // valid header checksum: what a checkpoint writer's bug, or a copy mixing two databases'
  // files, could leave.
  static void MoveReplayPosition(const std::string& path, uint64_t offset,
                                 uint64_t segment_id = 1) {
    std::string bytes;
    {
      std::ifstream file(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    ASSERT_GE(bytes.size(), 96u);
    EncodeFixed64(bytes.data() + 40, segment_id);
    EncodeFixed64(bytes.data() + 48, offset);
    EncodeFixed64(bytes.data() + 88, Checksum64(std::string_view(bytes).substr(0, 88)));
    std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << bytes;
  }

  void ExpectIgnoredAndRebuilt(uint64_t keys = 200) {
    OpenReport report;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(Options(), data(), &report));
    EXPECT_TRUE(report.checkpoint.empty());
    bool ignored = false;
    for (const auto& action : report.actions) {
      ignored |= action.find("ignored checkpoint") != std::string::npos;
    }
    EXPECT_TRUE(ignored);
    EXPECT_EQ(db->Digest(), digest_);
    EXPECT_EQ(db->CountKeys(), keys);
  }

  testing::ScratchDirectory scratch_;
  StateDigest digest_;
};

TEST_F(RecoveryCheckpointTest, ReplayPositionPastSealedSegmentIsIgnored) {
  MoveReplayPosition(WriteDatabase(), uint64_t{1} << 40);
  ExpectIgnoredAndRebuilt();
}

TEST_F(RecoveryCheckpointTest, ReplayPositionInsideSegmentHeaderIsIgnored) {
  MoveReplayPosition(WriteDatabase(), 3);
  ExpectIgnoredAndRebuilt();
}

TEST_F(RecoveryCheckpointTest, ReplayPositionInsideRecordIsIgnored) {
  MoveReplayPosition(WriteDatabase(), 64 + 5);
  ExpectIgnoredAndRebuilt();
}

// The active segment is then replayed expecting the LSN after the checkpoint's from its first
// record on: a failure of the log's replay, not traced to the checkpoint before the fix.
TEST_F(RecoveryCheckpointTest, ReplaySegmentPastTheLogIsIgnored) {
  MoveReplayPosition(WriteDatabase(), 64, 99);
  ExpectIgnoredAndRebuilt();
}

TEST_F(RecoveryCheckpointTest, EntriesThatContradictTheReplayedLogAreIgnored) {
  Options options;
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(options, data()));
  for (int i = 0; i < 20; ++i) ASSERT_OK(db->Put("key" + std::to_string(i), "v"));
  ASSERT_OK(db->Checkpoint());
  for (int i = 20; i < 40; ++i) ASSERT_OK(db->Put("key" + std::to_string(i), "v"));
  digest_ = db->Digest();
  ASSERT_OK(db->Close());
  // Keep only the older checkpoint, so that the records after it are replayed on top of it,
  // and rewrite it (valid checksums, digest of its own entries) with one value hash changed.
  std::vector<std::string> checkpoints;
  for (const auto& entry : std::filesystem::directory_iterator(data() + "/index")) {
    checkpoints.push_back(entry.path());
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  ASSERT_EQ(checkpoints.size(), 2u);
  std::filesystem::remove(checkpoints[1]);
  FileSystem* fs = FileSystem::Default();
  index::Index entries;
  index::CheckpointInfo info;
  db::Identity identity;
  ASSERT_OK(db::ReadIdentity(fs, data() + "/IDENTITY", &identity));
  ASSERT_OK(index::LoadCheckpoint(fs, checkpoints[0], identity.database_id, &entries, &info));
  index::IndexEntry changed = *entries.Find(index::IndexKey(0, "key3"));
  changed.value_hash ^= 1;
  entries.Put(index::IndexKey(0, "key3"), changed);
  std::filesystem::remove(checkpoints[0]);
  ASSERT_OK(index::WriteCheckpoint(fs, data() + "/index", entries, info));
  ExpectIgnoredAndRebuilt(40);
}

// A checkpoint at the very end of the log (a clean shutdown's) has no record after it to be
// checked against; it is checked against the record of its own LSN, which holds the state's
// digest and key count. Before, it was trusted below level 3, and a key missing from it read
// as absent although the log holds it.
TEST_F(RecoveryCheckpointTest, CheckpointThatContradictsItsOwnRecordIsIgnored) {
  const std::string path = WriteDatabase();
  FileSystem* fs = FileSystem::Default();
  db::Identity identity;
  ASSERT_OK(db::ReadIdentity(fs, data() + "/IDENTITY", &identity));
  index::Index entries;
  index::CheckpointInfo info;
  ASSERT_OK(index::LoadCheckpoint(fs, path, identity.database_id, &entries, &info));
  ASSERT_TRUE(entries.Erase(index::IndexKey(0, "key7")));  // a key the log says is live
  std::filesystem::remove(path);
  ASSERT_OK(index::WriteCheckpoint(fs, data() + "/index", entries, info));
  ExpectIgnoredAndRebuilt();
  std::unique_ptr<DB> db;
  ASSERT_OK_AND_ASSIGN(db, DB::Open(Options(), data()));
  std::string value;
  ASSERT_OK(db->Get("key7", &value));
  EXPECT_EQ(value, std::string(1000, 'v'));
}

}  // namespace
}  // namespace ordo
