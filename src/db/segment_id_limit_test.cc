// The database at the last segment id (log::kSegmentIdMax: the index keeps segment ids in 4
// bytes). Before, the next segment was created as if nothing were wrong and its id wrapped to
// 0 in the index, so a value written there was read from the wrong file. Now a write that
// needs a new segment is refused (NotSupported, nothing sequenced) while the others go on, and
// an open that would have to create one fails naming the limit.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "db/identity.h"
#include "log/format.h"
#include "log/segment_writer.h"
#include "ordo/db.h"
#include "tests/test_util.h"

namespace ordo {
namespace {

class SegmentIdLimitTest : public ::testing::Test {
 protected:
  std::string data() const { return scratch_.Sub("data"); }

  // A data directory whose log is one segment, id kSegmentIdMax, first LSN 1, no record; sealed
  // or active.
  void MakeLogAtTheLastId(bool sealed) {
    {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(Options(), data()));
      ASSERT_OK(db->Close());
    }
    for (const char* folder : {"/log", "/index"}) {
      for (const auto& entry : std::filesystem::directory_iterator(data() + folder)) {
        std::filesystem::permissions(entry.path(), std::filesystem::perms::owner_write,
                                     std::filesystem::perm_options::add);
        std::filesystem::remove(entry.path());
      }
    }
    FileSystem* fs = FileSystem::Default();
    db::Identity identity;
    ASSERT_OK(db::ReadIdentity(fs, data() + "/IDENTITY", &identity));
    log::SegmentHeader header;
    header.database_id = identity.database_id;
    header.segment_id = log::kSegmentIdMax;
    header.first_lsn = 1;
    auto writer = log::SegmentWriter::Create(fs, data() + "/log", header);
    ASSERT_OK(writer);
    if (sealed) {
      ASSERT_OK((*writer)->Seal());
    } else {
      ASSERT_OK((*writer)->Finish());
    }
  }

  testing::ScratchDirectory scratch_;
};

TEST_F(SegmentIdLimitTest, AWriteNeedingASegmentPastTheLastIdIsRefusedAndTheRestGoesOn) {
  ASSERT_NO_FATAL_FAILURE(MakeLogAtTheLastId(/*sealed=*/false));
  Options options;
  options.segment_bytes = kSegmentBytesMin;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(options, data()));
  const std::string value(1000, 'v');
  uint64_t written = 0;
  Status refused;
  for (; written < 200; ++written) {
    refused = db->Put("key" + std::to_string(written), value);
    if (!refused.ok()) break;
  }
  ASSERT_GT(written, 0u);
  ASSERT_LT(written, 200u) << "the segment never filled";
  EXPECT_TRUE(refused.IsNotSupported()) << refused.ToString();
  EXPECT_NE(refused.message().find(std::to_string(log::kSegmentIdMax)), std::string::npos)
      << refused.ToString();
  // Nothing of the refused write is visible; everything before it is, and the database is not
  // failed: a write that fits in the segment still goes in.
  std::string read;
  EXPECT_TRUE(db->Get("key" + std::to_string(written), &read).IsNotFound());
  ASSERT_OK(db->Get("key0", &read));
  EXPECT_EQ(read, value);
  ASSERT_OK(db->Delete("key0"));
  EXPECT_EQ(db->CountKeys(), written - 1);
  const StateDigest digest = db->Digest();
  ASSERT_OK(db->Close());

  db.reset();
  ASSERT_OK_AND_ASSIGN(db, DB::Open(options, data()));
  EXPECT_EQ(db->CountKeys(), written - 1);
  EXPECT_EQ(db->Digest(), digest);
  ASSERT_OK(db->Get("key1", &read));
  EXPECT_EQ(read, value);
  ASSERT_OK(db->Close());
}

TEST_F(SegmentIdLimitTest, OpeningWhenTheLastIdIsSealedFailsNamingTheLimit) {
  ASSERT_NO_FATAL_FAILURE(MakeLogAtTheLastId(/*sealed=*/true));
  const Status opened = DB::Open(Options(), data()).status();
  EXPECT_TRUE(opened.IsNotSupported()) << opened.ToString();
  EXPECT_NE(opened.message().find(std::to_string(log::kSegmentIdMax)), std::string::npos)
      << opened.ToString();
  // It reads: opening read-only creates no segment.
  Options read_only;
  read_only.read_only = true;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DB> db, DB::Open(read_only, data()));
  EXPECT_EQ(db->CountKeys(), 0u);
  ASSERT_OK(db->Close());
}

}  // namespace
}  // namespace ordo
