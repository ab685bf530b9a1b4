// A FileSystem that forwards every call to another (LevelDB's EnvWrapper): a model or a test
// hook overrides only the calls it changes and inherits the rest.
//
// Thread-safe as its target is; the target is not owned and must outlive this object and every
// file opened through it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ordo/file_system.h"

namespace ordo {

class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(FileSystem* target) : target_(target) {}

  FileSystem* target() const { return target_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return target_->NewWritableFile(path);
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    return target_->ReopenWritableFile(path);
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return target_->NewRandomAccessFile(path);
  }
  bool FileExists(const std::string& path) override { return target_->FileExists(path); }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    return target_->GetFileSize(path);
  }
  Result<int64_t> GetModificationTimeMicros(const std::string& path) override {
    return target_->GetModificationTimeMicros(path);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& directory) override {
    return target_->GetChildren(directory);
  }
  Status CreateDir(const std::string& directory) override { return target_->CreateDir(directory); }
  Status RemoveFile(const std::string& path) override { return target_->RemoveFile(path); }
  Status RenameFile(const std::string& source, const std::string& target) override {
    return target_->RenameFile(source, target);
  }
  Status SyncDir(const std::string& directory) override { return target_->SyncDir(directory); }
  Status SyncFile(const std::string& path) override { return target_->SyncFile(path); }
  Status Truncate(const std::string& path, uint64_t size) override {
    return target_->Truncate(path, size);
  }
  Status SetReadOnly(const std::string& path) override { return target_->SetReadOnly(path); }
  Status SetWritable(const std::string& path) override { return target_->SetWritable(path); }
  Status SetOwnerOnly(const std::string& path) override { return target_->SetOwnerOnly(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return target_->LockFile(path);
  }

 private:
  FileSystem* const target_;
};

}  // namespace ordo
