// Helpers built only on the FileSystem interface, so they work on every implementation.
#include <string>

#include "io/atomic_file.h"
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
  ORDO_ASSIGN_OR_RETURN(auto file, AtomicFile::Create(fs, path + ".tmp", {}));
  ORDO_RETURN_IF_ERROR(file->file()->Append(contents));
  return file->Commit(path);
}

}  // namespace ordo
