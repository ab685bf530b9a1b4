// The slow disk: a sync waits out the delay, and is released when the delay is lowered.
#include "io/slow_disk_file_system.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/test_util.h"

namespace ordo {
namespace {

TEST(SlowDiskFileSystem, ASyncWaitsUntilTheDelayIsLoweredAndThenRuns) {
  testing::ScratchDirectory scratch;
  SlowDiskFileSystem disk;
  auto file = disk.NewWritableFile(scratch.Sub("log"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("bytes"));
  disk.SetSyncDelayMs(3600 * 1000);  // a stalled disk
  Status synced = Status::IOError("not yet");
  std::thread syncer([&] { synced = (*file)->Sync(); });
  disk.WaitUntilSyncsWaiting(1);
  EXPECT_EQ(disk.syncs_waiting(), 1u);
  disk.SetSyncDelayMs(0);
  syncer.join();
  EXPECT_OK(synced);
  EXPECT_EQ(disk.syncs_waiting(), 0u);
  // Writes and reads pass straight through.
  EXPECT_EQ(*ReadFileToString(&disk, scratch.Sub("log")), "bytes");
}

TEST(SlowDiskFileSystem, EverySyncPointWaitsAtLeastTheDelay) {
  testing::ScratchDirectory scratch;
  SlowDiskFileSystem disk;
  disk.SetSyncDelayMs(30);
  auto file = disk.NewWritableFile(scratch.Sub("log"));
  ASSERT_OK(file);
  for (int which = 0; which < 4; ++which) {
    const auto start = std::chrono::steady_clock::now();
    Status status;
    switch (which) {
      case 0:
        status = (*file)->Sync();
        break;
      case 1:
        status = (*file)->SyncAll();
        break;
      case 2:
        status = disk.SyncDir(scratch.path());
        break;
      case 3:
        status = disk.SyncFile(scratch.Sub("log"));
        break;
    }
    ASSERT_OK(status);
    // A lower bound only: a sleep never ends early, whatever else the machine does.
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30)) << which;
  }
}

}  // namespace
}  // namespace ordo
