// What a backup copies from a data directory, captured without opening the database: it works
// on a directory a running server holds (no lock, no writes, no pause of the server) and on a
// stopped one.
//
// Consistency: the backup is the state at one commit boundary, the last whole valid record of
// the active segment found when the capture read it. Sealed segments never change; the active
// segment is copied only up to that record's end. The state digest and key count at that
// commit come from the record itself (every record carries them), so no index is built and
// memory stays flat whatever the database's size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/db.h"
#include "ordo/file_system.h"

namespace ordo::backup {

enum class SourceKind {
  kIdentity,       // IDENTITY
  kSealedSegment,  // log/<id>.seg, sealed: copied whole, never changes
  kActivePrefix,   // log/<id>.seg, the active segment up to a commit boundary
  kCheckpoint,     // index/<lsn>.idx, the newest with lsn <= the backup's LSN (optional)
};

const char* SourceKindName(SourceKind kind);

struct SourceFile {
  SourceKind kind;
  std::string relative_path;  // inside the data directory: "log/00000000000000000001.seg"
  std::string path;           // on disk
  uint64_t bytes = 0;         // bytes to copy: the whole file, or the active prefix
  uint64_t segment_id = 0;    // segments only
  uint64_t first_lsn = 0;     // segments: the LSN range they hold (last < first when empty)
  uint64_t last_lsn = 0;      // segments: last LSN; checkpoint: its LSN
};

struct BackupSource {
  std::string database_id;  // 16 raw bytes
  uint64_t first_lsn = 0;   // first LSN held by the copied log (1 unless segments were removed)
  uint64_t last_lsn = 0;    // the backup's commit boundary; 0 for an empty database
  int64_t first_commit_time_micros = 0;
  int64_t last_commit_time_micros = 0;  // commit time of last_lsn
  StateDigest digest;                   // state digest at last_lsn
  uint64_t keys = 0;                    // live keys at last_lsn
  std::vector<SourceFile> files;        // restore order: identity, segments by id, checkpoint
};

// Captures what a backup of `data_directory` copies. Checks the segment chain on the way
// (headers, seals, previous-footer hashes), reading every record of the active segment; fails
// with Corruption naming file and offset on damage, NotFound when it is not a data directory.
Status CaptureBackupSource(FileSystem* fs, const std::string& data_directory, BackupSource* source);

}  // namespace ordo::backup
