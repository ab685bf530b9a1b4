// What every copy between a data directory and a repository shares (backup, restore, verify):
// the chunk size that bounds its memory and the progress it reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace ordo::repository {

// Each read of a source file asks for at most this many bytes.
inline constexpr size_t kCopyChunkBytes = 1024 * 1024;

// Progress of a copy (backup, restore, verify): called after every chunk and at every new
// file, from the calling thread. Must be cheap.
struct TransferProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  std::string current_file;  // relative path in the data directory
};
using ProgressCallback = std::function<void(const TransferProgress&)>;

}  // namespace ordo::repository
