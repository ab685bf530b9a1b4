// Record and segment codecs: round trips, and every single-byte corruption of a small sealed
// segment is detected by full verification.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "log/format.h"
#include "log/segment_reader.h"
#include "log/segment_verifier.h"
#include "log/segment_writer.h"
#include "log/write_batch_internal.h"
#include "tests/test_util.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo::log {
namespace {

const std::string kDatabaseId(16, '\x42');

TEST(RecordCodec, RoundTripsEveryOpType) {
  WriteBatch batch;
  batch.Put("key", std::string("v\0alue", 6), 1234567);
  batch.Delete("gone");
  batch.ClearDatabase();
  WriteBatchInternal::Expire(&batch, "late");
  batch.Put(std::string(300, 'k'), std::string(70000, 'v'));
  std::string bytes;
  std::vector<uint32_t> value_offsets;
  EncodeRecord(RecordMeta{77, 1700000000000000, StateDigest{5, 6}}, batch, &bytes, &value_offsets);
  ASSERT_EQ(bytes.size(), EncodedRecordBytes(batch));
  ASSERT_EQ(StampRecords(bytes, 70), 1u);
  EXPECT_EQ(DecodeFixed64(bytes.data()), Checksum64(std::string_view(bytes).substr(8)));
  DecodedRecord record;
  ASSERT_OK(DecodeRecordPayload(std::string_view(bytes).substr(kRecordHeaderBytes), kFormatVersion,
                                &record));
  EXPECT_EQ(record.lsn, 77u);
  EXPECT_EQ(record.durable_lsn, 70u);
  EXPECT_EQ(record.commit_time_micros, 1700000000000000);
  EXPECT_EQ(record.digest, (StateDigest{5, 6}));
  ASSERT_EQ(record.ops.size(), 5u);
  EXPECT_EQ(record.ops[0].type, log::OpType::kPut);
  EXPECT_EQ(record.ops[0].key, "key");
  EXPECT_EQ(record.ops[0].value, std::string("v\0alue", 6));
  EXPECT_EQ(record.ops[0].expire_at_ms, 1234567);
  EXPECT_EQ(bytes.substr(value_offsets[0], 6), std::string("v\0alue", 6));
  EXPECT_EQ(record.ops[0].value_offset, value_offsets[0]);
  EXPECT_EQ(record.ops[1].type, log::OpType::kDelete);
  EXPECT_EQ(record.ops[2].type, log::OpType::kClear);
  EXPECT_EQ(record.ops[3].type, log::OpType::kExpire);
  EXPECT_EQ(record.ops[3].key, "late");
  EXPECT_EQ(record.ops[4].value.size(), 70000u);
}

// A whole record of LSN 5 (durable LSN 4) holding `batch`, its size checked.
std::string EncodedRecord(const WriteBatch& batch, std::vector<uint32_t>* value_offsets) {
  std::string bytes;
  EncodeRecord(RecordMeta{5, 1, {}}, batch, &bytes, value_offsets);
  EXPECT_EQ(bytes.size(), EncodedRecordBytes(batch));
  StampRecords(bytes, 4);
  return bytes;
}

TEST(RecordCodec, RoundTripsOpsOfOtherDatabasesAndRefusesImpossibleOnes) {
  WriteBatch batch;
  batch.Put("zero", "0");  // database 0: type 1, as before databases
  batch.Put("seven", "7", 99);
  batch.Delete("gone");
  WriteBatchInternal::Expire(&batch, "late");
  auto& ops = WriteBatchInternal::MutableOps(&batch);
  ops[1].db = 7;
  ops[2].db = 300;
  ops[3].db = 65535;
  WriteBatchInternal::FlushDatabase(&batch, 0);
  WriteBatchInternal::FlushDatabase(&batch, 12);
  std::vector<uint32_t> value_offsets;
  const std::string bytes = EncodedRecord(batch, &value_offsets);
  const std::string payload = bytes.substr(kRecordHeaderBytes);
  DecodedRecord record;
  ASSERT_OK(DecodeRecordPayload(payload, kFormatVersion, &record));
  ASSERT_EQ(record.ops.size(), 6u);
  const std::vector<std::pair<OpType, uint32_t>> expected = {
      {OpType::kPut, 0},        {OpType::kPut, 7},           {OpType::kDelete, 300},
      {OpType::kExpire, 65535}, {OpType::kFlushDatabase, 0}, {OpType::kFlushDatabase, 12}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(record.ops[i].type, expected[i].first) << i;
    EXPECT_EQ(record.ops[i].db, expected[i].second) << i;
  }
  EXPECT_EQ(record.ops[1].value, "7");
  EXPECT_EQ(record.ops[1].expire_at_ms, 99);
  EXPECT_EQ(bytes.substr(value_offsets[1], 1), "7");
  // The op of database 0 is the old type 1 byte for byte; database 7's put is type 6.
  const size_t first_op = kRecordFixedPayloadBytes;
  EXPECT_EQ(static_cast<uint8_t>(payload[first_op]), 1);
  EXPECT_EQ(static_cast<uint8_t>(payload[first_op + 1 + 1 + 4 + 1 + 1 + 8]), kWirePutInDatabase);
  // A put of database 0 under type 6 was not written by ordo, nor a database past the last.
  std::string forged = payload;
  forged[first_op + 1 + 1 + 4 + 1 + 1 + 8 + 1] = 0;  // type 6's database: 7 -> 0
  EXPECT_TRUE(DecodeRecordPayload(forged, kFormatVersion, &record).IsCorruption());
  WriteBatch too_far;
  too_far.Put("k", "v");
  WriteBatchInternal::MutableOps(&too_far)[0].db = kDatabasesMax;
  EXPECT_TRUE(ValidateBatch(too_far).IsInvalidArgument());
}

TEST(RecordCodec, RoundTripsMetadataOnlyOpsAndRefusesImpossibleOnes) {
  WriteBatch batch;
  WriteBatchInternal::SetExpiry(&batch, 0, "k", 1700000000123);
  WriteBatchInternal::SetExpiry(&batch, 9, "k", 0);  // PERSIST
  WriteBatchInternal::Rename(&batch, 0, "from", 0, "to");
  WriteBatchInternal::Rename(&batch, 3, "k", 65535, "k");  // MOVE
  WriteBatchInternal::Copy(&batch, 1, "", 2, std::string(300, 'c'));
  std::vector<uint32_t> value_offsets;
  const std::string bytes = EncodedRecord(batch, &value_offsets);
  const std::string payload = bytes.substr(kRecordHeaderBytes);
  // The ops' bytes (docs/FORMAT.md): no value anywhere, every database named, 0 included.
  const size_t first_op = kRecordFixedPayloadBytes;
  EXPECT_EQ(payload.substr(first_op, 1 + 1 + 1 + 1 + 8),
            std::string("\x0a\x00\x01k", 4) + std::string("\x7b\x68\xe5\xcf\x8b\x01\x00\x00", 8));
  const size_t rename = first_op + 12 + 12;
  EXPECT_EQ(payload.substr(rename, 11),
            std::string("\x0b\x00\x04", 3) + "from" + std::string("\x00\x02", 2) + "to");
  DecodedRecord record;
  ASSERT_OK(DecodeRecordPayload(payload, kFormatVersion, &record));
  ASSERT_EQ(record.ops.size(), 5u);
  EXPECT_EQ(record.ops[0].type, OpType::kSetExpiry);
  EXPECT_EQ(record.ops[0].expire_at_ms, 1700000000123);
  EXPECT_EQ(record.ops[1].db, 9u);
  EXPECT_EQ(record.ops[1].expire_at_ms, 0);
  EXPECT_EQ(record.ops[2].type, OpType::kRename);
  EXPECT_EQ(record.ops[2].key, "from");
  EXPECT_EQ(record.ops[2].target_key, "to");
  EXPECT_EQ(record.ops[3].db, 3u);
  EXPECT_EQ(record.ops[3].target_db, 65535u);
  EXPECT_EQ(record.ops[3].target_key, "k");
  EXPECT_EQ(record.ops[4].type, OpType::kCopy);
  EXPECT_EQ(record.ops[4].key, "");
  EXPECT_EQ(record.ops[4].db, 1u);
  EXPECT_EQ(record.ops[4].target_db, 2u);
  EXPECT_EQ(record.ops[4].target_key, std::string(300, 'c'));
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(value_offsets[i], 0u) << i;
  // Every cut is corruption, never a shorter op.
  for (size_t cut = first_op; cut < payload.size(); ++cut) {
    EXPECT_TRUE(DecodeRecordPayload(payload.substr(0, cut), kFormatVersion, &record).IsCorruption())
        << cut;
  }
  // A rename onto itself is refused by the writer and by the reader.
  WriteBatch onto_itself;
  WriteBatchInternal::Rename(&onto_itself, 4, "k", 4, "k");
  EXPECT_TRUE(ValidateBatch(onto_itself).IsInvalidArgument());
  WriteBatch self;
  WriteBatchInternal::Copy(&self, 0, "to", 0, "tt");
  std::string self_bytes;
  EncodeRecord(RecordMeta{5, 1, {}}, self, &self_bytes, &value_offsets);
  std::string self_payload = self_bytes.substr(kRecordHeaderBytes);
  self_payload[self_payload.size() - 1] = 'o';  // target "tt" -> "to": the key itself
  EXPECT_TRUE(DecodeRecordPayload(self_payload, kFormatVersion, &record).IsCorruption());
  // Databases past the last, and a negative expiry.
  WriteBatch far;
  WriteBatchInternal::Copy(&far, 0, "a", kDatabasesMax, "a");
  EXPECT_TRUE(ValidateBatch(far).IsInvalidArgument());
  WriteBatch negative;
  WriteBatchInternal::SetExpiry(&negative, 0, "a", -1);
  EXPECT_TRUE(ValidateBatch(negative).IsInvalidArgument());
}

TEST(RecordCodec, RoundTripsCollectionOpsAndRefusesImpossibleOnes) {
  WriteBatch batch;
  WriteBatchInternal::HashSet(&batch, 0, "h", {"f1", "v1", "", std::string(300, 'v')});
  WriteBatchInternal::HashDelete(&batch, 7, "h", {"f1"});
  WriteBatchInternal::SetAdd(&batch, 65535, "s", {"a", "b", ""});
  WriteBatchInternal::SetRemove(&batch, 1, "", {"a"});
  ASSERT_OK(ValidateBatch(batch));
  std::vector<uint32_t> value_offsets;
  const std::string bytes = EncodedRecord(batch, &value_offsets);
  const std::string payload = bytes.substr(kRecordHeaderBytes);
  // The hash set's bytes (docs/FORMAT.md): type, db, key, count, then field, value pairs.
  const size_t first_op = kRecordFixedPayloadBytes;
  EXPECT_EQ(payload.substr(first_op, 12), std::string("\x0d\x00\x01h\x02\x02", 6) + "f1" +
                                              std::string("\x02", 1) + "v1" +
                                              std::string("\x00", 1));
  DecodedRecord record;
  ASSERT_OK(DecodeRecordPayload(payload, kFormatVersion, &record));
  ASSERT_EQ(record.ops.size(), 4u);
  EXPECT_EQ(record.ops[0].type, OpType::kHashSet);
  EXPECT_EQ(record.ops[0].element_count, 2u);
  std::vector<std::string> seen;
  ForEachElement(record.ops[0],
                 [&](std::string_view element, std::string_view value, uint32_t value_offset) {
                   seen.push_back(std::string(element) + "=" + std::string(value).substr(0, 3));
                   // The offset names the value's bytes in the record.
                   EXPECT_EQ(bytes.substr(value_offset, value.size()), value);
                 });
  EXPECT_EQ(seen, std::vector<std::string>({"f1=v1", "=vvv"}));
  EXPECT_EQ(record.ops[1].db, 7u);
  EXPECT_EQ(record.ops[1].type, OpType::kHashDelete);
  EXPECT_EQ(record.ops[2].db, 65535u);
  EXPECT_EQ(record.ops[2].element_count, 3u);
  seen.clear();
  ForEachElement(record.ops[2],
                 [&](std::string_view element, std::string_view value, uint32_t value_offset) {
                   EXPECT_TRUE(value.empty());
                   EXPECT_EQ(value_offset, 0u);
                   seen.emplace_back(element);
                 });
  EXPECT_EQ(seen, std::vector<std::string>({"a", "b", ""}));
  EXPECT_EQ(record.ops[3].type, OpType::kSetRemove);
  EXPECT_EQ(record.ops[3].key, "");
  for (size_t cut = first_op; cut < payload.size(); ++cut) {
    EXPECT_TRUE(DecodeRecordPayload(payload.substr(0, cut), kFormatVersion, &record).IsCorruption())
        << cut;
  }
  // A count of 0, or past the bytes there are, is no record's.
  std::string zero = payload.substr(0, first_op);
  zero += std::string("\x0f\x00\x01s\x00", 5);
  EncodeFixed32(zero.data() + first_op - 4, 1);
  EXPECT_TRUE(DecodeRecordPayload(zero, kFormatVersion, &record).IsCorruption());
  // Fields past the key limit are refused by the writer.
  WriteBatch long_field;
  WriteBatchInternal::SetAdd(&long_field, 0, "s", {std::string(kKeyBytesMax + 1, 'm')});
  EXPECT_TRUE(ValidateBatch(long_field).IsInvalidArgument());
}

TEST(RecordCodec, TruncatedOrPaddedPayloadIsCorruption) {
  WriteBatch batch;
  batch.Put("key", "value");
  std::string bytes;
  std::vector<uint32_t> offsets;
  EncodeRecord(RecordMeta{1, 1, {}}, batch, &bytes, &offsets);
  StampRecords(bytes, 0);
  const std::string payload = bytes.substr(kRecordHeaderBytes);
  DecodedRecord record;
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    EXPECT_TRUE(DecodeRecordPayload(payload.substr(0, cut), kFormatVersion, &record).IsCorruption())
        << cut;
  }
  EXPECT_TRUE(DecodeRecordPayload(payload + "x", kFormatVersion, &record).IsCorruption());
  // Read as format 1 (no durable LSN) the same bytes do not decode either: versions differ.
  EXPECT_TRUE(DecodeRecordPayload(payload, 1, &record).IsCorruption());
}

