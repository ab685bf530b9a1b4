// Tests of the fault-injecting FileSystem: the crash model (what survives a power loss), the
// Nth-call failures, the freeze after a sync point, stale handles and concurrent use. Every
// test works in its own real temporary directory, read back through the POSIX FileSystem so
// the assertions are about bytes on disk, not about the model's bookkeeping.
#include "io/fault_file_system.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace ordo {
namespace {

class FaultFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(scratch_.path().empty()); }
  std::string Path(const std::string& name) const { return scratch_.Sub(name); }

  // The bytes really on disk, read around the fault file system.
  static std::string OnDisk(const std::string& path) {
    Result<std::string> contents = ReadFileToString(FileSystem::Default(), path);
    EXPECT_OK(contents);
    return contents.ok() ? *contents : std::string();
  }
  static bool ExistsOnDisk(const std::string& path) {
    return FileSystem::Default()->FileExists(path);
  }

  // Creates `name` with `synced` durable (file and directory entry) and `unsynced` after it.
  void MakeFile(const std::string& name, const std::string& synced, const std::string& unsynced) {
    Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path(name));
    ASSERT_OK(file);
    ASSERT_OK((*file)->Append(synced));
    ASSERT_OK((*file)->Sync());
    ASSERT_OK(fs_.SyncDir(directory_));
    ASSERT_OK((*file)->Append(unsynced));
    ASSERT_OK((*file)->Close());
  }

  ordo::testing::ScratchDirectory scratch_;  // removed with everything in it
  const std::string& directory_ = scratch_.path();
  FaultFileSystem fs_;
};

std::string Pattern(size_t size, char seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(seed + static_cast<char>(i % 61));
  return bytes;
}

// --- The crash model ---

TEST_F(FaultFileSystemTest, CrashDropsUnsyncedBytesAndKeepsSyncedOnes) {
  MakeFile("log", "durable-", "volatile");
  // Until the crash, readers see the page cache, unsynced bytes included.
  EXPECT_EQ(*ReadFileToString(&fs_, Path("log")), "durable-volatile");
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "durable-");
}

TEST_F(FaultFileSystemTest, SyncMakesEveryByteOfTheFileDurableWhoeverWroteIt) {
  MakeFile("log", "", "one-");
  Result<std::unique_ptr<WritableFile>> file = fs_.ReopenWritableFile(Path("log"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("two"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK((*file)->Append("-three"));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "one-two");
}

TEST_F(FaultFileSystemTest, FileCreatedWithoutDirectorySyncDisappears) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("new"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("bytes"));
  // A file's own fsync does not make its directory entry durable in this model.
  ASSERT_OK((*file)->SyncAll());
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_FALSE(ExistsOnDisk(Path("new")));
}

TEST_F(FaultFileSystemTest, FileCreatedWithDirectorySyncSurvivesWithItsSyncedBytes) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("new"));
  ASSERT_OK(file);
  ASSERT_OK(fs_.SyncDir(directory_ + "/"));  // a trailing slash names the same directory
  ASSERT_OK((*file)->Append("bytes"));
  ASSERT_OK(fs_.SimulateCrash());
  ASSERT_TRUE(ExistsOnDisk(Path("new")));
  EXPECT_EQ(OnDisk(Path("new")), "");
}

TEST_F(FaultFileSystemTest, RenameWithoutDirectorySyncIsUndone) {
  MakeFile("a", "contents of a", "");
  ASSERT_OK(fs_.RenameFile(Path("a"), Path("b")));
  EXPECT_FALSE(ExistsOnDisk(Path("a")));
  ASSERT_OK(fs_.SimulateCrash());
  ASSERT_TRUE(ExistsOnDisk(Path("a")));
  EXPECT_EQ(OnDisk(Path("a")), "contents of a");
  EXPECT_FALSE(ExistsOnDisk(Path("b")));
}

TEST_F(FaultFileSystemTest, RenameWithDirectorySyncIsKept) {
  MakeFile("a", "contents of a", "");
  ASSERT_OK(fs_.RenameFile(Path("a"), Path("b")));
  ASSERT_OK(fs_.SyncDir(directory_));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_FALSE(ExistsOnDisk(Path("a")));
  EXPECT_EQ(OnDisk(Path("b")), "contents of a");
}

