// Segment header and footer codecs and file names.
#include <algorithm>
#include <cstring>

#include "fmt/format.h"
#include "log/format.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/numbered_file_name.h"

namespace ordo::log {

std::string EncodeSegmentHeader(const SegmentHeader& header) {
  assert(header.database_id.size() == kDatabaseIdBytes);
  assert(header.segment_id >= 1 && header.first_lsn >= 1);
  std::string bytes(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(&bytes, header.format_version);
  PutFixed32(&bytes, kSegmentHeaderBytes);
  bytes.append(header.database_id);
  PutFixed64(&bytes, header.segment_id);
  PutFixed64(&bytes, header.first_lsn);
  PutFixed64(&bytes, header.previous_footer_hash);
  PutFixed64(&bytes, Checksum64(bytes));
  assert(bytes.size() == kSegmentHeaderBytes);
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
  if (header->first_lsn == 0) {
    return Status::Corruption(fmt::format("{} offset 40: first LSN 0 (LSNs start at 1)", where));
  }
  return Status::Ok();
}

std::string EncodeSegmentFooter(SegmentFooter* footer) {
  std::string bytes(kFooterMagic, sizeof(kFooterMagic));
  PutFixed64(&bytes, footer->last_lsn);
  PutFixed64(&bytes, footer->record_count);
  PutFixed64(&bytes, footer->records_end);
  PutFixed64(&bytes, footer->segment_checksum);
  footer->footer_checksum = Checksum64(bytes);
  PutFixed64(&bytes, footer->footer_checksum);
  assert(bytes.size() == kSegmentFooterBytes);
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
