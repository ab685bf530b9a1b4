// An in-memory FileSystem for the fuzz harnesses: the parsers under test read their input
// through the FileSystem seam, and a harness that wrote every input to disk would spend its
// time in the kernel instead of in the parser. Files can be created, appended to and renamed
// (so a harness can build its fixtures with the real writers); Truncate, permissions and locks
// fail with NotSupported, so a harness notices if the code under test tries to repair a file
// it should only read. Not thread-safe: the harnesses are single-threaded.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/file_system.h"

namespace ordo::fuzz {

class MemoryFileSystem : public FileSystem {
 public:
  // Adds or replaces the file at `path` (a flat name space: directories are path prefixes).
  void SetFile(const std::string& path, std::string contents) {
    files_[path] = std::move(contents);
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    files_[path].clear();
    return std::unique_ptr<WritableFile>(new MemoryWritableFile(path, &files_[path]));
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    return Refuse(path);
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
    return Status::Ok();
  }
  Status RenameFile(const std::string& source, const std::string& target) override {
    const auto found = files_.find(source);
    if (found == files_.end()) return Status::NotFound(source + ": no such file");
    std::string contents = std::move(found->second);
    files_.erase(found);
    files_[target] = std::move(contents);
    return Status::Ok();
  }
  Status SyncDir(const std::string&) override { return Status::Ok(); }
  Status SyncFile(const std::string&) override { return Status::Ok(); }
  Status Truncate(const std::string& path, uint64_t) override { return Refuse(path); }
  Status SetReadOnly(const std::string& path) override { return Refuse(path); }
  Status SetWritable(const std::string& path) override { return Refuse(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return Refuse(path);
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

  static Status Refuse(const std::string& path) {
    return Status::NotSupported(path + ": the fuzzing file system is read-only");
  }

  std::map<std::string, std::string> files_;
};

}  // namespace ordo::fuzz