TEST_F(FaultFileSystemTest, UndoneRenameBringsBackTheFileItReplaced) {
  MakeFile("current", "old", "");
  // The publish protocol without its last step (the directory fsync).
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("current.tmp"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("new"));
  ASSERT_OK((*file)->SyncAll());
  ASSERT_OK((*file)->Close());
  ASSERT_OK(fs_.RenameFile(Path("current.tmp"), Path("current")));
  EXPECT_EQ(OnDisk(Path("current")), "new");
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("current")), "old");
  EXPECT_FALSE(ExistsOnDisk(Path("current.tmp")));
}

TEST_F(FaultFileSystemTest, WriteFileAtomicallyIsDurable) {
  MakeFile("current", "old", "");
  ASSERT_OK(WriteFileAtomically(&fs_, Path("current"), "new"));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("current")), "new");
  EXPECT_FALSE(ExistsOnDisk(Path("current.tmp")));
}

TEST_F(FaultFileSystemTest, RemovalWithoutDirectorySyncIsUndone) {
  MakeFile("segment", "synced", "-unsynced");
  ASSERT_OK(fs_.RemoveFile(Path("segment")));
  EXPECT_FALSE(ExistsOnDisk(Path("segment")));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("segment")), "synced");
}

TEST_F(FaultFileSystemTest, RemovalWithDirectorySyncIsKept) {
  MakeFile("segment", "synced", "");
  ASSERT_OK(fs_.RemoveFile(Path("segment")));
  ASSERT_OK(fs_.SyncDir(directory_));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_FALSE(ExistsOnDisk(Path("segment")));
}

TEST_F(FaultFileSystemTest, ChainOfRenamesIsUndoneToTheDurableNames) {
  MakeFile("x", "X", "");
  MakeFile("y", "Y", "");
  // Swap x and y through a third name, without syncing the directory.
  ASSERT_OK(fs_.RenameFile(Path("x"), Path("t")));
  ASSERT_OK(fs_.RenameFile(Path("y"), Path("x")));
  ASSERT_OK(fs_.RenameFile(Path("t"), Path("y")));
  EXPECT_EQ(OnDisk(Path("x")), "Y");
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("x")), "X");
  EXPECT_EQ(OnDisk(Path("y")), "Y");
  EXPECT_FALSE(ExistsOnDisk(Path("t")));
}

TEST_F(FaultFileSystemTest, FilesInAnotherDirectoryFollowThatDirectorysSync) {
  const std::string sub = Path("sub");
  ASSERT_OK(fs_.CreateDir(sub));
  MakeFile("top", "T", "");  // syncs the top directory only
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(sub + "/inner");
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("I"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK(fs_.SyncDir(directory_));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_TRUE(ExistsOnDisk(Path("top")));
  EXPECT_FALSE(ExistsOnDisk(sub + "/inner"));
}

TEST_F(FaultFileSystemTest, FilesThatExistedBeforeAreDurable) {
  ASSERT_OK(WriteFileAtomically(FileSystem::Default(), Path("old"), "before"));
  Result<std::unique_ptr<WritableFile>> file = fs_.ReopenWritableFile(Path("old"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("-after"));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("old")), "before");
}

TEST_F(FaultFileSystemTest, TruncateIsDurableAtOnce) {
  MakeFile("log", "0123456789", "");
  ASSERT_OK(fs_.Truncate(Path("log"), 4));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "0123");
}

TEST_F(FaultFileSystemTest, ReadOnlyFileLosesItsUnsyncedTail) {
  MakeFile("sealed", "synced", "-unsynced");
  ASSERT_OK(fs_.SetReadOnly(Path("sealed")));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("sealed")), "synced");
  const auto permissions = std::filesystem::status(Path("sealed")).permissions();
  EXPECT_EQ(permissions & std::filesystem::perms::owner_write, std::filesystem::perms::none);
}

TEST_F(FaultFileSystemTest, TornWriteKeepsAPrefixOfTheUnsyncedBytes) {
  const std::string synced = Pattern(100, 'a');
  const std::string unsynced = Pattern(1000, 'A');
  const std::string all = synced + unsynced;
  bool saw_partial_tail = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    MakeFile("log", synced, unsynced);
    ASSERT_OK(fs_.SimulateCrash(CrashMode::kTornWrite, seed));
    const std::string after = OnDisk(Path("log"));
    ASSERT_GE(after.size(), synced.size());
    ASSERT_LE(after.size(), all.size());
    EXPECT_EQ(after, all.substr(0, after.size())) << "seed " << seed;
    if (after.size() > synced.size() && after.size() < all.size()) saw_partial_tail = true;
  }
  EXPECT_TRUE(saw_partial_tail);
}

