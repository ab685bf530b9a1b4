// ordo prune --repo REPO --keep-last N [--keep-within DURATION] [--dry-run] [--json]: removes
// the backups not kept and every stored file no kept backup needs (restore/prune.h). The only
// command that deletes anything from a repository.
#include <cstdio>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "restore/prune.h"

namespace ordo::cli {
namespace {

struct PruneArguments {
  std::string repo;
  uint64_t keep_last = 0;
  std::string keep_within;
  std::string grace = "15m";
  bool dry_run = false;
  bool json = false;
};

void RunPrune(const PruneArguments& arguments) {
  std::optional<int64_t> keep_within_seconds;
  if (!arguments.keep_within.empty()) {
    int64_t seconds = 0;
    if (!ParseDurationSeconds(arguments.keep_within, &seconds)) {
      return ReportFailure(
          "prune",
          Status::InvalidArgument("--keep-within \"" + arguments.keep_within +
                                  "\": expected a duration like 7d, 12h, 30m or 90s"),
          arguments.json);
    }
    keep_within_seconds = seconds;
  }
  int64_t grace_seconds = 0;
  if (!ParseDurationSeconds(arguments.grace, &grace_seconds)) {
    return ReportFailure("prune",
                         Status::InvalidArgument("--grace \"" + arguments.grace +
                                                 "\": expected a duration like 15m, 1h or 0"),
                         arguments.json);
  }
  auto repository = OpenRepository(arguments.repo, "");
  if (!repository.ok()) return ReportFailure("prune", repository.status(), arguments.json);
  restore::PruneReport report;
  const Status status = restore::Prune(repository->get(), arguments.keep_last, keep_within_seconds,
                                       arguments.dry_run, &report, grace_seconds);
  if (!status.ok()) return ReportFailure("prune", status, arguments.json);
  const Status cleaned = restore::RemoveTemporaryFiles(FileSystem::Default(), arguments.repo,
                                                       arguments.dry_run, &report, grace_seconds);
  if (!cleaned.ok()) return ReportFailure("prune", cleaned, arguments.json);
  if (arguments.json) {
    return PrintJson({{"command", "prune"},
                      {"repository", arguments.repo},
                      {"dry_run", report.dry_run},
                      {"kept_backups", report.kept_backups},
                      {"removed_backups", report.removed_backups},
                      {"removed_files", report.removed_files},
                      {"removed_bytes", report.removed_bytes},
                      {"removed_temporary", report.removed_temporary},
                      {"removed_archive_pieces", report.removed_archive_pieces},
                      {"kept_archive_pieces", report.kept_archive_pieces},
                      {"kept_recent_files", report.kept_recent},
                      {"live_leases", report.live_leases},
                      {"removed_leases", report.removed_leases},
                      {"restored_files", report.restored_files}});
  }
  const char* verb = report.dry_run ? "would remove" : "removed";
  std::printf("prune %s: kept %zu backups; %s %zu backups and %zu files (%s)%s\n",
              arguments.repo.c_str(), report.kept_backups.size(), verb,
              report.removed_backups.size(), report.removed_files.size(),
              FormatBytes(report.removed_bytes).c_str(),
              report.dry_run ? " [dry run: nothing was deleted]" : "");
  for (const auto& id : report.removed_backups) std::printf("  %s backup %s\n", verb, id.c_str());
  if (!report.removed_archive_pieces.empty() || report.kept_archive_pieces > 0) {
    std::printf("  archive: kept %llu pieces, %s %zu older than the oldest kept backup\n",
                static_cast<unsigned long long>(report.kept_archive_pieces), verb,
                report.removed_archive_pieces.size());
  }
  if (report.kept_recent > 0) {
    std::printf(
        "  left %llu unreferenced files a running backup or archiver may be writing "
        "(under a live lease, or younger than --grace %s)\n",
        static_cast<unsigned long long>(report.kept_recent), arguments.grace.c_str());
  }
  if (report.live_leases > 0) {
    std::printf("  live leases: %llu (running backups or archivers; what they need was kept)\n",
                static_cast<unsigned long long>(report.live_leases));
  }
  for (const auto& lease : report.removed_leases) {
    std::printf("  %s stale lease %s\n", verb, lease.c_str());
  }
  if (!report.restored_files.empty()) {
    std::printf("  restored: %zu files a writer published or leased while prune ran\n",
                report.restored_files.size());
  }
  for (const auto& name : report.removed_temporary) {
    std::printf("  %s leftover temporary file %s\n", verb, name.c_str());
  }
}

}  // namespace

void AddPruneCommand(CLI::App& app) {
  auto* command = app.add_subcommand("prune", "Remove old backups and the files only they need");
  auto arguments = std::make_shared<PruneArguments>();
  command->add_option("--repo", arguments->repo, "backup repository")->required();
  command
      ->add_option("--keep-last", arguments->keep_last,
                   "keep the newest N backups of each database (N >= 1)")
      ->required()
      ->check(CLI::PositiveNumber);
  command->add_option("--keep-within", arguments->keep_within,
                      "point-in-time window: keep every backup finished within this long "
                      "(7d, 12h, 30m), the newest one before it, and the archive they need");
  command
      ->add_option("--grace", arguments->grace,
                   "leave unreferenced files younger than this (a running backup or "
                   "archiver may still reference them); 0 removes them at once")
      ->capture_default_str();
  command->add_flag("--dry-run", arguments->dry_run, "say what would be removed, remove nothing");
  command->add_flag("--json", arguments->json, "print one JSON object on stdout");
  command->callback([arguments] { RunPrune(*arguments); });
}

}  // namespace ordo::cli
