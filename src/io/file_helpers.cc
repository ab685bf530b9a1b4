// Helpers built only on the FileSystem interface, so they work on every implementation.
#include <string>

#include "ordo/file_system.h"

namespace ordo {

Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path) {
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
  ORDO_ASSIGN_OR_RETURN(uint64_t size, fs->GetFileSize(path));
  std::string contents(size, '\0');
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(file->Read(0, size, contents.data(), &read_count));
  contents.resize(read_count);
  return contents;
}

Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view contents) {
  const std::string temporary = path + ".tmp";
  {
    ORDO_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(temporary));
    ORDO_RETURN_IF_ERROR(file->Append(contents));
    ORDO_RETURN_IF_ERROR(file->SyncAll());
    ORDO_RETURN_IF_ERROR(file->Close());
  }
  ORDO_RETURN_IF_ERROR(fs->RenameFile(temporary, path));
  const size_t slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash);
  return fs->SyncDir(directory);
}

}  // namespace ordo