TEST_F(FaultFileSystemTest, TornWriteIsDeterministicForASeed) {
  std::vector<std::string> results;
  for (int round = 0; round < 2; ++round) {
    MakeFile("log", "synced", Pattern(5000, 'A'));
    ASSERT_OK(fs_.SimulateCrash(CrashMode::kTornWriteWithGarbage, 42));
    results.push_back(OnDisk(Path("log")));
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST_F(FaultFileSystemTest, TornWriteWithGarbageNeverTouchesSyncedBytes) {
  const std::string synced = Pattern(100, 'a');
  const std::string unsynced = Pattern(1000, 'A');
  bool saw_garbage = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    MakeFile("log", synced, unsynced);
    ASSERT_OK(fs_.SimulateCrash(CrashMode::kTornWriteWithGarbage, seed));
    const std::string after = OnDisk(Path("log"));
    ASSERT_GE(after.size(), synced.size());
    ASSERT_LE(after.size(), synced.size() + unsynced.size());
    EXPECT_EQ(after.substr(0, synced.size()), synced) << "seed " << seed;
    if (after.substr(synced.size()) != unsynced.substr(0, after.size() - synced.size())) {
      saw_garbage = true;
    }
  }
  EXPECT_TRUE(saw_garbage);
}

TEST_F(FaultFileSystemTest, TornPagesKeepOrLoseEachPageOnItsOwnOutOfOrder) {
  // Synced bytes end in the middle of a page: the first unsynced "page" is the rest of it.
  const std::string synced = Pattern(1000, 'a');
  const std::string unsynced = Pattern(5 * 4096, 'A');
  const std::string all = synced + unsynced;
  bool saw_hole_before_kept_page = false;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    MakeFile("log", synced, unsynced);
    ASSERT_OK(fs_.SimulateCrash(CrashMode::kTornPages, seed));
    const std::string after = OnDisk(Path("log"));
    ASSERT_GE(after.size(), synced.size());
    ASSERT_LE(after.size(), all.size());
    ASSERT_EQ(after.substr(0, synced.size()), synced) << "seed " << seed;
    bool lost_one = false;
    for (uint64_t page = synced.size(); page < after.size();) {
      const uint64_t end = std::min<uint64_t>(after.size(), (page / 4096 + 1) * 4096);
      const std::string kept = after.substr(page, end - page);
      const bool intact = kept == all.substr(page, end - page);
      EXPECT_TRUE(intact || kept == std::string(kept.size(), '\0'))
          << "seed " << seed << ": page at " << page << " is neither kept nor zeros";
      if (!intact) lost_one = true;
      if (intact && lost_one) saw_hole_before_kept_page = true;
      page = end;
    }
  }
  EXPECT_TRUE(saw_hole_before_kept_page);  // the shape a prefix-only model never makes
}

TEST_F(FaultFileSystemTest, TornPagesAndRangesNeverTouchSyncedBytesAndRepeatForASeed) {
  const std::string synced = Pattern(5000, 'a');
  const std::string unsynced = Pattern(20000, 'A');
  for (const CrashMode mode : {CrashMode::kTornPagesWithGarbage, CrashMode::kTornRanges}) {
    bool saw_change = false;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      std::string first;
      for (int round = 0; round < 2; ++round) {
        MakeFile("log", synced, unsynced);
        ASSERT_OK(fs_.SimulateCrash(mode, seed));
        const std::string after = OnDisk(Path("log"));
        ASSERT_GE(after.size(), synced.size()) << CrashModeName(mode);
        ASSERT_EQ(after.substr(0, synced.size()), synced) << CrashModeName(mode) << " " << seed;
        if (round == 0) first = after;
        EXPECT_EQ(after, first) << CrashModeName(mode) << ": seed " << seed << " differs";
        if (after != synced + unsynced) saw_change = true;
      }
    }
    EXPECT_TRUE(saw_change) << CrashModeName(mode);
  }
}

