#include "restore/restore.h"

#include <algorithm>
#include <random>

#include "fmt/format.h"
#include "ordo/db.h"
#include "repository/keys.h"
#include "util/clock.h"

namespace ordo::restore {
namespace {

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// InvalidArgument unless `target` is absent or an empty directory.
Status CheckTarget(FileSystem* fs, const std::string& target) {
  if (!fs->FileExists(target)) return Status::Ok();
  auto children = fs->GetChildren(target);
  if (!children.ok()) {
    return Status::InvalidArgument(target +
                                   ": exists and is not a directory that can be "
                                   "listed (" +
                                   children.status().message() + ")");
  }
  if (!children->empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: exists and is not empty ({} entries); "
                    "restore only into a new or empty directory",
                    target, children->size()));
  }
  return Status::Ok();
}

struct RestoreState {
  FileSystem* fs;
  repository::Repository* repository;
  const repository::ProgressCallback* progress;
  repository::TransferProgress figures;
  RestoreReport* report;
};

Status RestoreFile(RestoreState& state, const repository::ManifestFile& file,
                   const std::string& path) {
  state.figures.current_file = file.relative_path;
  if (*state.progress) (*state.progress)(state.figures);
  ORDO_ASSIGN_OR_RETURN(auto output, state.fs->NewWritableFile(path));
  uint64_t written = 0;
  const repository::WriteChunk sink = [&](std::string_view bytes) -> Status {
    ORDO_RETURN_IF_ERROR(output->Append(bytes));
    written += bytes.size();
    state.figures.bytes_done += bytes.size();
    if (*state.progress) (*state.progress)(state.figures);
    return Status::Ok();
  };
  ORDO_RETURN_IF_ERROR(
      state.repository->ReadFile(file, sink).WithContext("restoring " + file.relative_path));
  if (written != file.plain_bytes) {
    return Status::Corruption(
        fmt::format("restoring {} (data/{}): {} bytes where the manifest "
                    "says {}",
                    file.relative_path, file.stored_name, written, file.plain_bytes));
  }
  // Not fsynced here: every file is fsynced once all are written (SyncRestored), so the
  // kernel writes them back while the next ones stream in. Nothing is visible before the
  // final rename, so the order of the fsyncs does not matter.
  ORDO_RETURN_IF_ERROR(output->Close());
  state.report->bytes += written;
  ++state.report->files;
  return Status::Ok();
}

// Every file written into the staging directory, synced once all are written.
struct StagedFile {
  std::string path;
  bool sealed = false;  // made read-only after its fsync (DESIGN rule 1)
};

void NoteStaged(std::vector<StagedFile>* staged, const std::string& path, bool sealed) {
  for (StagedFile& file : *staged) {
    if (file.path == path) {
      file.sealed = file.sealed || sealed;
      return;
    }
  }
  staged->push_back(StagedFile{path, sealed});
}

// Appends one archive piece to its segment file in the staging directory. The file must end
// exactly where the piece starts (plus `skip`, the bytes of the piece the base holds already,
// which are compared, not written).
Status AppendPiece(RestoreState& state, const repository::ArchivePiece& piece, uint64_t skip,
                   const std::string& staging, std::vector<StagedFile>* staged) {
  FileSystem* fs = state.fs;
  const std::string path = staging + "/" + piece.file.relative_path;
  const std::string where =
      fmt::format("archive piece {} of database {}", piece.Name(), piece.database_id);
  state.figures.current_file = piece.file.relative_path;
  std::unique_ptr<WritableFile> output;
  if (piece.start_offset == 0 && skip == 0) {
    if (fs->FileExists(path)) {
      return Status::Corruption(where + ": starts segment " + std::to_string(piece.segment_id) +
                                ", which the restore holds already");
    }
    ORDO_ASSIGN_OR_RETURN(output, fs->NewWritableFile(path));
  } else {
    if (!fs->FileExists(path)) {
      return Status::Corruption(
          fmt::format("{}: starts at offset {} of segment {}, whose "
                      "earlier bytes are in no backup or piece",
                      where, piece.start_offset, piece.segment_id));
    }
    ORDO_ASSIGN_OR_RETURN(output, fs->ReopenWritableFile(path));
  }
  if (output->Size() != piece.start_offset + skip) {
    return Status::Corruption(
        fmt::format("{}: starts at offset {} of segment {}, but what comes "
                    "before it ends at {}: the archive has a gap there",
                    where, piece.start_offset + skip, piece.segment_id, output->Size()));
  }
  std::unique_ptr<RandomAccessFile> overlap;
  if (skip > 0) {
    ORDO_ASSIGN_OR_RETURN(overlap, fs->NewRandomAccessFile(path));
  }
  uint64_t position = piece.start_offset;  // of the next byte the sink receives
  std::string held;
  const repository::WriteChunk sink = [&](std::string_view bytes) -> Status {
    const uint64_t end = position + bytes.size();
    if (position < piece.start_offset + skip) {
      const size_t compared = static_cast<size_t>(
          std::min<uint64_t>(bytes.size(), piece.start_offset + skip - position));
      held.resize(compared);
      size_t read_count = 0;
      ORDO_RETURN_IF_ERROR(overlap->Read(position, compared, held.data(), &read_count));
      if (read_count != compared || std::string_view(held) != bytes.substr(0, compared)) {
        return Status::Corruption(fmt::format(
            "{} and the backup disagree about segment {} before offset {}: they come from "
            "different histories (was the database restored to an earlier point and archived "
            "again?)",
            where, piece.segment_id, piece.start_offset + skip));
      }
      bytes.remove_prefix(compared);
      position += compared;
    }
    if (!bytes.empty()) ORDO_RETURN_IF_ERROR(output->Append(bytes));
    position = end;
    state.figures.bytes_done += bytes.size();
    if (*state.progress) (*state.progress)(state.figures);
    return Status::Ok();
  };
  ORDO_RETURN_IF_ERROR(
      state.repository->ReadFile(piece.file, sink).WithContext("restoring " + where));
  if (position != piece.end_offset) {
    return Status::Corruption(fmt::format("{} (data/{}): {} bytes where it says {}", where,
                                          piece.file.stored_name, position - piece.start_offset,
                                          piece.end_offset - piece.start_offset));
  }
  ORDO_RETURN_IF_ERROR(output->Close());
  state.report->bytes += piece.end_offset - piece.start_offset - skip;
  NoteStaged(staged, path, piece.sealed);
  return Status::Ok();
}

