// Appends records to the active segment and seals it.
//
// Order (DESIGN.md rule 2): records are appended and made durable by Sync(); Seal() appends the
// footer, fsyncs, closes and makes the file read-only; only then does the caller create the
// next segment (Create: header, fsync the file, fsync the directory). Not thread-safe: the
// committer thread owns it.
//
// The writer stamps each record it appends with its durable LSN: the last LSN it knows to be
// durable at that moment (synced in this segment, or before it in a sealed one). Invariant: a
// record's durable LSN is at least the LSN of every record made durable before its write(2),
// so a record naming durable LSN D proves nothing after D was synced when it was written.
// Recovery relies on it to tell a torn unsynced write from damage (docs/FORMAT.md).
//
// States: open (Append, Sync, Finish, Seal allowed) -> sealed after Seal(); any I/O error makes
// it failed for good (what reached the file is unknown, and a failed fsync cannot be retried
// safely), and the caller stops using it. Calls outside these states are bugs and assert.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "log/format.h"
#include "ordo/file_system.h"
#include "util/checksum.h"

namespace ordo::log {

class SegmentWriter {
 public:
  // Creates segment `header.segment_id` in `log_directory`: writes the header, fsyncs the file
  // and the directory. NotSupported, creating nothing, for an id past kSegmentIdMax.
  static Result<std::unique_ptr<SegmentWriter>> Create(FileSystem* fs,
                                                       const std::string& log_directory,
                                                       const SegmentHeader& header);
  // Reopens an existing active segment whose valid bytes end at `size` (any torn tail already
  // cut), with `record_count` records, the last LSN `last_lsn`, and the checksum of its first
  // `size` bytes. Syncs the file first: its records may have been read from the page cache
  // after a process crash, and the records appended next will name `last_lsn` as durable.
  static Result<std::unique_ptr<SegmentWriter>> Reopen(FileSystem* fs, const std::string& path,
                                                       const SegmentHeader& header, uint64_t size,
                                                       uint64_t record_count, uint64_t last_lsn,
                                                       const StreamingChecksum& checksum);

  // Preallocate zeros ahead of the end in chunks of `chunk_bytes`, never past `limit_bytes`
  // (unless one append needs it): commits then overwrite allocated bytes instead of growing the
  // file (see WritableFile::Preallocate). 0 disables it.
  void SetPreallocation(uint64_t chunk_bytes, uint64_t limit_bytes) {
    preallocate_chunk_bytes_ = chunk_bytes;
    preallocate_limit_bytes_ = limit_bytes;
  }
  // Stamps whole records from EncodeRecord (see StampRecords) with durable_lsn() and appends
  // them (one write(2)); `record_count` (> 0) records with the LSNs after last_lsn() up to
  // `last_lsn`. Only to a segment of this build's format, and never past kSegmentFileBytesMax
  // (the caller rotates first).
  Status Append(std::span<char> records, uint64_t record_count, uint64_t last_lsn);
  // fdatasync; on success every record appended so far is durable.
  Status Sync();
  // Cuts preallocated zeros and fsyncs: the file ends at its last record (clean close). The
  // writer stays open.
  Status Finish();
  // Appends the footer, fsyncs, closes, sets read-only. Returns the footer (its checksum is the
  // next segment's previous_footer_hash).
  Result<SegmentFooter> Seal();

  const SegmentHeader& header() const { return header_; }
  uint64_t size() const { return size_; }
  uint64_t record_count() const { return record_count_; }
  uint64_t last_lsn() const { return last_lsn_; }
  // The last LSN known durable: what the next records appended are stamped with.
  uint64_t durable_lsn() const { return durable_lsn_; }
  const std::string& path() const { return path_; }

  enum class State { kOpen, kSealed, kFailed };
  State state() const { return state_; }

 private:
  SegmentWriter(FileSystem* fs, std::string path, std::unique_ptr<WritableFile> file,
                SegmentHeader header)
      : fs_(fs), path_(std::move(path)), file_(std::move(file)), header_(std::move(header)) {}
  // Marks the writer failed when `status` is an error; returns it.
  Status Check(Status status);

  FileSystem* fs_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
  SegmentHeader header_;
  uint64_t size_ = 0;
  uint64_t preallocated_bytes_ = 0;  // physical size of the file, >= size_
  uint64_t preallocate_chunk_bytes_ = 0;
  uint64_t preallocate_limit_bytes_ = 0;
  uint64_t record_count_ = 0;
  uint64_t last_lsn_ = 0;
  uint64_t durable_lsn_ = 0;    // <= last_lsn_
  StreamingChecksum checksum_;  // of bytes [0, size_)
  State state_ = State::kOpen;
};

}  // namespace ordo::log
