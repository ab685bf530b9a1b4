// Recovery: from the files in a data directory to an index and a log ready to append.
//
//   1. Inventory: every segment's header is checked (magic, version, database id, id matches
//      its name, ids contiguous), every segment but the newest must be sealed, and the chain
//      holds: each header names the previous footer's checksum and continues its LSNs.
//   2. Checkpoint: the newest checkpoint that loads cleanly and fits the log is used; one that
//      does not is ignored (and the next older tried) with a reason in the report.
//   3. Replay: sealed segments from the checkpoint's position, verifying every record read.
//   4. The newest segment, sealed or not, is always read whole: every record verified, LSNs
//      continuous. The first bytes that are not a whole valid record end it: if no record of
//      this log follows them that was written after they were durable (each record names the
//      LSN durable when it was written), they are a torn write and are cut (truncate + fsync),
//      with the seal footer if it persisted before them (a torn seal); otherwise it is damage
//      and recovery stops with Corruption naming the file and offset. docs/FORMAT.md, "End of
//      records", has the rule.
//   Level 3 also reads every record of every sealed segment, checks each seal's checksum, and
//   rebuilds the index from the whole log to compare it with the checkpoint's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "index/index.h"
#include "log/format.h"
#include "ordo/file_system.h"
#include "ordo/options.h"
#include "util/checksum.h"

namespace ordo::db {

struct SegmentState {
  uint64_t id = 0;
  std::string path;
  uint64_t file_size = 0;
  log::SegmentHeader header;
  bool sealed = false;
  log::SegmentFooter footer;  // when sealed
  // The seal is known durable: a newer segment was created (only ever after the seal's fsync),
  // even if that one was then removed as incomplete. Then bad bytes in it are damage, never a
  // torn seal.
  bool seal_durable = false;
};

struct RecoveredLog {
  std::vector<SegmentState> segments;  // in id order
  bool has_active = false;             // the last segment is unsealed and is the active one
  uint64_t active_size = 0;            // valid bytes of the active segment (after any cut)
  uint64_t active_records = 0;
  StreamingChecksum active_checksum;  // of the active segment's valid bytes
  uint64_t last_lsn = 0;              // 0 for an empty log
  uint64_t checkpoint_lsn = 0;        // LSN of the checkpoint used, 0 if none
};

struct RecoveryOptions {
  bool read_only = false;
  int integrity_level = 1;
};

// Recovers the log in `directory`/log into the empty `index`.
Status RecoverLog(FileSystem* fs, const std::string& directory, const std::string& database_id,
                  const RecoveryOptions& options, index::Index* index, RecoveredLog* log,
                  OpenReport* report);

// Is the newest checkpoint at the very end of the log (the mark of a clean shutdown)? Cheap:
// reads file sizes and one checkpoint header.
bool ShutdownWasClean(FileSystem* fs, const std::string& directory);

// Applies one verified record found at `record_offset` of segment `segment_id` to `index`.
// Corruption when an op contradicts the state (a hash op on a key holding a string or a set).
Status ApplyRecord(const log::DecodedRecord& record, uint64_t segment_id, uint64_t record_offset,
                   index::Index* index);

}  // namespace ordo::db
