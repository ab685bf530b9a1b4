// What every Store shares, built on its virtual operations.
#include "repository/store.h"

namespace ordo::repository {

std::string ParentName(const std::string& name) {
  const size_t slash = name.find_last_of('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

Status Store::Put(const std::string& name, std::string_view contents, bool* published) {
  ORDO_ASSIGN_OR_RETURN(auto file, Create(ParentName(name)));
  ORDO_RETURN_IF_ERROR(file->file()->Append(contents));
  return file->Commit(name, published);
}

Result<std::string> Store::ReadSmall(const std::string& name, uint64_t max_bytes,
                                     std::string_view what) {
  ORDO_ASSIGN_OR_RETURN(auto file, Open(name));
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, Size(name));
  if (size > max_bytes) {
    return Status::Corruption(Describe(name) + ": " + std::to_string(size) +
                              " bytes, too large for " + std::string(what));
  }
  std::string contents(static_cast<size_t>(size), '\0');
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(file->Read(0, contents.size(), contents.data(), &read_count));
  contents.resize(read_count);
  return contents;
}

}  // namespace ordo::repository
