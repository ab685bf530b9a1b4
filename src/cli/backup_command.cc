// ordo backup --data DIR --repo REPO [--rate-limit MIB_PER_S] [--key-file F] [--json]: takes an
// online backup of a data directory (a running `ordo serve` may hold it) into a repository,
// creating a plain repository first when the path holds none.
#include <cstdio>

#include "backup/backup_run.h"
#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "fmt/format.h"

namespace ordo::cli {
namespace {

struct BackupArguments {
  std::string data = "./data";
  std::string repo;
  double rate_limit_mib_per_second = 0;
  std::string key_file;
  bool json = false;
};

nlohmann::json ResultJson(const BackupArguments& arguments, const backup::BackupResult& result,
                          bool created) {
  nlohmann::json object = ManifestSummary(result.manifest);
  object["command"] = "backup";
  object["repository"] = arguments.repo;
  object["repository_created"] = created;
  object["data"] = arguments.data;
  object["bytes_read"] = result.bytes_read;
  object["bytes_written"] = result.bytes_written;
  object["reused_files"] = result.reused_files;
  object["throughput_mib_per_second"] = result.throughput_mib_per_second;
  object["errors"] = result.errors;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : result.files) {
    files.push_back({{"path", file.relative_path},
                     {"kind", file.kind},
                     {"plain_bytes", file.plain_bytes},
                     {"bytes_written", file.bytes_written},
                     {"reused", file.reused},
                     {"save_ms", static_cast<double>(file.save_micros) / 1000.0}});
  }
  object["file_figures"] = std::move(files);
  return object;
}

void PrintText(const BackupArguments& arguments, const backup::BackupResult& result) {
  const repository::Manifest& manifest = result.manifest;
  std::printf("backup %s of %s into %s\n", manifest.backup_id.c_str(), arguments.data.c_str(),
              arguments.repo.c_str());
  std::printf("  state: LSN %llu..%llu, %llu keys, digest %s\n",
              static_cast<unsigned long long>(manifest.first_lsn),
              static_cast<unsigned long long>(manifest.last_lsn),
              static_cast<unsigned long long>(manifest.keys), manifest.digest.ToHex().c_str());
  std::printf(
      "  files: %zu (%llu new, %llu sealed segments reused); read %s, wrote %s in "
      "%.2f s (%.1f MiB/s)\n",
      manifest.files.size(), static_cast<unsigned long long>(result.new_files),
      static_cast<unsigned long long>(result.reused_files), FormatBytes(result.bytes_read).c_str(),
      FormatBytes(result.bytes_written).c_str(), result.duration_seconds,
      result.throughput_mib_per_second);
  for (const auto& error : result.errors) std::printf("  note: %s\n", error.c_str());
}

}  // namespace

void AddBackupCommand(CLI::App& app) {
  auto* command = app.add_subcommand("backup", "Take an online backup of a data directory");
  auto arguments = std::make_shared<BackupArguments>();
  command->add_option("--data", arguments->data, "data directory (live or stopped)")
      ->capture_default_str();
  command->add_option("--repo", arguments->repo, "backup repository (created plain if absent)")
      ->required();
  command
      ->add_option("--rate-limit", arguments->rate_limit_mib_per_second,
                   "read at most this many MiB/s from the data directory (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--key-file", arguments->key_file,
                      "secret key of a \"key\" repository (ordo keygen)");
  command->add_flag("--json", arguments->json, "print one JSON object on stdout");
  command->callback([arguments] {
    bool created = false;
    auto repository =
        OpenOrCreateRepository("backup", arguments->repo, arguments->key_file, &created);
    if (!repository.ok()) return ReportFailure("backup", repository.status(), arguments->json);
    ProgressBar bar("backup");
    backup::BackupOptions options;
    options.rate_limit_mib_per_second = arguments->rate_limit_mib_per_second;
    options.progress = bar.Callback();
    backup::BackupResult result;
    const Status status = backup::TakeBackup(FileSystem::Default(), arguments->data,
                                             repository->get(), options, &result);
    bar.Finish();
    if (!status.ok()) {
      return ReportFailure("backup", status.WithContext("no backup was made"), arguments->json);
    }
    if (arguments->json) return PrintJson(ResultJson(*arguments, result, created));
    PrintText(*arguments, result);
  });
}

}  // namespace ordo::cli