TEST(RecordCodec, ADurableLsnNotBelowTheRecordsOwnIsCorruption) {
  WriteBatch batch;
  batch.Put("key", "value");
  std::string bytes;
  std::vector<uint32_t> offsets;
  EncodeRecord(RecordMeta{5, 1, {}}, batch, &bytes, &offsets);
  EncodeFixed64(bytes.data() + kRecordDurableLsnOffset, 5);  // as a forger would, not StampRecords
  DecodedRecord record;
  const Status status = DecodeRecordPayload(std::string_view(bytes).substr(kRecordHeaderBytes),
                                            kFormatVersion, &record);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
}

TEST(RecordCodec, StampRecordsStampsEveryRecordOfARun) {
  std::string run;
  std::vector<uint32_t> offsets;
  for (uint64_t lsn = 10; lsn < 13; ++lsn) {
    WriteBatch batch;
    batch.Put("key" + std::to_string(lsn), std::string(lsn * 100, 'v'));
    EncodeRecord(RecordMeta{lsn, 1, {}}, batch, &run, &offsets);
  }
  ASSERT_EQ(StampRecords(run, 9), 3u);
  DecodedRecord record;
  for (size_t at = 0, lsn = 10; at < run.size(); ++lsn) {
    const uint32_t payload_bytes = DecodeFixed32(run.data() + at + 12);
    const std::string_view whole(run.data() + at, kRecordHeaderBytes + payload_bytes);
    EXPECT_EQ(DecodeFixed64(whole.data()), Checksum64(whole.substr(8))) << lsn;
    ASSERT_OK(DecodeRecordPayload(whole.substr(kRecordHeaderBytes), kFormatVersion, &record));
    EXPECT_EQ(record.lsn, lsn);
    EXPECT_EQ(record.durable_lsn, 9u);
    at += whole.size();
  }
}

