#include "util/checksum.h"

#include <xxhash.h>

#include <cassert>

namespace ordo {

uint64_t Checksum64(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

StreamingChecksum::StreamingChecksum() : state_(XXH3_createState()) {
  assert(state_ != nullptr);
  Reset();
}
StreamingChecksum::~StreamingChecksum() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
StreamingChecksum::StreamingChecksum(const StreamingChecksum& other) : state_(XXH3_createState()) {
  XXH3_copyState(static_cast<XXH3_state_t*>(state_), static_cast<XXH3_state_t*>(other.state_));
}
StreamingChecksum& StreamingChecksum::operator=(const StreamingChecksum& other) {
  if (this != &other) {
    XXH3_copyState(static_cast<XXH3_state_t*>(state_), static_cast<XXH3_state_t*>(other.state_));
  }
  return *this;
}
void StreamingChecksum::Reset() { XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_)); }
void StreamingChecksum::Update(std::string_view bytes) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
}
uint64_t StreamingChecksum::Digest() const {
  return XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_));
}

}  // namespace ordo
