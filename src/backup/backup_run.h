// Taking a backup: copies what CaptureBackupSource names into a Repository, in restore order,
// one file at a time, and last publishes the manifest that makes the backup real.
//
// Order (DESIGN.md, "Backup repository"): identity, every sealed segment not already stored,
// the active segment's prefix up to the commit boundary, the checkpoint, then the manifest.
// Each file is stored by Repository::PutFile, which fsyncs and publishes it before returning,
// so the next file starts only when the previous one is durable. A crash or error at any point
// before WriteManifest leaves only unreferenced content files: the backup does not exist, the
// next one reuses what was stored (same content, same name; sealed segments by segment key),
// and `ordo prune` removes the rest.
//
// Online: nothing here takes a lock on the data directory or pauses the server. Sealed
// segments never change; the active segment is read only up to the captured commit boundary.
// The checkpoint is derived data and the server keeps only the newest two, so it may be
// removed while the backup runs: then it is left out (a restore rebuilds the index from the
// log) and the result says so.
//
// Memory is flat: every file is streamed in chunks of at most kCopyChunkBytes straight into the
// repository's buffer; nothing holds a whole file.
//
// Page cache: the copy reads the source through the page cache and does NOT call
// posix_fadvise(POSIX_FADV_DONTNEED) on it afterwards. DONTNEED drops clean pages whoever
// loaded them, so on a live server it would evict exactly the hot pages (the active segment,
// recently read values) the server is using; reading a cold sealed segment once only adds
// pages the kernel reclaims first (they are used once, so they stay on the inactive list).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ordo/file_system.h"
#include "repository/repository.h"
#include "repository/transfer.h"

namespace ordo::backup {

struct BackupOptions {
  // Source read rate in MiB/s; 0 = unlimited. Paced by sleeping between chunks.
  double rate_limit_mib_per_second = 0;
  repository::ProgressCallback progress;  // optional
};

// What happened to one file of the backup.
struct BackupFileFigure {
  std::string relative_path;
  std::string kind;
  uint64_t plain_bytes = 0;
  uint64_t bytes_written = 0;  // to the repository; 0 when it was already there
  bool reused = false;         // a sealed segment found by its segment key: not read at all
  int64_t save_micros = 0;     // read + compress + encrypt + write + fsync + publish
};

struct BackupResult {
  repository::Manifest manifest;  // as published
  std::vector<BackupFileFigure> files;
  uint64_t bytes_read = 0;     // from the data directory
  uint64_t bytes_written = 0;  // to the repository (content files; the manifest not counted)
  uint64_t new_files = 0;      // content files that were not in the repository before
  uint64_t reused_files = 0;   // sealed segments not copied again
  double duration_seconds = 0;
  double throughput_mib_per_second = 0;  // bytes read per second
  // Problems the backup survived (a checkpoint removed while copying): one sentence each.
  std::vector<std::string> errors;
};

// Backs up `data_directory` (live or stopped) into `repository`, which must be writable
// (CanWrite). On success the manifest is published and `result` describes the run. On failure
// no manifest is written (the backup does not exist) and the Status names the file: NotFound if
// `data_directory` is not a data directory, Corruption for a damaged log, IOError/NoSpace from
// the source or the repository.
Status TakeBackup(FileSystem* fs, const std::string& data_directory,
                  repository::Repository* repository, const BackupOptions& options,
                  BackupResult* result);

}  // namespace ordo::backup
