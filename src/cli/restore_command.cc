// ordo restore --repo REPO --to DIR [--backup ID|latest] [--lsn N|--before-lsn N|--time T|
// --point NAME] [--database HEX] [--key-file F] [--json]: restores into a new data directory,
// checking every hash while copying. DIR must not exist or be empty; it appears only once
// complete (restore/restore.h).
//
// Without --backup, the restore goes through the continuous archive (restore/archive_plan.h):
// to the target, or without one to the newest archived commit, from the cheapest base. With
// --backup ID and no target it restores exactly that backup; with a target too, that backup is
// the base.
#include <cstdio>
#include <cstdlib>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "restore/archive_plan.h"
#include "restore/restore.h"
#include "util/time_format.h"

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
  std::string database;    // --database HEX
};

// The point the arguments name, or InvalidArgument.
Result<restore::PointTarget> ParsePoint(const RestoreArguments& arguments) {
  restore::PointTarget point;
  const int given = !arguments.lsn.empty() + !arguments.before_lsn.empty() +
                    !arguments.time.empty() + !arguments.point.empty();
  if (given > 1) {
    return Status::InvalidArgument("give at most one of --lsn, --before-lsn, --time, --point");
  }
  if (!arguments.point.empty()) {
    point.kind = restore::PointTarget::Kind::kPoint;
    point.point_name = arguments.point;
    return point;
  }
  auto parse_lsn = [](const std::string& text, uint64_t* lsn) {
    char* end = nullptr;
    *lsn = std::strtoull(text.c_str(), &end, 10);
    return !text.empty() && *end == '\0' && text[0] != '-';
  };
  if (!arguments.lsn.empty()) {
    point.kind = restore::PointTarget::Kind::kLsn;
    if (!parse_lsn(arguments.lsn, &point.lsn)) {
      return Status::InvalidArgument("--lsn: not a log sequence number: " + arguments.lsn);
    }
  } else if (!arguments.before_lsn.empty()) {
    point.kind = restore::PointTarget::Kind::kBeforeLsn;
    if (!parse_lsn(arguments.before_lsn, &point.lsn) || point.lsn == 0) {
      return Status::InvalidArgument("--before-lsn: not a log sequence number >= 1: " +
                                     arguments.before_lsn);
    }
  } else if (!arguments.time.empty()) {
    point.kind = restore::PointTarget::Kind::kTime;
    if (!ParseRfc3339(arguments.time, &point.time_micros)) {
      return Status::InvalidArgument(
          "--time: not an RFC 3339 UTC time like "
          "2026-11-22T04:30:00Z: " +
          arguments.time);
    }
  }
  return point;
}

// What to restore: the backup named alone, or a plan through the archive.
Result<restore::RestorePlan> ChoosePlan(repository::Repository* repository,
                                        const RestoreArguments& arguments,
                                        const restore::PointTarget& point) {
  const bool named = arguments.backup_id != "latest";
  if (named && point.kind == restore::PointTarget::Kind::kNone) {
    ORDO_ASSIGN_OR_RETURN(repository::Manifest manifest,
                          ChooseBackup(repository, arguments.repo, arguments.backup_id));
    restore::RestorePlan plan;
    plan.database_id_hex = manifest.database_id;
    plan.last_lsn = manifest.last_lsn;
    plan.last_commit_time_micros = manifest.last_commit_time_micros;
    plan.backup = std::move(manifest);
    return plan;
  }
  return restore::PlanRestore(repository, point, arguments.database,
                              named ? arguments.backup_id : "");
}

void RunRestore(const RestoreArguments& arguments) {
  auto repository = OpenRepository(arguments.repo, arguments.key_file);
  if (!repository.ok()) return ReportFailure("restore", repository.status(), arguments.json);
  auto point = ParsePoint(arguments);
  if (!point.ok()) return ReportFailure("restore", point.status(), arguments.json);
  auto plan = ChoosePlan(repository->get(), arguments, *point);
  if (!plan.ok()) return ReportFailure("restore", plan.status(), arguments.json);
  ProgressBar bar("restore");
  restore::RestoreReport report;
  const Status status =
      restore::RestoreFrom(FileSystem::Default(), repository->get(), plan->Sources(),
                           arguments.target, bar.Callback(), &report, *point);
  bar.Finish();
  if (!status.ok()) return ReportFailure("restore", status, arguments.json);
  const std::string target_text =
      point->kind == restore::PointTarget::Kind::kNone
          ? std::string(plan->pieces.empty() && plan->backup ? "the backup's commit"
                                                             : "the newest archived commit")
          : point->Describe();
  if (arguments.json) {
    nlohmann::json object =
        plan->backup ? ManifestSummary(*plan->backup) : nlohmann::json::object();
    object["command"] = "restore";
    object["database_id"] = plan->database_id_hex;
    object["base_backup"] = report.backup_id;
    object["archive_pieces"] = report.archive_pieces;
    object["target"] = report.target;
    object["restored_files"] = report.files;
    object["restored_bytes"] = report.bytes;
    object["restore_seconds"] = report.duration_seconds;
    object["check_seconds"] = report.check_seconds;
    object["restored_to"] = {{"target", target_text},
                             {"lsn", report.lsn},
                             {"commit_time", FormatRfc3339Micros(report.commit_time_micros)},
                             {"digest", report.digest.ToHex()},
                             {"keys", report.keys}};
    if (report.cut) {
      object["restored_to"]["segments_removed"] = report.point.segments_removed;
      object["restored_to"]["bytes_cut"] = report.point.bytes_cut;
    }
    return PrintJson(std::move(object));
  }
  const std::string base =
      report.backup_id.empty() ? std::string("the archive alone") : "backup " + report.backup_id;
  std::printf(
      "restored %s%s to %s: %s in %.2f s (of which %.2f s opening it to check its "
      "state)\n",
      base.c_str(),
      report.archive_pieces > 0
          ? (" + " + std::to_string(report.archive_pieces) + " archive pieces").c_str()
          : "",
      report.target.c_str(), FormatBytes(report.bytes).c_str(), report.duration_seconds,
      report.check_seconds);
  std::printf("  restored to %s: LSN %llu committed %s, %llu keys, digest %s\n",
              target_text.c_str(), static_cast<unsigned long long>(report.lsn),
              FormatRfc3339Micros(report.commit_time_micros).c_str(),
              static_cast<unsigned long long>(report.keys), report.digest.ToHex().c_str());
}

}  // namespace

void AddRestoreCommand(CLI::App& app) {
  auto* command = app.add_subcommand(
      "restore",
      "Restore into a new data directory: to the newest archived commit, or to a "
      "point (--lsn, --before-lsn, --time, --point), or one backup (--backup)");
  auto arguments = std::make_shared<RestoreArguments>();
  command->add_option("--repo", arguments->repo, "backup repository")->required();
  command->add_option("--to", arguments->target, "new data directory (absent or empty)")
      ->required();
  command
      ->add_option("--backup", arguments->backup_id,
                   "restore exactly this backup (with a target: start from it); default: "
                   "the cheapest base, then the continuous archive")
      ->capture_default_str();
  command->add_option("--database", arguments->database,
                      "database id (hex) when the repository holds several");
  command->add_option("--key-file", arguments->key_file, "secret key of an encrypted repository");
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
