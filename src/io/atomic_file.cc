#include "io/atomic_file.h"

#include <cassert>
#include <utility>

namespace ordo {

std::string DirectoryOf(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const size_t slash = trimmed.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : trimmed.substr(0, slash);
}

AtomicFile::AtomicFile(FileSystem* fs, std::string temporary_path, Options options,
                       std::unique_ptr<WritableFile> file)
    : fs_(fs),
      temporary_path_(std::move(temporary_path)),
      options_(options),
      file_(std::move(file)) {}

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(FileSystem* fs, std::string temporary_path,
                                                       Options options) {
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(temporary_path));
  if (options.owner_only) {
    // Before the first byte, so a secret is never readable by others, not even briefly.
    const Status restricted = fs->SetOwnerOnly(temporary_path);
    if (!restricted.ok()) {
      (void)file->Close();
      (void)fs->RemoveFile(temporary_path);
      return restricted;
    }
  }
  return std::unique_ptr<AtomicFile>(
      new AtomicFile(fs, std::move(temporary_path), options, std::move(file)));
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (file_ != nullptr) (void)file_->Close();
  (void)fs_->RemoveFile(temporary_path_);
}

Status AtomicFile::Commit(const std::string& final_path, bool* published) {
  assert(!committed_ && file_ != nullptr);  // once
  assert(DirectoryOf(final_path) == DirectoryOf(temporary_path_));
  if (published != nullptr) *published = false;
  ORDO_RETURN_IF_ERROR(file_->SyncAll());
  const Status closed = file_->Close();
  file_.reset();
  ORDO_RETURN_IF_ERROR(closed);
  if (options_.read_only) ORDO_RETURN_IF_ERROR(fs_->SetReadOnly(temporary_path_));
  if (options_.overwrite == Overwrite::kKeepExisting && fs_->FileExists(final_path)) {
    // Never rename over it: write-once storage may hold it. The destructor removes ours.
    return fs_->SyncDir(DirectoryOf(final_path));
  }
  ORDO_RETURN_IF_ERROR(fs_->RenameFile(temporary_path_, final_path));
  committed_ = true;
  if (published != nullptr) *published = true;
  return fs_->SyncDir(DirectoryOf(final_path));
}

}  // namespace ordo
