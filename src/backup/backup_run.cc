#include "backup/backup_run.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <thread>

#include "backup/backup_source.h"
#include "db/identity.h"
#include "fmt/format.h"
#include "log/segment_reader.h"
#include "util/clock.h"
#include "util/time_format.h"

namespace ordo::backup {
namespace {

// Paces reads to a rate by sleeping until the bytes done so far are due.
class Pacer {
 public:
  explicit Pacer(double mib_per_second)
      : bytes_per_micro_(mib_per_second * 1024.0 * 1024.0 / 1e6),
        start_micros_(MonotonicMicros()) {}
  void Account(uint64_t bytes) {
    done_ += bytes;
    if (bytes_per_micro_ <= 0) return;
    const int64_t due_micros = start_micros_ + static_cast<int64_t>(done_ / bytes_per_micro_);
    const int64_t wait_micros = due_micros - MonotonicMicros();
    if (wait_micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait_micros));
  }

 private:
  const double bytes_per_micro_;
  const int64_t start_micros_;
  uint64_t done_ = 0;
};

struct CopyState {
  FileSystem* fs;
  repository::Repository* repository;
  const BackupOptions* options;
  Pacer pacer;
  repository::TransferProgress progress;
  BackupResult* result;
  // Set when an earlier backup's checkpoint is to stand in for the data directory's newest.
  const repository::ManifestFile* previous_checkpoint = nullptr;
};

void ReportProgress(CopyState& state) {
  if (state.options->progress) state.options->progress(state.progress);
}

repository::ManifestFile DescribeFile(const SourceFile& source) {
  repository::ManifestFile file;
  file.kind = SourceKindName(source.kind);
  file.relative_path = source.relative_path;
  file.plain_bytes = source.bytes;
  file.segment_id = source.segment_id;
  file.first_lsn = source.first_lsn;
  file.last_lsn = source.last_lsn;
  return file;
}

// Streams the first `source.bytes` bytes of the source file into the repository. Sets
// `*vanished` (and returns OK) when a checkpoint was removed before it could be opened.
Status StoreFile(CopyState& state, const SourceFile& source, repository::ManifestFile* file,
                 uint64_t* written, bool* vanished) {
  *vanished = false;
  auto opened = state.fs->NewRandomAccessFile(source.path);
  if (!opened.ok()) {
    if (source.kind == SourceKind::kCheckpoint && !state.fs->FileExists(source.path)) {
      *vanished = true;
      return Status::Ok();
    }
    return opened.status();
  }
  // An open file keeps its bytes even if the server removes it now (POSIX unlink semantics).
  std::unique_ptr<RandomAccessFile> input = std::move(opened.value());
  // Read once, front to back, while other threads compress: a larger read-ahead lets the disk
  // run ahead of the reader (measured: it takes most of the read time off a cold backup).
  input->AdviseSequential();
  uint64_t offset = 0;
  const repository::ReadChunk read_chunk = [&](char* buffer, size_t capacity) -> Result<size_t> {
    const uint64_t count =
        std::min<uint64_t>({capacity, repository::kCopyChunkBytes, source.bytes - offset});
    if (count == 0) return size_t{0};
    size_t read_count = 0;
    ORDO_RETURN_IF_ERROR(input->Read(offset, count, buffer, &read_count));
    if (read_count != count) {
      return Status::Corruption(
          fmt::format("{} offset {}: file ended, {} bytes were captured "
                      "for the backup",
                      source.path, offset + read_count, source.bytes));
    }
    offset += read_count;
    state.result->bytes_read += read_count;
    state.progress.bytes_done += read_count;
    ReportProgress(state);
    state.pacer.Account(read_count);
    return read_count;
  };
  *written = 0;
  ORDO_RETURN_IF_ERROR(
      state.repository->PutFile(read_chunk, file, written).WithContext("storing " + source.path));
  if (offset != source.bytes) {
    return Status::IOError(fmt::format("storing {}: the repository took {} of {} bytes",
                                       source.path, offset, source.bytes));
  }
  return Status::Ok();
}

// Copies (or reuses) one source file and adds it to the manifest.
Status BackUpFile(CopyState& state, const SourceFile& source, const std::string& database_hex,
                  repository::Manifest* manifest) {
  state.progress.current_file = source.relative_path;
  ReportProgress(state);
  BackupFileFigure figure{
      source.relative_path, SourceKindName(source.kind), source.bytes, 0, false, 0};
  const int64_t start_micros = MonotonicMicros();
  repository::ManifestFile file = DescribeFile(source);
  if (source.kind == SourceKind::kSealedSegment) {
    ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail,
                          log::ReadSegmentTail(state.fs, source.path, source.bytes));
    if (!tail.sealed) return Status::Corruption(source.path + ": seal footer not found");
    file.segment_key =
        repository::SegmentKey(database_hex, source.segment_id, tail.footer.footer_checksum);
    std::optional<repository::ManifestFile> stored =
        state.repository->FindSealedSegment(file.segment_key);
    if (stored.has_value() && stored->plain_bytes == source.bytes) {
      file.plain_sha256 = stored->plain_sha256;
      file.stored_name = stored->stored_name;
      file.stored_bytes = stored->stored_bytes;
      figure.reused = true;
      ++state.result->reused_files;
      state.progress.bytes_done += source.bytes;
      ReportProgress(state);
    }
  }
  if (source.kind == SourceKind::kCheckpoint && state.previous_checkpoint != nullptr) {
    // Incremental: an earlier backup's checkpoint is older but already stored, and replaying
    // the log written since it costs less than copying a whole new checkpoint (which, at
    // ~45 bytes a key, can outweigh everything else a small incremental copies).
    file = *state.previous_checkpoint;
    figure.relative_path = file.relative_path;
    figure.plain_bytes = file.plain_bytes;
    figure.reused = true;
    ++state.result->reused_files;
    state.progress.bytes_done += source.bytes;
    ReportProgress(state);
  }
  if (!figure.reused) {
    bool vanished = false;
    ORDO_RETURN_IF_ERROR(StoreFile(state, source, &file, &figure.bytes_written, &vanished));
    if (vanished) {
      state.result->errors.push_back(
          source.relative_path +
          " was removed by the server while the backup ran (it keeps "
          "only the newest checkpoints); left out: a restore rebuilds the index from the log");
      state.progress.bytes_done += source.bytes;
      return Status::Ok();
    }
    state.result->bytes_written += figure.bytes_written;
    if (figure.bytes_written > 0) ++state.result->new_files;
  }
  figure.save_micros = MonotonicMicros() - start_micros;
  state.result->files.push_back(figure);
  manifest->files.push_back(std::move(file));
  return Status::Ok();
}