TEST_F(FaultFileSystemTest, ACrashTearGivesEachFileExactlyWhatItReturns) {
  MakeFile("log", "synced|", "one|two|three");
  MakeFile("other", "kept", "");
  std::vector<std::string> asked;
  ASSERT_OK(fs_.SimulateCrash(
      [&](const std::string& path, uint64_t durable_size, std::string_view unsynced) {
        asked.push_back(path);
        EXPECT_EQ(durable_size, 7u);
        EXPECT_EQ(unsynced, "one|two|three");
        return std::string("one|\0\0\0|three", 13);
      }));
  // Only files with unsynced bytes are asked about.
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], Path("log"));
  EXPECT_EQ(OnDisk(Path("log")), std::string("synced|one|\0\0\0|three", 20));
  EXPECT_EQ(OnDisk(Path("other")), "kept");
}

// --- Old handles after a crash ---

TEST_F(FaultFileSystemTest, HandlesOpenedBeforeACrashAreStale) {
  Result<std::unique_ptr<WritableFile>> writer = fs_.NewWritableFile(Path("log"));
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Append("synced"));
  ASSERT_OK((*writer)->Sync());
  ASSERT_OK(fs_.SyncDir(directory_));
  ASSERT_OK((*writer)->Append("-unsynced"));
  Result<std::unique_ptr<RandomAccessFile>> reader = fs_.NewRandomAccessFile(Path("log"));
  ASSERT_OK(reader);

  ASSERT_OK(fs_.SimulateCrash());
  const Status append = (*writer)->Append("after the crash");
  EXPECT_TRUE(append.IsIOError()) << append.ToString();
  EXPECT_NE(append.message().find("stale"), std::string::npos);
  EXPECT_TRUE((*writer)->Sync().IsIOError());
  EXPECT_TRUE((*writer)->SyncAll().IsIOError());
  char scratch[4];
  size_t read_count = 0;
  EXPECT_TRUE((*reader)->Read(0, sizeof(scratch), scratch, &read_count).IsIOError());
  EXPECT_OK((*writer)->Close());
  writer->reset();
  reader->reset();
  EXPECT_EQ(OnDisk(Path("log")), "synced");

  // New handles work, and the survivor is durable in the restarted model.
  Result<std::unique_ptr<WritableFile>> again = fs_.ReopenWritableFile(Path("log"));
  ASSERT_OK(again);
  ASSERT_OK((*again)->Append("!"));
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "synced");
}

// --- Nth-call failures ---

TEST_F(FaultFileSystemTest, FailOnceWithEioFailsOnlyTheNthWrite) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.FailAfter(2, FaultKind::kWrite, Errno::kEIO, /*persistent=*/false);
  EXPECT_OK((*file)->Append("one"));
  const Status second = (*file)->Append("two");
  EXPECT_TRUE(second.IsIOError()) << second.ToString();
  EXPECT_NE(second.message().find(Path("log")), std::string::npos) << second.ToString();
  EXPECT_NE(second.message().find("write at offset 3"), std::string::npos) << second.ToString();
  EXPECT_OK((*file)->Append("three"));
  EXPECT_OK((*file)->Sync());  // syncs do not match kWrite
  EXPECT_EQ(fs_.injected_count(), 1u);
  EXPECT_EQ(OnDisk(Path("log")), "onethree");
}

TEST_F(FaultFileSystemTest, FailForeverWithEnospcFailsEveryLaterSync) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.FailAfter(1, FaultKind::kSync, Errno::kENOSPC, /*persistent=*/true);
  ASSERT_OK((*file)->Append("bytes"));
  for (int i = 0; i < 3; ++i) {
    const Status status = (*file)->Sync();
    EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
    EXPECT_NE(status.message().find(Path("log")), std::string::npos);
  }
  EXPECT_TRUE((*file)->SyncAll().IsNoSpace());
  const Status directory = fs_.SyncDir(directory_);
  EXPECT_TRUE(directory.IsNoSpace()) << directory.ToString();
  EXPECT_NE(directory.message().find(directory_), std::string::npos);
  EXPECT_OK((*file)->Append("more"));  // writes do not match kSync
  EXPECT_EQ(fs_.injected_count(), 5u);

  fs_.Reset();
  EXPECT_OK((*file)->Sync());
  EXPECT_EQ(fs_.injected_count(), 0u);
}

