// Recovery's handling of a checkpoint whose replay position does not fit the log (found by
// fuzz/checkpoint_fuzzer.cc): the checkpoint is ignored and the index rebuilt from the log, as
// for any other checkpoint that does not fit. Before the fix, a position past a sealed
// segment's records crashed the open (std::out_of_range from the reader), one before the
// header's end tripped an assertion, and one inside a record failed the open as damage of the
// (intact) log.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ordo/db.h"
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
    std::unique_ptr<DB> db;
    EXPECT_TRUE(DB::Open(options, data(), &db).ok());
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(db->Put("key" + std::to_string(i), std::string(1000, 'v')).ok());
    }
    digest_ = db->Digest();
    EXPECT_TRUE(db->Close().ok());
    std::string path;
    for (const auto& entry : std::filesystem::directory_iterator(data() + "/index")) {
      path = entry.path();
    }
    return path;
  }

  // Points the checkpoint at `offset` of segment 1 (sealed), with a valid header checksum:
  // what a checkpoint writer's bug, or a copy mixing two databases' files, could leave.
  static void MoveReplayPosition(const std::string& path, uint64_t offset) {
    std::string bytes;
    {
      std::ifstream file(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    ASSERT_GE(bytes.size(), 96u);
    EncodeFixed64(bytes.data() + 40, 1);  // replay_segment_id
    EncodeFixed64(bytes.data() + 48, offset);
    EncodeFixed64(bytes.data() + 88, Checksum64(std::string_view(bytes).substr(0, 88)));
    std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << bytes;
  }

  void ExpectIgnoredAndRebuilt() {
    std::unique_ptr<DB> db;
    OpenReport report;
    const Status opened = DB::Open(Options(), data(), &db, &report);
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    EXPECT_TRUE(report.checkpoint.empty());
    bool ignored = false;
    for (const auto& action : report.actions) {
      ignored |= action.find("ignored checkpoint") != std::string::npos;
    }
    EXPECT_TRUE(ignored);
    EXPECT_EQ(db->Digest(), digest_);
    EXPECT_EQ(db->CountKeys(), 200u);
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

}  // namespace
}  // namespace ordo