// Bytes of the log segments that hold commits after `lsn`: what a restore replays when its
// checkpoint is at `lsn`.
uint64_t ReplayBytesSince(const BackupSource& source, uint64_t lsn) {
  uint64_t bytes = 0;
  for (const SourceFile& file : source.files) {
    const bool segment =
        file.kind == SourceKind::kSealedSegment || file.kind == SourceKind::kActivePrefix;
    if (segment && file.last_lsn > lsn) bytes += file.bytes;
  }
  return bytes;
}

// Bytes of the checkpoint the source names; 0 when it names none (nothing to replace).
uint64_t NewestCheckpointBytes(const BackupSource& source) {
  for (const SourceFile& file : source.files) {
    if (file.kind == SourceKind::kCheckpoint) return file.bytes;
  }
  return 0;
}

// The checkpoint of the newest earlier backup of this database, if it stored one.
std::optional<repository::ManifestFile> NewestStoredCheckpoint(repository::Repository* repository,
                                                               const std::string& database_hex) {
  auto manifests = repository->ListManifests();
  if (!manifests.ok()) return std::nullopt;
  for (auto it = manifests->rbegin(); it != manifests->rend(); ++it) {
    if (it->database_id != database_hex) continue;
    for (const repository::ManifestFile& file : it->files) {
      if (file.kind == "checkpoint") return file;
    }
    return std::nullopt;  // the newest backup has none: a new one is worth storing
  }
  return std::nullopt;
}

// The newest backup already in the repository, or "" (a damaged manifest is noted, not fatal:
// this backup does not depend on it).
std::string FindParent(repository::Repository* repository, BackupResult* result) {
  auto manifests = repository->ListManifests();
  if (!manifests.ok()) {
    result->errors.push_back("could not list earlier backups, parent left empty: " +
                             manifests.status().ToString());
    return "";
  }
  std::string newest;
  for (const repository::Manifest& manifest : *manifests)
    newest = std::max(newest, manifest.backup_id);
  return newest;
}

}  // namespace