TEST(SegmentFormat, HeaderAndFooterRoundTrip) {
  SegmentHeader header;
  header.database_id = kDatabaseId;
  header.segment_id = 9;
  header.first_lsn = 1000;
  header.previous_footer_hash = 0xabcdef;
  const std::string bytes = EncodeSegmentHeader(header);
  SegmentHeader decoded;
  ASSERT_OK(DecodeSegmentHeader(bytes, "x", &decoded));
  EXPECT_EQ(decoded.segment_id, 9u);
  EXPECT_EQ(decoded.first_lsn, 1000u);
  EXPECT_EQ(decoded.previous_footer_hash, 0xabcdefu);
  SegmentFooter footer{999, 5, 4096, 0x1234, 0};
  const std::string footer_bytes = EncodeSegmentFooter(&footer);
  SegmentFooter decoded_footer;
  ASSERT_OK(DecodeSegmentFooter(footer_bytes, "x", &decoded_footer));
  EXPECT_EQ(decoded_footer.footer_checksum, footer.footer_checksum);
  EXPECT_EQ(decoded_footer.records_end, 4096u);
  uint64_t id = 0;
  EXPECT_TRUE(ParseSegmentFileName(SegmentFileName(42), &id));
  EXPECT_EQ(id, 42u);
  EXPECT_FALSE(ParseSegmentFileName("00000000000000000042.seg.tmp", &id));
}

