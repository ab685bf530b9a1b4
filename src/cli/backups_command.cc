// ordo backups --repo REPO [--json]: lists the backups of a repository, oldest first.
#include <algorithm>
#include <cstdio>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"

namespace ordo::cli {

void AddBackupsCommand(CLI::App& app) {
  auto* command = app.add_subcommand("backups", "List the backups in a repository");
  auto repo = std::make_shared<std::string>();
  auto key_file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  command->add_option("--repo", *repo, "backup repository")->required();
  command->add_option("--key-file", *key_file, "key file (not needed to list)");
  command->add_flag("--json", *json, "print one JSON object on stdout");
  command->callback([repo, key_file, json] {
    auto repository = OpenRepository(*repo, *key_file);
    if (!repository.ok()) return ReportFailure("backups", repository.status(), *json);
    auto manifests = (*repository)->ListManifests();
    if (!manifests.ok()) return ReportFailure("backups", manifests.status(), *json);
    std::sort(manifests->begin(), manifests->end(),
              [](const repository::Manifest& a, const repository::Manifest& b) {
                return a.backup_id < b.backup_id;
              });
    const repository::RepositoryInfo& info = (*repository)->info();
    if (*json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& manifest : *manifests) list.push_back(ManifestSummary(manifest));
      return PrintJson({{"command", "backups"},
                        {"repository", *repo},
                        {"repository_id", info.repository_id},
                        {"encryption", EncryptionModeName(info.encryption)},
                        {"backups", std::move(list)}});
    }
    std::printf("repository %s (id %s, encryption %s): %zu backups\n", repo->c_str(),
                info.repository_id.c_str(), EncryptionModeName(info.encryption), manifests->size());
    if (manifests->empty()) return;
    std::printf("%-26s %-27s %-23s %10s %10s %10s %9s\n", "ID", "FINISHED", "LSN", "KEYS", "SIZE",
                "NEW", "SECONDS");
    for (const auto& manifest : *manifests) {
      const nlohmann::json summary = ManifestSummary(manifest);
      const std::string lsns =
          std::to_string(manifest.first_lsn) + ".." + std::to_string(manifest.last_lsn);
      std::printf("%-26s %-27s %-23s %10llu %10s %10s %9.2f\n", manifest.backup_id.c_str(),
                  manifest.finished.c_str(), lsns.c_str(),
                  static_cast<unsigned long long>(manifest.keys),
                  FormatBytes(summary["size_bytes"].get<uint64_t>()).c_str(),
                  FormatBytes(manifest.bytes_written).c_str(), manifest.duration_seconds);
    }
  });
}

}  // namespace ordo::cli
