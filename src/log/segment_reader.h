// Sequential, verifying reader of one segment file.
//
// Every record returned has passed its checksum. Next() stops at the first position that is not
// a whole valid record and says why; whether that is a torn tail (the remains of a write that
// never became durable, safe to cut) or damage (corruption to report) is decided by the caller
// from FindRecordsAfter(): the whole valid records after that position, and the durable LSN
// each names (docs/FORMAT.md, "End of records").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "log/format.h"
#include "ordo/file_system.h"
#include "util/checksum.h"

namespace ordo::log {

// What FindRecordsAfter() found after a position.
struct RecordsAfter {
  uint64_t count = 0;         // whole valid records
  uint64_t first_offset = 0;  // where the first starts (when count > 0)
  uint64_t highest_lsn = 0;   // the highest LSN among them
  // Format 2: the highest durable LSN any of them names, and that record's offset and LSN.
  // Format 1 records name none (0).
  uint64_t highest_durable_lsn = 0;
  uint64_t highest_durable_offset = 0;
  uint64_t highest_durable_record_lsn = 0;
};

class SegmentReader {
 public:
  enum class Outcome {
    kRecord,  // a valid record was read
    kEnd,     // the end: `limit` reached, or only zero bytes remain
    kBad,     // the bytes at offset() are not a valid record; `error` says why
  };

  // Opens `path` and verifies its header. `limit` is where records stop: the file size, or the
  // footer's offset for a sealed segment.
  static Result<std::unique_ptr<SegmentReader>> Open(FileSystem* fs, const std::string& path,
                                                     uint64_t limit);

  const SegmentHeader& header() const { return header_; }
  const std::string& path() const { return path_; }

  // From now on, `checksum` is updated with the header and every valid record Next() returns,
  // so that a reader of the whole segment also gets the checksum of its valid prefix without a
  // second read. Call before the first Next(), with the reader at the header's end.
  void EnableChecksum(StreamingChecksum* checksum);

  // Positions the reader at `offset`, which must be a record boundary >= the header's end.
  void Seek(uint64_t offset);
  // Reads the record at offset(). On kRecord, `payload` stays valid until the next call and
  // `record_offset` is where the record starts; offset() moves past it.
  Outcome Next(std::string_view* payload, uint64_t* record_offset, Status* error);
  // Position after the last valid record read (or of the Seek).
  uint64_t offset() const { return offset_; }
  uint64_t limit() const { return limit_; }

  // Every whole valid record that starts in (offset, limit) and could be this log's record
  // there, given that LSN `expected_lsn` belongs at `offset`: its LSN n is above expected_lsn
  // and leaves room for the records before it (offset + (n - expected_lsn) x the smallest
  // record <= its own offset), and a format-2 record names a durable LSN below n. Anything else
  // with a valid checksum (a record stored inside a value, bytes of another log) is not one of
  // this log's records, so it proves nothing and is skipped. Searched for at every position;
  // after a record is found, the records that follow it are read in turn (so a record inside
  // their values is never taken for one). Reads the rest of the file. Corruption when the bytes
  // hold so many candidate records that deciding would cost more than a few times the file
  // (undecided: never a tail to cut).
  Result<RecordsAfter> FindRecordsAfter(uint64_t offset, uint64_t expected_lsn);

  // XXH3-64 of bytes [0, end).
  Result<uint64_t> ChecksumPrefix(uint64_t end);

  // Reads `count` bytes at `offset` (exactly, else Corruption).
  Status ReadExact(uint64_t offset, size_t count, std::string* bytes);

 private:
  SegmentReader(std::string path, std::unique_ptr<RandomAccessFile> file, uint64_t limit)
      : path_(std::move(path)), file_(std::move(file)), limit_(limit) {}
  // Makes bytes [offset, offset + count) available at window(); false past the limit.
  Result<bool> Load(uint64_t offset, uint64_t count);
  std::string_view Window(uint64_t offset, uint64_t count) const {
    return std::string_view(buffer_).substr(offset - buffer_offset_, count);
  }
  // Whether a record with a valid checksum starts at `offset` (no error: any failure means no);
  // adds the bytes it checked to `checked_bytes`. When it does, `record` views its bytes (valid
  // until the next load).
  bool ValidRecordAt(uint64_t offset, uint64_t* checked_bytes, std::string_view* record);
  // For FindRecordsAfter: whether the valid record at `at` could be this log's (see there) and,
  // if so, counts it in `found`.
  bool NoteIfPlausible(uint64_t offset, uint64_t expected_lsn, uint64_t at, std::string_view record,
                       RecordsAfter* found) const;

  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t limit_;
  SegmentHeader header_;
  uint64_t offset_ = kSegmentHeaderBytes;
  StreamingChecksum* checksum_ = nullptr;  // see EnableChecksum
  std::string buffer_;  // bytes [buffer_offset_, buffer_offset_ + buffer_.size())
  uint64_t buffer_offset_ = 0;
};

// What a segment file's tail says about it.
struct SegmentTail {
  bool sealed = false;
  SegmentFooter footer;  // valid when sealed
};
// Reads the last footer-sized bytes of a file of `file_size` bytes and decides whether it is
// sealed: a valid footer whose records_end is file_size - kSegmentFooterBytes.
Result<SegmentTail> ReadSegmentTail(FileSystem* fs, const std::string& path, uint64_t file_size);

}  // namespace ordo::log
