// Tests of the POSIX FileSystem: each call does what file_system.h promises, and failures name
// the path and carry the right Status code.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "ordo/file_system.h"
#include "tests/test_util.h"

namespace ordo {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(scratch_.path().empty()); }
  std::string Path(const std::string& name) const { return scratch_.Sub(name); }

  ordo::testing::ScratchDirectory scratch_;  // removed with everything in it
  const std::string& directory_ = scratch_.path();
  FileSystem* fs_ = FileSystem::Default();
};

TEST_F(PosixFileSystemTest, AppendSyncReadBack) {
  Result<std::unique_ptr<WritableFile>> file = fs_->NewWritableFile(Path("a"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("hello "));
  ASSERT_OK((*file)->Append("world"));
  EXPECT_EQ((*file)->Size(), 11u);
  EXPECT_EQ((*file)->path(), Path("a"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK((*file)->SyncAll());
  ASSERT_OK((*file)->Close());
  EXPECT_OK((*file)->Close());  // a second Close is harmless
  EXPECT_EQ(*fs_->GetFileSize(Path("a")), 11u);
  EXPECT_EQ(*ReadFileToString(fs_, Path("a")), "hello world");

  Result<std::unique_ptr<RandomAccessFile>> reader = fs_->NewRandomAccessFile(Path("a"));
  ASSERT_OK(reader);
  char scratch[16];
  size_t read_count = 0;
  ASSERT_OK((*reader)->Read(6, sizeof(scratch), scratch, &read_count));
  EXPECT_EQ(std::string(scratch, read_count), "world");  // short only at the end of the file
}

TEST_F(PosixFileSystemTest, ReopenAppendsAndNewTruncates) {
  ASSERT_OK(WriteFileAtomically(fs_, Path("a"), "abc"));
  Result<std::unique_ptr<WritableFile>> again = fs_->ReopenWritableFile(Path("a"));
  ASSERT_OK(again);
  EXPECT_EQ((*again)->Size(), 3u);
  ASSERT_OK((*again)->Append("def"));
  ASSERT_OK((*again)->Close());
  EXPECT_EQ(*ReadFileToString(fs_, Path("a")), "abcdef");

  Result<std::unique_ptr<WritableFile>> fresh = fs_->NewWritableFile(Path("a"));
  ASSERT_OK(fresh);
  EXPECT_EQ(*fs_->GetFileSize(Path("a")), 0u);
}

TEST_F(PosixFileSystemTest, MissingFilesGiveNotFoundNamingThePath) {
  const Status open = fs_->NewRandomAccessFile(Path("missing")).status();
  EXPECT_TRUE(open.IsNotFound()) << open.ToString();
  EXPECT_NE(open.message().find(Path("missing")), std::string::npos);
  EXPECT_TRUE(fs_->ReopenWritableFile(Path("missing")).status().IsNotFound());
  EXPECT_TRUE(fs_->GetFileSize(Path("missing")).status().IsNotFound());
  EXPECT_TRUE(fs_->RemoveFile(Path("missing")).IsNotFound());
  EXPECT_FALSE(fs_->FileExists(Path("missing")));
}

TEST_F(PosixFileSystemTest, DirectoriesRenameRemoveTruncate) {
  ASSERT_OK(fs_->CreateDir(Path("d")));
  ASSERT_OK(fs_->CreateDir(Path("d")));  // already there is fine
  ASSERT_OK(WriteFileAtomically(fs_, Path("d/x"), "xx"));
  ASSERT_OK(WriteFileAtomically(fs_, Path("d/y"), "yyyy"));
  Result<std::vector<std::string>> children = fs_->GetChildren(Path("d"));
  ASSERT_OK(children);
  std::sort(children->begin(), children->end());
  EXPECT_EQ(*children, (std::vector<std::string>{"x", "y"}));

  ASSERT_OK(fs_->RenameFile(Path("d/y"), Path("d/x")));  // replaces the target
  EXPECT_FALSE(fs_->FileExists(Path("d/y")));
  EXPECT_EQ(*ReadFileToString(fs_, Path("d/x")), "yyyy");
  ASSERT_OK(fs_->SyncDir(Path("d")));
  ASSERT_OK(fs_->Truncate(Path("d/x"), 1));
  EXPECT_EQ(*ReadFileToString(fs_, Path("d/x")), "y");
  ASSERT_OK(fs_->RemoveFile(Path("d/x")));
  EXPECT_TRUE(fs_->GetChildren(Path("d"))->empty());
  EXPECT_TRUE(fs_->SyncDir(Path("missing")).IsNotFound());
}

TEST_F(PosixFileSystemTest, ReadOnlyAndWritable) {
  ASSERT_OK(WriteFileAtomically(fs_, Path("sealed"), "s"));
  ASSERT_OK(fs_->SetReadOnly(Path("sealed")));
  const auto permissions = std::filesystem::status(Path("sealed")).permissions();
  EXPECT_EQ(permissions & std::filesystem::perms::owner_write, std::filesystem::perms::none);
  ASSERT_OK(fs_->SetWritable(Path("sealed")));
  Result<std::unique_ptr<WritableFile>> file = fs_->ReopenWritableFile(Path("sealed"));
  ASSERT_OK(file);
}

TEST_F(PosixFileSystemTest, OwnerOnly) {
  ASSERT_OK(WriteFileAtomically(fs_, Path("secret"), "s"));
  ASSERT_OK(fs_->SetOwnerOnly(Path("secret")));
  EXPECT_EQ(std::filesystem::status(Path("secret")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const Status missing = fs_->SetOwnerOnly(Path("missing"));
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_NE(missing.message().find(Path("missing")), std::string::npos);
}

TEST_F(PosixFileSystemTest, SecondLockInTheSameProcessIsBusy) {
  Result<std::unique_ptr<FileLock>> first = fs_->LockFile(Path("LOCK"));
  ASSERT_OK(first);
  const Status second = fs_->LockFile(Path("LOCK")).status();
  EXPECT_TRUE(second.IsBusy()) << second.ToString();
  first->reset();
  EXPECT_OK(fs_->LockFile(Path("LOCK")));
}

}  // namespace
}  // namespace ordo
