#include "io/slow_disk_file_system.h"

#include <chrono>

namespace ordo {
namespace {

// Forwards to the target's file; its syncs wait first.
class SlowDiskWritableFile final : public WritableFile {
 public:
  SlowDiskWritableFile(SlowDiskFileSystem* disk, std::unique_ptr<WritableFile> target)
      : disk_(disk), target_(std::move(target)) {}
  Status Append(std::string_view bytes) override { return target_->Append(bytes); }
  Status Sync() override {
    ORDO_RETURN_IF_ERROR(disk_->WaitBeforeSync(target_->path()));
    return target_->Sync();
  }
  Status SyncAll() override {
    ORDO_RETURN_IF_ERROR(disk_->WaitBeforeSync(target_->path()));
    return target_->SyncAll();
  }
  Status Close() override { return target_->Close(); }
  Status Preallocate(uint64_t physical_bytes) override {
    return target_->Preallocate(physical_bytes);
  }
  Status TrimPreallocation() override { return target_->TrimPreallocation(); }
  uint64_t Size() const override { return target_->Size(); }
  const std::string& path() const override { return target_->path(); }

 private:
  SlowDiskFileSystem* const disk_;
  const std::unique_ptr<WritableFile> target_;
};

}  // namespace

void SlowDiskFileSystem::SetSyncDelayMs(uint64_t delay_ms) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    sync_delay_ms_ = delay_ms;
  }
  changed_.notify_all();
}

uint64_t SlowDiskFileSystem::sync_delay_ms() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return sync_delay_ms_;
}

uint64_t SlowDiskFileSystem::syncs_waiting() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return syncs_waiting_;
}

void SlowDiskFileSystem::WaitUntilSyncsWaiting(uint64_t count) {
  std::unique_lock<std::mutex> guard(mutex_);
  changed_.wait(guard, [&] { return syncs_waiting_ >= count; });
}

void SlowDiskFileSystem::SetSyncFailure(bool fail) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    fail_syncs_ = fail;
  }
  changed_.notify_all();
}

Status SlowDiskFileSystem::WaitBeforeSync(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> guard(mutex_);
  ++syncs_waiting_;
  changed_.notify_all();  // for WaitUntilSyncsWaiting
  // Re-read the delay on every change: a sync waiting out a long delay is released when it
  // is lowered.
  while (std::chrono::steady_clock::now() < start + std::chrono::milliseconds(sync_delay_ms_)) {
    changed_.wait_until(guard, start + std::chrono::milliseconds(sync_delay_ms_));
  }
  --syncs_waiting_;
  if (fail_syncs_) return Status::IOError(path + ": fsync: Input/output error (slow disk model)");
  return Status::Ok();
}

Result<std::unique_ptr<WritableFile>> SlowDiskFileSystem::NewWritableFile(const std::string& path) {
  ORDO_ASSIGN_OR_RETURN(auto file, target()->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new SlowDiskWritableFile(this, std::move(file)));
}

Result<std::unique_ptr<WritableFile>> SlowDiskFileSystem::ReopenWritableFile(
    const std::string& path) {
  ORDO_ASSIGN_OR_RETURN(auto file, target()->ReopenWritableFile(path));
  return std::unique_ptr<WritableFile>(new SlowDiskWritableFile(this, std::move(file)));
}

}  // namespace ordo
