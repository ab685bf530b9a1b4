#include "backup/archiver.h"

#include <algorithm>

#include "backup/backup_run.h"
#include "db/identity.h"
#include "fmt/format.h"
#include "log/segment_reader.h"
#include "util/clock.h"
#include "util/sha256.h"
#include "util/time_format.h"

namespace ordo::backup {

// The records found in [start, limit) of a segment.
struct Archiver::Scan {
  uint64_t end = 0;  // end of the last whole valid record (start if none)
  uint64_t records = 0;
  uint64_t first_lsn = 0;
  uint64_t last_lsn = 0;
  int64_t first_commit_time_micros = 0;
  int64_t last_commit_time_micros = 0;
  StateDigest digest;
  uint64_t keys = 0;
  std::vector<int64_t> commit_times;
};

Archiver::Archiver(FileSystem* fs, std::string data_directory, repository::Repository* repository)
    : fs_(fs), directory_(std::move(data_directory)), repository_(repository) {}

Archiver::~Archiver() = default;

std::string Archiver::SegmentPath(uint64_t segment_id) const {
  return directory_ + "/log/" + log::SegmentFileName(segment_id);
}

Status Archiver::StoreIdentity() {
  const std::string identity_path = directory_ + "/IDENTITY";
  ORDO_ASSIGN_OR_RETURN(const uint64_t identity_bytes, fs_->GetFileSize(identity_path));
  identity_ = repository::ManifestFile{};
  identity_.kind = "identity";
  identity_.relative_path = "IDENTITY";
  uint64_t written = 0;
  return StoreRange(identity_path, 0, identity_bytes, &identity_, &written);
}

Status Archiver::Open() {
  open_ = false;
  if (!repository_->CanWrite()) {
    return Status::InvalidArgument("repository " + repository_->info().repository_id +
                                   " is encrypted with a key: give its --key-file to archive");
  }
  const std::string identity_path = directory_ + "/IDENTITY";
  db::Identity identity;
  const Status read = db::ReadIdentity(fs_, identity_path, &identity);
  if (read.IsNotFound()) {
    return Status::NotFound(directory_ + ": not an ordo data directory (no IDENTITY)");
  }
  ORDO_RETURN_IF_ERROR(read);
  database_id_ = identity.database_id;
  database_hex_ = db::DatabaseIdHex(database_id_);
  // A label for the lease this archiver publishes when a piece reuses a stored file.
  ORDO_RETURN_IF_ERROR(repository_->BeginWrite("archive " + database_hex_, false));
  ORDO_RETURN_IF_ERROR(StoreIdentity());

  ORDO_ASSIGN_OR_RETURN(const std::vector<repository::ArchivePiece> pieces,
                        repository_->ListArchivePieces(database_hex_));
  if (pieces.empty()) {
    ORDO_ASSIGN_OR_RETURN(const std::vector<uint64_t> ids,
                          log::ListSegmentIds(fs_, directory_ + "/log"));
    next_segment_ = ids.empty() ? 1 : ids.front();
    next_offset_ = 0;
    last_lsn_ = 0;
    last_commit_time_micros_ = 0;
    digest_ = StateDigest{};
    keys_ = 0;
    if (!ids.empty()) {
      // The first piece starts at the oldest segment's header; its first LSN is the one the
      // archive's LSNs continue from.
      ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(SegmentPath(ids.front())));
      if (size >= log::kSegmentHeaderBytes) {
        ORDO_ASSIGN_OR_RETURN(auto reader,
                              log::SegmentReader::Open(fs_, SegmentPath(ids.front()), size));
        last_lsn_ = reader->header().first_lsn - 1;
      }
    }
  } else {
    const repository::ArchivePiece& last = pieces.back();
    ORDO_RETURN_IF_ERROR(CheckResumePoint(last));
    next_segment_ = last.sealed ? last.segment_id + 1 : last.segment_id;
    next_offset_ = last.sealed ? 0 : last.end_offset;
    last_lsn_ = last.last_lsn;
    last_commit_time_micros_ = last.last_commit_time_micros;
    digest_ = last.digest;
    keys_ = last.keys;
  }
  open_ = true;
  return Status::Ok();
}