Status RestoreInto(RestoreState& state, const RestoreSources& sources, const std::string& staging) {
  FileSystem* fs = state.fs;
  ORDO_RETURN_IF_ERROR(fs->CreateDir(staging));
  ORDO_RETURN_IF_ERROR(fs->CreateDir(staging + "/log"));
  ORDO_RETURN_IF_ERROR(fs->CreateDir(staging + "/index"));
  std::vector<StagedFile> staged;
  if (sources.backup != nullptr) {
    for (const repository::ManifestFile& file : sources.backup->files) {
      const std::string path = staging + "/" + file.relative_path;
      ORDO_RETURN_IF_ERROR(RestoreFile(state, file, path));
      NoteStaged(&staged, path, file.kind == "sealed-segment");
    }
  } else if (!sources.pieces.empty()) {
    const repository::ManifestFile& identity = sources.pieces.front().identity;
    ORDO_RETURN_IF_ERROR(RestoreFile(state, identity, staging + "/IDENTITY"));
    NoteStaged(&staged, staging + "/IDENTITY", false);
  }
  for (size_t i = 0; i < sources.pieces.size(); ++i) {
    ORDO_RETURN_IF_ERROR(
        AppendPiece(state, sources.pieces[i], i == 0 ? sources.skip_bytes : 0, staging, &staged));
    ++state.report->archive_pieces;
  }
  for (const StagedFile& file : staged) {
    ORDO_ASSIGN_OR_RETURN(auto output, fs->ReopenWritableFile(file.path));
    ORDO_RETURN_IF_ERROR(output->SyncAll());
    ORDO_RETURN_IF_ERROR(output->Close());
    if (file.sealed) ORDO_RETURN_IF_ERROR(fs->SetReadOnly(file.path));
  }
  ORDO_RETURN_IF_ERROR(fs->SyncDir(staging + "/log"));
  ORDO_RETURN_IF_ERROR(fs->SyncDir(staging + "/index"));
  return fs->SyncDir(staging);
}

}  // namespace

