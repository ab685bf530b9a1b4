// Segment header and footer codecs and file names.
#include <algorithm>
#include <cstring>

#include "fmt/format.h"
#include "log/format.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/numbered_file_name.h"

namespace ordo::log {

namespace {

// The decoder's view of what was just encoded: asserted by the encoders, so that a field the
// encoder accepts but the decoder refuses (or reads back differently) is caught where it is
// written, not by the next open.
bool HeaderRoundTrips(const std::string& bytes, const SegmentHeader& header) {
  SegmentHeader decoded;
  return DecodeSegmentHeader(bytes, "encoded header", &decoded).ok() &&
         decoded.format_version == header.format_version &&
         decoded.database_id == header.database_id && decoded.segment_id == header.segment_id &&
         decoded.first_lsn == header.first_lsn &&
         decoded.previous_footer_hash == header.previous_footer_hash;
}

bool FooterRoundTrips(const std::string& bytes, const SegmentFooter& footer) {
  SegmentFooter decoded;
  return DecodeSegmentFooter(bytes, "encoded footer", &decoded).ok() &&
         decoded.last_lsn == footer.last_lsn && decoded.record_count == footer.record_count &&
         decoded.records_end == footer.records_end &&
         decoded.segment_checksum == footer.segment_checksum &&
         decoded.footer_checksum == footer.footer_checksum;
}

}  // namespace

std::string EncodeSegmentHeader(const SegmentHeader& header) {
  assert(header.database_id.size() == kDatabaseIdBytes);
  assert(header.segment_id >= 1 && header.segment_id <= kSegmentIdMax);
  assert(header.first_lsn >= 1);
  assert(header.format_version >= kFormatVersionOldest && header.format_version <= kFormatVersion);
  std::string bytes(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(&bytes, header.format_version);
  PutFixed32(&bytes, kSegmentHeaderBytes);
  bytes.append(header.database_id);
  PutFixed64(&bytes, header.segment_id);
  PutFixed64(&bytes, header.first_lsn);
  PutFixed64(&bytes, header.previous_footer_hash);
  PutFixed64(&bytes, Checksum64(bytes));
  assert(bytes.size() == kSegmentHeaderBytes);
  assert(HeaderRoundTrips(bytes, header));
  return bytes;
}

Status DecodeSegmentHeader(std::string_view bytes, const std::string& where,
                           SegmentHeader* header) {
  if (bytes.size() < kSegmentHeaderBytes) {
    return Status::Corruption(fmt::format("{} offset 0: segment header truncated ({} of {} bytes)",
                                          where, bytes.size(), kSegmentHeaderBytes));
  }
  if (std::memcmp(bytes.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption(fmt::format("{} offset 0: not an ordo segment (bad magic)", where));
  }
  const uint64_t stored = DecodeFixed64(bytes.data() + 56);
  const uint64_t computed = Checksum64(bytes.substr(0, 56));
  if (stored != computed) {
    return Status::Corruption(fmt::format(
        "{} offset 56: segment header checksum mismatch (stored {:016x}, computed {:016x})", where,
        stored, computed));
  }
  header->format_version = DecodeFixed32(bytes.data() + 8);
  const uint32_t header_bytes = DecodeFixed32(bytes.data() + 12);
  if (header->format_version < kFormatVersionOldest || header->format_version > kFormatVersion ||
      header_bytes != kSegmentHeaderBytes) {
    return Status::NotSupported(fmt::format(
        "{} offset 8: segment format version {} (header {} "
        "bytes) is not supported by this build (versions {} "
        "to {})",
        where, header->format_version, header_bytes, kFormatVersionOldest, kFormatVersion));
  }
  header->database_id.assign(bytes.data() + 16, kDatabaseIdBytes);
  header->segment_id = DecodeFixed64(bytes.data() + 32);
  header->first_lsn = DecodeFixed64(bytes.data() + 40);
  header->previous_footer_hash = DecodeFixed64(bytes.data() + 48);
  // Ids and LSNs start at 1; a writer never stores 0. Refused here, because every reader
  // after this point relies on it (EncodeSegmentHeader asserts it, LSN arithmetic subtracts 1).
  if (header->segment_id == 0) {
    return Status::Corruption(fmt::format("{} offset 32: segment id 0 (ids start at 1)", where));
  }
  // The index keeps segment ids in 4 bytes: a larger one would wrap there (a value read from
  // the wrong segment). No writer goes past the limit (EncodeSegmentHeader asserts it).
  if (header->segment_id > kSegmentIdMax) {
    return Status::Corruption(fmt::format("{} offset 32: segment id {} is past the last id {}",
                                          where, header->segment_id, kSegmentIdMax));
  }
  if (header->first_lsn == 0) {
    return Status::Corruption(fmt::format("{} offset 40: first LSN 0 (LSNs start at 1)", where));
  }
  return Status::Ok();
}

std::string EncodeSegmentFooter(SegmentFooter* footer) {
  assert(footer->records_end >= kSegmentHeaderBytes);
  assert(footer->records_end <= kSegmentFileBytesMax - kSegmentFooterBytes);
  assert(footer->record_count <= (footer->records_end - kSegmentHeaderBytes) / kRecordBytesMin);
  std::string bytes(kFooterMagic, sizeof(kFooterMagic));
  PutFixed64(&bytes, footer->last_lsn);
  PutFixed64(&bytes, footer->record_count);
  PutFixed64(&bytes, footer->records_end);
  PutFixed64(&bytes, footer->segment_checksum);
  footer->footer_checksum = Checksum64(bytes);
  PutFixed64(&bytes, footer->footer_checksum);
  assert(bytes.size() == kSegmentFooterBytes);
  assert(FooterRoundTrips(bytes, *footer));
  return bytes;
}

Status DecodeSegmentFooter(std::string_view bytes, const std::string& where,
                           SegmentFooter* footer) {
  if (bytes.size() != kSegmentFooterBytes ||
      std::memcmp(bytes.data(), kFooterMagic, sizeof(kFooterMagic)) != 0) {
    return Status::Corruption(where + ": no seal footer");
  }
  const uint64_t stored = DecodeFixed64(bytes.data() + 40);
  if (stored != Checksum64(bytes.substr(0, 40))) {
    return Status::Corruption(where + ": seal footer checksum mismatch");
  }
  footer->last_lsn = DecodeFixed64(bytes.data() + 8);
  footer->record_count = DecodeFixed64(bytes.data() + 16);
  footer->records_end = DecodeFixed64(bytes.data() + 24);
  footer->segment_checksum = DecodeFixed64(bytes.data() + 32);
  footer->footer_checksum = stored;
  // The footer sits where the records end, after the header and within the largest segment;
  // every record takes at least kRecordBytesMin of the bytes before it. No writer stores
  // anything else (EncodeSegmentFooter and SegmentWriter::Seal assert it).
  if (footer->records_end < kSegmentHeaderBytes ||
      footer->records_end > kSegmentFileBytesMax - kSegmentFooterBytes) {
    return Status::Corruption(fmt::format(
        "{}: seal footer (offset 24) says records end at {}, outside a segment's [{}, {}]", where,
        footer->records_end, kSegmentHeaderBytes, kSegmentFileBytesMax - kSegmentFooterBytes));
  }
  if (footer->record_count > (footer->records_end - kSegmentHeaderBytes) / kRecordBytesMin) {
    return Status::Corruption(fmt::format(
        "{}: seal footer (offset 16) counts {} records, more than {} bytes of records can hold",
        where, footer->record_count, footer->records_end - kSegmentHeaderBytes));
  }
  return Status::Ok();
}

std::string SegmentFileName(uint64_t segment_id) { return NumberedFileName(segment_id, ".seg"); }

bool ParseSegmentFileName(std::string_view name, uint64_t* segment_id) {
  return ParseNumberedFileName(name, ".seg", segment_id) && *segment_id >= 1;
}

Result<std::vector<uint64_t>> ListSegmentIds(FileSystem* fs, const std::string& log_directory) {
  ORDO_ASSIGN_OR_RETURN(auto names, fs->GetChildren(log_directory));
  std::vector<uint64_t> ids;
  for (const auto& name : names) {
    uint64_t id = 0;
    if (ParseSegmentFileName(name, &id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace ordo::log
