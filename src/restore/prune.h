// Retention: which backups to keep, and removal of everything no kept backup needs. Prune is
// the only code that deletes anything from a repository.
//
// Order, so that a crash at any point leaves a valid repository: first the manifests of the
// backups not kept (each removal makes one backup disappear whole), then every content file
// under data/ that no kept manifest references (including what interrupted backups left). A
// crash between the two leaves only unreferenced files, which the next prune removes.
//
// Running beside a backup or an archiver (continuous archiving never stops), across processes
// and crashes of either (docs/FORMAT.md, "Leases and trash"):
//   * what a writer reuses is named in its lease before its manifest or piece is published, and
//     prune keeps every file a live lease names;
//   * a backup's own new files are not referenced until its manifest lands, however long it
//     runs: its lease's protect_since keeps every file modified since it began;
//   * prune moves doomed files to trash/ and reads manifests, pieces and leases again before it
//     removes any: what was published or leased meanwhile goes back to data/ (`restored_files`).
//     A writer whose reused file went to trash/ before its lease was out finds it gone and
//     stores it again. Readers find a file in trash/ too, so a prune that crashes between the
//     two phases breaks nothing; the next prune settles trash/ first.
//   * stale leases (not refreshed for kLeaseLifetimeSeconds: a writer that crashed) are ignored
//     and removed.
// Unreferenced content files and temporaries younger than `grace_seconds` are left alone too
// (`kept_recent`): `ordo prune` uses 15 minutes, for writers that hold no lease (older builds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ordo/file_system.h"
#include "repository/repository.h"

namespace ordo::restore {

struct PruneReport {
  bool dry_run = false;
  std::vector<std::string> kept_backups;            // ids, oldest first
  std::vector<std::string> removed_backups;         // ids (would be removed, when dry_run)
  std::vector<std::string> removed_files;           // stored names under data/
  uint64_t removed_bytes = 0;                       // stored bytes of removed files, where known
  std::vector<std::string> removed_archive_pieces;  // "<database id>/<piece name>"
  uint64_t kept_archive_pieces = 0;
  std::vector<std::string> removed_temporary;  // "data/.tmp-*", "manifests/.tmp-*" leftovers
  uint64_t kept_recent = 0;  // unreferenced files younger than the grace period, left alone
  uint64_t live_leases = 0;  // writers running beside this prune
  std::vector<std::string> removed_leases;  // stale leases: "<id> (<writer> on <host>, pid N)"
  // Doomed at the plan, but named by a manifest, piece or lease published meanwhile: put back
  // (not in removed_files).
  std::vector<std::string> restored_files;
};

// Keeps, of each database's backups (a repository may hold several databases), the newest
// `keep_last` (>= 1, else InvalidArgument) and, with `keep_within_seconds` (the point-in-time
// window), every backup finished less than that many seconds ago plus the newest one before the
// window, the base a restore to the window's first moment starts from. Of the continuous
// archive it keeps every piece a kept backup's restore needs: all pieces after the oldest kept
// backup's log end (so the chain from it is never broken), the newest piece (where an archiver
// resumes), and the whole archive of a database with no kept backup. Removes the rest: backup
// manifests, then archive piece descriptions oldest first (a crash leaves a shorter archive,
// never a hole), then every content file nothing kept references. With `dry_run` it only fills
// the report. Fails without deleting anything if a manifest cannot be read (a damaged manifest may
// reference files that would otherwise be deleted).
Status Prune(repository::Repository* repository, uint64_t keep_last,
             std::optional<int64_t> keep_within_seconds, bool dry_run, PruneReport* report,
             int64_t grace_seconds = 0);

// Removes the temporary files (".tmp-*", repository.h) that interrupted writes left in
// `repository_path`/data, /manifests and /archive/<database id>, older than `grace_seconds`;
// with `dry_run` only lists them. Separate from Prune because the Repository interface neither
// lists nor removes temporaries. With a grace of 0, never while a backup or an archiver writes
// into the repository (its temporary file is in use).
Status RemoveTemporaryFiles(FileSystem* fs, const std::string& repository_path, bool dry_run,
                            PruneReport* report, int64_t grace_seconds = 0);

}  // namespace ordo::restore
