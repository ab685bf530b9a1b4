// Index checkpoints ("index/<lsn>.idx"): the whole index at one LSN, so that startup replays
// only the log after it. Derived data: a checkpoint that is missing, damaged or does not fit
// the log is ignored and the index rebuilt from the log.
//
// Layout (docs/FORMAT.md, "Index checkpoint"):
//   header (96 bytes): magic "ORDOIDX1" | version u32 | header_bytes u32 | database_id[16] |
//                      lsn u64 | replay_segment_id u64 | replay_offset u64 | entry_count u64 |
//                      digest_low u64 | digest_high u64 | created_time_ms i64 | header_checksum u64
//   entries, in key order: key_length varint | key | segment_id u32 | value_offset u32 |
//                          value_bytes u32 | expire_at_ms i64 | value_hash u64
//   (version 2: key is the index key, the database's number in 2 bytes then the key; version 1,
//   which still loads: the key of database 0; version 3, written only for an index holding a
//   collection: a type byte after the key, and a collection's elements, docs/FORMAT.md)
//   trailer (24 bytes): entry_count u64 | entries_checksum u64 | magic "ORDOIDXE"
// Published atomically: written to "<lsn>.idx.tmp", fsynced, renamed, directory fsynced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "index/index.h"
#include "ordo/file_system.h"

namespace ordo::index {

inline constexpr uint32_t kCheckpointHeaderBytes = 96;
inline constexpr uint32_t kCheckpointTrailerBytes = 24;

struct CheckpointInfo {
  uint32_t version = 0;  // set by WriteCheckpoint (the current) and LoadCheckpoint (the file's)
  std::string database_id;
  uint64_t lsn = 0;                // every record with LSN <= lsn is in the checkpoint
  uint64_t replay_segment_id = 0;  // where the record lsn + 1 starts (or will start)
  uint64_t replay_offset = 0;
  uint64_t entry_count = 0;
  StateDigest digest;
  int64_t created_time_ms = 0;
};

std::string CheckpointFileName(uint64_t lsn);  // "<lsn, 20 digits>.idx"
bool ParseCheckpointFileName(std::string_view name, uint64_t* lsn);

// Writes `index` as the checkpoint described by `info` (entry_count and digest are taken from
// the index) into `index_directory`, atomically.
Status WriteCheckpoint(FileSystem* fs, const std::string& index_directory, const Index& index,
                       CheckpointInfo info);

// Loads the checkpoint at `path` into the empty `index`, verifying every checksum, the entry
// count and the digest. On failure `index` is left empty and the Status names file and offset.
Status LoadCheckpoint(FileSystem* fs, const std::string& path, const std::string& database_id,
                      Index* index, CheckpointInfo* info);

}  // namespace ordo::index
