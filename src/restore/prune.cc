#include "restore/prune.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "fmt/format.h"
#include "repository/transfer.h"
#include "restore/archive_plan.h"
#include "util/clock.h"
#include "util/time_format.h"

namespace ordo::restore {
namespace {

// A backup's files count as its own from a little before its lease says it began: the clocks
// of the file system and of the writer may disagree by a moment.
constexpr int64_t kProtectSlackMicros = 60 * 1000000;

// When a backup finished, from its manifest (or, failing that, from its id's time stamp).
int64_t FinishedMicros(const repository::Manifest& manifest) {
  int64_t micros = 0;
  if (ParseRfc3339(manifest.finished, &micros)) return micros;
  if (ParseRfc3339(manifest.started, &micros)) return micros;
  return 0;  // unknown: treated as old; keep_last still protects the newest
}

// A lease its writer stopped refreshing: the writer died (repository.h).
bool IsStale(const repository::Lease& lease, int64_t now_micros) {
  return now_micros - lease.refreshed_micros >= repository::kLeaseLifetimeSeconds * 1000000;
}

// Every content file that something in the repository names now: manifests, archive pieces
// (of every database) and the leases of live writers (stale leases, of writers that crashed,
// are left out and listed in `stale`).
Status ReferencedNow(repository::Repository* repository, int64_t now_micros,
                     std::set<std::string>* names, std::vector<repository::Lease>* stale) {
  ORDO_ASSIGN_OR_RETURN(const std::vector<repository::Manifest> manifests,
                        repository->ListManifests());
  for (const repository::Manifest& manifest : manifests) {
    for (const repository::ManifestFile& file : manifest.files) names->insert(file.stored_name);
  }
  ORDO_ASSIGN_OR_RETURN(const std::vector<std::string> databases,
                        repository->ListArchivedDatabases());
  for (const std::string& database : databases) {
    ORDO_ASSIGN_OR_RETURN(const std::vector<repository::ArchivePiece> pieces,
                          repository->ListArchivePieces(database));
    for (const repository::ArchivePiece& piece : pieces) {
      names->insert(piece.file.stored_name);
      names->insert(piece.identity.stored_name);
    }
  }
  ORDO_ASSIGN_OR_RETURN(const std::vector<repository::Lease> leases, repository->ListLeases());
  for (const repository::Lease& lease : leases) {
    if (IsStale(lease, now_micros)) {
      if (stale != nullptr) stale->push_back(lease);
      continue;
    }
    names->insert(lease.files.begin(), lease.files.end());
  }
  return Status::Ok();
}

// A file prune moved to trash/ goes back to data/ if something names it now (a manifest or
// piece published since prune planned, a writer's lease), and is removed for good otherwise.
Status SettleTrash(repository::Repository* repository, const std::vector<std::string>& trashed,
                   int64_t now_micros, PruneReport* report) {
  std::set<std::string> referenced;
  ORDO_RETURN_IF_ERROR(ReferencedNow(repository, now_micros, &referenced, nullptr));
  for (const std::string& name : trashed) {
    if (referenced.contains(name)) {
      ORDO_RETURN_IF_ERROR(repository->RestoreTrashed(name).WithContext("restoring data/" + name));
      report->restored_files.push_back(name);
    } else {
      ORDO_RETURN_IF_ERROR(repository->RemoveTrashed(name).WithContext("removing trash/" + name));
    }
  }
  return Status::Ok();
}

}  // namespace

Status Prune(repository::Repository* repository, uint64_t keep_last,
             std::optional<int64_t> keep_within_seconds, bool dry_run, PruneReport* report,
             int64_t grace_seconds) {
  *report = PruneReport{};
  report->dry_run = dry_run;
  if (keep_last < 1) {
    return Status::InvalidArgument(
        "keep-last must be at least 1: prune never removes every "
        "backup");
  }
  if (keep_within_seconds.has_value() && *keep_within_seconds < 0) {
    return Status::InvalidArgument("keep-within must not be negative");
  }
  const int64_t start_micros = WallMicros();
  // What an interrupted prune left in trash/ is settled first, against what names files now.
  ORDO_ASSIGN_OR_RETURN(const std::vector<std::string> leftovers, repository->ListTrashed());
  if (!dry_run && !leftovers.empty()) {
    ORDO_RETURN_IF_ERROR(SettleTrash(repository, leftovers, start_micros, report));
  }
  // Content files are listed before what references them, so that a file an archiver or a
  // backup publishes while prune runs is not in `names` unless its reference was published
  // before the references are read; the leases and the trash close the rest (prune.h).
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, repository->ListStoredNames());
  ORDO_ASSIGN_OR_RETURN(std::vector<repository::Manifest> manifests, repository->ListManifests());
  // Newest last: backup ids sort by start time (NewBackupId).
  std::sort(manifests.begin(), manifests.end(),
            [](const repository::Manifest& a, const repository::Manifest& b) {
              return a.backup_id < b.backup_id;
            });
  const int64_t now_micros = WallMicros();
  std::set<std::string> needed;
  std::map<std::string, uint64_t> stored_bytes;
  std::vector<std::string> doomed;
  std::vector<bool> keep(manifests.size(), false);
  // Each database's backups are counted on their own: a repository may hold several databases,
  // and one backed up less often than another must not lose every backup to the other's newer
  // ones.
  std::map<std::string, uint64_t> counted;  // by database id: backups seen, newest first
  std::set<std::string> base_kept;  // databases whose newest backup before the window is kept
  for (size_t i = manifests.size(); i-- > 0;) {
    const repository::Manifest& manifest = manifests[i];
    const bool newest = ++counted[manifest.database_id] <= keep_last;
    const bool recent = keep_within_seconds.has_value() &&
                        now_micros - FinishedMicros(manifest) < *keep_within_seconds * 1000000;
    keep[i] = newest || recent;
    if (!recent && keep_within_seconds.has_value() &&
        base_kept.insert(manifest.database_id).second) {
      keep[i] = true;  // restores to the window's first moment start from it
    }
  }
  std::map<std::string, const repository::Manifest*> oldest_kept;  // by database id
  for (size_t i = 0; i < manifests.size(); ++i) {
    const repository::Manifest& manifest = manifests[i];
    for (const repository::ManifestFile& file : manifest.files)
      stored_bytes[file.stored_name] = file.stored_bytes;
    if (!keep[i]) {
      doomed.push_back(manifest.backup_id);
      continue;
    }
    oldest_kept.try_emplace(manifest.database_id, &manifest);
    report->kept_backups.push_back(manifest.backup_id);
    for (const repository::ManifestFile& file : manifest.files) needed.insert(file.stored_name);
  }
  std::vector<repository::ArchivePiece> doomed_pieces;
  ORDO_ASSIGN_OR_RETURN(const std::vector<std::string> databases,
                        repository->ListArchivedDatabases());
  for (const std::string& database : databases) {
    ORDO_ASSIGN_OR_RETURN(const std::vector<repository::ArchivePiece> pieces,
                          repository->ListArchivePieces(database));
    const auto base = oldest_kept.find(database);
    for (const repository::ArchivePiece& piece : pieces) {
      stored_bytes[piece.file.stored_name] = piece.file.stored_bytes;
      // The newest piece stays even when a kept backup covers it: an archiver resumes after it
      // (archiver.h), and a quiet database's archive without it would look empty, so the next
      // archiver would ship the whole log again from segment 1.
      const bool newest = &piece == &pieces.back();
      if (newest || base == oldest_kept.end() || PieceNeededAfter(*base->second, piece)) {
        ++report->kept_archive_pieces;
        needed.insert(piece.file.stored_name);
        needed.insert(piece.identity.stored_name);
      } else {
        doomed_pieces.push_back(piece);
        report->removed_archive_pieces.push_back(database + "/" + piece.Name());
      }
    }
  }
  report->removed_backups = doomed;
  // Live writers' leases: what they reuse, and what they stored since they began.
  std::vector<repository::Lease> stale;
  int64_t protect_since_micros = std::numeric_limits<int64_t>::max();
  {
    ORDO_ASSIGN_OR_RETURN(const std::vector<repository::Lease> leases, repository->ListLeases());
    for (const repository::Lease& lease : leases) {
      if (IsStale(lease, now_micros)) {
        stale.push_back(lease);
        continue;
      }
      ++report->live_leases;
      needed.insert(lease.files.begin(), lease.files.end());
      if (lease.protect_since_micros > 0) {
        protect_since_micros = std::min(protect_since_micros, lease.protect_since_micros);
      }
    }
  }
  for (const repository::Lease& lease : stale) {
    report->removed_leases.push_back(lease.id + " (" + lease.writer + " on " + lease.host +
                                     ", pid " + std::to_string(lease.pid) + ")");
  }
  std::sort(names.begin(), names.end());
  // Unreferenced files modified since then may be a running writer's, their reference still to
  // come: a live backup's (since its lease's protect_since) or, within the grace period, a
  // writer's that holds no lease.
  int64_t keep_modified_since = std::numeric_limits<int64_t>::max();
  if (protect_since_micros != std::numeric_limits<int64_t>::max()) {
    keep_modified_since = protect_since_micros - kProtectSlackMicros;
  }
  if (grace_seconds > 0) {
    keep_modified_since = std::min(keep_modified_since, now_micros - grace_seconds * 1000000);
  }
  for (const std::string& name : names) {
    if (needed.contains(name)) continue;
    if (keep_modified_since != std::numeric_limits<int64_t>::max()) {
      auto modified = repository->StoredModifiedMicros(name);
      if (!modified.ok() || *modified >= keep_modified_since) {
        ++report->kept_recent;
        continue;
      }
    }
    report->removed_files.push_back(name);
    if (auto known = stored_bytes.find(name); known != stored_bytes.end()) {
      report->removed_bytes += known->second;
    }
  }
  if (dry_run) return Status::Ok();
  // Manifests first: each removal makes one whole backup disappear; files after.
  for (const std::string& backup_id : doomed) {
    ORDO_RETURN_IF_ERROR(
        repository->RemoveManifest(backup_id).WithContext("removing backup " + backup_id));
  }
  for (const repository::ArchivePiece& piece : doomed_pieces) {  // oldest first: no hole on a crash
    ORDO_RETURN_IF_ERROR(repository->RemoveArchivePiece(piece).WithContext(
        "removing archive piece " + piece.database_id + "/" + piece.Name()));
  }
  if (!stale.empty()) {
    // Read again just before: a writer that woke up since republished its lease (then it stays).
    ORDO_ASSIGN_OR_RETURN(const std::vector<repository::Lease> now, repository->ListLeases());
    for (const repository::Lease& lease : stale) {
      const bool refreshed =
          std::any_of(now.begin(), now.end(), [&](const repository::Lease& current) {
            return current.id == lease.id && current.refreshed_micros != lease.refreshed_micros;
          });
      if (refreshed) continue;
      ORDO_RETURN_IF_ERROR(
          repository->RemoveLease(lease.id).WithContext("removing stale lease " + lease.id));
    }
  }
  // Two phases, so that a writer publishing at this moment never names a removed file: move
  // the doomed files to trash/, then read again what names files (manifests and pieces
  // published since the plan, leases) and put back what is named; only the rest is removed.
  // A writer leases what it reuses before it checks that it is in data/: either the file was
  // still there after the lease was out (then this second read sees the lease), or the writer
  // found it gone and stores it again.
  std::vector<std::string> trashed;
  for (const std::string& name : report->removed_files) {
    assert(!needed.contains(name));
    ORDO_RETURN_IF_ERROR(
        repository->TrashStored(name).WithContext("moving data/" + name + " to trash/"));
    trashed.push_back(name);
  }
  ORDO_RETURN_IF_ERROR(SettleTrash(repository, trashed, WallMicros(), report));
  for (const std::string& name : report->restored_files) {
    std::erase(report->removed_files, name);
    if (auto known = stored_bytes.find(name); known != stored_bytes.end()) {
      report->removed_bytes -= std::min(report->removed_bytes, known->second);
    }
  }
  return Status::Ok();
}

