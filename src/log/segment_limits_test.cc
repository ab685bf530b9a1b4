// The log's named limits, on both sides of each boundary (issue 11, item 4): what a writer
// refuses or asserts, the decoders refuse with Corruption naming the file and offset. Each
// refusal here was, before, accepted (or reported without naming its limit); the values
// would then have wrapped where the index narrows them to 4 bytes. And the segment writer's
// states: nothing is appended to a sealed segment, nothing sealed twice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/file_system_wrapper.h"
#include "io/memory_file_system.h"
#include "log/format.h"
#include "log/segment_reader.h"
#include "log/segment_writer.h"
#include "log/write_batch_internal.h"
#include "tests/test_util.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo::log {
namespace {

const std::string kDatabaseId(kDatabaseIdBytes, '\x42');

SegmentHeader HeaderOf(uint64_t segment_id) {
  SegmentHeader header;
  header.database_id = kDatabaseId;
  header.segment_id = segment_id;
  header.first_lsn = 1;
  return header;
}

// `bytes` (a header) with the u64 at `at` set to `value` and the header checksum redone: what
// a writer's bug or a forger could leave, past every checksum.
std::string WithHeaderField(std::string bytes, size_t at, uint64_t value) {
  EncodeFixed64(bytes.data() + at, value);
  EncodeFixed64(bytes.data() + 56, Checksum64(std::string_view(bytes).substr(0, 56)));
  return bytes;
}

void ExpectCorruptionAt(const Status& status, const std::string& where) {
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find(where), std::string::npos) << status.ToString();
}

TEST(SegmentIdLimit, TheLastIdDecodesAndTheNextIsCorruptionAtOffset32) {
  const std::string valid = EncodeSegmentHeader(HeaderOf(1));
  SegmentHeader decoded;
  ASSERT_OK(DecodeSegmentHeader(WithHeaderField(valid, 32, kSegmentIdMax), "seg", &decoded));
  EXPECT_EQ(decoded.segment_id, kSegmentIdMax);
  for (const uint64_t id : {kSegmentIdMax + 1, uint64_t{1} << 40, ~uint64_t{0}}) {
    const Status status = DecodeSegmentHeader(WithHeaderField(valid, 32, id), "seg", &decoded);
    ExpectCorruptionAt(status, "seg offset 32");
    EXPECT_NE(status.message().find(std::to_string(kSegmentIdMax)), std::string::npos);
  }
}

TEST(SegmentIdLimit, TheWriterRefusesToCreateASegmentPastTheLastId) {
  MemoryFileSystem fs;
  const Status refused = SegmentWriter::Create(&fs, "log", HeaderOf(kSegmentIdMax + 1)).status();
  EXPECT_TRUE(refused.IsNotSupported()) << refused.ToString();
  EXPECT_NE(refused.message().find(std::to_string(kSegmentIdMax)), std::string::npos);
  EXPECT_FALSE(fs.FileExists("log/" + SegmentFileName(kSegmentIdMax + 1)));
  // The last id itself is fine.
  auto writer = SegmentWriter::Create(&fs, "log", HeaderOf(kSegmentIdMax));
  ASSERT_OK(writer);
  EXPECT_EQ((*writer)->header().segment_id, kSegmentIdMax);
}

// An active segment of one record at LSN 1, with the record's length field set to `length`
// (checksum redone over what the length claims, where it can be).
std::string SegmentWithRecordLength(uint32_t length) {
  std::string bytes = EncodeSegmentHeader(HeaderOf(1));
  WriteBatch batch;
  batch.Put("key", "value");
  std::vector<uint32_t> offsets;
  EncodeRecord(RecordMeta{1, 1, {}}, batch, &bytes, &offsets);
  StampRecords(
      std::span<char>(bytes.data() + kSegmentHeaderBytes, bytes.size() - kSegmentHeaderBytes), 0);
  EncodeFixed32(bytes.data() + kSegmentHeaderBytes + 12, length);
  return bytes;
}

TEST(RecordSizeLimit, ALengthPastTheLimitIsCorruptionNamingTheLimit) {
  MemoryFileSystem fs;
  const std::string path = "log/" + SegmentFileName(1);
  const std::string bytes =
      SegmentWithRecordLength(static_cast<uint32_t>(kRecordPayloadBytesMax + 1));
  fs.SetFile(path, bytes);
  auto reader = SegmentReader::Open(&fs, path, bytes.size());
  ASSERT_OK(reader);
  std::string_view payload;
  uint64_t offset = 0;
  Status error;
  ASSERT_EQ((*reader)->Next(&payload, &offset, &error), SegmentReader::Outcome::kBad);
  ExpectCorruptionAt(error, path + " offset 64");
  EXPECT_NE(error.message().find("exceeds the limit of " + std::to_string(kRecordPayloadBytesMax)),
            std::string::npos)
      << error.ToString();
}

