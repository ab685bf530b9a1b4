// Backups taken by the server itself (`ordo serve --repo REPO`): SAVE runs one and replies when
// it is done, BGSAVE starts one on this worker's thread and replies at once, LASTSAVE and
// INFO persistence report the last one.
//
// A backup never forks and never pauses the server: it reads the data directory like
// `ordo backup` does from another process (sealed segments, the active segment up to a commit
// boundary). One backup at a time. Thread-safe: the event loop starts and reads; the worker
// thread writes the outcome under the mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "backup/backup_run.h"
#include "repository/repository.h"

namespace ordo::server {

struct BackupOutcome {
  bool in_progress = false;
  uint64_t backups_taken = 0;
  uint64_t backup_errors = 0;
  int64_t last_success_time_s = 0;  // Unix seconds of the last successful backup, 0 if none
  bool last_ok = true;
  std::string last_error;  // of the last failed backup
  std::string last_backup_id;
  uint64_t last_lsn = 0;
  double last_duration_seconds = 0;
  uint64_t last_bytes_read = 0;
  uint64_t last_bytes_written = 0;
  uint64_t last_new_files = 0;
  double last_throughput_mib_per_second = 0;
  // Save latency per file of the last backup (read, compress, encrypt, write, fsync, publish),
  // over the files it stored (reused ones cost nothing): the slowest and the mean, milliseconds.
  double last_save_ms_max = 0;
  double last_save_ms_mean = 0;
};

// Opens the repository at `repository_path`, creating a plain one if there is none (reported
// through `created`). Fails if it cannot be opened or, with `key`, written.
Result<std::unique_ptr<repository::Repository>> OpenOrCreateRepository(
    const std::string& repository_path, const repository::KeyMaterial& key, bool* created);

class BackupWorker {
 public:
  // Opens the repository at `repository_path` (creating a plain one if there is none, which it
  // reports through `created`). Fails if it cannot be opened or written with `key`.
  static Result<std::unique_ptr<BackupWorker>> Open(const std::string& data_directory,
                                                    const std::string& repository_path,
                                                    const repository::KeyMaterial& key,
                                                    bool* created);
  ~BackupWorker();  // waits for a backup in progress

  // Runs a backup on the calling thread. Busy if one is in progress.
  Status RunNow();
  // Starts a backup on the worker thread. False if one is in progress.
  bool StartInBackground();
  BackupOutcome outcome() const;
  const std::string& repository_path() const { return repository_path_; }

 private:
  BackupWorker(std::string data_directory, std::string repository_path,
               std::unique_ptr<repository::Repository> repository)
      : data_directory_(std::move(data_directory)),
        repository_path_(std::move(repository_path)),
        repository_(std::move(repository)) {}
  Status Run();  // takes the backup and records the outcome
  void Record(const Status& status, const backup::BackupResult& result);

  const std::string data_directory_;
  const std::string repository_path_;
  std::unique_ptr<repository::Repository> repository_;
  mutable std::mutex mutex_;
  BackupOutcome outcome_;
  std::thread thread_;
};

}  // namespace ordo::server