// Found by fuzz/segment_fuzzer.cc: a header with a valid checksum but segment id or first LSN
// 0 was accepted, and the active segment's reader then re-encoded it (EnableChecksum) and
// tripped EncodeSegmentHeader's assertion: recovery aborted instead of reporting corruption.
TEST(SegmentFormat, HeaderWithIdOrFirstLsnZeroIsCorruption) {
  SegmentHeader header;
  header.database_id = kDatabaseId;
  header.segment_id = 1;
  header.first_lsn = 1;
  const std::string valid = EncodeSegmentHeader(header);
  for (const size_t field_at : {size_t{32}, size_t{40}}) {
    std::string bytes = valid;
    std::memset(bytes.data() + field_at, 0, 8);
    EncodeFixed64(bytes.data() + 56, Checksum64(std::string_view(bytes).substr(0, 56)));
    SegmentHeader decoded;
    const Status status = DecodeSegmentHeader(bytes, "x", &decoded);
    EXPECT_TRUE(status.IsCorruption()) << field_at << ": " << status.ToString();
    EXPECT_NE(status.message().find("offset " + std::to_string(field_at)), std::string::npos)
        << status.ToString();
  }
}

// Writes a sealed segment of four records, each synced before the next (so record n names
// durable LSN n - 1); returns its path.
std::string WriteSmallSealedSegment(const std::string& directory) {
  SegmentHeader header;
  header.database_id = kDatabaseId;
  header.segment_id = 1;
  header.first_lsn = 1;
  auto writer = SegmentWriter::Create(FileSystem::Default(), directory, header);
  EXPECT_OK(writer);
  for (uint64_t lsn = 1; lsn <= 4; ++lsn) {
    WriteBatch batch;
    batch.Put("key" + std::to_string(lsn), "value" + std::to_string(lsn));
    if (lsn == 3) batch.Delete("key1");
    std::string bytes;
    std::vector<uint32_t> offsets;
    EncodeRecord(RecordMeta{lsn, static_cast<int64_t>(1000 + lsn), {}}, batch, &bytes, &offsets);
    EXPECT_OK((*writer)->Append(std::span<char>(bytes), 1, lsn));
    EXPECT_OK((*writer)->Sync());  // each commit durable before the next is written
  }
  EXPECT_OK((*writer)->Seal());
  return (*writer)->path();
}

