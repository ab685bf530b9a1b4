// Fuzz harness for the log's readers (src/log/): the segment header and footer codecs, the
// verifying SegmentReader (records, torn-tail detection, the all-zero tail), ReadSegmentTail,
// the record payload decoder and VerifySealedSegment. A segment reaches these from a data
// directory copied by any tool, from a backup repository or from the archive: its bytes are
// untrusted.
//
// Input: byte 0 holds flags, the rest is the segment file. Every structure is behind an XXH3
// checksum, which random bytes never match, so with the "repair" flag the harness first makes
// the checksums (and record magics and lengths) right, as a writer would, and the fuzzer reaches
// the record decoder and the footer checks; without it the raw bytes are read as they are.
// Checked: no crash, no sanitizer report; every record returned has a payload inside the
// file; the reader only moves forward and stops at its limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "io/memory_file_system.h"
#include "log/format.h"
#include "log/segment_reader.h"
#include "log/segment_verifier.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace {

using namespace ordo;
using log::SegmentReader;

constexpr uint8_t kRepairChecksums = 1;  // fix header and record checksums, magics, lengths
constexpr uint8_t kAppendFooter = 2;     // seal the (repaired) segment with a valid footer
constexpr uint8_t kStreamChecksum = 4;   // exercise SegmentReader::EnableChecksum
const std::string kPath = "db/log/00000000000000000001.seg";

// Makes every record header from offset 64 on valid: a record's length is cut to what remains,
// its magic set, its checksum computed. A run of zeros where a header would be is left alone
// (it is the end of written data, which the reader must recognize too).
void RepairRecords(std::string* segment) {
  uint64_t offset = log::kSegmentHeaderBytes;
  while (offset + log::kRecordHeaderBytes <= segment->size()) {
    char* header = segment->data() + offset;
    if (DecodeFixed64(header) == 0 && DecodeFixed64(header + 8) == 0) return;
    const uint64_t room = segment->size() - offset - log::kRecordHeaderBytes;
    const uint32_t length = static_cast<uint32_t>(DecodeFixed32(header + 12) % (room + 1));
    EncodeFixed32(header + 8, log::kRecordMagic);
    EncodeFixed32(header + 12, length);
    EncodeFixed64(header, Checksum64(std::string_view(header + 8, 8 + length)));
    offset += log::kRecordHeaderBytes + length;
  }
}

void Repair(uint8_t flags, std::string* segment) {
  if (segment->size() >= log::kSegmentHeaderBytes) {
    std::memcpy(segment->data(), log::kSegmentMagic, sizeof(log::kSegmentMagic));
    EncodeFixed32(segment->data() + 8, log::kFormatVersion);
    EncodeFixed32(segment->data() + 12, log::kSegmentHeaderBytes);
    EncodeFixed64(segment->data() + 56, Checksum64(std::string_view(segment->data(), 56)));
  }
  RepairRecords(segment);
  if ((flags & kAppendFooter) && segment->size() >= log::kSegmentHeaderBytes) {
    log::SegmentFooter footer;
    footer.records_end = segment->size();
    footer.segment_checksum = Checksum64(*segment);
    // Often wrong, and then VerifySealedSegment must say so; sometimes more records than the
    // bytes hold, which EncodeSegmentFooter asserts against, so it is forged after encoding.
    const uint64_t record_count = segment->size() % 7;
    footer.last_lsn = DecodeFixed64(segment->data() + 40) + record_count - 1;
    std::string footer_bytes = log::EncodeSegmentFooter(&footer);
    EncodeFixed64(footer_bytes.data() + 16, record_count);
    EncodeFixed64(footer_bytes.data() + 40,
                  Checksum64(std::string_view(footer_bytes).substr(0, 40)));
    segment->append(footer_bytes);
  }
}

// Reads every record as recovery does, and decodes each payload.
void ReadAll(MemoryFileSystem* fs, uint64_t file_size, uint8_t flags) {
  auto tail = log::ReadSegmentTail(fs, kPath, file_size);
  FUZZ_CHECK(tail.ok());
  const uint64_t limit = tail->sealed ? tail->footer.records_end : file_size;
  FUZZ_CHECK(limit <= file_size);
  auto opened = SegmentReader::Open(fs, kPath, limit);
  if (!opened.ok()) return;
  SegmentReader& reader = **opened;
  StreamingChecksum checksum;
  if (flags & kStreamChecksum) reader.EnableChecksum(&checksum);
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  log::DecodedRecord record;
  uint64_t expected_lsn = reader.header().first_lsn;  // of the next record, if the log is sound
  while (true) {
    const uint64_t before = reader.offset();
    const auto outcome = reader.Next(&payload, &record_offset, &error);
    FUZZ_CHECK(reader.offset() >= before && reader.offset() <= limit);
    if (outcome == SegmentReader::Outcome::kEnd) break;
    if (outcome == SegmentReader::Outcome::kBad) {
      FUZZ_CHECK(!error.ok());
      auto after = reader.FindRecordsAfter(reader.offset(), expected_lsn);
      FUZZ_CHECK(after.ok());
      // Whatever it finds lies after the bad position, and its evidence is one of them.
      if (after->count > 0) {
        FUZZ_CHECK(after->first_offset > reader.offset() && after->first_offset < limit);
        FUZZ_CHECK(after->highest_durable_offset >= after->first_offset);
        FUZZ_CHECK(after->highest_lsn > expected_lsn);
        FUZZ_CHECK(after->highest_durable_lsn < after->highest_durable_record_lsn);
      }
      break;
    }
    FUZZ_CHECK(record_offset == before && reader.offset() > before);
    FUZZ_CHECK(record_offset + log::kRecordHeaderBytes + payload.size() == reader.offset());
    ++expected_lsn;
    if (!log::DecodeRecordPayload(payload, reader.header().format_version, &record).ok()) continue;
    for (const auto& op : record.ops) {
      // A value's offset points at its bytes inside the record.
      if (op.type == log::OpType::kPut) {
        FUZZ_CHECK(op.value_offset + op.value.size() <= log::kRecordHeaderBytes + payload.size());
      }
    }
  }
  if (flags & kStreamChecksum) {
    auto prefix = reader.ChecksumPrefix(reader.offset());
    FUZZ_CHECK(prefix.ok() && *prefix == checksum.Digest());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string segment(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (flags & kRepairChecksums) Repair(flags, &segment);

  // The codecs on their own, at the places a reader would look.
  log::SegmentHeader header;
  (void)log::DecodeSegmentHeader(segment, kPath, &header);
  log::SegmentFooter footer;
  if (segment.size() >= log::kSegmentFooterBytes) {
    (void)log::DecodeSegmentFooter(
        std::string_view(segment).substr(segment.size() - log::kSegmentFooterBytes), kPath,
        &footer);
  }
  log::DecodedRecord record;
  (void)log::DecodeRecordPayload(segment, log::kFormatVersion, &record);

  MemoryFileSystem fs{MemoryFileSystem::Repairs::kRefuse};
  const uint64_t file_size = segment.size();
  fs.SetFile(kPath, std::move(segment));
  ReadAll(&fs, file_size, flags);
  log::SegmentSummary summary;
  (void)log::VerifySealedSegment(&fs, kPath, &summary);
  return 0;
}