// The data directory must hold, at the newest piece's place, exactly the bytes the piece holds;
// otherwise archiving on would write a second, different history under the same LSNs.
Status Archiver::CheckResumePoint(const repository::ArchivePiece& last) {
  const std::string path = SegmentPath(last.segment_id);
  const std::string diverged = fmt::format(
      "the data directory {} does not continue the archive of database {} in repository {}: "
      "the archive's newest piece {} (LSN {}, commit time {})",
      directory_, database_hex_, repository_->info().repository_id, last.Name(), last.last_lsn,
      FormatRfc3339Micros(last.last_commit_time_micros));
  if (!fs_->FileExists(path)) {
    return Status::Failed(diverged +
                          fmt::format(" is in segment {}, which the data directory "
                                      "does not have",
                                      last.segment_id) +
                          ". Was the directory restored to an earlier point, or replaced? "
                          "Archive it into another repository (docs/OPERATIONS.md)");
  }
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(path));
  std::string actual;
  if (size >= last.end_offset) {
    ORDO_ASSIGN_OR_RETURN(auto file, fs_->NewRandomAccessFile(path));
    Sha256 hash;
    std::string buffer(repository::kCopyChunkBytes, '\0');
    for (uint64_t offset = last.start_offset; offset < last.end_offset;) {
      const size_t count =
          static_cast<size_t>(std::min<uint64_t>(buffer.size(), last.end_offset - offset));
      size_t read_count = 0;
      ORDO_RETURN_IF_ERROR(file->Read(offset, count, buffer.data(), &read_count));
      if (read_count != count) break;
      hash.Update(std::string_view(buffer.data(), count));
      offset += count;
    }
    actual = hash.FinishHex();
  }
  if (actual != last.file.plain_sha256) {
    return Status::Failed(
        diverged +
        fmt::format(
            " holds bytes {}..{} of segment {}, and the data directory's segment {} ({} bytes) "
            "holds {} there. Was the directory restored to an earlier point, or replaced? Archive "
            "it into another repository (docs/OPERATIONS.md)",
            last.start_offset, last.end_offset, last.segment_id, path, size,
            size >= last.end_offset ? "other bytes" : "fewer bytes"));
  }
  return Status::Ok();
}

Status Archiver::ArchiveAvailable(ArchiveStep* step) {
  *step = ArchiveStep{};
  if (!open_) return Status::InvalidArgument("archiver: Open() first");
  // One round ships at most one piece of the active segment: under a steady load the segment
  // grows while its piece is being stored, and chasing that growth would keep the round (and
  // its fsyncs) going for as long as the load lasts. What was written meanwhile is the next
  // round's piece. Sealed segments are all shipped: they stop growing.
  for (;;) {
    bool progressed = false;
    bool sealed = false;
    ORDO_RETURN_IF_ERROR(ShipSegment(&progressed, &sealed, step));
    if (!progressed || !sealed) return Status::Ok();
  }
}

bool Archiver::SealedSegmentWaiting() {
  return open_ && fs_->FileExists(SegmentPath(next_segment_ + 1));
}

Status Archiver::ScanRecords(const std::string& path, uint64_t start, uint64_t limit, Scan* scan) {
  ORDO_ASSIGN_OR_RETURN(auto reader, log::SegmentReader::Open(fs_, path, limit));
  const log::SegmentHeader& header = reader->header();
  if (header.database_id != database_id_ || header.segment_id != next_segment_) {
    return Status::Corruption(path + ": the segment header names another database or segment");
  }
  if (start == 0 && header.first_lsn != last_lsn_ + 1) {
    return Status::Corruption(fmt::format("{}: starts at LSN {}, the archive ends at LSN {}", path,
                                          header.first_lsn, last_lsn_));
  }
  if (start > 0) reader->Seek(start);
  scan->end = reader->offset();
  scan->digest = digest_;
  scan->keys = keys_;
  scan->first_lsn = last_lsn_ + 1;
  scan->last_lsn = last_lsn_;
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  log::DecodedRecord record;
  for (;;) {
    // The end, or bytes that are not (yet) a whole record: one being appended right now.
    if (reader->Next(&payload, &record_offset, &error) != log::SegmentReader::Outcome::kRecord) {
      break;
    }
    ORDO_RETURN_IF_ERROR(log::DecodeRecordPayload(payload, header.format_version, &record)
                             .WithContext(fmt::format("{} offset {}", path, record_offset)));
    if (record.lsn != scan->last_lsn + 1) {
      return Status::Corruption(fmt::format("{} offset {}: LSN {} where {} was expected", path,
                                            record_offset, record.lsn, scan->last_lsn + 1));
    }
    if (scan->records == 0) scan->first_commit_time_micros = record.commit_time_micros;
    ++scan->records;
    scan->last_lsn = record.lsn;
    scan->last_commit_time_micros = record.commit_time_micros;
    scan->digest = record.digest;
    scan->keys = record.live_keys;
    scan->commit_times.push_back(record.commit_time_micros);
    scan->end = reader->offset();
  }
  return Status::Ok();
}

Status Archiver::StoreRange(const std::string& path, uint64_t start, uint64_t end,
                            repository::ManifestFile* file, uint64_t* written) {
  ORDO_ASSIGN_OR_RETURN(auto input, fs_->NewRandomAccessFile(path));
  uint64_t offset = start;
  const repository::ReadChunk read_chunk = [&](char* buffer, size_t capacity) -> Result<size_t> {
    const uint64_t count =
        std::min<uint64_t>({capacity, repository::kCopyChunkBytes, end - offset});
    if (count == 0) return size_t{0};
    size_t read_count = 0;
    ORDO_RETURN_IF_ERROR(input->Read(offset, count, buffer, &read_count));
    if (read_count != count) {
      return Status::Corruption(
          fmt::format("{} offset {}: file ended, {} bytes were to be "
                      "archived",
                      path, offset + read_count, end));
    }
    offset += read_count;
    return read_count;
  };
  ORDO_RETURN_IF_ERROR(
      repository_->PutFile(read_chunk, file, written).WithContext("archiving " + path));
  if (offset != end) {
    return Status::IOError(fmt::format("archiving {}: the repository took {} of {} bytes", path,
                                       offset - start, end - start));
  }
  return Status::Ok();
}

