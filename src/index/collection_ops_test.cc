// The log's collection ops applied to the index (every reader of the log does it this way):
// creation, changes, emptying, values inline or in the log, and ops that contradict the state.
#include "index/collection_ops.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "log/write_batch_internal.h"
#include "tests/test_util.h"
#include "util/checksum.h"

namespace ordo::index {
namespace {

// Encodes `batch` as a record and applies its ops as if it lay at offset 4096 of segment 2.
Status Apply(const WriteBatch& batch, Index* index, std::string* record_bytes = nullptr) {
  std::string bytes;
  std::vector<uint32_t> value_offsets;
  log::EncodeRecord(log::RecordMeta{5, 1, {}}, batch, &bytes, &value_offsets);
  log::DecodedRecord record;
  EXPECT_OK(log::DecodeRecordPayload(std::string_view(bytes).substr(log::kRecordHeaderBytes),
                                     log::kFormatVersion, &record));
  for (const auto& op : record.ops) {
    const Status status = ApplyCollectionOp(op, 2, 4096, index);
    if (!status.ok()) return status;
  }
  if (record_bytes != nullptr) *record_bytes = bytes;
  return Status::Ok();
}

TEST(CollectionOpsTest, OpsBuildChangeAndEmptyCollections) {
  Index index;
  WriteBatch create;
  const std::string long_value(100, 'v');
  WriteBatchInternal::HashSet(&create, 3, "h", {"short", "1", "long", long_value});
  std::string bytes;
  ASSERT_OK(Apply(create, &index, &bytes));
  const Collection* hash = index.FindCollection(IndexKey(3, "h"));
  ASSERT_NE(hash, nullptr);
  EXPECT_EQ(hash->size(), 2u);
  EXPECT_EQ(hash->FindField("short")->inline_value(), "1");
  const ElemRef* logged = hash->FindField("long");
  ASSERT_FALSE(logged->is_inline());
  EXPECT_EQ(logged->segment_id(), 2u);
  EXPECT_EQ(logged->value_bytes(), 100u);
  EXPECT_EQ(logged->value_hash(), Checksum64(long_value));
  // The offset is the value's in the segment: the record's at 4096, then the value's in it.
  EXPECT_EQ(bytes.substr(logged->offset() - 4096, 100), long_value);

  WriteBatch change;
  WriteBatchInternal::HashDelete(&change, 3, "h", {"short", "missing"});
  WriteBatchInternal::HashSet(&change, 3, "h", {"long", "2"});
  ASSERT_OK(Apply(change, &index));
  hash = index.FindCollection(IndexKey(3, "h"));
  EXPECT_EQ(hash->size(), 1u);
  EXPECT_EQ(hash->FindField("long")->inline_value(), "2");
  WriteBatch empty;
  WriteBatchInternal::HashDelete(&empty, 3, "h", {"long"});
  WriteBatchInternal::SetRemove(&empty, 0, "nothing", {"a"});  // absent: no change
  ASSERT_OK(Apply(empty, &index));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.digest(), StateDigest{});

  WriteBatch sets;
  WriteBatchInternal::SetAdd(&sets, 0, "s", {"1", "2"});
  WriteBatchInternal::SetAdd(&sets, 0, "s", {"2", "x"});
  ASSERT_OK(Apply(sets, &index));
  EXPECT_EQ(index.FindCollection(IndexKey(0, "s"))->size(), 3u);
  EXPECT_EQ(index.FindCollection(IndexKey(0, "s"))->EncodingName(), "hashtable");
}

TEST(CollectionOpsTest, AnOpOnAKeyOfAnotherTypeIsCorruption) {
  Index index;
  IndexEntry string_entry;
  string_entry.segment_id = 1;
  string_entry.value_offset = 64;
  index.Put(IndexKey(0, "str"), string_entry);
  WriteBatch set_on_string;
  WriteBatchInternal::SetAdd(&set_on_string, 0, "str", {"a"});
  EXPECT_TRUE(Apply(set_on_string, &index).IsCorruption());
  WriteBatch hash;
  WriteBatchInternal::HashSet(&hash, 0, "h", {"f", "v"});
  ASSERT_OK(Apply(hash, &index));
  WriteBatch set_on_hash;
  WriteBatchInternal::SetRemove(&set_on_hash, 0, "h", {"f"});
  const Status status = Apply(set_on_hash, &index);
  EXPECT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("a set op on a key holding a hash"), std::string::npos)
      << status.ToString();
  EXPECT_EQ(index.FindCollection(IndexKey(0, "h"))->size(), 1u);  // unchanged
}

}  // namespace
}  // namespace ordo::index
