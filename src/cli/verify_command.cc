// ordo verify --repo REPO [--backup ID|latest] [--drill] [--key-file F] [--json]: checks a
// backup's manifest, every stored file's hash and (with the key) every record's checksum;
// --drill also restores it into scratch space and proves the restored state equals the
// manifest's (digest, key count, LSN), reporting the restore time (RTO) and the backup's age
// (RPO). The continuous archive of the backup's database (or, in a repository without backups,
// the only archived database) is verified too: gaps, stored hashes, contents, and with --drill
// a restore to its newest commit (restore/archive_verify.h).
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "restore/archive_verify.h"
#include "restore/verify.h"
#include "util/time_format.h"

namespace ordo::cli {
namespace {

struct VerifyArguments {
  std::string repo;
  std::string backup_id = "latest";
  bool drill = false;
  std::string key_file;
  std::string scratch;
  bool json = false;
};

// A fresh directory under `--scratch`, $TMPDIR or /tmp; removed by the destructor (the drill's
// restored copy included).
class ScratchSpace {
 public:
  explicit ScratchSpace(const std::string& parent) {
    std::string base = parent;
    if (base.empty()) base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
    std::string pattern = base + "/ordo-verify-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchSpace() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

nlohmann::json ReportJson(const repository::Manifest& manifest,
                          const restore::VerifyReport& report) {
  nlohmann::json object = ManifestSummary(manifest);
  object["command"] = "verify";
  object["stored_checked"] = report.stored_checked;
  object["contents_checked"] = report.contents_checked;
  object["contents_verified"] = report.contents_verified;
  object["segments_checked"] = report.segments_checked;
  object["records_checked"] = report.records_checked;
  object["bytes_checked"] = report.bytes_checked;
  object["not_checked"] = report.not_checked;
  object["drilled"] = report.drilled;
  if (report.drilled) {
    object["drill"] = {{"restore_seconds", report.restore_seconds},
                       {"open_seconds", report.open_seconds},
                       {"rto_seconds", report.rto_seconds},
                       {"rpo_seconds", report.rpo_seconds},
                       {"restored_digest", report.restored_digest.ToHex()},
                       {"restored_keys", report.restored_keys},
                       {"restored_last_lsn", report.restored_last_lsn},
                       {"digest_match", report.restored_digest == manifest.digest}};
  }
  object["duration_seconds"] = report.duration_seconds;
  return object;
}

void PrintText(const repository::Manifest& manifest, const restore::VerifyReport& report) {
  std::printf("verify backup %s: OK\n", manifest.backup_id.c_str());
  std::printf("  manifest OK; %llu stored files hash to their names\n",
              static_cast<unsigned long long>(report.stored_checked));
  if (report.contents_verified) {
    std::printf("  contents: %llu files (%s), %llu segments, %llu records checked\n",
                static_cast<unsigned long long>(report.contents_checked),
                FormatBytes(report.bytes_checked).c_str(),
                static_cast<unsigned long long>(report.segments_checked),
                static_cast<unsigned long long>(report.records_checked));
  }
  for (const auto& missing : report.not_checked) {
    std::printf("  NOT CHECKED: %s\n", missing.c_str());
  }
  if (report.drilled) {
    std::printf("  drill: restored in %.2f s, level-3 check and open in %.2f s: RTO %.2f s\n",
                report.restore_seconds, report.open_seconds, report.rto_seconds);
    std::printf("  drill: digest %s, %llu keys at LSN %llu: equal to the manifest\n",
                report.restored_digest.ToHex().c_str(),
                static_cast<unsigned long long>(report.restored_keys),
                static_cast<unsigned long long>(report.restored_last_lsn));
    std::printf("  backup age (RPO): %.1f s\n", report.rpo_seconds);
  }
}

nlohmann::json ArchiveJson(const restore::ArchiveVerifyReport& report) {
  nlohmann::json object{{"database_id", report.database_id_hex},
                        {"pieces", report.pieces},
                        {"runs", report.runs},
                        {"first_lsn", report.first_lsn},
                        {"last_lsn", report.last_lsn},
                        {"first_commit_time", FormatRfc3339Micros(report.first_commit_time_micros)},
                        {"last_commit_time", FormatRfc3339Micros(report.last_commit_time_micros)},
                        {"stored_checked", report.stored_checked},
                        {"contents_checked", report.contents_checked},
                        {"contents_verified", report.contents_verified},
                        {"bytes_checked", report.bytes_checked},
                        {"problems", report.problems},
                        {"not_checked", report.not_checked},
                        {"drilled", report.drilled}};
  if (report.drilled) {
    object["drill"] = {{"restore_seconds", report.restore_seconds},
                       {"open_seconds", report.open_seconds},
                       {"restored_digest", report.restored_digest.ToHex()},
                       {"restored_keys", report.restored_keys},
                       {"restored_last_lsn", report.restored_last_lsn}};
  }
  return object;
}

void PrintArchiveText(const restore::ArchiveVerifyReport& report, const Status& status) {
  std::printf("verify archive of database %s: %s\n", report.database_id_hex.c_str(),
              status.ok() ? "OK" : "FAILED");
  std::printf(
      "  %llu pieces, LSN %llu to %llu (commits %s to %s); %llu stored files hash to "
      "their names\n",
      static_cast<unsigned long long>(report.pieces),
      static_cast<unsigned long long>(report.first_lsn),
      static_cast<unsigned long long>(report.last_lsn),
      FormatRfc3339Micros(report.first_commit_time_micros).c_str(),
      FormatRfc3339Micros(report.last_commit_time_micros).c_str(),
      static_cast<unsigned long long>(report.stored_checked));
  if (report.contents_verified) {
    std::printf("  contents: %llu files (%s) checked\n",
                static_cast<unsigned long long>(report.contents_checked),
                FormatBytes(report.bytes_checked).c_str());
  }
  for (const auto& problem : report.problems) std::printf("  PROBLEM: %s\n", problem.c_str());
  for (const auto& missing : report.not_checked) {
    std::printf("  NOT CHECKED: %s\n", missing.c_str());
  }
  if (report.drilled) {
    std::printf(
        "  drill: restored to LSN %llu in %.2f s, level-3 check and open in %.2f s; "
        "digest %s, %llu keys: equal to the newest piece's\n",
        static_cast<unsigned long long>(report.restored_last_lsn), report.restore_seconds,
        report.open_seconds, report.restored_digest.ToHex().c_str(),
        static_cast<unsigned long long>(report.restored_keys));
  }
}

// The database whose archive to verify: the backup's, or the only archived one.
std::string ArchivedDatabase(repository::Repository* repository,
                             const repository::Manifest* manifest) {
  if (manifest != nullptr) return manifest->database_id;
  auto databases = repository->ListArchivedDatabases();
  if (!databases.ok() || databases->size() != 1) return "";
  return databases->front();
}

void RunVerify(const VerifyArguments& arguments) {
  auto repository = OpenRepository(arguments.repo, arguments.key_file);
  if (!repository.ok()) return ReportFailure("verify", repository.status(), arguments.json);
  auto manifest = ChooseBackup(repository->get(), arguments.repo, arguments.backup_id);
  const bool no_backup =
      !manifest.ok() && manifest.status().IsNotFound() && arguments.backup_id == "latest";
  const std::string database =
      ArchivedDatabase(repository->get(), manifest.ok() ? &*manifest : nullptr);
  if (!manifest.ok() && !(no_backup && !database.empty())) {
    return ReportFailure("verify", manifest.status(), arguments.json);
  }
  ScratchSpace scratch(arguments.scratch);
  if (scratch.path().empty()) {
    return ReportFailure(
        "verify",
        Status::IOError("cannot create a scratch directory under " +
                        (arguments.scratch.empty() ? std::string("$TMPDIR") : arguments.scratch)),
        arguments.json);
  }
  nlohmann::json object = nlohmann::json::object();
  if (manifest.ok()) {
    ProgressBar bar("verify");
    restore::VerifyOptions options;
    options.drill = arguments.drill;
    options.scratch_directory = scratch.path();
    options.progress = bar.Callback();
    restore::VerifyReport report;
    const Status status = restore::VerifyBackup(FileSystem::Default(), repository->get(), *manifest,
                                                options, &report);
    bar.Finish();
    if (!status.ok()) {
      if (!arguments.json) std::printf("verify backup %s: FAILED\n", manifest->backup_id.c_str());
      return ReportFailure("verify", status, arguments.json);
    }
    if (arguments.json) {
      object = ReportJson(*manifest, report);
    } else {
      PrintText(*manifest, report);
    }
  }
  object["command"] = "verify";
  auto pieces =
      database.empty()
          ? Result<std::vector<repository::ArchivePiece>>(std::vector<repository::ArchivePiece>{})
          : (*repository)->ListArchivePieces(database);
  if (!pieces.ok()) return ReportFailure("verify", pieces.status(), arguments.json);
  if (!pieces->empty()) {
    ProgressBar bar("verify archive");
    restore::ArchiveVerifyOptions options;
    options.drill = arguments.drill;
    options.scratch_directory = scratch.path();
    options.progress = bar.Callback();
    restore::ArchiveVerifyReport report;
    const Status status = restore::VerifyArchive(FileSystem::Default(), repository->get(), database,
                                                 options, &report);
    bar.Finish();
    if (arguments.json) {
      object["archive"] = ArchiveJson(report);
    } else {
      PrintArchiveText(report, status);
    }
    if (!status.ok()) {
      if (arguments.json) {  // one object, with the archive's figures and the error
        exit_code = 1;
        std::fprintf(stderr, "verify: error: %s\n", status.ToString().c_str());
        object["ok"] = false;
        object["error"] = status.ToString();
        std::printf("%s\n", object.dump().c_str());
        return;
      }
      return ReportFailure("verify", status, false);
    }
  }
  if (arguments.json) PrintJson(std::move(object));
}

}  // namespace

void AddVerifyCommand(CLI::App& app) {
  auto* command =
      app.add_subcommand("verify",
                         "Verify a backup and the continuous archive (hashes, records; --drill "
                         "restores them and compares the state digest)");
  auto arguments = std::make_shared<VerifyArguments>();
  command->add_option("--repo", arguments->repo, "backup repository")->required();
  command->add_option("--backup", arguments->backup_id, "backup id, or latest")
      ->capture_default_str();
  command->add_flag("--drill", arguments->drill,
                    "restore into scratch space, check at level 3, compare digest and keys");
  command->add_option("--key-file", arguments->key_file,
                      "secret key (needed to check contents of an encrypted repository)");
  command->add_option("--scratch", arguments->scratch,
                      "directory for scratch space (default $TMPDIR or /tmp)");
  command->add_flag("--json", arguments->json, "print one JSON object on stdout");
  command->callback([arguments] { RunVerify(*arguments); });
}

}  // namespace ordo::cli
