// The file-system seam. Every byte ordo reads or writes goes through a FileSystem, so tests can
// substitute one that forgets unsynced data, tears writes, or fails the Nth call (see
// src/io/fault_file_system.h). The POSIX implementation is FileSystem::Default().
//
// Contract for all calls: on failure they return a Status naming the path (and the offset where
// one applies); ENOSPC and EDQUOT become Status::NoSpace, every other errno Status::IOError.
// Objects are not thread-safe unless stated; a FileSystem itself is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/status.h"

namespace ordo {

// A file opened for appending. Bytes are durable only after Sync() returns OK.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `bytes` at the end of the file (a short write is retried until done or error).
  virtual Status Append(std::string_view bytes) = 0;
  // fdatasync: makes every appended byte durable. After a failed Sync the file's state on disk
  // is unknown; callers must stop writing to it (ordo never retries a failed sync).
  virtual Status Sync() = 0;
  // fsync: like Sync, and also the file's metadata (used for seals and published files).
  virtual Status SyncAll() = 0;
  virtual Status Close() = 0;
  // Makes the file at least `physical_bytes` long by writing zeros after the logical end (Size()),
  // which does not move: later Appends overwrite the zeros. Why: fdatasync after an append that
  // grows a file must also commit the new size to the journal; an overwrite of bytes already
  // allocated and synced needs no metadata, and costs about half as much. The zeros become
  // durable at the next Sync.
  virtual Status Preallocate(uint64_t physical_bytes) = 0;
  // Cuts any preallocated zeros: the file ends at Size() again.
  virtual Status TrimPreallocation() = 0;
  // The logical size: bytes appended (synced or not), not counting preallocated zeros.
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;
};

// A file opened for positional reads. Thread-safe: Read may be called concurrently.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `count` bytes at `offset` into `scratch`; `*read_count` is less than `count`
  // only at the end of the file.
  virtual Status Read(uint64_t offset, size_t count, char* scratch, size_t* read_count) const = 0;
  virtual const std::string& path() const = 0;
  // Advice: the file will be read from start to end, once (POSIX: posix_fadvise SEQUENTIAL,
  // which doubles the kernel's read-ahead window, so a reader that also computes between reads
  // finds the next bytes already read). Changes no result; failures are ignored. Not DONTNEED:
  // that would evict pages a live server is using (see src/backup/backup_run.h).
  virtual void AdviseSequential() const {}
};

// An advisory exclusive lock on a file, released by destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The POSIX file system. Never null; lives for the whole process.
  static FileSystem* Default();

  // Creates `path` (truncating an existing file) for appending.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens an existing file for appending at its end.
  virtual Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  // Last modification time (Unix microseconds): how old an unreferenced file is, so that prune
  // leaves alone what a running backup or archiver has just written.
  virtual Result<int64_t> GetModificationTimeMicros(const std::string& path) = 0;
  // Names (not paths) of the entries of `directory`, unsorted, without "." and "..".
  virtual Result<std::vector<std::string>> GetChildren(const std::string& directory) = 0;
  // Creates `directory` if it does not exist (not its parents).
  virtual Status CreateDir(const std::string& directory) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Atomic rename; replaces `target` if it exists.
  virtual Status RenameFile(const std::string& source, const std::string& target) = 0;
  // fsync of a directory: makes creations, renames and removals in it durable.
  virtual Status SyncDir(const std::string& directory) = 0;
  // fsync of an existing file through a read-only descriptor (so it works on a read-only file):
  // makes durable what another process, or this one before a crash, wrote to it.
  virtual Status SyncFile(const std::string& path) = 0;
  // Cuts `path` to `size` bytes (used only to cut a torn log tail).
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Removes write permission from `path` (sealed segments are read-only on disk).
  virtual Status SetReadOnly(const std::string& path) = 0;
  // Makes `path` writable again (only to cut a torn tail of a file found read-only).
  virtual Status SetWritable(const std::string& path) = 0;
  // Makes `path` readable and writable by its owner only (mode 0600): files holding a secret.
  virtual Status SetOwnerOnly(const std::string& path) = 0;
  // Takes an exclusive advisory lock on `path`, creating it; Status::Busy if another process
  // (or another open in this process) holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// Reads the whole of a small file.
Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path);

// Publishes `contents` at `path` atomically: writes `path`.tmp, fsyncs it, renames it over
// `path`, fsyncs the directory. After a crash the file either has its old contents (or is
// absent) or has the new contents, never a mixture.
Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view contents);

}  // namespace ordo
