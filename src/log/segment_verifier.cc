#include "log/segment_verifier.h"

#include "fmt/format.h"
#include "log/segment_reader.h"

namespace ordo::log {

Status VerifySealedSegment(FileSystem* fs, const std::string& path, SegmentSummary* summary) {
  ORDO_ASSIGN_OR_RETURN(uint64_t file_size, fs->GetFileSize(path));
  ORDO_ASSIGN_OR_RETURN(SegmentTail tail, ReadSegmentTail(fs, path, file_size));
  if (!tail.sealed) {
    return Status::Corruption(
        fmt::format("{} offset {}: no valid seal footer at the end", path,
                    file_size < kSegmentFooterBytes ? 0 : file_size - kSegmentFooterBytes));
  }
  summary->footer = tail.footer;
  ORDO_ASSIGN_OR_RETURN(auto reader, SegmentReader::Open(fs, path, tail.footer.records_end));
  summary->header = reader->header();
  uint64_t expected_lsn = summary->header.first_lsn;
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  DecodedRecord record;
  summary->records = 0;
  for (;;) {
    const auto outcome = reader->Next(&payload, &record_offset, &error);
    if (outcome == SegmentReader::Outcome::kEnd) break;
    if (outcome == SegmentReader::Outcome::kBad) return error;
    ORDO_RETURN_IF_ERROR(DecodeRecordPayload(payload, reader->header().format_version, &record)
                             .WithContext(fmt::format("{} offset {}", path, record_offset)));
    if (record.lsn != expected_lsn) {
      return Status::Corruption(fmt::format("{} offset {}: LSN {} where {} was expected", path,
                                            record_offset, record.lsn, expected_lsn));
    }
    ++expected_lsn;
    ++summary->records;
  }
  const SegmentFooter& footer = tail.footer;
  if (reader->offset() != footer.records_end) {
    return Status::Corruption(fmt::format("{} offset {}: records end before the footer at {}", path,
                                          reader->offset(), footer.records_end));
  }
  if (summary->records != footer.record_count || expected_lsn - 1 != footer.last_lsn) {
    return Status::Corruption(
        fmt::format("{} offset {}: footer says {} records up to LSN {}, "
                    "found {} up to LSN {}",
                    path, footer.records_end, footer.record_count, footer.last_lsn,
                    summary->records, expected_lsn - 1));
  }
  ORDO_ASSIGN_OR_RETURN(uint64_t checksum, reader->ChecksumPrefix(footer.records_end));
  if (checksum != footer.segment_checksum) {
    return Status::Corruption(
        fmt::format("{} offset {}: segment checksum mismatch (footer "
                    "{:016x}, computed {:016x})",
                    path, footer.records_end, footer.segment_checksum, checksum));
  }
  return Status::Ok();
}

}  // namespace ordo::log
