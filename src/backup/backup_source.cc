#include "backup/backup_source.h"

#include <algorithm>

#include "db/identity.h"
#include "fmt/format.h"
#include "index/checkpoint.h"
#include "log/segment_reader.h"

namespace ordo::backup {
namespace {

// The first and last whole valid records of a segment up to `limit`, and where they end.
struct SegmentScan {
  bool has_records = false;
  log::DecodedRecord first;
  log::DecodedRecord last;
  uint64_t valid_end = 0;
};

Status ScanSegment(FileSystem* fs, const std::string& path, uint64_t limit, SegmentScan* scan,
                   bool first_only = false) {
  ORDO_ASSIGN_OR_RETURN(auto reader, log::SegmentReader::Open(fs, path, limit));
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  log::DecodedRecord record;
  uint64_t expected_lsn = reader->header().first_lsn;
  for (;;) {
    const auto outcome = reader->Next(&payload, &record_offset, &error);
    // The end, or bytes that are not (yet) a whole record: a record being appended right now,
    // or a seal footer written since the file's size was read. The prefix before it is whole.
    if (outcome != log::SegmentReader::Outcome::kRecord) break;
    ORDO_RETURN_IF_ERROR(log::DecodeRecordPayload(payload, reader->header().format_version, &record)
                             .WithContext(fmt::format("{} offset {}", path, record_offset)));
    if (record.lsn != expected_lsn) {
      return Status::Corruption(fmt::format("{} offset {}: LSN {} where {} was expected", path,
                                            record_offset, record.lsn, expected_lsn));
    }
    ++expected_lsn;
    record.ops.clear();  // the ops view bytes the reader will reuse; only the meta is kept
    if (!scan->has_records) scan->first = record;
    scan->last = record;
    scan->has_records = true;
    if (first_only) break;
  }
  scan->valid_end = reader->offset();
  return Status::Ok();
}

// Makes the newest segment's bytes durable in the data directory before the backup reads them,
// as the archiver does before it ships (archiver.h). A commit written but not yet synced (a
// writer between its write and its fdatasync, or any commit under everysec or none), or a seal
// whose fsync has not returned yet, could otherwise be copied and then lost from the directory
// by a power failure (recovery cuts a torn write, and undoes a torn seal): the database would go
// on with other commits at those LSNs, and a restore joining this backup with the later archive
// would refuse the two histories. The fsync goes through a read-only descriptor, so it works on
// a sealed (read-only) segment and on files this process may not write; a failed sync is an
// error (the disk is failing).
Status SyncNewestSegment(FileSystem* fs, const std::string& path) {
  return fs->SyncFile(path).WithContext(
      "making the newest segment durable before the backup copies it");
}

Status AddSegments(FileSystem* fs, const std::string& directory, BackupSource* source,
                   SegmentScan* newest_scan) {
  const std::string log_directory = directory + "/log";
  ORDO_ASSIGN_OR_RETURN(const std::vector<uint64_t> ids, log::ListSegmentIds(fs, log_directory));
  uint64_t previous_footer_hash = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0 && ids[i] != ids[i - 1] + 1) {
      return Status::Corruption(
          fmt::format("{}: segment {} is missing", log_directory, ids[i - 1] + 1));
    }
    SourceFile file;
    file.segment_id = ids[i];
    file.relative_path = "log/" + log::SegmentFileName(ids[i]);
    file.path = directory + "/" + file.relative_path;
    ORDO_ASSIGN_OR_RETURN(uint64_t size, fs->GetFileSize(file.path));
    const bool newest = i + 1 == ids.size();
    if (newest && size <= log::kSegmentHeaderBytes) break;  // being created: holds no record
    ORDO_ASSIGN_OR_RETURN(auto reader, log::SegmentReader::Open(fs, file.path, size));
    const log::SegmentHeader& header = reader->header();
    if (header.database_id != source->database_id || header.segment_id != ids[i]) {
      return Status::Corruption(file.path + ": segment does not belong to this database");
    }
    if (i > 0 && header.previous_footer_hash != previous_footer_hash) {
      return Status::Corruption(file.path + " offset 48: does not follow the previous segment");
    }
    ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail, log::ReadSegmentTail(fs, file.path, size));
    file.first_lsn = header.first_lsn;
    if (tail.sealed) {
      file.kind = SourceKind::kSealedSegment;
      file.bytes = size;
      file.last_lsn = tail.footer.last_lsn;
      previous_footer_hash = tail.footer.footer_checksum;
      if (newest) {
        ORDO_RETURN_IF_ERROR(SyncNewestSegment(fs, file.path));
        ORDO_RETURN_IF_ERROR(ScanSegment(fs, file.path, tail.footer.records_end, newest_scan));
      }
    } else if (newest) {
      file.kind = SourceKind::kActivePrefix;
      ORDO_RETURN_IF_ERROR(SyncNewestSegment(fs, file.path));
      ORDO_RETURN_IF_ERROR(ScanSegment(fs, file.path, size, newest_scan));
      file.bytes = newest_scan->valid_end;
      file.last_lsn = header.first_lsn - 1 +
                      (newest_scan->has_records ? newest_scan->last.lsn - header.first_lsn + 1 : 0);
    } else {
      return Status::Corruption(
          fmt::format("{}: not sealed, but segment {} follows it", file.path, ids[i] + 1));
    }
    source->files.push_back(std::move(file));
  }
  return Status::Ok();
}

