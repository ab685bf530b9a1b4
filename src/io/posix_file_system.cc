// The POSIX FileSystem: thin wrappers over open/pwrite/pread/fdatasync/rename/flock that turn
// errno into a Status naming the path.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include "ordo/file_system.h"

namespace ordo {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int error_number) {
  std::string message = path + ": " + what + ": " + std::strerror(error_number);
  if (error_number == ENOSPC || error_number == EDQUOT) return Status::NoSpace(message);
  if (error_number == ENOENT) return Status::NotFound(message);
  return Status::IOError(message);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size), physical_size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t written = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
      if (written < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write at offset " + std::to_string(size_), path_, errno);
      }
      size_ += static_cast<uint64_t>(written);
      bytes.remove_prefix(static_cast<size_t>(written));
    }
    if (size_ > physical_size_) physical_size_ = size_;
    return Status::Ok();
  }
  Status Preallocate(uint64_t physical_bytes) override {
    static const std::string zeros(1 << 16, '\0');
    while (physical_size_ < physical_bytes) {
      const size_t count =
          static_cast<size_t>(std::min<uint64_t>(zeros.size(), physical_bytes - physical_size_));
      const ssize_t written =
          ::pwrite(fd_, zeros.data(), count, static_cast<off_t>(physical_size_));
      if (written < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("preallocate at offset " + std::to_string(physical_size_), path_, errno);
      }
      physical_size_ += static_cast<uint64_t>(written);
    }
    return Status::Ok();
  }
  Status TrimPreallocation() override {
    if (physical_size_ == size_) return Status::Ok();
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      return ErrnoStatus("truncate to " + std::to_string(size_), path_, errno);
    }
    physical_size_ = size_;
    return Status::Ok();
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    return Status::Ok();
  }
  Status SyncAll() override {
    if (::fsync(fd_) != 0) return ErrnoStatus("fsync", path_, errno);
    return Status::Ok();
  }
  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    const int result = ::close(fd_);
    fd_ = -1;
    if (result != 0) return ErrnoStatus("close", path_, errno);
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;           // logical end: where the next Append writes
  uint64_t physical_size_;  // >= size_: zeros preallocated after it
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t count, char* scratch, size_t* read_count) const override {
    size_t done = 0;
    while (done < count) {
      const ssize_t got =
          ::pread(fd_, scratch + done, count - done, static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read at offset " + std::to_string(offset + done), path_, errno);
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    *read_count = done;
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }
  void AdviseSequential() const override {
    (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }

 private:
  std::string path_;
  int fd_;
};

// flock() locks belong to the open file description, so a second open in the same process
// would succeed; a process-wide set of held paths makes the second open fail as it should.
std::mutex held_locks_mutex;
std::set<std::string> held_locks;

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    std::lock_guard<std::mutex> guard(held_locks_mutex);
    held_locks.erase(path_);
  }

 private:
  std::string path_;
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, 0));
  }
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open for append", path, errno);
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
      const int error_number = errno;
      ::close(fd);
      return ErrnoStatus("stat", path, error_number);
    }
    return std::unique_ptr<WritableFile>(
        new PosixWritableFile(path, fd, static_cast<uint64_t>(info.st_size)));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
  }
  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return ErrnoStatus("stat", path, errno);
    return static_cast<uint64_t>(info.st_size);
  }
  Result<int64_t> GetModificationTimeMicros(const std::string& path) override {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return ErrnoStatus("stat", path, errno);
    return static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000 + info.st_mtim.tv_nsec / 1000;
  }
  Result<std::vector<std::string>> GetChildren(const std::string& directory) override {
    DIR* handle = ::opendir(directory.c_str());
    if (handle == nullptr) return ErrnoStatus("list directory", directory, errno);
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(handle)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(handle);
    return names;
  }
  Status CreateDir(const std::string& directory) override {
    if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("create directory", directory, errno);
    }
    return Status::Ok();
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("remove", path, errno);
    return Status::Ok();
  }
  Status RenameFile(const std::string& source, const std::string& target) override {
    if (::rename(source.c_str(), target.c_str()) != 0) {
      return ErrnoStatus("rename to " + target, source, errno);
    }
    return Status::Ok();
  }
  Status SyncDir(const std::string& directory) override {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open directory", directory, errno);
    const int result = ::fsync(fd);
    const int error_number = errno;
    ::close(fd);
    if (result != 0) return ErrnoStatus("fsync directory", directory, error_number);
    return Status::Ok();
  }
  Status SyncFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    const int result = ::fsync(fd);
    const int error_number = errno;
    ::close(fd);
    if (result != 0) return ErrnoStatus("fsync", path, error_number);
    return Status::Ok();
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return ErrnoStatus("truncate to " + std::to_string(size), path, errno);
    }
    return Status::Ok();
  }
  Status SetReadOnly(const std::string& path) override {
    if (::chmod(path.c_str(), 0444) != 0) return ErrnoStatus("chmod read-only", path, errno);
    return Status::Ok();
  }
  Status SetWritable(const std::string& path) override {
    if (::chmod(path.c_str(), 0644) != 0) return ErrnoStatus("chmod writable", path, errno);
    return Status::Ok();
  }
  Status SetOwnerOnly(const std::string& path) override {
    if (::chmod(path.c_str(), 0600) != 0) return ErrnoStatus("chmod 0600", path, errno);
    return Status::Ok();
  }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    {
      std::lock_guard<std::mutex> guard(held_locks_mutex);
      if (!held_locks.insert(path).second) {
        return Status::Busy(path + ": already locked by this process");
      }
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error_number = errno;
      if (fd >= 0) ::close(fd);
      std::lock_guard<std::mutex> guard(held_locks_mutex);
      held_locks.erase(path);
      if (error_number == EWOULDBLOCK) {
        return Status::Busy(path +
                            ": locked by another process (is an ordo server running on "
                            "this data directory?)");
      }
      return ErrnoStatus("lock", path, error_number);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(path, fd));
  }
};

}  // namespace

FileSystem* FileSystem::Default() {
  static PosixFileSystem* file_system = new PosixFileSystem();
  return file_system;
}

}  // namespace ordo
