// Reading the continuous archive: how its pieces line up, where it has gaps, and which backup
// and pieces a restore to a given point needs (DESIGN.md "Point-in-time recovery").
//
// Pieces line up when each starts where the previous ends (ArchivePiece::IsFollowedBy): the
// archive is a sequence of contiguous runs, normally one. A gap between runs is a piece that
// is missing (a description deleted, a piece never shipped); it is reported, never bridged: a
// restore can reach a commit only through an unbroken chain of bytes from its base.
//
// A restore starts from a base, a backup or the archive's own first bytes when it begins at
// the database's first segment, and adds the run that continues the base. For a target the
// plan takes the base that leaves the least to replay: the newest backup at or before the
// target whose run reaches it; failing that, the oldest backup after it (the log is then cut
// back inside the backup). Without a target the plan goes to the newest commit any base
// reaches; if the archive holds commits beyond a gap that no base reaches, that is an error
// naming the gap (restoring to just before it needs an explicit --lsn).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "restore/point_in_time.h"
#include "restore/restore.h"

namespace ordo::restore {

struct ArchiveRun {
  std::vector<repository::ArchivePiece> pieces;  // contiguous, in log order; never empty
  uint64_t first_lsn() const { return pieces.front().first_lsn; }
  uint64_t last_lsn() const { return pieces.back().last_lsn; }
};

struct ArchiveLayout {
  std::string database_id_hex;
  std::vector<ArchiveRun> runs;  // in log order
  // One sentence per gap between runs: which bytes and LSNs are missing.
  std::vector<std::string> gaps;
  uint64_t pieces = 0;
  uint64_t plain_bytes = 0;
};

// Lines up `pieces` (in log order, as ListArchivePieces returns them).
ArchiveLayout LayOutArchive(const std::string& database_id_hex,
                            const std::vector<repository::ArchivePiece>& pieces);

// True if a restore based on `backup` needs `piece`: it holds bytes after the backup's log
// end. Pieces before it are needed only by restores from older bases (prune's rule).
bool PieceNeededAfter(const repository::Manifest& backup, const repository::ArchivePiece& piece);

// What a restore copies: the base backup (if any) and the pieces after it, and the commit it
// will hold before any cut.
struct RestorePlan {
  std::string database_id_hex;
  std::optional<repository::Manifest> backup;
  std::vector<repository::ArchivePiece> pieces;
  uint64_t skip_bytes = 0;  // of pieces.front(), held by the backup already
  uint64_t last_lsn = 0;    // the newest commit the sources hold
  int64_t last_commit_time_micros = 0;
  RestoreSources Sources() const;
};

// Plans a restore of `repository` to `target` (kNone: the newest commit). `database_id_hex`
// picks the database when the repository holds several ("": the only one it holds; with
// several, InvalidArgument naming them, since a guess could restore the wrong database).
// `backup_id`, when not empty or "latest", forces that backup as the base.
// InvalidArgument stating the range the repository covers (and any gap) when the target is
// outside it; NotFound when the repository holds neither backup nor archive.
Result<RestorePlan> PlanRestore(repository::Repository* repository, const PointTarget& target,
                                const std::string& database_id_hex = "",
                                const std::string& backup_id = "");

}  // namespace ordo::restore
