// The in-memory file system behaves as the POSIX one does for what ordo uses, and refuses
// repairs when told to (the fuzz harnesses).
#include "io/memory_file_system.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/test_util.h"

namespace ordo {
namespace {

std::string ReadWhole(FileSystem* fs, const std::string& path) {
  auto file = fs->NewRandomAccessFile(path);
  EXPECT_OK(file);
  if (!file.ok()) return "";
  std::string bytes(64, '\0');
  size_t read = 0;
  EXPECT_OK((*file)->Read(0, bytes.size(), bytes.data(), &read));
  bytes.resize(read);
  return bytes;
}

TEST(MemoryFileSystemTest, WritesReopensRenamesTruncatesAndLists) {
  MemoryFileSystem fs;
  {
    auto file = fs.NewWritableFile("dir/a");
    ASSERT_OK(file);
    ASSERT_OK((*file)->Append("hello "));
    ASSERT_OK((*file)->Sync());
    EXPECT_EQ((*file)->Size(), 6u);
  }
  {
    auto file = fs.ReopenWritableFile("dir/a");
    ASSERT_OK(file);
    ASSERT_OK((*file)->Append("world"));
  }
  EXPECT_EQ(ReadWhole(&fs, "dir/a"), "hello world");
  EXPECT_EQ(*fs.GetFileSize("dir/a"), 11u);
  ASSERT_OK(fs.Truncate("dir/a", 5));
  EXPECT_EQ(ReadWhole(&fs, "dir/a"), "hello");
  ASSERT_OK(fs.RenameFile("dir/a", "dir/b"));
  EXPECT_FALSE(fs.FileExists("dir/a"));
  fs.SetFile("dir/sub/c", "x");
  auto children = fs.GetChildren("dir");
  ASSERT_OK(children);
  EXPECT_EQ(*children, std::vector<std::string>{"b"});
  EXPECT_TRUE(fs.GetFileSize("dir/a").status().IsNotFound());
  EXPECT_TRUE(fs.NewRandomAccessFile("dir/a").status().IsNotFound());
  EXPECT_TRUE(fs.RemoveFile("dir/a").IsNotFound());
  ASSERT_OK(fs.RemoveFile("dir/b"));
  EXPECT_FALSE(fs.FileExists("dir/b"));
}

TEST(MemoryFileSystemTest, ReadOnlyFilesAndLocksAsOnDisk) {
  MemoryFileSystem fs;
  fs.SetFile("sealed", "bytes");
  ASSERT_OK(fs.SetReadOnly("sealed"));
  EXPECT_FALSE(fs.ReopenWritableFile("sealed").ok());
  EXPECT_FALSE(fs.Truncate("sealed", 0).ok());
  ASSERT_OK(fs.RenameFile("sealed", "moved"));  // the mode moves with the file
  EXPECT_FALSE(fs.ReopenWritableFile("moved").ok());
  ASSERT_OK(fs.SetWritable("moved"));
  ASSERT_OK(fs.Truncate("moved", 2));
  EXPECT_EQ(ReadWhole(&fs, "moved"), "by");

  auto lock = fs.LockFile("LOCK");
  ASSERT_OK(lock);
  EXPECT_TRUE(fs.LockFile("LOCK").status().IsBusy());
  lock->reset();
  EXPECT_OK(fs.LockFile("LOCK"));
}

TEST(MemoryFileSystemTest, RefusesRepairsWhenToldTo) {
  MemoryFileSystem fs(MemoryFileSystem::Repairs::kRefuse);
  fs.SetFile("input", "bytes");
  EXPECT_TRUE(fs.Truncate("input", 0).IsNotSupported());
  EXPECT_TRUE(fs.ReopenWritableFile("input").status().IsNotSupported());
  EXPECT_TRUE(fs.SetReadOnly("input").IsNotSupported());
  EXPECT_TRUE(fs.LockFile("LOCK").status().IsNotSupported());
  EXPECT_EQ(ReadWhole(&fs, "input"), "bytes");
}

}  // namespace
}  // namespace ordo
