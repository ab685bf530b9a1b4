#include "backup/prune.h"

#include <algorithm>
#include <map>
#include <set>

#include "backup/backup_run.h"
#include "fmt/format.h"
#include "util/clock.h"

namespace ordo::backup {
namespace {

// When a backup finished, from its manifest (or, failing that, from its id's time stamp).
int64_t FinishedMicros(const Manifest& manifest) {
  int64_t micros = 0;
  if (ParseRfc3339(manifest.finished, &micros)) return micros;
  if (ParseRfc3339(manifest.started, &micros)) return micros;
  return 0;  // unknown: treated as old; keep_last still protects the newest
}

}  // namespace

Status Prune(Repository* repository, uint64_t keep_last,
             std::optional<int64_t> keep_within_seconds, bool dry_run, PruneReport* report) {
  *report = PruneReport{};
  report->dry_run = dry_run;
  if (keep_last < 1) {
    return Status::InvalidArgument("keep-last must be at least 1: prune never removes every "
                                   "backup");
  }
  if (keep_within_seconds.has_value() && *keep_within_seconds < 0) {
    return Status::InvalidArgument("keep-within must not be negative");
  }
  ORDO_ASSIGN_OR_RETURN(std::vector<Manifest> manifests, repository->ListManifests());
  // Newest last: backup ids sort by start time (NewBackupId).
  std::sort(manifests.begin(), manifests.end(),
            [](const Manifest& a, const Manifest& b) { return a.backup_id < b.backup_id; });
  const int64_t now_micros = WallMicros();
  std::set<std::string> needed;
  std::map<std::string, uint64_t> stored_bytes;
  std::vector<std::string> doomed;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Manifest& manifest = manifests[i];
    const bool newest = manifests.size() - i <= keep_last;
    const bool recent = keep_within_seconds.has_value() &&
                        now_micros - FinishedMicros(manifest) < *keep_within_seconds * 1000000;
    for (const ManifestFile& file : manifest.files) stored_bytes[file.stored_name] = file.stored_bytes;
    if (!newest && !recent) {
      doomed.push_back(manifest.backup_id);
      continue;
    }
    report->kept_backups.push_back(manifest.backup_id);
    for (const ManifestFile& file : manifest.files) needed.insert(file.stored_name);
  }
  report->removed_backups = doomed;
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, repository->ListStoredNames());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (needed.contains(name)) continue;
    report->removed_files.push_back(name);
    if (auto known = stored_bytes.find(name); known != stored_bytes.end()) {
      report->removed_bytes += known->second;
    }
  }
  if (dry_run) return Status::Ok();
  // Manifests first: each removal makes one whole backup disappear; files after.
  for (const std::string& backup_id : doomed) {
    ORDO_RETURN_IF_ERROR(repository->RemoveManifest(backup_id)
                             .WithContext("removing backup " + backup_id));
  }
  for (const std::string& name : report->removed_files) {
    assert(!needed.contains(name));
    ORDO_RETURN_IF_ERROR(repository->RemoveStored(name).WithContext("removing data/" + name));
  }
  return Status::Ok();
}

Status RemoveTemporaryFiles(FileSystem* fs, const std::string& repository_path, bool dry_run,
                            PruneReport* report) {
  for (const char* folder : {"data", "manifests"}) {
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
      report->removed_temporary.push_back(std::string(folder) + "/" + name);
      if (dry_run) continue;
      ORDO_RETURN_IF_ERROR(fs->RemoveFile(directory + "/" + name));
      removed = true;
    }
    if (removed) ORDO_RETURN_IF_ERROR(fs->SyncDir(directory));
  }
  return Status::Ok();
}

}  // namespace ordo::backup
