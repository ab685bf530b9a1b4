#include "log/segment_reader.h"

#include <algorithm>

#include "fmt/format.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo::log {
namespace {
constexpr uint64_t kReadChunkBytes = 1 << 20;
// FindRecordsAfter checks candidate records of at most 4 x the file plus this many bytes.
constexpr uint64_t kRecordCandidateBytesSlack = 64ull << 20;
}  // namespace

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(FileSystem* fs, const std::string& path,
                                                           uint64_t limit) {
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
  std::unique_ptr<SegmentReader> reader(new SegmentReader(path, std::move(file), limit));
  std::string header_bytes;
  if (limit < kSegmentHeaderBytes) {
    return Status::Corruption(
        fmt::format("{} offset 0: file of {} bytes is shorter than a segment "
                    "header ({} bytes)",
                    path, limit, kSegmentHeaderBytes));
  }
  // Offsets into a segment are 4 bytes in the index: no writer makes a segment longer than
  // kSegmentFileBytesMax (SegmentWriter asserts it), and records past it could not be indexed.
  if (limit > kSegmentFileBytesMax) {
    return Status::Corruption(
        fmt::format("{} offset {}: segment of {} bytes is longer than a segment can be ({} bytes)",
                    path, kSegmentFileBytesMax, limit, kSegmentFileBytesMax));
  }
  ORDO_RETURN_IF_ERROR(reader->ReadExact(0, kSegmentHeaderBytes, &header_bytes));
  ORDO_RETURN_IF_ERROR(DecodeSegmentHeader(header_bytes, path, &reader->header_));
  return reader;
}

Status SegmentReader::ReadExact(uint64_t offset, size_t count, std::string* bytes) {
  bytes->resize(count);
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(file_->Read(offset, count, bytes->data(), &read_count));
  if (read_count != count) {
    return Status::Corruption(fmt::format("{} offset {}: expected {} bytes, file ends after {}",
                                          path_, offset, count, read_count));
  }
  return Status::Ok();
}

void SegmentReader::EnableChecksum(StreamingChecksum* checksum) {
  assert(offset_ == kSegmentHeaderBytes);
  checksum_ = checksum;
  // The header was verified at Open; encoding is deterministic, so these are its bytes.
  checksum_->Update(EncodeSegmentHeader(header_));
}

void SegmentReader::Seek(uint64_t offset) {
  assert(offset >= kSegmentHeaderBytes);
  offset_ = offset;
}

Result<bool> SegmentReader::Load(uint64_t offset, uint64_t count) {
  if (offset + count > limit_) return false;
  if (offset >= buffer_offset_ && offset + count <= buffer_offset_ + buffer_.size()) return true;
  const uint64_t want = std::min(std::max(count, kReadChunkBytes), limit_ - offset);
  buffer_.resize(want);
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(file_->Read(offset, want, buffer_.data(), &read_count));
  buffer_.resize(read_count);
  buffer_offset_ = offset;
  return read_count >= count;
}

