// ordo restore --repo REPO --to DIR [--backup ID|latest] [--key-file F] [--json]: restores a
// backup into a new data directory, checking every hash while copying. DIR must not exist or
// be empty; it appears only once complete (backup/restore.h).
#include <cstdio>

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
};

void RunRestore(const RestoreArguments& arguments) {
  auto repository = OpenRepository(arguments.repo, arguments.key_file);
  if (!repository.ok()) return ReportFailure("restore", repository.status(), arguments.json);
  auto manifest = ChooseBackup(repository->get(), arguments.repo, arguments.backup_id);
  if (!manifest.ok()) return ReportFailure("restore", manifest.status(), arguments.json);
  ProgressBar bar("restore");
  backup::RestoreReport report;
  const Status status = backup::RestoreBackup(FileSystem::Default(), repository->get(),
                                              *manifest, arguments.target, bar.Callback(),
                                              &report);
  bar.Finish();
  if (!status.ok()) return ReportFailure("restore", status, arguments.json);
  if (arguments.json) {
    nlohmann::json object = ManifestSummary(*manifest);
    object["command"] = "restore";
    object["target"] = report.target;
    object["restored_files"] = report.files;
    object["restored_bytes"] = report.bytes;
    object["restore_seconds"] = report.duration_seconds;
    return PrintJson(std::move(object));
  }
  std::printf("restored backup %s to %s: %llu files, %s in %.2f s\n",
              manifest->backup_id.c_str(), report.target.c_str(),
              static_cast<unsigned long long>(report.files), FormatBytes(report.bytes).c_str(),
              report.duration_seconds);
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
  command->callback([arguments] { RunRestore(*arguments); });
}

}  // namespace ordo::cli