Status RemoveTemporaryFiles(FileSystem* fs, const std::string& repository_path, bool dry_run,
                            PruneReport* report, int64_t grace_seconds) {
  std::vector<std::string> folders = {"data", "manifests", "leases"};
  if (auto databases = fs->GetChildren(repository_path + "/archive"); databases.ok()) {
    std::sort(databases->begin(), databases->end());
    for (const std::string& database : *databases) {
      if (!database.starts_with(".")) folders.push_back("archive/" + database);
    }
  }
  const int64_t now_micros = WallMicros();
  for (const std::string& folder : folders) {
    const std::string directory = repository_path + "/" + folder;
    auto names = fs->GetChildren(directory);
    if (!names.ok()) {
      if (!fs->FileExists(directory)) continue;
      return names.status();
    }
    std::sort(names->begin(), names->end());
    bool removed = false;
    for (const std::string& name : *names) {
      if (!name.starts_with(".tmp-")) continue;
      if (grace_seconds > 0) {
        auto modified = fs->GetModificationTimeMicros(directory + "/" + name);
        if (!modified.ok() || now_micros - *modified < grace_seconds * 1000000) {
          ++report->kept_recent;  // perhaps being written right now
          continue;
        }
      }
      report->removed_temporary.push_back(folder + "/" + name);
      if (dry_run) continue;
      ORDO_RETURN_IF_ERROR(fs->RemoveFile(directory + "/" + name));
      removed = true;
    }
    if (removed) ORDO_RETURN_IF_ERROR(fs->SyncDir(directory));
  }
  return Status::Ok();
}

}  // namespace ordo::restore
