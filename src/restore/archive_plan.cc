#include "restore/archive_plan.h"

#include <algorithm>
#include <map>

#include "fmt/format.h"
#include "repository/transfer.h"
#include "util/time_format.h"

namespace ordo::restore {
namespace {

std::string DescribeEnd(const repository::ArchivePiece& piece) {
  return fmt::format("piece {} (segment {} bytes {}..{}, LSN {}, committed {})", piece.Name(),
                     piece.segment_id, piece.start_offset, piece.end_offset, piece.last_lsn,
                     FormatRfc3339Micros(piece.last_commit_time_micros));
}

// A way to restore: a base and how far the archive carries it.
struct Candidate {
  const repository::Manifest* backup = nullptr;  // null: the archive alone
  const ArchiveRun* run = nullptr;               // null: the backup alone
  size_t join = 0;                               // first piece of `run` to add
  uint64_t skip = 0;
  uint64_t base_lsn = 0;  // newest commit of the base (0: the archive alone)
  int64_t base_time = 0;
  uint64_t reach_lsn = 0;  // newest commit reachable
  int64_t reach_time = 0;
};

// Where `backup`'s log ends: (segment, bytes, sealed). False if it holds no segment.
bool BackupLogEnd(const repository::Manifest& backup, uint64_t* segment, uint64_t* bytes,
                  bool* sealed) {
  bool found = false;
  for (const repository::ManifestFile& file : backup.files) {
    const bool is_segment = file.kind == "sealed-segment" || file.kind == "active-prefix";
    if (!is_segment || (found && file.segment_id < *segment)) continue;
    *segment = file.segment_id;
    *bytes = file.plain_bytes;
    *sealed = file.kind == "sealed-segment";
    found = true;
  }
  return found;
}

// Does `run` continue `backup`? Sets the first piece to add and the bytes of it to skip.
bool JoinBackup(const repository::Manifest& backup, const ArchiveRun& run, size_t* join,
                uint64_t* skip) {
  uint64_t segment = 0, bytes = 0;
  bool sealed = false;
  if (!BackupLogEnd(backup, &segment, &bytes, &sealed)) return false;
  for (size_t i = 0; i < run.pieces.size(); ++i) {
    const repository::ArchivePiece& piece = run.pieces[i];
    bool joined = false;
    if (sealed) {
      if (piece.segment_id == segment + 1 && piece.start_offset == 0) {
        *join = i, *skip = 0, joined = true;
      } else if (piece.segment_id == segment && piece.sealed && piece.end_offset == bytes) {
        *join = i + 1, *skip = 0, joined = true;
      }
    } else if (piece.segment_id == segment && !piece.sealed && piece.end_offset == bytes) {
      *join = i + 1, *skip = 0, joined = true;
    } else if (piece.segment_id == segment && piece.start_offset <= bytes &&
               bytes < piece.end_offset) {
      *join = i, *skip = bytes - piece.start_offset, joined = true;
    }
    if (joined) {
      // The LSNs must agree too: the piece continuing the backup holds the commit after it.
      if (*join == run.pieces.size()) return run.last_lsn() == backup.last_lsn;
      const repository::ArchivePiece& next = run.pieces[*join];
      return next.first_lsn <= backup.last_lsn + 1 && next.last_lsn >= backup.last_lsn;
    }
  }
  return false;
}

void SetReach(Candidate* candidate) {
  if (candidate->run != nullptr && candidate->join < candidate->run->pieces.size()) {
    const repository::ArchivePiece& last = candidate->run->pieces.back();
    candidate->reach_lsn = last.last_lsn;
    candidate->reach_time = last.last_commit_time_micros;
  } else {
    candidate->reach_lsn = candidate->base_lsn;
    candidate->reach_time = candidate->base_time;
  }
}

std::string DescribeCoverage(const std::vector<repository::Manifest>& backups,
                             const ArchiveLayout& layout) {
  std::string text;
  if (backups.empty()) {
    text = "no backup";
  } else {
    // Each backup restores to exactly its own commit.
    text = backups.size() == 1
               ? fmt::format("1 backup, at LSN {} (committed {})", backups.front().last_lsn,
                             FormatRfc3339Micros(backups.front().last_commit_time_micros))
               : fmt::format("{} backups, at LSN {} to {} (committed {} to {})", backups.size(),
                             backups.front().last_lsn, backups.back().last_lsn,
                             FormatRfc3339Micros(backups.front().last_commit_time_micros),
                             FormatRfc3339Micros(backups.back().last_commit_time_micros));
  }
  if (layout.runs.empty()) return text + "; no archive";
  for (const ArchiveRun& run : layout.runs) {
    text += fmt::format("; archive LSN {} to {} (commit times {} to {})", run.first_lsn(),
                        run.last_lsn(),
                        FormatRfc3339Micros(run.pieces.front().first_commit_time_micros),
                        FormatRfc3339Micros(run.pieces.back().last_commit_time_micros));
  }
  for (const std::string& gap : layout.gaps) text += "; gap: " + gap;
  return text;
}

// The database to restore: `wanted`, or the only one the repository holds. With several (a
// data directory created anew, or servers sharing the repository) there is no safe guess: the
// newest backup's database need not be the one with the newest commits (the other may be
// archived only), and restoring the wrong one would look like success.
Result<std::string> ChooseDatabase(repository::Repository* repository,
                                   const std::vector<repository::Manifest>& manifests,
                                   const std::string& wanted) {
  if (!wanted.empty()) return wanted;
  std::map<std::string, std::string> databases;             // id -> what the repository holds of it
  for (const repository::Manifest& manifest : manifests) {  // oldest first: the newest backup stays
    databases[manifest.database_id] = "newest backup " + manifest.backup_id;
  }
  ORDO_ASSIGN_OR_RETURN(const std::vector<std::string> archived,
                        repository->ListArchivedDatabases());
  for (const std::string& id : archived) {
    std::string& held = databases[id];
    held += held.empty() ? "an archive, no backup" : ", an archive";
  }
  if (databases.empty()) return Status::NotFound("the repository holds no backup and no archive");
  if (databases.size() > 1) {
    std::string list;
    for (const auto& [id, held] : databases) {
      list += fmt::format("{}{} ({})", list.empty() ? "" : "; ", id, held);
    }
    return Status::InvalidArgument(fmt::format(
        "the repository holds {} databases: {}. Name the one to restore with --database",
        databases.size(), list));
  }
  return databases.begin()->first;
}

}  // namespace

ArchiveLayout LayOutArchive(const std::string& database_id_hex,
                            const std::vector<repository::ArchivePiece>& pieces) {
  ArchiveLayout layout;
  layout.database_id_hex = database_id_hex;
  for (const repository::ArchivePiece& piece : pieces) {
    ++layout.pieces;
    layout.plain_bytes += piece.file.plain_bytes;
    if (!layout.runs.empty()) {
      const repository::ArchivePiece& previous = layout.runs.back().pieces.back();
      if (previous.IsFollowedBy(piece)) {
        layout.runs.back().pieces.push_back(piece);
        continue;
      }
      repository::ArchivePiece missing;  // the piece that should have come next
      missing.segment_id = previous.sealed ? previous.segment_id + 1 : previous.segment_id;
      missing.start_offset = previous.sealed ? 0 : previous.end_offset;
      layout.gaps.push_back(fmt::format(
          "piece {} is missing: after {} comes piece {} (segment {} offset {}, LSN {}); LSN {} "
          "to {} are not in the archive",
          missing.Name(), DescribeEnd(previous), piece.Name(), piece.segment_id, piece.start_offset,
          piece.first_lsn, previous.last_lsn + 1,
          piece.first_lsn > previous.last_lsn + 1 ? piece.first_lsn - 1 : previous.last_lsn + 1));
    }
    layout.runs.push_back(ArchiveRun{{piece}});
  }
  return layout;
}

bool PieceNeededAfter(const repository::Manifest& backup, const repository::ArchivePiece& piece) {
  uint64_t segment = 0, bytes = 0;
  bool sealed = false;
  if (!BackupLogEnd(backup, &segment, &bytes, &sealed)) return true;
  return piece.segment_id > segment || (piece.segment_id == segment && piece.end_offset > bytes);
}

RestoreSources RestorePlan::Sources() const {
  RestoreSources sources;
  sources.backup = backup.has_value() ? &*backup : nullptr;
  sources.pieces = pieces;
  sources.skip_bytes = skip_bytes;
  return sources;
}

Result<RestorePlan> PlanRestore(repository::Repository* repository, const PointTarget& target,
                                const std::string& database_id_hex, const std::string& backup_id) {
  ORDO_ASSIGN_OR_RETURN(std::vector<repository::Manifest> all, repository->ListManifests());
  ORDO_ASSIGN_OR_RETURN(const std::string database,
                        ChooseDatabase(repository, all, database_id_hex));
  std::vector<repository::Manifest> backups;
  for (repository::Manifest& manifest : all) {
    if (manifest.database_id != database) continue;
    if (!backup_id.empty() && backup_id != "latest" && manifest.backup_id != backup_id) continue;
    backups.push_back(std::move(manifest));
  }
  if (!backup_id.empty() && backup_id != "latest" && backups.empty()) {
    return Status::NotFound("no backup " + backup_id + " of database " + database);
  }
  ORDO_ASSIGN_OR_RETURN(const std::vector<repository::ArchivePiece> pieces,
                        repository->ListArchivePieces(database));
  const ArchiveLayout layout = LayOutArchive(database, pieces);

  std::vector<Candidate> candidates;
  for (const repository::Manifest& backup : backups) {
    Candidate alone;
    alone.backup = &backup;
    alone.base_lsn = backup.last_lsn;
    alone.base_time = backup.last_commit_time_micros;
    SetReach(&alone);
    candidates.push_back(alone);
    for (const ArchiveRun& run : layout.runs) {
      Candidate joined = alone;
      if (!JoinBackup(backup, run, &joined.join, &joined.skip)) continue;
      joined.run = &run;
      SetReach(&joined);
      candidates.push_back(joined);
    }
  }
  const bool forced = !backup_id.empty() && backup_id != "latest";
  if (!forced) {
    for (const ArchiveRun& run : layout.runs) {
      const repository::ArchivePiece& first = run.pieces.front();
      if (first.start_offset != 0 || first.first_lsn != 1) continue;
      Candidate alone;
      alone.run = &run;
      SetReach(&alone);
      candidates.push_back(alone);
    }
  }
  if (candidates.empty()) {
    if (backups.empty() && layout.runs.empty()) {
      return Status::NotFound("the repository holds no backup and no archive of database " +
                              database);
    }
    return Status::InvalidArgument(
        "no backup precedes the archive, and the archive does not start at the database's "
        "first commit: nothing to restore from (" +
        DescribeCoverage(backups, layout) + ")");
  }

  const Candidate* chosen = nullptr;
  const bool by_time = target.kind == PointTarget::Kind::kTime;
  const bool to_newest =
      target.kind == PointTarget::Kind::kNone || target.kind == PointTarget::Kind::kPoint;
  uint64_t target_lsn = 0;
  if (target.kind == PointTarget::Kind::kLsn) target_lsn = target.lsn;
  if (target.kind == PointTarget::Kind::kBeforeLsn) target_lsn = target.lsn - 1;
  if (to_newest) {
    for (const Candidate& candidate : candidates) {
      if (chosen == nullptr || candidate.reach_lsn > chosen->reach_lsn ||
          (candidate.reach_lsn == chosen->reach_lsn && candidate.base_lsn > chosen->base_lsn)) {
        chosen = &candidate;
      }
    }
    if (!layout.runs.empty() && layout.runs.back().last_lsn() > chosen->reach_lsn) {
      return Status::InvalidArgument(fmt::format(
          "the archive has a gap: the newest commit it holds (LSN {}) cannot be reached; the "
          "newest restorable commit is LSN {} (committed {}). Restore to it with --lsn {} if "
          "losing what follows is acceptable ({})",
          layout.runs.back().last_lsn(), chosen->reach_lsn, FormatRfc3339Micros(chosen->reach_time),
          chosen->reach_lsn, DescribeCoverage(backups, layout)));
    }
  } else {
    auto reaches = [&](const Candidate& c) {
      return by_time ? c.reach_time >= target.time_micros : c.reach_lsn >= target_lsn;
    };
    auto base_before = [&](const Candidate& c) {
      return by_time ? c.base_time <= target.time_micros : c.base_lsn <= target_lsn;
    };
    // The newest base at or before the target whose chain reaches it...
    for (const Candidate& candidate : candidates) {
      if (!reaches(candidate) || !base_before(candidate)) continue;
      if (chosen == nullptr || candidate.base_lsn > chosen->base_lsn) chosen = &candidate;
    }
    // ...else the oldest backup after it (its log is cut back).
    if (chosen == nullptr) {
      for (const Candidate& candidate : candidates) {
        if (candidate.backup == nullptr || candidate.run != nullptr || !reaches(candidate)) {
          continue;
        }
        if (chosen == nullptr || candidate.base_lsn < chosen->base_lsn) chosen = &candidate;
      }
    }
    if (chosen == nullptr) {
      // Say which side of the covered range the target lies on: "after" is the common case
      // (a typo'd LSN, a time in the future), "before" means the history was pruned.
      bool after = true;
      for (const Candidate& candidate : candidates) {
        if (reaches(candidate)) after = false;
      }
      return Status::InvalidArgument(
          fmt::format("{} is {} what the repository covers: {}", target.Describe(),
                      after ? "after" : "before or outside", DescribeCoverage(backups, layout)));
    }
  }

  RestorePlan plan;
  plan.database_id_hex = database;
  if (chosen->backup != nullptr) plan.backup = *chosen->backup;
  plan.last_lsn = chosen->base_lsn;
  plan.last_commit_time_micros = chosen->base_time;
  if (chosen->run != nullptr) {
    plan.skip_bytes = chosen->skip;
    for (size_t i = chosen->join; i < chosen->run->pieces.size(); ++i) {
      const repository::ArchivePiece& piece = chosen->run->pieces[i];
      const bool past_target =
          !to_newest && (by_time ? plan.last_commit_time_micros > target.time_micros
                                 : plan.last_lsn >= target_lsn);
      if (past_target && !plan.pieces.empty()) break;
      if (past_target && plan.pieces.empty() && chosen->backup != nullptr) break;
      plan.pieces.push_back(piece);
      plan.last_lsn = piece.last_lsn;
      plan.last_commit_time_micros = piece.last_commit_time_micros;
    }
    if (plan.pieces.empty()) plan.skip_bytes = 0;
  }
  return plan;
}

}  // namespace ordo::restore