// When the newest segment holds no record, the state is the one the previous segment's last
// record names.
Status FindLastCommit(FileSystem* fs, BackupSource* source, SegmentScan* scan) {
  for (size_t i = source->files.size(); i-- > 1 && !scan->has_records;) {
    const SourceFile& file = source->files[i];
    if (file.kind != SourceKind::kSealedSegment && file.kind != SourceKind::kActivePrefix) break;
    ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail, log::ReadSegmentTail(fs, file.path, file.bytes));
    ORDO_RETURN_IF_ERROR(
        ScanSegment(fs, file.path, tail.sealed ? tail.footer.records_end : file.bytes, scan));
  }
  return Status::Ok();
}

}  // namespace

const char* SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kIdentity:
      return "identity";
    case SourceKind::kSealedSegment:
      return "sealed-segment";
    case SourceKind::kActivePrefix:
      return "active-prefix";
    case SourceKind::kCheckpoint:
      return "checkpoint";
  }
  return "unknown";
}

Status CaptureBackupSource(FileSystem* fs, const std::string& data_directory,
                           BackupSource* source) {
  *source = BackupSource{};
  const std::string identity_path = data_directory + "/IDENTITY";
  db::Identity identity;
  Status read = db::ReadIdentity(fs, identity_path, &identity);
  if (read.IsNotFound()) {
    return Status::NotFound(data_directory + ": not an ordo data directory (no IDENTITY)");
  }
  ORDO_RETURN_IF_ERROR(read);
  source->database_id = identity.database_id;
  ORDO_ASSIGN_OR_RETURN(uint64_t identity_bytes, fs->GetFileSize(identity_path));
  source->files.push_back(
      SourceFile{SourceKind::kIdentity, "IDENTITY", identity_path, identity_bytes, 0, 0, 0});

  SegmentScan newest;
  ORDO_RETURN_IF_ERROR(AddSegments(fs, data_directory, source, &newest));
  ORDO_RETURN_IF_ERROR(FindLastCommit(fs, source, &newest));
  if (newest.has_records) {
    source->last_lsn = newest.last.lsn;
    source->last_commit_time_micros = newest.last.commit_time_micros;
    source->digest = newest.last.digest;
    source->keys = newest.last.live_keys;
  }
  if (source->files.size() > 1) {
    const SourceFile& first = source->files[1];
    source->first_lsn = first.first_lsn;
    SegmentScan first_scan;
    ORDO_RETURN_IF_ERROR(
        ScanSegment(fs, first.path, first.bytes, &first_scan, /*first_only=*/true));
    if (first_scan.has_records)
      source->first_commit_time_micros = first_scan.first.commit_time_micros;
  }

  // The newest checkpoint no newer than the backup's commit (derived data: optional).
  auto names = fs->GetChildren(data_directory + "/index");
  if (names.ok()) {
    uint64_t best = 0;
    bool found = false;
    for (const auto& name : *names) {
      uint64_t lsn = 0;
      if (index::ParseCheckpointFileName(name, &lsn) && lsn <= source->last_lsn &&
          (!found || lsn > best)) {
        best = lsn;
        found = true;
      }
    }
    if (found) {
      SourceFile checkpoint;
      checkpoint.kind = SourceKind::kCheckpoint;
      checkpoint.relative_path = "index/" + index::CheckpointFileName(best);
      checkpoint.path = data_directory + "/" + checkpoint.relative_path;
      checkpoint.last_lsn = best;
      auto size = fs->GetFileSize(checkpoint.path);
      if (size.ok()) {
        checkpoint.bytes = *size;
        source->files.push_back(std::move(checkpoint));
      }
    }
  }
  return Status::Ok();
}

}  // namespace ordo::backup