TEST_F(FaultFileSystemTest, FailedSyncLeavesBytesUnsyncedAndPoisonsTheFile) {
  MakeFile("log", "durable", "");
  Result<std::unique_ptr<WritableFile>> file = fs_.ReopenWritableFile(Path("log"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("-lost"));
  fs_.FailAfter(1, FaultKind::kSync, Errno::kEIO, /*persistent=*/false);
  EXPECT_TRUE((*file)->Sync().IsIOError());
  // As on Linux, a retried fsync succeeds but the dirty pages are already gone.
  EXPECT_OK((*file)->Sync());
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "durable");
}

TEST_F(FaultFileSystemTest, ShortWriteLeavesHalfTheBytes) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.SetShortWrite(ShortWrite::kHalf);
  fs_.FailAfter(1, FaultKind::kWrite, Errno::kENOSPC, /*persistent=*/false);
  EXPECT_TRUE((*file)->Append("abcdefgh").IsNoSpace());
  EXPECT_EQ((*file)->Size(), 4u);
  EXPECT_EQ(OnDisk(Path("log")), "abcd");
}

TEST_F(FaultFileSystemTest, WithoutShortWriteAFailedAppendWritesNothing) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.FailAfter(1, FaultKind::kWrite, Errno::kEIO, /*persistent=*/false);
  EXPECT_TRUE((*file)->Append("abcdefgh").IsIOError());
  EXPECT_EQ((*file)->Size(), 0u);
  EXPECT_EQ(OnDisk(Path("log")), "");
}

TEST_F(FaultFileSystemTest, AnyKindCountsCreateRenameRemoveAndTruncate) {
  MakeFile("a", "A", "");
  fs_.FailAfter(3, FaultKind::kAny, Errno::kEIO, /*persistent=*/true);
  EXPECT_OK(fs_.CreateDir(Path("d")));                                          // 1
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("b"));  // 2
  ASSERT_OK(file);
  EXPECT_TRUE(fs_.RenameFile(Path("a"), Path("c")).IsIOError());  // 3
  EXPECT_TRUE(ExistsOnDisk(Path("a")));
  EXPECT_FALSE(ExistsOnDisk(Path("c")));
  EXPECT_TRUE(fs_.RemoveFile(Path("a")).IsIOError());
  EXPECT_TRUE(ExistsOnDisk(Path("a")));
  EXPECT_TRUE(fs_.Truncate(Path("a"), 0).IsIOError());
  EXPECT_EQ(OnDisk(Path("a")), "A");
  EXPECT_FALSE(fs_.NewWritableFile(Path("e")).ok());
  EXPECT_FALSE(ExistsOnDisk(Path("e")));
  EXPECT_TRUE((*file)->Append("x").IsIOError());
  EXPECT_TRUE(fs_.LockFile(Path("LOCK")).status().IsIOError());
  // Reads are not mutations.
  EXPECT_EQ(*ReadFileToString(&fs_, Path("a")), "A");
}

TEST_F(FaultFileSystemTest, ReadKindFailsOpensAndReads) {
  MakeFile("a", "contents", "");
  fs_.FailAfter(2, FaultKind::kRead, Errno::kEIO, /*persistent=*/false);
  Result<std::unique_ptr<RandomAccessFile>> file = fs_.NewRandomAccessFile(Path("a"));  // 1
  ASSERT_OK(file);
  char scratch[8];
  size_t read_count = 0;
  const Status failed = (*file)->Read(0, sizeof(scratch), scratch, &read_count);  // 2
  EXPECT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_NE(failed.message().find("read at offset 0"), std::string::npos);
  ASSERT_OK((*file)->Read(0, sizeof(scratch), scratch, &read_count));
  EXPECT_EQ(std::string(scratch, read_count), "contents");

  fs_.FailAfter(1, FaultKind::kRead, Errno::kEIO, /*persistent=*/false);
  EXPECT_TRUE(fs_.NewRandomAccessFile(Path("a")).status().IsIOError());
}

// --- Counters and the freeze ---

