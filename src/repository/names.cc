#include "repository/names.h"

#include <cassert>
#include <random>

#include "fmt/format.h"
#include "util/time_format.h"

namespace ordo::repository {

std::string NewBackupId(int64_t wall_micros) {
  std::random_device random;
  const uint64_t micros_in_second = static_cast<uint64_t>(wall_micros % 1000000);
  static_assert(999999ull * 4096 + 4095 <= 0xffffffffull, "the suffix fits 8 hex digits");
  std::string id = fmt::format("{}-{:08x}", FormatCompactUtc(wall_micros / 1000000),
                               micros_in_second * 4096 + (random() & 0xfff));
  assert(IsValidBackupId(id));  // the pair of the check every reader makes
  return id;
}

bool IsValidBackupId(const std::string& backup_id) {
  // yyyymmddThhmmssZ-xxxxxxxx
  static constexpr char kShape[] = "ddddddddTddddddZ-hhhhhhhh";
  if (backup_id.size() != sizeof(kShape) - 1) return false;
  for (size_t i = 0; i < backup_id.size(); ++i) {
    const char c = backup_id[i];
    const bool digit = c >= '0' && c <= '9';
    switch (kShape[i]) {
      case 'd':
        if (!digit) return false;
        break;
      case 'h':
        if (!digit && !(c >= 'a' && c <= 'f')) return false;
        break;
      default:
        if (c != kShape[i]) return false;
    }
  }
  return true;
}

std::string SegmentKey(const std::string& database_id_hex, uint64_t segment_id,
                       uint64_t footer_checksum) {
  return fmt::format("{}:{}:{:016x}", database_id_hex, segment_id, footer_checksum);
}

}  // namespace ordo::repository