bool IsRestorablePath(const std::string& relative_path) {
  if (relative_path == "IDENTITY") return true;
  std::string_view name;
  if (relative_path.starts_with("log/")) {
    name = std::string_view(relative_path).substr(4);
  } else if (relative_path.starts_with("index/")) {
    name = std::string_view(relative_path).substr(6);
  } else {
    return false;
  }
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

Status RestoreBackup(FileSystem* fs, repository::Repository* repository,
                     const repository::Manifest& manifest, const std::string& target_directory,
                     const repository::ProgressCallback& progress, RestoreReport* report,
                     const PointTarget& point) {
  RestoreSources sources;
  sources.backup = &manifest;
  return RestoreFrom(fs, repository, sources, target_directory, progress, report, point);
}

namespace {

// Opens the restored copy (read-only, integrity level 1: every record replayed after the
// checkpoint is verified) and compares its state with the one the sources claim. The pieces of a
// restore are checked one by one (hashes, overlaps), but a backup and an archive of two
// histories that meet exactly at a piece boundary share no bytes to compare; the log's records,
// which each carry the state digest after them, cannot agree with both.
Status CheckRestoredState(FileSystem* fs, const std::string& directory,
                          const RestoreReport& claimed) {
  Options options;
  options.file_system = fs;
  options.read_only = true;
  options.create_if_missing = false;
  options.integrity_level = 1;
  auto opened = DB::Open(options, directory);
  if (!opened.ok()) return opened.status().WithContext("the restored copy does not open");
  std::unique_ptr<DB> db = std::move(*opened);
  const StateDigest digest = db->Digest();
  const uint64_t keys = db->CountKeys();
  const uint64_t last_lsn = db->GetStatistics().last_lsn;
  if (digest != claimed.digest || keys != claimed.keys || last_lsn != claimed.lsn) {
    return Status::Corruption(fmt::format(
        "the restored copy opens to digest {}, {} keys at LSN {}, but what was restored says "
        "digest {}, {} keys at LSN {}: its parts do not belong to one history",
        digest.ToHex(), keys, last_lsn, claimed.digest.ToHex(), claimed.keys, claimed.lsn));
  }
  return Status::Ok();
}

}  // namespace

Status RestoreFrom(FileSystem* fs, repository::Repository* repository,
                   const RestoreSources& sources, const std::string& target_directory,
                   const repository::ProgressCallback& progress, RestoreReport* report,
                   const PointTarget& point) {
  *report = RestoreReport{};
  const std::string target = WithoutTrailingSlashes(target_directory);
  report->target = target;
  if (!repository->CanRead()) {
    return Status::InvalidArgument(
        "repository " + repository->info().repository_id +
        " is encrypted for a public key: restoring needs the secret key (--key-file)");
  }
  if (sources.backup == nullptr && sources.pieces.empty()) {
    return Status::InvalidArgument("nothing to restore: no backup and no archive piece");
  }
  std::vector<const repository::ManifestFile*> files;
  if (sources.backup != nullptr) {
    for (const repository::ManifestFile& file : sources.backup->files) files.push_back(&file);
  }
  for (const repository::ArchivePiece& piece : sources.pieces) {
    files.push_back(&piece.file);
    files.push_back(&piece.identity);
  }
  for (const repository::ManifestFile* file : files) {
    if (!IsRestorablePath(file->relative_path)) {
      return Status::Corruption(
          fmt::format("file path \"{}\" (data/{}) is not a data "
                      "directory path",
                      file->relative_path, file->stored_name));
    }
  }
  ORDO_RETURN_IF_ERROR(CheckTarget(fs, target));
  const int64_t start_micros = MonotonicMicros();
  const std::string staging = target + ".restoring-" + repository::RandomHex(4);
  RestoreState state{fs, repository, &progress, {}, report};
  if (sources.backup != nullptr) {
    report->backup_id = sources.backup->backup_id;
    for (const repository::ManifestFile& file : sources.backup->files) {
      state.figures.bytes_total += file.plain_bytes;
    }
    report->lsn = sources.backup->last_lsn;
    report->commit_time_micros = sources.backup->last_commit_time_micros;
    report->digest = sources.backup->digest;
    report->keys = sources.backup->keys;
  }
  for (const repository::ArchivePiece& piece : sources.pieces) {
    state.figures.bytes_total += piece.file.plain_bytes;
    report->lsn = piece.last_lsn;
    report->commit_time_micros = piece.last_commit_time_micros;
    report->digest = piece.digest;
    report->keys = piece.keys;
  }
  Status status = RestoreInto(state, sources, staging);
  if (status.ok() && point.kind != PointTarget::Kind::kNone) {
    status = CutLogAt(fs, staging, point, &report->point);
    report->cut = status.ok();
    if (status.ok()) {
      report->lsn = report->point.lsn;
      report->commit_time_micros = report->point.commit_time_micros;
      report->digest = report->point.digest;
      report->keys = report->point.keys;
    }
  }
  if (status.ok()) {
    const int64_t check_start_micros = MonotonicMicros();
    status = CheckRestoredState(fs, staging, *report);
    report->check_seconds = static_cast<double>(MonotonicMicros() - check_start_micros) / 1e6;
  }
  // The marker: the complete directory appears under the target's name at once.
  if (status.ok()) status = fs->RenameFile(staging, target);
  if (!status.ok()) {
    const std::string what = sources.backup != nullptr ? "backup " + sources.backup->backup_id
                                                       : std::string("the archive");
    return status.WithContext(
        fmt::format("restore of {}{} to {} failed; {} holds the partial "
                    "copy and can be deleted",
                    what, sources.pieces.empty() ? "" : " and its archive", target, staging));
  }
  ORDO_RETURN_IF_ERROR(fs->SyncDir(ParentDirectory(target)));
  report->duration_seconds = static_cast<double>(MonotonicMicros() - start_micros) / 1e6;
  return Status::Ok();
}

}  // namespace ordo::restore
