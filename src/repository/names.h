// The names the repository format gives to backups and sealed segments (docs/FORMAT.md,
// "Backup repository"): one generator and one validator each.
#pragma once

#include <cstdint>
#include <string>

namespace ordo::repository {

// "<yyyymmddThhmmssZ>-<8 hex>" for a backup started at `wall_micros`. The 8 hex digits are the
// microseconds within the second times 4096 plus 12 random bits, so ids sort by start time to
// the microsecond and two backups in the same microsecond still differ.
std::string NewBackupId(int64_t wall_micros);

// True for the shape NewBackupId produces, "<yyyymmddThhmmssZ>-<8 hex>" (so an id is always a
// safe file name).
bool IsValidBackupId(const std::string& backup_id);

// "<database id hex>:<segment id>:<footer checksum, 16 hex digits>": identifies one sealed
// segment of one database; equal keys mean equal bytes (the footer checksums the segment).
std::string SegmentKey(const std::string& database_id_hex, uint64_t segment_id,
                       uint64_t footer_checksum);

}  // namespace ordo::repository