Status TakeBackup(FileSystem* fs, const std::string& data_directory,
                  repository::Repository* repository, const BackupOptions& options,
                  BackupResult* result) {
  *result = BackupResult{};
  if (!repository->CanWrite()) {
    return Status::InvalidArgument("repository " + repository->info().repository_id +
                                   " is encrypted with a key: give its --key-file to write");
  }
  const int64_t start_wall_micros = WallMicros();
  const int64_t start_micros = MonotonicMicros();
  BackupSource source;
  ORDO_RETURN_IF_ERROR(CaptureBackupSource(fs, data_directory, &source));

  repository::Manifest manifest;
  manifest.backup_id = repository::NewBackupId(start_wall_micros);
  manifest.parent_backup_id = FindParent(repository, result);
  manifest.database_id = db::DatabaseIdHex(source.database_id);
  manifest.started = FormatRfc3339Micros(start_wall_micros);
  manifest.first_lsn = source.first_lsn;
  manifest.last_lsn = source.last_lsn;
  manifest.first_commit_time_micros = source.first_commit_time_micros;
  manifest.last_commit_time_micros = source.last_commit_time_micros;
  manifest.digest = source.digest;
  manifest.keys = source.keys;

  // The lease keeps what this backup stores, and then what it reuses, from a concurrent prune
  // until the manifest names them (repository.h); it goes when the backup ends, however it ends.
  ORDO_RETURN_IF_ERROR(repository->BeginWrite("backup " + manifest.backup_id, true));
  struct EndLease {
    repository::Repository* repository;
    ~EndLease() { (void)repository->EndWrite(); }
  } end_lease{repository};

  // A prune running beside may take a file this backup meant to reuse: WriteManifest then
  // says Busy before publishing, and the files are gone through again (what is stored already
  // is found again at once; what was taken is stored anew).
  constexpr int kAttemptsMax = 3;
  for (int attempt = 1;; ++attempt) {
    CopyState state{fs, repository, &options, Pacer(options.rate_limit_mib_per_second), {}, result};
    const std::optional<repository::ManifestFile> previous_checkpoint =
        NewestStoredCheckpoint(repository, manifest.database_id);
    // Only a checkpoint at or before this backup's commit can stand in: a directory restored
    // to an earlier point keeps its database id, so the newest stored checkpoint of that id
    // may come from the old history, past where this log ends (a manifest CheckManifest
    // refuses).
    if (previous_checkpoint.has_value() && previous_checkpoint->last_lsn <= source.last_lsn &&
        ReplayBytesSince(source, previous_checkpoint->last_lsn) < NewestCheckpointBytes(source)) {
      state.previous_checkpoint = &*previous_checkpoint;
    }
    manifest.files.clear();
    result->files.clear();  // the figures of this attempt's files (the byte counts add up)
    for (const SourceFile& file : source.files) state.progress.bytes_total += file.bytes;
    for (const SourceFile& file : source.files) {
      ORDO_RETURN_IF_ERROR(BackUpFile(state, file, manifest.database_id, &manifest));
    }
    state.progress.current_file.clear();
    ReportProgress(state);

    result->duration_seconds = static_cast<double>(MonotonicMicros() - start_micros) / 1e6;
    manifest.finished = FormatRfc3339Micros(WallMicros());
    manifest.bytes_read = result->bytes_read;
    manifest.bytes_written = result->bytes_written;
    manifest.new_files = result->new_files;
    manifest.duration_seconds = result->duration_seconds;
    // The marker: until this returns, the backup does not exist.
    const Status written = repository->WriteManifest(manifest);
    if (written.ok()) break;
    if (!written.IsBusy() || attempt == kAttemptsMax) return written;
    result->errors.push_back("attempt " + std::to_string(attempt) + ": " + written.message());
  }
  result->throughput_mib_per_second =
      result->duration_seconds > 0
          ? static_cast<double>(result->bytes_read) / (1024.0 * 1024.0) / result->duration_seconds
          : 0;
  result->manifest = std::move(manifest);
  return Status::Ok();
}

}  // namespace ordo::backup