TEST(SegmentFormat, SealedSegmentVerifiesAndIsReadOnly) {
  testing::ScratchDirectory scratch;
  const std::string path = WriteSmallSealedSegment(scratch.path());
  SegmentSummary summary;
  Status verified = VerifySealedSegment(FileSystem::Default(), path, &summary);
  ASSERT_OK(verified);
  EXPECT_EQ(summary.records, 4u);
  EXPECT_EQ(summary.footer.last_lsn, 4u);
  const auto permissions = std::filesystem::status(path).permissions();
  EXPECT_EQ(permissions & std::filesystem::perms::owner_write, std::filesystem::perms::none);
}

TEST(SegmentFormat, EverySingleByteCorruptionIsDetected) {
  testing::ScratchDirectory scratch;
  const std::string path = WriteSmallSealedSegment(scratch.path());
  std::ifstream input(path, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(input)), {});
  ASSERT_GT(original.size(), kSegmentHeaderBytes + kSegmentFooterBytes);
  const std::string damaged_path = scratch.Sub("damaged.seg");
  for (size_t offset = 0; offset < original.size(); ++offset) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string damaged = original;
      damaged[offset] = static_cast<char>(damaged[offset] ^ flip);
      {
        std::ofstream output(damaged_path, std::ios::binary | std::ios::trunc);
        output << damaged;
      }
      SegmentSummary summary;
      Status status = VerifySealedSegment(FileSystem::Default(), damaged_path, &summary);
      ASSERT_FALSE(status.ok()) << "flip " << int(flip) << " at offset " << offset << " undetected";
      EXPECT_NE(status.message().find("damaged.seg"), std::string::npos) << status.ToString();
    }
  }
}

