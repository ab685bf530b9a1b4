#include "restore/point_in_time.h"

#include <algorithm>

#include "fmt/format.h"
#include "index/checkpoint.h"
#include "log/segment_reader.h"
#include "repository/transfer.h"
#include "util/time_format.h"

namespace ordo::restore {
namespace {

// Does the record (lsn, time) stay after the cut?
bool Keeps(const PointTarget& target, uint64_t lsn, int64_t commit_time_micros) {
  switch (target.kind) {
    case PointTarget::Kind::kNone:
    case PointTarget::Kind::kPoint:  // resolved to an LSN before the cut
      return true;
    case PointTarget::Kind::kLsn:
      return lsn <= target.lsn;
    case PointTarget::Kind::kBeforeLsn:
      return lsn < target.lsn;
    case PointTarget::Kind::kTime:
      return commit_time_micros <= target.time_micros;
  }
  return true;
}

struct SegmentFile {
  uint64_t id = 0;
  std::string path;
  uint64_t size = 0;
};

Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs, const std::string& log_directory) {
  ORDO_ASSIGN_OR_RETURN(const std::vector<uint64_t> ids, log::ListSegmentIds(fs, log_directory));
  std::vector<SegmentFile> segments;
  for (uint64_t id : ids) {
    SegmentFile segment{id, log_directory + "/" + log::SegmentFileName(id), 0};
    ORDO_ASSIGN_OR_RETURN(segment.size, fs->GetFileSize(segment.path));
    segments.push_back(std::move(segment));
  }
  return segments;
}

// Reads one segment's records; records the last one kept and where it ends. Sets `stopped`
// at the first record not kept.
Status ScanForCut(FileSystem* fs, const SegmentFile& segment, const PointTarget& target,
                  PointReport* report, uint64_t* kept_end, bool* stopped) {
  ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail,
                        log::ReadSegmentTail(fs, segment.path, segment.size));
  const uint64_t limit = tail.sealed ? tail.footer.records_end : segment.size;
  ORDO_ASSIGN_OR_RETURN(auto reader, log::SegmentReader::Open(fs, segment.path, limit));
  *kept_end = reader->offset();
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  log::DecodedRecord record;
  for (;;) {
    const auto outcome = reader->Next(&payload, &record_offset, &error);
    if (outcome == log::SegmentReader::Outcome::kEnd) return Status::Ok();
    if (outcome == log::SegmentReader::Outcome::kBad) return error;
    ORDO_RETURN_IF_ERROR(
        log::DecodeRecordPayload(payload, reader->header().format_version, &record)
            .WithContext(fmt::format("{} offset {}", segment.path, record_offset)));
    if (!Keeps(target, record.lsn, record.commit_time_micros)) {
      *stopped = true;
      return Status::Ok();
    }
    report->lsn = record.lsn;
    report->commit_time_micros = record.commit_time_micros;
    report->digest = record.digest;
    report->keys = record.live_keys;
    *kept_end = reader->offset();
  }
}

Status CutSegment(FileSystem* fs, const SegmentFile& segment, uint64_t kept_end) {
  ORDO_RETURN_IF_ERROR(fs->SetWritable(segment.path));
  ORDO_RETURN_IF_ERROR(fs->Truncate(segment.path, kept_end));
  ORDO_ASSIGN_OR_RETURN(auto file, fs->ReopenWritableFile(segment.path));
  ORDO_RETURN_IF_ERROR(file->SyncAll());
  return file->Close();
}

Status RemoveNewerCheckpoints(FileSystem* fs, const std::string& directory, uint64_t lsn) {
  const std::string index_directory = directory + "/index";
  auto names = fs->GetChildren(index_directory);
  if (!names.ok()) return Status::Ok();  // no index/: nothing to remove
  for (const auto& name : *names) {
    uint64_t checkpoint_lsn = 0;
    if (index::ParseCheckpointFileName(name, &checkpoint_lsn) && checkpoint_lsn > lsn) {
      ORDO_RETURN_IF_ERROR(fs->RemoveFile(index_directory + "/" + name));
    }
  }
  return fs->SyncDir(index_directory);
}

}  // namespace

std::string PointTarget::Describe() const {
  switch (kind) {
    case Kind::kNone:
      return "the backup's last commit";
    case Kind::kLsn:
      return fmt::format("LSN {}", lsn);
    case Kind::kBeforeLsn:
      return fmt::format("the commit before LSN {}", lsn);
    case Kind::kTime:
      return "time " + FormatRfc3339Micros(time_micros);
    case Kind::kPoint:
      return "restore point \"" + point_name + "\"";
  }
  return "?";
}

