// A repository in a local directory (or anything mounted as one): the Store of today.
//
// Files are published through AtomicFile (io/atomic_file.h): bytes to a temporary ".tmp-<8 hex>"
// in the final name's directory, fsync, mode 0444, rename (never over an existing file), fsync
// of the directory. A crash leaves at most temporaries, which `ordo prune` removes
// (RemoveTemporaryFiles in restore/prune.h). Directories are created on first use, each made
// durable in its parent before a file lands in it. All I/O goes through the FileSystem seam.
#pragma once

#include <memory>
#include <string>

#include "ordo/file_system.h"
#include "repository/store.h"

namespace ordo::repository {

// The temporary files of a local store start with this.
inline constexpr char kTemporaryPrefix[] = ".tmp-";

std::unique_ptr<Store> NewLocalStore(FileSystem* fs, std::string root);

}  // namespace ordo::repository
