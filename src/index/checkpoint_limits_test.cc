// The checkpoint's side of the log's limits (issue 11, item 4): an entry keeps its segment id,
// value offset and value size in 4 bytes each, so the loader refuses, with Corruption naming
// the file and offset, what no writer stores (WriteCheckpoint asserts the same): a key past
// kKeyBytesMax, a value past kValueBytesMax, a value outside a segment's records, a segment 0
// or one after the replay position's; and a header whose replay position is outside the
// limits. Before, each of these loaded (the long key into the index, past its limit).
#include <gtest/gtest.h>

#include <string>

#include "index/checkpoint.h"
#include "index/index.h"
#include "io/memory_file_system.h"
#include "log/format.h"
#include "tests/test_util.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo::index {
namespace {

const std::string kDatabaseId(16, '\x5a');
const std::string kPath = "index/" + CheckpointFileName(10);

struct Entry {
  std::string key;
  uint32_t segment_id = 1;
  uint32_t value_offset = 100;
  uint32_t value_bytes = 10;
};

// A checkpoint file with valid checksums, counts and digest around `entries`, at replay
// position (replay_segment_id, replay_offset).
std::string CheckpointBytes(const std::vector<Entry>& entries, uint64_t replay_segment_id = 3,
                            uint64_t replay_offset = 4096) {
  std::string body;
  StateDigest digest;
  for (const Entry& entry : entries) {
    PutLengthPrefixed(&body, entry.key);
    PutFixed32(&body, entry.segment_id);
    PutFixed32(&body, entry.value_offset);
    PutFixed32(&body, entry.value_bytes);
    PutFixed64(&body, 0);                           // expire_at_ms
    PutFixed64(&body, 7);                           // value_hash
    if (entry.key.size() > kKeyBytesMax) continue;  // refused before the digest is checked
    const StateDigest hash = EntryHash(IndexKey(0, entry.key), 7, 0);  // version 1: db 0
    digest.low += hash.low;
    digest.high += hash.high;
  }
  std::string bytes("ORDOIDX1", 8);
  PutFixed32(&bytes, 1);
  PutFixed32(&bytes, kCheckpointHeaderBytes);
  bytes.append(kDatabaseId);
  PutFixed64(&bytes, 10);  // lsn
  PutFixed64(&bytes, replay_segment_id);
  PutFixed64(&bytes, replay_offset);
  PutFixed64(&bytes, entries.size());
  PutFixed64(&bytes, digest.low);
  PutFixed64(&bytes, digest.high);
  PutFixed64(&bytes, 1);  // created_time_ms
  PutFixed64(&bytes, Checksum64(bytes));
  bytes += body;
  PutFixed64(&bytes, entries.size());
  PutFixed64(&bytes, Checksum64(body));
  bytes.append("ORDOIDXE", 8);
  return bytes;
}

Status Load(const std::string& bytes, Index* index) {
  MemoryFileSystem fs;
  fs.SetFile(kPath, bytes);
  CheckpointInfo info;
  return LoadCheckpoint(&fs, kPath, kDatabaseId, index, &info);
}

TEST(CheckpointLimits, EntriesWithinTheLimitsLoad) {
  Index index;
  ASSERT_OK(Load(CheckpointBytes({{"a", 1, 64, 0},
                                  {std::string(kKeyBytesMax, 'b'), 3, 100, 10},
                                  {"c", 2, 1000, static_cast<uint32_t>(kValueBytesMax)}}),
                 &index));
  EXPECT_EQ(index.size(), 3u);
}

TEST(CheckpointLimits, EntriesPastTheLimitsAreCorruptionNamingFileAndOffset) {
  const Entry first{"first"};
  const std::string first_bytes_at = std::to_string(kCheckpointHeaderBytes + 1 + 5 + 28);
  struct Case {
    Entry entry;
    std::string says;
  };
  const Case cases[] = {
      {{std::string(kKeyBytesMax + 1, 'k')}, "key of " + std::to_string(kKeyBytesMax + 1)},
      {{"k", 0}, "segment id 0 outside [1, 3]"},
      {{"k", 4}, "segment id 4 outside [1, 3]"},
      {{"k", 1, 100, static_cast<uint32_t>(kValueBytesMax + 1)}, "value of"},
      {{"k", 1, 10, 5}, "value at offset 10"},
      {{"k", 1, 0xfffffff0u, 100}, "value at offset 4294967280"},
  };
  for (const Case& one : cases) {
    SCOPED_TRACE(one.says);
    Index index;
    const Status status = Load(CheckpointBytes({first, one.entry}), &index);
    EXPECT_TRUE(status.IsCorruption()) << status.ToString();
    EXPECT_NE(status.message().find(kPath + " offset " + first_bytes_at + ": entry 1: "),
              std::string::npos)
        << status.ToString();
    EXPECT_NE(status.message().find(one.says), std::string::npos) << status.ToString();
    EXPECT_EQ(index.size(), 0u);  // nothing of a refused checkpoint stays
  }
}

TEST(CheckpointLimits, AReplayPositionPastTheLimitsIsCorruption) {
  struct Case {
    uint64_t segment_id;
    uint64_t offset;
    std::string where;
  };
  const Case cases[] = {
      {0, 4096, " offset 40: replay segment id 0"},
      {log::kSegmentIdMax + 1, 4096, " offset 40: replay segment id 4294967296"},
      {3, log::kSegmentFileBytesMax + 1, " offset 48: replay offset"},
  };
  for (const Case& one : cases) {
    SCOPED_TRACE(one.where);
    Index index;
    const Status status = Load(CheckpointBytes({}, one.segment_id, one.offset), &index);
    EXPECT_TRUE(status.IsCorruption()) << status.ToString();
    EXPECT_NE(status.message().find(kPath + one.where), std::string::npos) << status.ToString();
  }
  Index index;
  ASSERT_OK(Load(CheckpointBytes({}, log::kSegmentIdMax, log::kSegmentFileBytesMax), &index));
}

}  // namespace
}  // namespace ordo::index
