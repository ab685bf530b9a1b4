// Restoring a backup into a new data directory.
//
// The target is never seen half-restored: every file is written into a sibling temporary
// directory "<target>.restoring-<random>" (IDENTITY, log/, index/), each file streamed from the
// repository (Repository::ReadFile checks the stored hash, every encrypted chunk and the plain
// hash and size while copying) and fsynced; sealed segments are made read-only; the
// directories are fsynced; only then is the temporary directory renamed to the target and the
// parent directory fsynced. A crash or error before the rename leaves at most a
// "<target>.restoring-*" directory, which the operator deletes (the error names it); the
// target either does not exist or is complete.
//
// Memory is flat: files are streamed in the repository's chunks.
#pragma once

#include <cstdint>
#include <string>

#include "ordo/file_system.h"
#include "repository/repository.h"
#include "repository/transfer.h"
#include "restore/point_in_time.h"

namespace ordo::restore {

struct RestoreReport {
  std::string target;
  std::string backup_id;        // the base backup ("": the archive alone)
  uint64_t archive_pieces = 0;  // archive pieces added after it
  // The newest commit the restored directory holds, and the state after it (from the log).
  uint64_t lsn = 0;
  int64_t commit_time_micros = 0;
  StateDigest digest;
  uint64_t keys = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;  // plain bytes written
  double duration_seconds = 0;
  double check_seconds = 0;  // of duration_seconds: opening the copy to check its state
  bool cut = false;          // restored to a point before the backup's last commit
  PointReport point;         // when cut: the commit restored to and the state it must have
};

// True for the relative paths a manifest may name: "IDENTITY", "log/<name>", "index/<name>"
// with a plain file name (no "..", no further "/"), so a manifest cannot write outside the
// target.
bool IsRestorablePath(const std::string& relative_path);

// Restores `manifest` from `repository` (which must be readable: CanRead) into
// `target_directory`, which must not exist or be an empty directory (InvalidArgument naming
// it otherwise). `progress` may be empty. Corruption naming the file when a stored file fails
// a check; IOError/NoSpace naming the path from the target file system; on any failure the
// message also names the temporary directory left behind.
// With a `point` target, the restored log is cut back to the last commit at or before it
// (point_in_time.h) before the directory is renamed into place.
Status RestoreBackup(FileSystem* fs, repository::Repository* repository,
                     const repository::Manifest& manifest, const std::string& target_directory,
                     const repository::ProgressCallback& progress, RestoreReport* report,
                     const PointTarget& point = PointTarget{});

// What a restore assembles: a base backup (or none: the archive alone, which then starts at the
// database's first segment) and archive pieces continuing it, in log order. The first piece
// may overlap the base's last segment by `skip_bytes`: those bytes must equal what the base
// holds there (checked while copying; a mismatch means the backup and the archive come from
// different histories and is Corruption naming both).
struct RestoreSources {
  const repository::Manifest* backup = nullptr;
  std::vector<repository::ArchivePiece> pieces;
  uint64_t skip_bytes = 0;
};

// RestoreBackup generalised: restores `sources` into `target_directory` with the same
// guarantees (staging directory, every hash checked, fsyncs, one rename), then cuts at `point`
// if given. Fills the report's base, piece count and the newest commit restored.
Status RestoreFrom(FileSystem* fs, repository::Repository* repository,
                   const RestoreSources& sources, const std::string& target_directory,
                   const repository::ProgressCallback& progress, RestoreReport* report,
                   const PointTarget& point = PointTarget{});

}  // namespace ordo::restore
