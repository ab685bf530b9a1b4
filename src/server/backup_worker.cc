#include "server/backup_worker.h"

#include <algorithm>

#include "util/clock.h"

namespace ordo::server {

Result<std::unique_ptr<repository::Repository>> OpenOrCreateRepository(
    const std::string& repository_path, const repository::KeyMaterial& key, bool* created) {
  FileSystem* fs = FileSystem::Default();
  *created = false;
  auto repository = repository::Repository::Open(fs, repository_path, key);
  if (!repository.ok() && repository.status().IsNotFound()) {
    repository::RepositoryInfo info;
    ORDO_RETURN_IF_ERROR(repository::Repository::Init(
        fs, repository_path, repository::EncryptionMode::kNone, key, "", &info));
    *created = true;
    repository = repository::Repository::Open(fs, repository_path, key);
  }
  if (!repository.ok()) return repository.status().WithContext("repository " + repository_path);
  if (!(*repository)->CanWrite()) {
    return Status::InvalidArgument("repository " + repository_path +
                                   " needs its key to take backups (--key-file)");
  }
  return std::move(*repository);
}

Result<std::unique_ptr<BackupWorker>> BackupWorker::Open(const std::string& data_directory,
                                                         const std::string& repository_path,
                                                         const repository::KeyMaterial& key,
                                                         bool* created) {
  ORDO_ASSIGN_OR_RETURN(auto repository, OpenOrCreateRepository(repository_path, key, created));
  return std::unique_ptr<BackupWorker>(
      new BackupWorker(data_directory, repository_path, std::move(repository)));
}

BackupWorker::~BackupWorker() {
  if (thread_.joinable()) thread_.join();
}

Status BackupWorker::RunNow() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (outcome_.in_progress) return Status::Busy("a backup is already in progress");
    outcome_.in_progress = true;
  }
  if (thread_.joinable()) thread_.join();  // a finished background run
  return Run();
}

bool BackupWorker::StartInBackground() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (outcome_.in_progress) return false;
    outcome_.in_progress = true;
  }
  if (thread_.joinable()) thread_.join();
  thread_ = std::thread([this] {
    Status ignored = Run();  // recorded in the outcome
    (void)ignored;
  });
  return true;
}

Status BackupWorker::Run() {
  backup::BackupResult result;
  Status status = backup::TakeBackup(FileSystem::Default(), data_directory_, repository_.get(),
                                     backup::BackupOptions{}, &result);
  Record(status, result);
  return status;
}

void BackupWorker::Record(const Status& status, const backup::BackupResult& result) {
  std::lock_guard<std::mutex> lock(mutex_);
  outcome_.in_progress = false;
  outcome_.last_ok = status.ok();
  if (!status.ok()) {
    ++outcome_.backup_errors;
    outcome_.last_error = status.ToString();
    return;
  }
  ++outcome_.backups_taken;
  outcome_.last_success_time_s = WallMillis() / 1000;
  outcome_.last_backup_id = result.manifest.backup_id;
  outcome_.last_lsn = result.manifest.last_lsn;
  outcome_.last_duration_seconds = result.duration_seconds;
  outcome_.last_bytes_read = result.bytes_read;
  outcome_.last_bytes_written = result.bytes_written;
  outcome_.last_new_files = result.new_files;
  outcome_.last_throughput_mib_per_second = result.throughput_mib_per_second;
  double total_ms = 0;
  uint64_t saved = 0;
  outcome_.last_save_ms_max = 0;
  for (const auto& file : result.files) {
    if (file.reused) continue;
    const double ms = static_cast<double>(file.save_micros) / 1000.0;
    outcome_.last_save_ms_max = std::max(outcome_.last_save_ms_max, ms);
    total_ms += ms;
    ++saved;
  }
  outcome_.last_save_ms_mean = saved > 0 ? total_ms / static_cast<double>(saved) : 0;
}

BackupOutcome BackupWorker::outcome() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outcome_;
}

}  // namespace ordo::server
