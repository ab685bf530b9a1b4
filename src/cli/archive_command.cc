// ordo archive --data DIR --repo REPO [--archive-interval D] [--key-file F] [--once] [--json]:
// continuous archiving beside a live data directory, from another process (for programs that
// embed the library). Runs the same loop as `ordo serve --archive` (backup/archive_loop.h) until
// SIGINT or SIGTERM, then ships a final round; --once ships what is there and exits.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "backup/archive_loop.h"
#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "repository/transfer.h"
#include "util/time_format.h"

namespace ordo::cli {
namespace {

struct ArchiveArguments {
  std::string data = "./data";
  std::string repo;
  std::string interval = "1s";
  std::string key_file;
  bool once = false;
  bool json = false;
};

std::string CommitText(uint64_t lsn, int64_t commit_time_micros) {
  if (lsn == 0) return "nothing archived yet";
  return "LSN " + std::to_string(lsn) + " (committed " + FormatRfc3339Micros(commit_time_micros) +
         ")";
}

void PrintShipped(const char* what, uint64_t pieces, uint64_t records, uint64_t bytes_read,
                  uint64_t bytes_written, uint64_t lsn, int64_t commit_time_micros) {
  std::printf("%s %llu pieces, %llu commits, %s read, %s written; the archive ends at %s\n", what,
              static_cast<unsigned long long>(pieces), static_cast<unsigned long long>(records),
              FormatBytes(bytes_read).c_str(), FormatBytes(bytes_written).c_str(),
              CommitText(lsn, commit_time_micros).c_str());
  std::fflush(stdout);
}

void RunOnce(const ArchiveArguments& arguments, repository::Repository* repository) {
  backup::Archiver archiver(FileSystem::Default(), arguments.data, repository);
  Status status = archiver.Open();
  backup::ArchiveStep step;
  if (status.ok()) status = archiver.ArchiveAvailable(&step);
  if (!status.ok()) return ReportFailure("archive", status, arguments.json);
  if (arguments.json) {
    return PrintJson({{"command", "archive"},
                      {"database_id", archiver.database_id_hex()},
                      {"pieces", step.pieces},
                      {"commits", step.records},
                      {"bytes_read", step.bytes_read},
                      {"bytes_written", step.bytes_written},
                      {"archived_lsn", archiver.archived_lsn()},
                      {"archived_commit_time",
                       archiver.archived_lsn() == 0
                           ? std::string()
                           : FormatRfc3339Micros(archiver.archived_commit_time_micros())}});
  }
  PrintShipped("archive: shipped", step.pieces, step.records, step.bytes_read, step.bytes_written,
               archiver.archived_lsn(), archiver.archived_commit_time_micros());
}

// Runs the loop until SIGINT/SIGTERM, or until it fails for good (it raises SIGUSR1 then).
void RunContinuously(const ArchiveArguments& arguments, int64_t interval_ms,
                     std::unique_ptr<repository::Repository> repository) {
  // Blocked before the loop's thread starts, so it inherits the mask and only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  backup::ContinuousArchiverOptions options;
  options.interval_ms = interval_ms;
  auto observer = [](const backup::ArchiveStep& step, const Status& status,
                     const backup::ArchiveSnapshot& snapshot) {
    if (!status.ok()) {
      std::fprintf(stderr, "archive: %s: %s\n", snapshot.status.c_str(), status.ToString().c_str());
      if (snapshot.state == backup::ArchiveState::kFailed) kill(getpid(), SIGUSR1);
      return;
    }
    if (step.pieces > 0) {
      PrintShipped("archive: shipped", step.pieces, step.records, step.bytes_read,
                   step.bytes_written, snapshot.archived_lsn, snapshot.archived_commit_time_micros);
    }
  };
  auto loop = backup::ContinuousArchiver::Start(FileSystem::Default(), arguments.data,
                                                std::move(repository), options, observer);
  if (!loop.ok()) return ReportFailure("archive", loop.status(), arguments.json);
  std::fprintf(stderr, "archive: archiving %s into %s every %lld ms; SIGINT or SIGTERM stops\n",
               arguments.data.c_str(), arguments.repo.c_str(), static_cast<long long>(interval_ms));
  int received = 0;
  sigwait(&signals, &received);
  const Status final_round = (*loop)->Stop();
  const backup::ArchiveSnapshot snapshot = (*loop)->Snapshot();
  if (snapshot.state == backup::ArchiveState::kFailed || !final_round.ok()) {
    const Status failure = final_round.ok() ? Status::Failed(snapshot.last_error) : final_round;
    return ReportFailure("archive", failure, arguments.json);
  }
  if (arguments.json) {
    return PrintJson({{"command", "archive"},
                      {"rounds", snapshot.rounds},
                      {"errors", snapshot.errors},
                      {"pieces", snapshot.pieces},
                      {"commits", snapshot.records},
                      {"bytes_read", snapshot.bytes_read},
                      {"bytes_written", snapshot.bytes_written},
                      {"archived_lsn", snapshot.archived_lsn},
                      {"lag_p50_ms", snapshot.lag_p50_micros / 1000},
                      {"lag_p99_ms", snapshot.lag_p99_micros / 1000}});
  }
  PrintShipped("archive: stopped after", snapshot.pieces, snapshot.records, snapshot.bytes_read,
               snapshot.bytes_written, snapshot.archived_lsn, snapshot.archived_commit_time_micros);
}

void RunArchive(const ArchiveArguments& arguments) {
  int64_t interval_ms = 0;
  if (!ParseDurationMillis(arguments.interval, &interval_ms) ||
      interval_ms < backup::kArchiveIntervalMinMs || interval_ms > backup::kArchiveIntervalMaxMs) {
    return ReportFailure("archive",
                         Status::InvalidArgument("--archive-interval must be a duration from 100ms "
                                                 "to 1h, like 1s or 250ms, not '" +
                                                 arguments.interval + "'"),
                         arguments.json);
  }
  bool created = false;
  auto repository = OpenOrCreateRepository("archive", arguments.repo, arguments.key_file, &created);
  if (!repository.ok()) return ReportFailure("archive", repository.status(), arguments.json);
  if (arguments.once) return RunOnce(arguments, repository->get());
  RunContinuously(arguments, interval_ms, std::move(*repository));
}

}  // namespace

void AddArchiveCommand(CLI::App& app) {
  auto* command = app.add_subcommand(
      "archive", "Archive a data directory's log continuously into a repository");
  auto arguments = std::make_shared<ArchiveArguments>();
  command->add_option("--data", arguments->data, "data directory (may be in use by a server)")
      ->capture_default_str();
  command->add_option("--repo", arguments->repo, "backup repository (created plain if absent)")
      ->required();
  command
      ->add_option("--archive-interval", arguments->interval,
                   "how often the growing log is archived: 100ms..1h")
      ->capture_default_str();
  command->add_option("--key-file", arguments->key_file,
                      "key of an encrypted repository (ordo keygen)");
  command->add_flag("--once", arguments->once, "ship what is there now and exit");
  command->add_flag("--json", arguments->json, "print one JSON object on stdout");
  command->callback([arguments] { RunArchive(*arguments); });
}

}  // namespace ordo::cli