TEST(SegmentSizeLimit, ASegmentLongerThanTheIndexCanAddressIsCorruption) {
  MemoryFileSystem fs;
  const std::string path = "log/" + SegmentFileName(1);
  fs.SetFile(path, EncodeSegmentHeader(HeaderOf(1)));
  ASSERT_OK(SegmentReader::Open(&fs, path, kSegmentFileBytesMax));
  const Status status = SegmentReader::Open(&fs, path, kSegmentFileBytesMax + 1).status();
  ExpectCorruptionAt(status, path + " offset " + std::to_string(kSegmentFileBytesMax));
}

// A format 2 payload at LSN 2 (durable LSN 1) holding `ops` (each: type byte and its fields).
std::string PayloadWithOps(uint32_t op_count, const std::string& ops) {
  std::string payload;
  PutFixed64(&payload, 2);  // lsn
  PutFixed64(&payload, 1);  // durable_lsn
  PutFixed64(&payload, 0);  // commit time
  PutFixed64(&payload, 0);  // digest
  PutFixed64(&payload, 0);
  PutFixed64(&payload, 0);  // live keys
  PutFixed32(&payload, op_count);
  return payload + ops;
}

std::string Op(OpType type, std::string_view key) {
  std::string op(1, static_cast<char>(type));
  PutLengthPrefixed(&op, key);
  return op;
}

std::string PutOp(std::string_view key, std::string_view value, int64_t expire_at_ms) {
  std::string op = Op(OpType::kPut, key);
  PutLengthPrefixed(&op, value);
  PutFixed64(&op, static_cast<uint64_t>(expire_at_ms));
  return op;
}

TEST(KeySizeLimit, DecodedOpsPastTheBatchLimitsAreCorruption) {
  DecodedRecord record;
  const std::string longest(kKeyBytesMax, 'k');
  ASSERT_OK(
      DecodeRecordPayload(PayloadWithOps(1, PutOp(longest, "v", 0)), kFormatVersion, &record));
  const std::string too_long(kKeyBytesMax + 1, 'k');
  struct Case {
    std::string ops;
    std::string says;
  };
  const Case cases[] = {
      {PutOp(too_long, "v", 0), "key of " + std::to_string(kKeyBytesMax + 1)},
      {Op(OpType::kDelete, too_long), "key of"},
      {Op(OpType::kExpire, too_long), "key of"},
      {Op(OpType::kRestorePoint, ""), "restore point name of 0 bytes"},
      {Op(OpType::kRestorePoint, std::string(kRestorePointNameBytesMax + 1, 'n')),
       "restore point name of"},
      {PutOp("key", "v", -5), "negative expiry time -5"},
  };
  for (const Case& one : cases) {
    const Status status = DecodeRecordPayload(PayloadWithOps(1, one.ops), kFormatVersion, &record);
    EXPECT_TRUE(status.IsCorruption()) << one.says << ": " << status.ToString();
    EXPECT_NE(status.message().find(one.says), std::string::npos) << status.ToString();
  }
}

TEST(SegmentFooterLimits, RecordsEndOutsideASegmentOrTooManyRecordsIsCorruption) {
  SegmentFooter footer{10, 10, kSegmentHeaderBytes + 10 * kRecordBytesMin, 0, 0};
  SegmentFooter decoded;
  ASSERT_OK(DecodeSegmentFooter(EncodeSegmentFooter(&footer), "seg", &decoded));
  // Forged past EncodeSegmentFooter's assertions: fields set, checksum redone.
  const auto forged = [&](size_t at, uint64_t value) {
    std::string bytes = EncodeSegmentFooter(&footer);
    EncodeFixed64(bytes.data() + at, value);
    EncodeFixed64(bytes.data() + 40, Checksum64(std::string_view(bytes).substr(0, 40)));
    return bytes;
  };
  ExpectCorruptionAt(DecodeSegmentFooter(forged(24, kSegmentHeaderBytes - 1), "seg", &decoded),
                     "seg: seal footer (offset 24)");
  ExpectCorruptionAt(DecodeSegmentFooter(forged(24, kSegmentFileBytesMax), "seg", &decoded),
                     "seg: seal footer (offset 24)");
  ExpectCorruptionAt(DecodeSegmentFooter(forged(16, 11), "seg", &decoded),
                     "seg: seal footer (offset 16)");
}

