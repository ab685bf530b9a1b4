// Publishing a file atomically: its bytes go to a temporary file, then Commit fsyncs it, gives
// it its final name by rename and fsyncs the directory, so that after a crash the final name
// holds either its earlier state (nothing, or the old contents) or every new byte, never a part.
// The one implementation of that step: the data directory's small files, index checkpoints,
// key files and the repository's local directory all publish through it.
//
// The temporary's name is the caller's (each folder has its rule for leftovers: `*.tmp` beside
// a checkpoint, `.tmp-*` in a repository, which prune removes); it must be in the final name's
// directory, since rename is atomic only within one file system.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ordo/file_system.h"

namespace ordo {

enum class Overwrite {
  kReplace,       // rename over an existing file (a checkpoint, a lease, IDENTITY)
  kKeepExisting,  // write-once: if the final name exists, discard the temporary
};

class AtomicFile {
 public:
  struct Options {
    Overwrite overwrite = Overwrite::kReplace;
    bool owner_only = false;  // mode 0600 before the first byte is written (secrets)
    bool read_only = false;   // mode 0444 before the file gets its name (write-once storage)
  };

  // Creates (truncates) `temporary_path`. On error nothing is left behind.
  static Result<std::unique_ptr<AtomicFile>> Create(FileSystem* fs, std::string temporary_path,
                                                    Options options);
  // Removes the temporary unless Commit published it (best effort: a crash leaves it to the
  // folder's leftover rule).
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where to write the bytes; valid until Commit.
  WritableFile* file() { return file_.get(); }
  const std::string& temporary_path() const { return temporary_path_; }

  // Fsyncs and closes the temporary, then publishes it as `final_path` (same directory) and
  // fsyncs the directory, also when an existing file was kept (so the final name is durable
  // even if an earlier publisher's fsync failed). `published` (optional) says whether this call
  // created or replaced the final name; with kKeepExisting and a file already there it is false
  // and the temporary is removed. Commit once.
  Status Commit(const std::string& final_path, bool* published = nullptr);

 private:
  AtomicFile(FileSystem* fs, std::string temporary_path, Options options,
             std::unique_ptr<WritableFile> file);

  FileSystem* const fs_;
  const std::string temporary_path_;
  const Options options_;
  std::unique_ptr<WritableFile> file_;
  bool committed_ = false;
};

// The directory part of `path` ("." when it has none, "/" for a file in the root).
std::string DirectoryOf(const std::string& path);

}  // namespace ordo