// The small sealed segment's bytes without its footer: an active segment's.
std::string SmallActiveSegmentBytes(const testing::ScratchDirectory& scratch) {
  std::ifstream input(WriteSmallSealedSegment(scratch.path()), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(input)), {});
  bytes.resize(bytes.size() - kSegmentFooterBytes);
  return bytes;
}

// Writes `bytes` to active.seg in `scratch`, opens a reader over them, reads every record;
// returns the reader, positioned where reading stopped, and the count of records read.
std::unique_ptr<SegmentReader> ReadAllRecords(const testing::ScratchDirectory& scratch,
                                              const std::string& bytes, int* records) {
  const std::string active = scratch.Sub("active.seg");
  {
    std::ofstream output(active, std::ios::binary | std::ios::trunc);
    output << bytes;
  }
  auto reader = SegmentReader::Open(FileSystem::Default(), active, bytes.size());
  EXPECT_OK(reader);
  if (!reader.ok()) return nullptr;
  std::string_view payload;
  uint64_t offset = 0;
  Status error;
  *records = 0;
  while ((*reader)->Next(&payload, &offset, &error) == SegmentReader::Outcome::kRecord) {
    ++*records;
  }
  return std::move(*reader);
}

TEST(SegmentReader, TornTailHasNoValidRecordAfterItButMidDamageDoes) {
  testing::ScratchDirectory scratch;
  std::string bytes = SmallActiveSegmentBytes(scratch);
  int records = 0;
  auto reader = ReadAllRecords(scratch, bytes.substr(0, bytes.size() - 5), &records);  // torn
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(records, 3);
  auto after = reader->FindRecordsAfter(reader->offset(), 4);
  ASSERT_OK(after);
  EXPECT_EQ(after->count, 0u);
  // Damage in the first record: the other three follow, each naming what was durable when it
  // was written (WriteSmallSealedSegment syncs after every record).
  bytes[kSegmentHeaderBytes + 60] ^= 0x10;
  reader = ReadAllRecords(scratch, bytes, &records);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(records, 0);
  after = reader->FindRecordsAfter(reader->offset(), 1);
  ASSERT_OK(after);
  EXPECT_EQ(after->count, 3u);
  EXPECT_EQ(after->highest_lsn, 4u);
  EXPECT_EQ(after->highest_durable_lsn, 3u);
  EXPECT_EQ(after->highest_durable_record_lsn, 4u);
  EXPECT_GT(after->first_offset, reader->offset());
  EXPECT_GT(after->highest_durable_offset, after->first_offset);
}