Status Archiver::ShipSegment(bool* progressed, bool* sealed, ArchiveStep* step) {
  *progressed = false;
  *sealed = false;
  const std::string path = SegmentPath(next_segment_);
  if (!fs_->FileExists(path)) return Status::Ok();  // not created yet
  // Whether the next segment exists is asked before the size and the tail are read: the
  // database seals this segment and then creates the next one while we look, so asking in the
  // other order could see "not sealed" and then a next segment, and report a false corruption.
  const bool next_exists = fs_->FileExists(SegmentPath(next_segment_ + 1));
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(path));
  if (size < log::kSegmentHeaderBytes) return Status::Ok();  // being created

  // Sealed, and the seal durable: the database creates the next segment only after the seal's
  // fsync. A footer without a next segment yet is left for the next call.
  ORDO_ASSIGN_OR_RETURN(const log::SegmentTail tail, log::ReadSegmentTail(fs_, path, size));
  if (tail.sealed && !next_exists) return Status::Ok();
  if (!tail.sealed && next_exists) {
    return Status::Corruption(
        fmt::format("{}: not sealed, but segment {} follows it", path, next_segment_ + 1));
  }
  Scan scan;
  ORDO_RETURN_IF_ERROR(
      ScanRecords(path, next_offset_, tail.sealed ? tail.footer.records_end : size, &scan));
  uint64_t end = scan.end;
  if (tail.sealed) {
    if (scan.end != tail.footer.records_end || scan.last_lsn != tail.footer.last_lsn) {
      return Status::Corruption(fmt::format(
          "{} offset {}: the records end at LSN {} here, the seal footer says offset {} and LSN "
          "{}",
          path, scan.end, scan.last_lsn, tail.footer.records_end, tail.footer.last_lsn));
    }
    end = size;  // the footer is part of the last piece
  } else {
    if (scan.records == 0) return Status::Ok();  // nothing new
    // Make what is shipped durable in the data directory first (see archiver.h).
    ORDO_ASSIGN_OR_RETURN(auto handle, fs_->ReopenWritableFile(path));
    Status synced = handle->Sync();
    const Status closed = handle->Close();
    if (synced.ok()) synced = closed;
    ORDO_RETURN_IF_ERROR(synced.WithContext("archiving " + path));
  }

  repository::ArchivePiece piece;
  piece.database_id = database_hex_;
  piece.segment_id = next_segment_;
  piece.start_offset = next_offset_;
  piece.end_offset = end;
  piece.sealed = tail.sealed;
  piece.first_lsn = scan.first_lsn;
  piece.last_lsn = scan.last_lsn;
  piece.records = scan.records;
  piece.first_commit_time_micros = scan.first_commit_time_micros;
  piece.last_commit_time_micros =
      scan.records > 0 ? scan.last_commit_time_micros : last_commit_time_micros_;
  piece.digest = scan.digest;
  piece.keys = scan.keys;
  piece.identity = identity_;
  piece.file.kind = "archive-piece";
  piece.file.relative_path = "log/" + log::SegmentFileName(next_segment_);
  piece.file.segment_id = next_segment_;
  piece.file.first_lsn = scan.first_lsn;
  piece.file.last_lsn = scan.last_lsn;
  uint64_t written = 0;
  ORDO_RETURN_IF_ERROR(StoreRange(path, next_offset_, end, &piece.file, &written));
  int64_t published_micros = WallMicros();
  piece.archived = FormatRfc3339Micros(published_micros);
  Status published = repository_->WriteArchivePiece(piece);
  if (published.IsBusy()) {
    // A concurrent prune took a file the piece names (repository.h): store both again.
    ORDO_RETURN_IF_ERROR(StoreIdentity());
    piece.identity = identity_;
    uint64_t rewritten = 0;
    ORDO_RETURN_IF_ERROR(StoreRange(path, next_offset_, end, &piece.file, &rewritten));
    written += rewritten;
    published_micros = WallMicros();
    piece.archived = FormatRfc3339Micros(published_micros);
    published = repository_->WriteArchivePiece(piece);
  }
  ORDO_RETURN_IF_ERROR(published);

  ++step->pieces;
  step->bytes_read += end - next_offset_;
  step->bytes_written += written;
  step->records += scan.records;
  for (const int64_t time : scan.commit_times) {
    step->commit_lags_micros.push_back(std::max<int64_t>(0, published_micros - time));
  }
  last_lsn_ = scan.last_lsn;
  last_commit_time_micros_ = piece.last_commit_time_micros;
  digest_ = scan.digest;
  keys_ = scan.keys;
  if (tail.sealed) {
    ++next_segment_;
    next_offset_ = 0;
  } else {
    next_offset_ = end;
  }
  *progressed = true;
  *sealed = tail.sealed;
  return Status::Ok();
}

}  // namespace ordo::backup