// Fails every call of the file system once `failing` is set.
class FailingFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  bool failing = false;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    ORDO_ASSIGN_OR_RETURN(auto file, FileSystemWrapper::NewWritableFile(path));
    return std::unique_ptr<WritableFile>(new File(std::move(file), &failing));
  }

 private:
  class File : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> file, const bool* failing)
        : file_(std::move(file)), failing_(failing) {}
    Status Append(std::string_view bytes) override {
      return *failing_ ? Status::IOError("injected") : file_->Append(bytes);
    }
    Status Sync() override { return *failing_ ? Status::IOError("injected") : file_->Sync(); }
    Status SyncAll() override { return *failing_ ? Status::IOError("injected") : file_->SyncAll(); }
    Status Close() override { return file_->Close(); }
    Status Preallocate(uint64_t bytes) override { return file_->Preallocate(bytes); }
    Status TrimPreallocation() override { return file_->TrimPreallocation(); }
    uint64_t Size() const override { return file_->Size(); }
    const std::string& path() const override { return file_->path(); }

   private:
    std::unique_ptr<WritableFile> file_;
    const bool* failing_;
  };
};

// One record at `lsn`, encoded and ready for SegmentWriter::Append.
std::string RecordAt(uint64_t lsn) {
  WriteBatch batch;
  batch.Put("key", "value");
  std::string bytes;
  std::vector<uint32_t> offsets;
  EncodeRecord(RecordMeta{lsn, 1, {}}, batch, &bytes, &offsets);
  return bytes;
}

TEST(SegmentWriterState, OpenUntilSealedOrFailed) {
  MemoryFileSystem memory;
  FailingFileSystem fs(&memory);
  auto writer = SegmentWriter::Create(&fs, "log", HeaderOf(1));
  ASSERT_OK(writer);
  EXPECT_EQ((*writer)->state(), SegmentWriter::State::kOpen);
  std::string record = RecordAt(1);
  ASSERT_OK((*writer)->Append(std::span<char>(record), 1, 1));
  ASSERT_OK((*writer)->Finish());  // a clean close leaves it open
  EXPECT_EQ((*writer)->state(), SegmentWriter::State::kOpen);
  ASSERT_OK((*writer)->Seal());
  EXPECT_EQ((*writer)->state(), SegmentWriter::State::kSealed);

  auto second = SegmentWriter::Create(&fs, "log", HeaderOf(2));
  ASSERT_OK(second);
  fs.failing = true;
  EXPECT_FALSE((*second)->Sync().ok());
  EXPECT_EQ((*second)->state(), SegmentWriter::State::kFailed);
}

using SegmentWriterDeathTest = ::testing::Test;

TEST_F(SegmentWriterDeathTest, AppendAfterSealAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MemoryFileSystem fs;
  auto writer = SegmentWriter::Create(&fs, "log", HeaderOf(1));
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Seal());
  std::string record = RecordAt(1);
  EXPECT_DEATH((void)(*writer)->Append(std::span<char>(record), 1, 1), "state_ == State::kOpen");
}

TEST_F(SegmentWriterDeathTest, SealTwiceAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MemoryFileSystem fs;
  auto writer = SegmentWriter::Create(&fs, "log", HeaderOf(1));
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Seal());
  EXPECT_DEATH((void)(*writer)->Seal(), "state_ == State::kOpen");
}

TEST_F(SegmentWriterDeathTest, AppendAfterAFailedSyncAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MemoryFileSystem memory;
  FailingFileSystem fs(&memory);
  auto writer = SegmentWriter::Create(&fs, "log", HeaderOf(1));
  ASSERT_OK(writer);
  fs.failing = true;
  ASSERT_FALSE((*writer)->Sync().ok());
  fs.failing = false;
  std::string record = RecordAt(1);
  EXPECT_DEATH((void)(*writer)->Append(std::span<char>(record), 1, 1), "state_ == State::kOpen");
}

TEST_F(SegmentWriterDeathTest, AGapInTheLsnsAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MemoryFileSystem fs;
  auto writer = SegmentWriter::Create(&fs, "log", HeaderOf(1));
  ASSERT_OK(writer);
  std::string record = RecordAt(2);  // LSN 1 expected first; the caller's count says 1
  EXPECT_DEATH((void)(*writer)->Append(std::span<char>(record), 1, 1), "== last_lsn_ \\+ 1");
}

}  // namespace
}  // namespace ordo::log