TEST_F(FaultFileSystemTest, CountsSyncPointsAndMutations) {
  Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path("log"));  // mutation
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("a"));                       // mutation
  ASSERT_OK((*file)->Sync());                            // mutation, sync
  ASSERT_OK((*file)->SyncAll());                         // mutation, sync
  ASSERT_OK(fs_.SyncDir(directory_));                    // mutation, sync
  ASSERT_OK(fs_.RenameFile(Path("log"), Path("log2")));  // mutation
  EXPECT_TRUE(fs_.FileExists(Path("log2")));
  EXPECT_OK(ReadFileToString(&fs_, Path("log2")));
  EXPECT_EQ(fs_.sync_count(), 3u);
  EXPECT_EQ(fs_.mutation_count(), 6u);

  // Reset clears the counters but not what the model knows is durable.
  fs_.Reset();
  EXPECT_EQ(fs_.sync_count(), 0u);
  EXPECT_EQ(fs_.mutation_count(), 0u);
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "a");  // the rename was never made durable
  EXPECT_FALSE(ExistsOnDisk(Path("log2")));
}

TEST_F(FaultFileSystemTest, CrashAtSyncFreezesAtTheSyncWhichNeverHappens) {
  MakeFile("log", "", "");
  Result<std::unique_ptr<WritableFile>> file = fs_.ReopenWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.CrashAtSync(2);
  ASSERT_OK((*file)->Append("a"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK((*file)->Append("b"));
  EXPECT_FALSE(fs_.frozen());
  const Status sync = (*file)->Sync();  // the power goes out as the second sync is issued
  EXPECT_TRUE(sync.IsIOError());
  EXPECT_NE(sync.message().find("simulated power loss"), std::string::npos) << sync.ToString();
  EXPECT_TRUE(fs_.frozen());
  EXPECT_TRUE((*file)->Append("c").IsIOError());
  EXPECT_EQ(OnDisk(Path("log")), "ab");
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "a");  // "b" was written, never synced
}

TEST_F(FaultFileSystemTest, CrashAfterSyncsFreezesTheFileSystem) {
  MakeFile("log", "", "");
  Result<std::unique_ptr<WritableFile>> file = fs_.ReopenWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.CrashAfterSyncs(2);
  ASSERT_OK((*file)->Append("a"));
  ASSERT_OK((*file)->Sync());
  EXPECT_FALSE(fs_.frozen());
  ASSERT_OK((*file)->Append("b"));
  ASSERT_OK((*file)->Sync());  // the second sync point completes, then the power goes
  EXPECT_TRUE(fs_.frozen());

  const Status append = (*file)->Append("c");
  EXPECT_TRUE(append.IsIOError());
  EXPECT_NE(append.message().find("simulated power loss"), std::string::npos) << append.ToString();
  EXPECT_TRUE((*file)->Sync().IsIOError());
  EXPECT_TRUE(fs_.SyncDir(directory_).IsIOError());
  EXPECT_FALSE(fs_.NewWritableFile(Path("other")).ok());
  EXPECT_FALSE(ExistsOnDisk(Path("other")));
  EXPECT_TRUE(fs_.RenameFile(Path("log"), Path("moved")).IsIOError());
  EXPECT_TRUE(fs_.RemoveFile(Path("log")).IsIOError());
  EXPECT_TRUE(fs_.Truncate(Path("log"), 0).IsIOError());
  EXPECT_EQ(OnDisk(Path("log")), "ab");
  // Reads still work while frozen.
  EXPECT_EQ(*ReadFileToString(&fs_, Path("log")), "ab");

  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_FALSE(fs_.frozen());
  EXPECT_EQ(OnDisk(Path("log")), "ab");
  EXPECT_OK(fs_.NewWritableFile(Path("other")));
}

TEST_F(FaultFileSystemTest, CrashAfterFreezeDropsWhatWasUnsyncedAtTheFreeze) {
  MakeFile("log", "", "");
  Result<std::unique_ptr<WritableFile>> file = fs_.ReopenWritableFile(Path("log"));
  ASSERT_OK(file);
  fs_.CrashAfterSyncs(1);
  ASSERT_OK(fs_.SyncDir(directory_));  // the one sync point
  EXPECT_TRUE(fs_.frozen());
  EXPECT_TRUE((*file)->Append("never").IsIOError());
  ASSERT_OK(fs_.SimulateCrash());
  EXPECT_EQ(OnDisk(Path("log")), "");
}

// The loop crash tests use: count the sync points of a workload, then crash after each one and
// check the invariant. Here the workload publishes a file twice; after any crash the file must
// hold exactly one published version (or be absent before the first publish is durable).
TEST_F(FaultFileSystemTest, CrashAtEverySyncPointOfAtomicPublishing) {
  auto workload = [](FileSystem* fs, const std::string& path) {
    if (!WriteFileAtomically(fs, path, "version-1").ok()) return;
    (void)WriteFileAtomically(fs, path, "version-2");
  };
  const std::string count_directory = Path("count");
  ASSERT_OK(fs_.CreateDir(count_directory));
  fs_.Reset();
  workload(&fs_, count_directory + "/current");
  const uint64_t sync_points = fs_.sync_count();
  ASSERT_EQ(sync_points, 4u);  // two files fsynced, the directory fsynced twice

  for (uint64_t crash_at = 1; crash_at <= sync_points; ++crash_at) {
    const std::string run = Path("run" + std::to_string(crash_at));
    FaultFileSystem fs;
    ASSERT_OK(fs.CreateDir(run));
    fs.CrashAfterSyncs(crash_at);
    workload(&fs, run + "/current");
    ASSERT_OK(fs.SimulateCrash());
    const std::string path = run + "/current";
    if (crash_at < 2) {
      EXPECT_FALSE(ExistsOnDisk(path)) << "crash at " << crash_at;
    } else if (crash_at < 4) {
      EXPECT_EQ(OnDisk(path), "version-1") << "crash at " << crash_at;
    } else {
      EXPECT_EQ(OnDisk(path), "version-2") << "crash at " << crash_at;
    }
    EXPECT_FALSE(ExistsOnDisk(path + ".tmp")) << "crash at " << crash_at;
  }
}

// --- Threads ---

TEST_F(FaultFileSystemTest, ConcurrentWritersReadersAndFaultsAreSafe) {
  constexpr int kWriters = 4;
  constexpr int kAppendsPerWriter = 200;
  std::vector<std::unique_ptr<WritableFile>> files;
  for (int i = 0; i < kWriters; ++i) {
    Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path(std::to_string(i)));
    ASSERT_OK(file);
    files.push_back(std::move(*file));
  }
  ASSERT_OK(fs_.SyncDir(directory_));
  fs_.Reset();

  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < kAppendsPerWriter; ++n) {
        EXPECT_OK(files[i]->Append("0123456789"));
        EXPECT_OK(files[i]->Sync());
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      Result<std::string> contents = ReadFileToString(&fs_, Path("0"));
      EXPECT_OK(contents);
      (void)fs_.sync_count();
    }
  });
  for (int i = 0; i < kWriters; ++i) threads[i].join();
  done.store(true);
  threads.back().join();

  EXPECT_EQ(fs_.sync_count(), uint64_t{kWriters} * kAppendsPerWriter);
  EXPECT_EQ(fs_.mutation_count(), uint64_t{kWriters} * kAppendsPerWriter * 2);
  for (auto& file : files) ASSERT_OK(file->Append("unsynced"));
  ASSERT_OK(fs_.SimulateCrash());
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_EQ(OnDisk(Path(std::to_string(i))).size(), size_t{kAppendsPerWriter} * 10);
  }
}

TEST_F(FaultFileSystemTest, ConcurrentWritersStopAtTheFreeze) {
  constexpr int kWriters = 4;
  std::vector<std::unique_ptr<WritableFile>> files;
  for (int i = 0; i < kWriters; ++i) {
    Result<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(Path(std::to_string(i)));
    ASSERT_OK(file);
    files.push_back(std::move(*file));
  }
  ASSERT_OK(fs_.SyncDir(directory_));
  fs_.CrashAfterSyncs(50);
  std::vector<uint64_t> acknowledged(kWriters, 0);  // bytes each writer saw synced
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      while (true) {
        if (!files[i]->Append("abcdefgh").ok()) return;
        if (!files[i]->Sync().ok()) return;
        acknowledged[i] = files[i]->Size();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(fs_.frozen());
  ASSERT_OK(fs_.SimulateCrash(CrashMode::kTornWrite, 7));
  for (int i = 0; i < kWriters; ++i) {
    // Nothing acknowledged is lost; at most the one unacknowledged append may survive.
    const uint64_t size = OnDisk(Path(std::to_string(i))).size();
    EXPECT_GE(size, acknowledged[i]);
    EXPECT_LE(size, acknowledged[i] + 8);
  }
}

}  // namespace
}  // namespace ordo
