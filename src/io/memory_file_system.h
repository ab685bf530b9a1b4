// An in-memory FileSystem (LevelDB's memenv) for tests and the fuzz harnesses: the code under
// test reads and writes through the FileSystem seam, and a harness that wrote every input to
// disk would spend its time in the kernel instead of in the code. Files are created, appended to,
// reopened, renamed, truncated, made read-only and locked as on a POSIX file system, in a flat
// name space (directories are path prefixes and always exist); every sync succeeds (nothing is
// lost: for crashes use FaultFileSystem). Constructed with Repairs::kRefuse, Truncate,
// ReopenWritableFile, permissions and locks fail with NotSupported instead, so a fuzz harness
// notices if the code under test tries to repair a file it should only read.
// Not thread-safe: one thread at a time.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/file_system.h"

namespace ordo {

class MemoryFileSystem : public FileSystem {
 public:
  enum class Repairs { kAllow, kRefuse };
  explicit MemoryFileSystem(Repairs repairs = Repairs::kAllow) : repairs_(repairs) {}

  // Adds or replaces the file at `path` (a flat name space: directories are path prefixes).
  void SetFile(const std::string& path, std::string contents) {
    files_[path] = std::move(contents);
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    if (read_only_.contains(path)) return Status::IOError(path + ": permission denied");
    files_[path].clear();
    return std::unique_ptr<WritableFile>(new MemoryWritableFile(path, &files_[path]));
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    if (repairs_ == Repairs::kRefuse) return Refuse(path);
    const auto found = files_.find(path);
    if (found == files_.end()) return Status::NotFound(path + ": no such file");
    if (read_only_.contains(path)) return Status::IOError(path + ": permission denied");
    return std::unique_ptr<WritableFile>(new MemoryWritableFile(path, &found->second));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    const auto found = files_.find(path);
    if (found == files_.end()) return Status::NotFound(path + ": no such file");
    return std::unique_ptr<RandomAccessFile>(new MemoryFile(path, &found->second));
  }
  bool FileExists(const std::string& path) override { return files_.count(path) != 0; }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    const auto found = files_.find(path);
    if (found == files_.end()) return Status::NotFound(path + ": no such file");
    return static_cast<uint64_t>(found->second.size());
  }
  Result<int64_t> GetModificationTimeMicros(const std::string& path) override {
    if (!FileExists(path)) return Status::NotFound(path + ": no such file");
    return int64_t{0};
  }
  Result<std::vector<std::string>> GetChildren(const std::string& directory) override {
    std::vector<std::string> names;
    const std::string prefix = directory + "/";
    for (const auto& [path, contents] : files_) {
      if (path.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = path.substr(prefix.size());
      if (rest.find('/') == std::string::npos) names.push_back(rest);
    }
    return names;
  }
  Status CreateDir(const std::string&) override { return Status::Ok(); }
  Status RemoveFile(const std::string& path) override {
    if (files_.erase(path) == 0) return Status::NotFound(path + ": no such file");
    read_only_.erase(path);
    return Status::Ok();
  }
  Status RenameFile(const std::string& source, const std::string& target) override {
    const auto found = files_.find(source);
    if (found == files_.end()) return Status::NotFound(source + ": no such file");
    std::string contents = std::move(found->second);
    files_.erase(found);
    files_[target] = std::move(contents);
    read_only_.erase(target);
    if (read_only_.erase(source) != 0) read_only_.insert(target);
    return Status::Ok();
  }
  Status SyncDir(const std::string&) override { return Status::Ok(); }
  Status SyncFile(const std::string&) override { return Status::Ok(); }
  Status Truncate(const std::string& path, uint64_t size) override {
    if (repairs_ == Repairs::kRefuse) return Refuse(path);
    const auto found = files_.find(path);
    if (found == files_.end()) return Status::NotFound(path + ": no such file");
    if (read_only_.contains(path)) return Status::IOError(path + ": permission denied");
    if (size < found->second.size()) found->second.resize(size);
    return Status::Ok();
  }
  Status SetReadOnly(const std::string& path) override {
    if (repairs_ == Repairs::kRefuse) return Refuse(path);
    if (!FileExists(path)) return Status::NotFound(path + ": no such file");
    read_only_.insert(path);
    return Status::Ok();
  }
  Status SetWritable(const std::string& path) override {
    if (repairs_ == Repairs::kRefuse) return Refuse(path);
    if (!FileExists(path)) return Status::NotFound(path + ": no such file");
    read_only_.erase(path);
    return Status::Ok();
  }
  // Owner read and write: writable, as SetWritable (there are no other users to keep out).
  Status SetOwnerOnly(const std::string& path) override { return SetWritable(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    if (repairs_ == Repairs::kRefuse) return Refuse(path);
    if (locked_.contains(path)) return Status::Busy(path + ": locked by another open");
    files_.try_emplace(path);
    locked_.insert(path);
    return std::unique_ptr<FileLock>(new MemoryLock(this, path));
  }

 private:
  // Appends to the string the file system holds (std::map nodes do not move, so the pointer
  // stays valid while the file exists; a fixture closes its files before renaming them).
  class MemoryWritableFile : public WritableFile {
   public:
    MemoryWritableFile(std::string path, std::string* contents)
        : path_(std::move(path)), contents_(contents) {}
    Status Append(std::string_view bytes) override {
      contents_->append(bytes);
      return Status::Ok();
    }
    Status Sync() override { return Status::Ok(); }
    Status SyncAll() override { return Status::Ok(); }
    Status Close() override { return Status::Ok(); }
    Status Preallocate(uint64_t) override { return Status::Ok(); }
    Status TrimPreallocation() override { return Status::Ok(); }
    uint64_t Size() const override { return contents_->size(); }
    const std::string& path() const override { return path_; }

   private:
    const std::string path_;
    std::string* const contents_;
  };

  class MemoryFile : public RandomAccessFile {
   public:
    MemoryFile(std::string path, const std::string* contents)
        : path_(std::move(path)), contents_(contents) {}
    Status Read(uint64_t offset, size_t count, char* scratch, size_t* read_count) const override {
      *read_count = 0;
      if (offset >= contents_->size()) return Status::Ok();
      *read_count = std::min<uint64_t>(count, contents_->size() - offset);
      std::memcpy(scratch, contents_->data() + offset, *read_count);
      return Status::Ok();
    }
    const std::string& path() const override { return path_; }

   private:
    const std::string path_;
    const std::string* const contents_;  // owned by the file system, which outlives the file
  };

  class MemoryLock : public FileLock {
   public:
    MemoryLock(MemoryFileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
    ~MemoryLock() override { fs_->locked_.erase(path_); }

   private:
    MemoryFileSystem* const fs_;  // outlives its locks
    const std::string path_;
  };

  static Status Refuse(const std::string& path) {
    return Status::NotSupported(path + ": this in-memory file system refuses repairs");
  }

  const Repairs repairs_;
  std::map<std::string, std::string> files_;
  std::set<std::string> read_only_;
  std::set<std::string> locked_;
};

}  // namespace ordo
