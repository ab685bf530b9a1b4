// AtomicFile: the one temp -> fsync -> rename -> directory fsync step. What a crash may leave is
// covered by the crash tests of its users (checkpoints, repositories); these check the contract.
#include "io/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "io/fault_file_system.h"
#include "tests/test_util.h"

namespace ordo {
namespace {

Result<std::string> Read(const std::string& path) {
  return ReadFileToString(FileSystem::Default(), path);
}

TEST(AtomicFileTest, ReplaceRenamesOverAndLeavesNoTemporary) {
  testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  const std::string path = scratch.Sub("file");
  ASSERT_OK(WriteFileAtomically(fs, path, "old"));
  ASSERT_OK(WriteFileAtomically(fs, path, "new"));
  EXPECT_EQ(*Read(path), "new");
  EXPECT_EQ(*fs->GetChildren(scratch.path()), std::vector<std::string>{"file"});
}

TEST(AtomicFileTest, KeepExistingNeverOverwritesAndRemovesItsTemporary) {
  testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  const std::string path = scratch.Sub("once");
  for (const char* contents : {"first", "second"}) {
    auto file = AtomicFile::Create(fs, scratch.Sub(".tmp-x"),
                                   {.overwrite = Overwrite::kKeepExisting, .read_only = true});
    ASSERT_OK(file);
    ASSERT_OK((*file)->file()->Append(contents));
    bool published = false;
    ASSERT_OK((*file)->Commit(path, &published));
    EXPECT_EQ(published, std::string(contents) == "first") << contents;
  }
  EXPECT_EQ(*Read(path), "first");
  EXPECT_FALSE(fs->FileExists(scratch.Sub(".tmp-x")));
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0444u);  // read-only before it got its name
}

TEST(AtomicFileTest, OwnerOnlyFromTheFirstByte) {
  testing::ScratchDirectory scratch;
  auto file =
      AtomicFile::Create(FileSystem::Default(), scratch.Sub("secret.tmp"), {.owner_only = true});
  ASSERT_OK(file);
  struct stat info {};
  ASSERT_EQ(stat(scratch.Sub("secret.tmp").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0077, 0u);
}

TEST(AtomicFileTest, AbandonedOrFailedLeavesNeitherName) {
  testing::ScratchDirectory scratch;
  FaultFileSystem fs(FileSystem::Default());
  {
    auto file = AtomicFile::Create(&fs, scratch.Sub("a.tmp"), {});
    ASSERT_OK(file);
    ASSERT_OK((*file)->file()->Append("bytes"));
  }  // never committed
  EXPECT_FALSE(fs.FileExists(scratch.Sub("a.tmp")));
  {
    auto file = AtomicFile::Create(&fs, scratch.Sub("b.tmp"), {});
    ASSERT_OK(file);
    ASSERT_OK((*file)->file()->Append("bytes"));
    fs.FailAfter(1, FaultKind::kSync, Errno::kEIO, /*persistent=*/false);
    EXPECT_TRUE((*file)->Commit(scratch.Sub("b")).IsIOError());
  }
  EXPECT_FALSE(fs.FileExists(scratch.Sub("b")));
  EXPECT_FALSE(fs.FileExists(scratch.Sub("b.tmp")));
}

TEST(AtomicFileTest, DirectoryOf) {
  EXPECT_EQ(DirectoryOf("a/b/c"), "a/b");
  EXPECT_EQ(DirectoryOf("c"), ".");
  EXPECT_EQ(DirectoryOf("/c"), "/");
  EXPECT_EQ(DirectoryOf("/a/b/"), "/a");
}

}  // namespace
}  // namespace ordo
