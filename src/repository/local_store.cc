#include "repository/local_store.h"

#include <cassert>
#include <utility>

#include "io/atomic_file.h"
#include "repository/keys.h"

namespace ordo::repository {

namespace {

class LocalStore final : public Store {
 public:
  LocalStore(FileSystem* fs, std::string root) : fs_(fs), root_(std::move(root)) {}

  std::string Describe(const std::string& name) const override { return PathOf(name); }

  Status CreateRoot() override {
    if (fs_->FileExists(root_)) return Status::Ok();
    ORDO_RETURN_IF_ERROR(fs_->CreateDir(root_));
    return fs_->SyncDir(DirectoryOf(root_));
  }

  Status MakeDirectory(const std::string& directory) override {
    assert(!directory.empty());
    const std::string path = PathOf(directory);
    if (fs_->FileExists(path)) return Status::Ok();
    const std::string parent = ParentName(directory);
    if (!parent.empty()) ORDO_RETURN_IF_ERROR(MakeDirectory(parent));
    ORDO_RETURN_IF_ERROR(fs_->CreateDir(path));
    return fs_->SyncDir(PathOf(parent));
  }

  Result<std::unique_ptr<NewFile>> Create(const std::string& directory) override {
    if (!directory.empty()) ORDO_RETURN_IF_ERROR(MakeDirectory(directory));
    const std::string temporary = PathOf(directory) + "/" + kTemporaryPrefix + RandomHex(8);
    ORDO_ASSIGN_OR_RETURN(
        auto file, AtomicFile::Create(fs_, temporary,
                                      {.overwrite = Overwrite::kKeepExisting, .read_only = true}));
    return std::unique_ptr<NewFile>(new LocalNewFile(this, directory, std::move(file)));
  }

  Status Replace(const std::string& name, std::string_view contents) override {
    const std::string directory = ParentName(name);
    if (!directory.empty()) ORDO_RETURN_IF_ERROR(MakeDirectory(directory));
    ORDO_ASSIGN_OR_RETURN(
        auto file,
        AtomicFile::Create(fs_, PathOf(directory) + "/" + kTemporaryPrefix + RandomHex(8), {}));
    ORDO_RETURN_IF_ERROR(file->file()->Append(contents));
    return file->Commit(PathOf(name));
  }

  bool Exists(const std::string& name) override { return fs_->FileExists(PathOf(name)); }
  Result<uint64_t> Size(const std::string& name) override { return fs_->GetFileSize(PathOf(name)); }
  Result<int64_t> ModifiedMicros(const std::string& name) override {
    return fs_->GetModificationTimeMicros(PathOf(name));
  }
  Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& name) override {
    return fs_->NewRandomAccessFile(PathOf(name));
  }
  Result<std::vector<std::string>> List(const std::string& directory) override {
    ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(PathOf(directory)));
    std::erase_if(names,
                  [](const std::string& name) { return name.starts_with(kTemporaryPrefix); });
    return names;
  }

  Status Remove(const std::string& name) override {
    ORDO_RETURN_IF_ERROR(fs_->RemoveFile(PathOf(name)));
    return fs_->SyncDir(PathOf(ParentName(name)));
  }

  Status Move(const std::string& from, const std::string& to) override {
    const std::string directory = ParentName(to);
    if (!directory.empty()) ORDO_RETURN_IF_ERROR(MakeDirectory(directory));
    ORDO_RETURN_IF_ERROR(fs_->RenameFile(PathOf(from), PathOf(to)));
    // The target's directory first: after a crash the file is under one name, never none.
    ORDO_RETURN_IF_ERROR(fs_->SyncDir(PathOf(directory)));
    return fs_->SyncDir(PathOf(ParentName(from)));
  }

 private:
  class LocalNewFile final : public NewFile {
   public:
    LocalNewFile(LocalStore* store, std::string directory, std::unique_ptr<AtomicFile> file)
        : store_(store), directory_(std::move(directory)), file_(std::move(file)) {}
    WritableFile* file() override { return file_->file(); }
    Status Commit(const std::string& name, bool* published) override {
      assert(ParentName(name) == directory_);  // named where it was created
      return file_->Commit(store_->PathOf(name), published);
    }

   private:
    LocalStore* const store_;
    const std::string directory_;
    const std::unique_ptr<AtomicFile> file_;
  };

  std::string PathOf(const std::string& name) const {
    return name.empty() ? root_ : root_ + "/" + name;
  }

  FileSystem* const fs_;
  const std::string root_;
};

}  // namespace

std::unique_ptr<Store> NewLocalStore(FileSystem* fs, std::string root) {
  return std::make_unique<LocalStore>(fs, std::move(root));
}

}  // namespace ordo::repository
