// ordo restore --repo REPO --to DIR [--backup ID|latest] [--key-file F] [--json]: restores a
// backup into a new data directory, checking every hash while copying. DIR must not exist or
// be empty; it appears only once complete (backup/restore.h).
#include <cstdio>
#include <cstdlib>

#include "backup/restore.h"
#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"

namespace ordo::cli {
namespace {

struct RestoreArguments {
  std::string repo;
  std::string target;
  std::string backup_id = "latest";
  std::string key_file;
  bool json = false;
  std::string lsn;         // --lsn N
  std::string before_lsn;  // --before-lsn N
  std::string time;        // --time RFC3339
  std::string point;       // --point NAME
};

// The point the arguments name, or InvalidArgument.
Result<backup::PointTarget> ParsePoint(const RestoreArguments& arguments) {
  backup::PointTarget point;
  const int given = !arguments.lsn.empty() + !arguments.before_lsn.empty() +
                    !arguments.time.empty() + !arguments.point.empty();
  if (given > 1) {
    return Status::InvalidArgument("give at most one of --lsn, --before-lsn, --time, --point");
  }
  if (!arguments.point.empty()) {
    point.kind = backup::PointTarget::Kind::kPoint;
    point.point_name = arguments.point;
    return point;
  }
  auto parse_lsn = [](const std::string& text, uint64_t* lsn) {
    char* end = nullptr;
    *lsn = std::strtoull(text.c_str(), &end, 10);
    return !text.empty() && *end == '\0' && text[0] != '-';
  };
  if (!arguments.lsn.empty()) {
    point.kind = backup::PointTarget::Kind::kLsn;
    if (!parse_lsn(arguments.lsn, &point.lsn)) {
      return Status::InvalidArgument("--lsn: not a log sequence number: " + arguments.lsn);
    }
  } else if (!arguments.before_lsn.empty()) {
    point.kind = backup::PointTarget::Kind::kBeforeLsn;
    if (!parse_lsn(arguments.before_lsn, &point.lsn) || point.lsn == 0) {
      return Status::InvalidArgument("--before-lsn: not a log sequence number >= 1: " +
                                     arguments.before_lsn);
    }
  } else if (!arguments.time.empty()) {
    point.kind = backup::PointTarget::Kind::kTime;
    if (!backup::ParseRfc3339(arguments.time, &point.time_micros)) {
      return Status::InvalidArgument("--time: not an RFC 3339 UTC time like "
                                     "2026-11-22T04:30:00Z: " + arguments.time);
    }
  }
  return point;
}

// The backup to restore: the one named, or for a point the oldest that covers it.
Result<backup::Manifest> ChooseRestoreBackup(backup::Repository* repository,
                                             const RestoreArguments& arguments,
                                             const backup::PointTarget& point) {
  if (point.kind == backup::PointTarget::Kind::kNone || arguments.backup_id != "latest") {
    return ChooseBackup(repository, arguments.repo, arguments.backup_id);
  }
  ORDO_ASSIGN_OR_RETURN(auto manifests, repository->ListManifests());
  return backup::ChooseBackupForPoint(manifests, point);
}

void RunRestore(const RestoreArguments& arguments) {
  auto repository = OpenRepository(arguments.repo, arguments.key_file);
  if (!repository.ok()) return ReportFailure("restore", repository.status(), arguments.json);
  auto point = ParsePoint(arguments);
  if (!point.ok()) return ReportFailure("restore", point.status(), arguments.json);
  auto manifest = ChooseRestoreBackup(repository->get(), arguments, *point);
  if (!manifest.ok()) return ReportFailure("restore", manifest.status(), arguments.json);
  ProgressBar bar("restore");
  backup::RestoreReport report;
  const Status status = backup::RestoreBackup(FileSystem::Default(), repository->get(),
                                              *manifest, arguments.target, bar.Callback(),
                                              &report, *point);
  bar.Finish();
  if (!status.ok()) return ReportFailure("restore", status, arguments.json);
  if (arguments.json) {
    nlohmann::json object = ManifestSummary(*manifest);
    object["command"] = "restore";
    object["target"] = report.target;
    object["restored_files"] = report.files;
    object["restored_bytes"] = report.bytes;
    object["restore_seconds"] = report.duration_seconds;
    if (report.cut) {
      object["restored_to"] = {{"target", point->Describe()},
                               {"lsn", report.point.lsn},
                               {"commit_time", backup::Rfc3339Micros(report.point.commit_time_micros)},
                               {"digest", report.point.digest.ToHex()},
                               {"keys", report.point.keys},
                               {"segments_removed", report.point.segments_removed},
                               {"bytes_cut", report.point.bytes_cut}};
    }
    return PrintJson(std::move(object));
  }
  std::printf("restored backup %s to %s: %llu files, %s in %.2f s\n",
              manifest->backup_id.c_str(), report.target.c_str(),
              static_cast<unsigned long long>(report.files), FormatBytes(report.bytes).c_str(),
              report.duration_seconds);
  if (report.cut) {
    std::printf("  restored to %s: LSN %llu committed %s, %llu keys, digest %s\n",
                point->Describe().c_str(), static_cast<unsigned long long>(report.point.lsn),
                backup::Rfc3339Micros(report.point.commit_time_micros).c_str(),
                static_cast<unsigned long long>(report.point.keys),
                report.point.digest.ToHex().c_str());
    return;
  }
  std::printf("  state: LSN %llu, %llu keys, digest %s (ordo verify --drill proves it)\n",
              static_cast<unsigned long long>(manifest->last_lsn),
              static_cast<unsigned long long>(manifest->keys), manifest->digest.ToHex().c_str());
}

}  // namespace

void AddRestoreCommand(CLI::App& app) {
  auto* command = app.add_subcommand("restore", "Restore a backup into a new data directory");
  auto arguments = std::make_shared<RestoreArguments>();
  command->add_option("--repo", arguments->repo, "backup repository")->required();
  command->add_option("--to", arguments->target, "new data directory (absent or empty)")
      ->required();
  command->add_option("--backup", arguments->backup_id, "backup id, or latest")
      ->capture_default_str();
  command->add_option("--key-file", arguments->key_file,
                      "secret key of an encrypted repository");
  command->add_flag("--json", arguments->json, "print one JSON object on stdout");
  command->add_option("--lsn", arguments->lsn,
                      "restore to the state right after this commit (see `ordo log`)");
  command->add_option("--before-lsn", arguments->before_lsn,
                      "restore to the commit just before this one, e.g. a FLUSHALL's LSN");
  command->add_option("--point", arguments->point,
                      "restore to the newest commit marked with this restore point name "
                      "(ORDO.RESTOREPOINT name)");
  command->add_option("--time", arguments->time,
                      "restore to the last commit at or before this RFC 3339 UTC time");
  command->callback([arguments] { RunRestore(*arguments); });
}

}  // namespace ordo::cli
