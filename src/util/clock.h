// Clocks. Wall time (Unix) stamps commits and expiries; monotonic time measures durations.
#pragma once

#include <chrono>
#include <cstdint>

namespace ordo {

inline int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t WallMillis() { return WallMicros() / 1000; }
inline int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ordo