Result<repository::Manifest> ChooseBackupForPoint(
    const std::vector<repository::Manifest>& manifests, const PointTarget& target) {
  if (target.kind == PointTarget::Kind::kPoint) {
    if (manifests.empty()) return Status::NotFound("the repository holds no backup");
    return manifests.back();
  }
  // Oldest first: the first backup whose last commit is at or after the target covers it.
  for (const repository::Manifest& manifest : manifests) {
    const bool covers =
        target.kind == PointTarget::Kind::kTime
            ? manifest.last_commit_time_micros >= target.time_micros
            : manifest.last_lsn >= (target.kind == PointTarget::Kind::kBeforeLsn
                                        ? target.lsn - std::min<uint64_t>(target.lsn, 1)
                                        : target.lsn);
    if (covers) return manifest;
  }
  if (manifests.empty()) return Status::NotFound("the repository holds no backup");
  const repository::Manifest& newest = manifests.back();
  return Status::InvalidArgument(fmt::format(
      "{} is after what the repository covers: LSN {} to {}, commit times {} to {} (the newest "
      "backup, {}; later commits are restored through the continuous archive, see "
      "archive_plan.h)",
      target.Describe(), newest.first_lsn, newest.last_lsn,
      FormatRfc3339Micros(newest.first_commit_time_micros),
      FormatRfc3339Micros(newest.last_commit_time_micros), newest.backup_id));
}

// The LSN of the newest commit that marks the restore point `name`, or NotFound. Reads the
// segments newest first and stops after the first that holds the name, so a recent point costs
// a read of the log's tail, not of all of it.
Result<uint64_t> FindRestorePoint(FileSystem* fs, const std::vector<SegmentFile>& segments,
                                  const std::string& name) {
  uint64_t found = 0;
  for (auto it = segments.rbegin(); it != segments.rend() && found == 0; ++it) {
    const SegmentFile& segment = *it;
    ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail,
                          log::ReadSegmentTail(fs, segment.path, segment.size));
    const uint64_t limit = tail.sealed ? tail.footer.records_end : segment.size;
    ORDO_ASSIGN_OR_RETURN(auto reader, log::SegmentReader::Open(fs, segment.path, limit));
    std::string_view payload;
    uint64_t record_offset = 0;
    Status error;
    log::DecodedRecord record;
    while (reader->Next(&payload, &record_offset, &error) == log::SegmentReader::Outcome::kRecord) {
      ORDO_RETURN_IF_ERROR(
          log::DecodeRecordPayload(payload, reader->header().format_version, &record));
      for (const auto& op : record.ops) {
        if (op.type == log::OpType::kRestorePoint && op.key == name) found = record.lsn;
      }
    }
  }
  if (found == 0) return Status::NotFound("no restore point named \"" + name + "\" in the log");
  return found;
}

// Where the scan for the cut may start: for an LSN target, the segments wholly before the one
// holding the last kept commit need not be read (the cut and the report come from that commit),
// and their headers say where each starts. A segment can be skipped when the next one starts at
// or before the last kept LSN and is not the final segment (every segment but the final one
// holds at least one record, so the next one's first record is kept). A time target is read
// from the start: headers hold no times.
Result<size_t> FirstSegmentToScan(FileSystem* fs, const std::vector<SegmentFile>& segments,
                                  const PointTarget& target) {
  if (target.kind != PointTarget::Kind::kLsn && target.kind != PointTarget::Kind::kBeforeLsn) {
    return size_t{0};
  }
  if (target.kind == PointTarget::Kind::kBeforeLsn && target.lsn == 0) return size_t{0};
  const uint64_t last_kept = target.kind == PointTarget::Kind::kLsn ? target.lsn : target.lsn - 1;
  size_t first = 0;
  for (size_t next = 1; next + 1 < segments.size(); ++next) {
    ORDO_ASSIGN_OR_RETURN(auto reader,
                          log::SegmentReader::Open(fs, segments[next].path, segments[next].size));
    if (reader->header().first_lsn > last_kept) break;
    first = next;
  }
  return first;
}

Status CutLogAt(FileSystem* fs, const std::string& directory, const PointTarget& requested,
                PointReport* report) {
  *report = PointReport{};
  const std::string log_directory = directory + "/log";
  ORDO_ASSIGN_OR_RETURN(auto segments, ListSegments(fs, log_directory));
  PointTarget target = requested;
  if (target.kind == PointTarget::Kind::kPoint) {
    ORDO_ASSIGN_OR_RETURN(target.lsn, FindRestorePoint(fs, segments, target.point_name));
    target.kind = PointTarget::Kind::kLsn;
  }
  bool stopped = false;
  ORDO_ASSIGN_OR_RETURN(size_t index, FirstSegmentToScan(fs, segments, target));
  for (; index < segments.size() && !stopped; ++index) {
    uint64_t kept_end = 0;
    ORDO_RETURN_IF_ERROR(ScanForCut(fs, segments[index], target, report, &kept_end, &stopped));
    if (stopped) {
      report->bytes_cut += segments[index].size - kept_end;
      ORDO_RETURN_IF_ERROR(CutSegment(fs, segments[index], kept_end));
    }
  }
  for (; index < segments.size(); ++index) {  // segments wholly after the kept commit
    report->bytes_cut += segments[index].size;
    ++report->segments_removed;
    ORDO_RETURN_IF_ERROR(fs->SetWritable(segments[index].path));
    ORDO_RETURN_IF_ERROR(fs->RemoveFile(segments[index].path));
  }
  ORDO_RETURN_IF_ERROR(fs->SyncDir(log_directory));
  return RemoveNewerCheckpoints(fs, directory, report->lsn);
}

}  // namespace ordo::restore