// A value may hold the bytes of a whole record (a dump of a segment stored as a value): once a
// record is found, the search goes on after it, so a record inside its value is not counted.
TEST(SegmentReader, ARecordInsideAValueIsNotCountedAsOne) {
  testing::ScratchDirectory scratch;
  WriteBatch inner_batch;
  inner_batch.Put("inner", "x");
  std::string inner;
  std::vector<uint32_t> offsets;
  EncodeRecord(RecordMeta{99, 1, {}}, inner_batch, &inner, &offsets);
  StampRecords(inner, 98);  // names durable LSN 98: would look like damage if it were counted
  SegmentHeader header;
  header.database_id = kDatabaseId;
  header.segment_id = 1;
  header.first_lsn = 1;
  std::string bytes = EncodeSegmentHeader(header);
  const size_t first_end = bytes.size() + 100;  // where record 1 would end: left as garbage
  bytes.append(100, '\x5a');
  for (uint64_t lsn = 2; lsn <= 3; ++lsn) {
    WriteBatch batch;
    batch.Put("outer" + std::to_string(lsn), inner);
    const size_t start = bytes.size();
    EncodeRecord(RecordMeta{lsn, 1, {}}, batch, &bytes, &offsets);
    StampRecords(std::span<char>(bytes.data() + start, bytes.size() - start), 0);
  }
  int records = 0;
  auto reader = ReadAllRecords(scratch, bytes, &records);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(records, 0);
  auto after = reader->FindRecordsAfter(reader->offset(), 1);
  ASSERT_OK(after);
  EXPECT_EQ(after->count, 2u);
  EXPECT_EQ(after->highest_lsn, 3u);
  EXPECT_EQ(after->highest_durable_lsn, 0u);
  EXPECT_LE(after->first_offset, first_end);

  // The outer record's header lost (a torn write): the search starts inside its value and meets
  // the inner record first. Its LSN (99) cannot be this log's so soon after the place where
  // LSN 1 was expected, so it is not taken for a witness; the record after the outer one is.
  const size_t second = first_end;
  std::memset(bytes.data() + second, 0, kRecordHeaderBytes);
  reader = ReadAllRecords(scratch, bytes, &records);
  ASSERT_NE(reader, nullptr);
  after = reader->FindRecordsAfter(reader->offset(), 1);
  ASSERT_OK(after);
  EXPECT_EQ(after->count, 1u);
  EXPECT_EQ(after->highest_lsn, 3u);
  EXPECT_EQ(after->highest_durable_lsn, 0u);
}

// Bytes crafted with a record magic every 16 bytes, each candidate claiming the rest of the
// file: deciding "torn tail or damage" by checking every candidate read ~1 MiB per candidate,
// 131 k candidates for 2 MiB (~137 GB, quadratic in the file), and then called it a torn tail
// to cut. Past a budget of a few times the file it is now undecided, reported as damage.
TEST(SegmentReader, ManyCandidateRecordsAreDamageNotATornTailAndCostBoundedWork) {
  testing::ScratchDirectory scratch;
  std::string bytes = SmallActiveSegmentBytes(scratch);
  const size_t records_end = bytes.size();
  constexpr size_t kCraftedBytes = 2 << 20;
  bytes.resize(records_end + kCraftedBytes);
  for (size_t at = records_end; at + kRecordHeaderBytes <= bytes.size(); at += 16) {
    EncodeFixed64(bytes.data() + at, 0x0123456789abcdefull);  // a checksum that never matches
    EncodeFixed32(bytes.data() + at + 8, kRecordMagic);
    EncodeFixed32(bytes.data() + at + 12,
                  static_cast<uint32_t>(bytes.size() - at - kRecordHeaderBytes));
  }
  int records = 0;
  auto reader = ReadAllRecords(scratch, bytes, &records);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(records, 4);
  EXPECT_EQ(reader->offset(), records_end);
  auto after = reader->FindRecordsAfter(reader->offset(), 5);
  ASSERT_FALSE(after.ok());
  EXPECT_TRUE(after.status().IsCorruption());
  EXPECT_NE(after.status().message().find("too many to tell a torn tail from damage"),
            std::string::npos)
      << after.status().ToString();
  EXPECT_NE(after.status().message().find("active.seg"), std::string::npos);
}

}  // namespace
}  // namespace ordo::log
