// ordo prune --repo REPO --keep-last N [--keep-within DURATION] [--dry-run] [--json]: removes
// the backups not kept and every stored file no kept backup needs (backup/prune.h). The only
// command that deletes anything from a repository.
#include <cstdio>

#include "backup/prune.h"
#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"

namespace ordo::cli {
namespace {

struct PruneArguments {
  std::string repo;
  uint64_t keep_last = 0;
  std::string keep_within;
  bool dry_run = false;
  bool json = false;
};

void RunPrune(const PruneArguments& arguments) {
  std::optional<int64_t> keep_within_seconds;
  if (!arguments.keep_within.empty()) {
    int64_t seconds = 0;
    if (!ParseDurationSeconds(arguments.keep_within, &seconds)) {
      return ReportFailure("prune", Status::InvalidArgument(
                                        "--keep-within \"" + arguments.keep_within +
                                        "\": expected a duration like 7d, 12h, 30m or 90s"),
                           arguments.json);
    }
    keep_within_seconds = seconds;
  }
  auto repository = OpenRepository(arguments.repo, "");
  if (!repository.ok()) return ReportFailure("prune", repository.status(), arguments.json);
  backup::PruneReport report;
  const Status status = backup::Prune(repository->get(), arguments.keep_last,
                                      keep_within_seconds, arguments.dry_run, &report);
  if (!status.ok()) return ReportFailure("prune", status, arguments.json);
  const Status cleaned = backup::RemoveTemporaryFiles(FileSystem::Default(), arguments.repo,
                                                      arguments.dry_run, &report);
  if (!cleaned.ok()) return ReportFailure("prune", cleaned, arguments.json);
  if (arguments.json) {
    return PrintJson({{"command", "prune"},
                      {"repository", arguments.repo},
                      {"dry_run", report.dry_run},
                      {"kept_backups", report.kept_backups},
                      {"removed_backups", report.removed_backups},
                      {"removed_files", report.removed_files},
                      {"removed_bytes", report.removed_bytes},
                      {"removed_temporary", report.removed_temporary}});
  }
  const char* verb = report.dry_run ? "would remove" : "removed";
  std::printf("prune %s: kept %zu backups; %s %zu backups and %zu files (%s)%s\n",
              arguments.repo.c_str(), report.kept_backups.size(), verb,
              report.removed_backups.size(), report.removed_files.size(),
              FormatBytes(report.removed_bytes).c_str(),
              report.dry_run ? " [dry run: nothing was deleted]" : "");
  for (const auto& id : report.removed_backups) std::printf("  %s backup %s\n", verb, id.c_str());
  for (const auto& name : report.removed_temporary) {
    std::printf("  %s leftover temporary file %s\n", verb, name.c_str());
  }
}

}  // namespace

void AddPruneCommand(CLI::App& app) {
  auto* command = app.add_subcommand("prune", "Remove old backups and the files only they need");
  auto arguments = std::make_shared<PruneArguments>();
  command->add_option("--repo", arguments->repo, "backup repository")->required();
  command->add_option("--keep-last", arguments->keep_last, "keep the newest N backups (N >= 1)")
      ->required()
      ->check(CLI::PositiveNumber);
  command->add_option("--keep-within", arguments->keep_within,
                      "also keep every backup finished within this long (7d, 12h, 30m)");
  command->add_flag("--dry-run", arguments->dry_run, "say what would be removed, remove nothing");
  command->add_flag("--json", arguments->json, "print one JSON object on stdout");
  command->callback([arguments] { RunPrune(*arguments); });
}

}  // namespace ordo::cli
