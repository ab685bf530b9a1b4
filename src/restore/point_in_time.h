// Point-in-time restore within a backup's log: cuts a restored data directory back to the last
// commit at or before a target (an LSN, the commit before an LSN, or a wall-clock time), so
// that, say, a FLUSHALL and everything after it is undone.
//
// Every backup holds the whole log up to its commit boundary (segments are never removed yet),
// so any backup whose last commit is at or after the target can restore to it; the oldest such
// backup is chosen, as it copies the least. (`ordo restore` plans through the continuous
// archive too, archive_plan.h, which reaches past the newest backup; ChooseBackupForPoint is the
// backup-only choice it falls back to.)
//
// The cut, on the staging copy before it is renamed into place: segments that start after the
// kept commit are removed; the segment holding it is cut right after that record (a sealed one
// loses its footer and becomes the active segment again); checkpoints newer than the kept
// commit are removed. Every change is fsynced. The state the result must have is the digest and
// key count the kept record itself carries, which the caller reports and a drill can check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/db.h"
#include "ordo/file_system.h"
#include "repository/repository.h"

namespace ordo::restore {

struct PointTarget {
  enum class Kind { kNone, kLsn, kBeforeLsn, kTime, kPoint };
  Kind kind = Kind::kNone;
  std::string point_name;   // kPoint: keep up to the newest commit marking this restore point
  uint64_t lsn = 0;         // kLsn: keep up to and including it; kBeforeLsn: keep below it
  int64_t time_micros = 0;  // kTime: keep every commit at or before this Unix time
  std::string Describe() const;
};

// Where a cut landed: the state the data directory now holds.
struct PointReport {
  uint64_t lsn = 0;                // the last commit kept (0: none, an empty database)
  int64_t commit_time_micros = 0;  // its commit time
  StateDigest digest;              // the state digest after it (from the record)
  uint64_t keys = 0;
  uint64_t segments_removed = 0;
  uint64_t bytes_cut = 0;
};

// Picks the backup to restore `target` from: the oldest whose last commit is at or after it
// (for a named point, the newest backup, which holds the whole log). InvalidArgument stating
// the covered range when no backup covers the target.
Result<repository::Manifest> ChooseBackupForPoint(
    const std::vector<repository::Manifest>& manifests, const PointTarget& target);

// Cuts the data directory `directory` (not open by anyone) back to the last commit at or
// before `target`. Corruption naming file and offset if the log cannot be read; NotFound if a
// named restore point is not in the log.
Status CutLogAt(FileSystem* fs, const std::string& directory, const PointTarget& target,
                PointReport* report);

}  // namespace ordo::restore
