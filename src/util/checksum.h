// Checksums. Records, segments and checkpoints use XXH3-64 (xxHash 0.8): fast enough to check
// every byte on every read, strong enough to catch torn writes and bit rot. Content-addressed
// repository files (later) use SHA-256 from OpenSSL.
#pragma once

#include <cstdint>
#include <string_view>

namespace ordo {

// XXH3-64 of `bytes` with seed 0.
uint64_t Checksum64(std::string_view bytes);

// Streaming XXH3-64, equal to Checksum64 of the concatenation of everything updated.
class StreamingChecksum {
 public:
  StreamingChecksum();
  ~StreamingChecksum();
  StreamingChecksum(const StreamingChecksum& other);
  StreamingChecksum& operator=(const StreamingChecksum& other);

  void Reset();
  void Update(std::string_view bytes);
  uint64_t Digest() const;

 private:
  void* state_;  // XXH3_state_t, opaque here to keep xxhash.h out of every includer
};

}  // namespace ordo
