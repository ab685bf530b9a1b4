// A FileSystem that models a slow disk: every sync point (WritableFile::Sync and SyncAll,
// FileSystem::SyncDir and SyncFile) takes at least `sync_delay_ms` before it reaches the target,
// which does all the work, or fails with EIO while told to (a failing disk). Everything else
// passes straight through.
//
// Why: a server under a disk slower than its clients (a saturated device, a throttled cloud
// volume) holds the writes waiting for their fdatasync in memory; the tests of its per-client
// and server-wide memory limits need that disk on demand, in the real binary
// (`ordo serve --enable-debug-command`, then `DEBUG SYNC-DELAY <ms>`; docs/OPERATIONS-server.md).
// A delay changed while syncs wait applies to them at once: lowering it to 0 releases them.
//
// Thread-safe; the target must outlive this object and every file opened through it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "io/file_system_wrapper.h"
#include "ordo/file_system.h"

namespace ordo {

class SlowDiskFileSystem final : public FileSystemWrapper {
 public:
  // `target` is not owned.
  explicit SlowDiskFileSystem(FileSystem* target = FileSystem::Default())
      : FileSystemWrapper(target) {}

  // Every sync point from now on, and those waiting now, take at least `delay_ms` from their
  // start (0: none).
  void SetSyncDelayMs(uint64_t delay_ms);
  uint64_t sync_delay_ms() const;
  // Sync points waiting at this moment.
  uint64_t syncs_waiting() const;
  // Returns once at least `count` sync points are waiting.
  void WaitUntilSyncsWaiting(uint64_t count);

  // While set, every sync point (after its delay) fails with EIO instead of running: a disk
  // that fails.
  void SetSyncFailure(bool fail);

  // Waits as the delay says; called by every sync point before it runs. Returns the error a
  // failing disk gives `path`, or OK.
  Status WaitBeforeSync(const std::string& path);

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override;
  Status SyncDir(const std::string& directory) override {
    ORDO_RETURN_IF_ERROR(WaitBeforeSync(directory));
    return FileSystemWrapper::SyncDir(directory);
  }
  Status SyncFile(const std::string& path) override {
    ORDO_RETURN_IF_ERROR(WaitBeforeSync(path));
    return FileSystemWrapper::SyncFile(path);
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t sync_delay_ms_ = 0;
  uint64_t syncs_waiting_ = 0;
  bool fail_syncs_ = false;
};

}  // namespace ordo
