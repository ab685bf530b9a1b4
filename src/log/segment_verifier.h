// Full verification of one sealed segment (integrity level 3, `ordo check --level 3`): the
// header, every record's checksum and decoding, LSNs continuous from the header's first LSN,
// and the footer's record count, last LSN and whole-segment checksum.
#pragma once

#include <cstdint>
#include <string>

#include "log/format.h"
#include "ordo/file_system.h"

namespace ordo::log {

struct SegmentSummary {
  SegmentHeader header;
  SegmentFooter footer;
  uint64_t records = 0;
};

// Corruption naming the file and offset of the first thing found wrong.
Status VerifySealedSegment(FileSystem* fs, const std::string& path, SegmentSummary* summary);

}  // namespace ordo::log