SegmentReader::Outcome SegmentReader::Next(std::string_view* payload, uint64_t* record_offset,
                                           Status* error) {
  if (offset_ == limit_) return Outcome::kEnd;
  auto bad = [&](std::string why) {
    *error = Status::Corruption(fmt::format("{} offset {}: {}", path_, offset_, why));
    return Outcome::kBad;
  };
  // Seek's caller checks the offset; this keeps a wrong one from underflowing `available`.
  if (offset_ > limit_) return bad(fmt::format("position past the end of records at {}", limit_));
  const uint64_t available = limit_ - offset_;
  auto loaded = Load(offset_, std::min<uint64_t>(available, kRecordHeaderBytes));
  if (!loaded.ok()) {
    *error = loaded.status();
    return Outcome::kBad;
  }
  // The file is shorter than `limit` (it shrank, or the limit came from elsewhere): the
  // window would hold fewer bytes than a header.
  if (!*loaded) return bad(fmt::format("file ends before its limit {}", limit_));
  std::string_view head = Window(offset_, std::min<uint64_t>(available, kRecordHeaderBytes));
  if (std::all_of(head.begin(), head.end(), [](char c) { return c == 0; })) {
    // Zeros where a header would be: the end of written data, if the rest is zero too (and then
    // no record can follow: every record holds its non-zero magic).
    bool all_zero = true;
    for (uint64_t at = offset_; at < limit_ && all_zero; at += kReadChunkBytes) {
      const uint64_t count = std::min(kReadChunkBytes, limit_ - at);
      auto chunk = Load(at, count);
      if (!chunk.ok() || !*chunk) return bad("unreadable tail");
      const auto window = Window(at, count);
      all_zero = std::all_of(window.begin(), window.end(), [](char c) { return c == 0; });
    }
    if (all_zero) return Outcome::kEnd;
    return bad("zero bytes where a record header should be");
  }
  if (available < kRecordHeaderBytes) {
    return bad(fmt::format("{} bytes left, too few for a record header", available));
  }
  const uint64_t checksum = DecodeFixed64(head.data());
  const uint32_t magic = DecodeFixed32(head.data() + 8);
  const uint32_t payload_bytes = DecodeFixed32(head.data() + 12);
  if (magic != kRecordMagic) return bad(fmt::format("bad record magic {:08x}", magic));
  // The writer's limit (ValidateBatch refuses, EncodeRecord asserts): a longer record was never
  // written, so the length is damaged.
  if (payload_bytes > kRecordPayloadBytesMax) {
    return bad(fmt::format("record length {} exceeds the limit of {} bytes", payload_bytes,
                           kRecordPayloadBytesMax));
  }
  if (payload_bytes > available - kRecordHeaderBytes) {
    return bad(fmt::format("record length {} runs past the end ({} bytes left)", payload_bytes,
                           available - kRecordHeaderBytes));
  }
  loaded = Load(offset_, kRecordHeaderBytes + payload_bytes);
  if (!loaded.ok() || !*loaded) return bad("record unreadable");
  const std::string_view record = Window(offset_, kRecordHeaderBytes + payload_bytes);
  const uint64_t computed = Checksum64(record.substr(8));
  if (computed != checksum) {
    return bad(fmt::format("record checksum mismatch (stored {:016x}, computed {:016x})", checksum,
                           computed));
  }
  *payload = record.substr(kRecordHeaderBytes);
  *record_offset = offset_;
  if (checksum_ != nullptr) checksum_->Update(record);
  offset_ += kRecordHeaderBytes + payload_bytes;
  assert(offset_ <= limit_ && payload->size() == payload_bytes);
  return Outcome::kRecord;
}

bool SegmentReader::ValidRecordAt(uint64_t offset, uint64_t* checked_bytes,
                                  std::string_view* record) {
  auto loaded = Load(offset, kRecordHeaderBytes);
  if (!loaded.ok() || !*loaded) return false;
  const std::string_view head = Window(offset, kRecordHeaderBytes);
  if (DecodeFixed32(head.data() + 8) != kRecordMagic) return false;
  const uint64_t checksum = DecodeFixed64(head.data());
  const uint32_t payload_bytes = DecodeFixed32(head.data() + 12);
  if (payload_bytes > kRecordPayloadBytesMax) return false;
  loaded = Load(offset, kRecordHeaderBytes + payload_bytes);
  if (!loaded.ok() || !*loaded) return false;
  *checked_bytes += kRecordHeaderBytes + payload_bytes;
  *record = Window(offset, kRecordHeaderBytes + payload_bytes);
  return Checksum64(record->substr(8)) == checksum;
}

bool SegmentReader::NoteIfPlausible(uint64_t offset, uint64_t expected_lsn, uint64_t at,
                                    std::string_view record, RecordsAfter* found) const {
  const bool durable_field = header_.format_version >= 2;
  const uint64_t fixed_bytes =
      durable_field ? kRecordFixedPayloadBytes : kRecordFixedPayloadBytesVersion1;
  const std::string_view payload = record.substr(kRecordHeaderBytes);
  if (payload.size() < fixed_bytes) return false;
  const uint64_t lsn = DecodeFixed64(payload.data());
  const uint64_t durable_lsn = durable_field ? DecodeFixed64(payload.data() + 8) : 0;
  // Records expected_lsn .. lsn - 1 lie in [offset, at), each at least this long.
  const uint64_t room = (at - offset) / (kRecordHeaderBytes + fixed_bytes);
  if (lsn <= expected_lsn || lsn - expected_lsn > room) return false;
  if (durable_field && durable_lsn >= lsn) return false;
  if (found->count++ == 0) found->first_offset = at;
  found->highest_lsn = std::max(found->highest_lsn, lsn);
  if (found->count == 1 || durable_lsn > found->highest_durable_lsn) {
    found->highest_durable_lsn = durable_lsn;
    found->highest_durable_offset = at;
    found->highest_durable_record_lsn = lsn;
  }
  return true;
}

Result<RecordsAfter> SegmentReader::FindRecordsAfter(uint64_t offset, uint64_t expected_lsn) {
  // Look for the record magic at every position; check the checksum of each candidate. Each
  // check reads the candidate's claimed length, so bytes crafted with a magic at every position
  // would cost time quadratic in the file's size (a startup that never ends). Real damage has
  // few candidates and a real record is found at the first: past a budget of a few times the
  // file, the question is left undecided, and undecided is damage, never a tail to cut.
  const uint64_t budget = 4 * limit_ + kRecordCandidateBytesSlack;
  uint64_t checked_bytes = 0;
  RecordsAfter found;
  for (uint64_t at = offset + 1; at + kRecordHeaderBytes <= limit_;) {
    const uint64_t count = std::min(kReadChunkBytes, limit_ - at);
    ORDO_ASSIGN_OR_RETURN(bool loaded, Load(at, count));
    if (!loaded) break;
    const std::string window(Window(at, count));  // copy: ValidRecordAt may reload the buffer
    uint64_t chain_end = 0;                       // set when one of this log's records is found
    for (uint64_t i = 0; i + kRecordHeaderBytes <= window.size(); ++i) {
      if (DecodeFixed32(window.data() + i + 8) != kRecordMagic) continue;
      std::string_view record;
      if (ValidRecordAt(at + i, &checked_bytes, &record) &&
          NoteIfPlausible(offset, expected_lsn, at + i, record, &found)) {
        // The records after it follow one another: read them in turn, not byte by byte.
        chain_end = at + i + record.size();
        while (chain_end + kRecordHeaderBytes <= limit_ &&
               ValidRecordAt(chain_end, &checked_bytes, &record) &&
               NoteIfPlausible(offset, expected_lsn, chain_end, record, &found)) {
          chain_end += record.size();
        }
        break;
      }
      if (checked_bytes > budget) {
        return Status::Corruption(fmt::format(
            "{}: after offset {}, candidate records of {} bytes checked without finding a valid "
            "one: too many to tell a torn tail from damage",
            path_, offset, checked_bytes));
      }
    }
    if (chain_end != 0) {
      at = chain_end;  // where the chain broke: search on from there
      continue;
    }
    if (at + count >= limit_) break;
    at += count - kRecordHeaderBytes + 1;
  }
  return found;
}

Result<uint64_t> SegmentReader::ChecksumPrefix(uint64_t end) {
  StreamingChecksum checksum;
  std::string chunk;
  for (uint64_t at = 0; at < end;) {
    const uint64_t count = std::min(kReadChunkBytes * 4, end - at);
    ORDO_RETURN_IF_ERROR(ReadExact(at, count, &chunk));
    checksum.Update(chunk);
    at += count;
  }
  return checksum.Digest();
}

Result<SegmentTail> ReadSegmentTail(FileSystem* fs, const std::string& path, uint64_t file_size) {
  SegmentTail tail;
  if (file_size < kSegmentHeaderBytes + kSegmentFooterBytes) return tail;
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
  std::string bytes(kSegmentFooterBytes, '\0');
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(
      file->Read(file_size - kSegmentFooterBytes, kSegmentFooterBytes, bytes.data(), &read_count));
  if (read_count != kSegmentFooterBytes) return tail;
  SegmentFooter footer;
  if (!DecodeSegmentFooter(bytes, path, &footer).ok()) return tail;
  if (footer.records_end != file_size - kSegmentFooterBytes) return tail;
  tail.sealed = true;
  tail.footer = footer;
  return tail;
}

}  // namespace ordo::log
