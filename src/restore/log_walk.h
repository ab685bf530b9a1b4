// Walking a log commit by commit: every record of a data directory's log or of a backup in a
// repository, in LSN order, handed to a callback with its metadata (LSN, commit time, state
// digest and live key count after it) and its ops. What `ordo log` and `ordo history` print;
// how an operator finds the commit to restore before (a FLUSHALL, a mass overwrite).
//
// Data directory (live or stopped): read-only, no lock, no pause of a running server. The
// walk covers the consistent prefix CaptureBackupSource (backup_source.h) finds when it
// starts: every sealed segment, and the active segment up to its last whole valid record.
// Commits made after that are not shown.
//
// Repository: the log a restore to the newest commit would assemble (archive_plan.h): the
// segments of the newest backup (every backup holds the whole log so far, since segments are
// never removed in this version) and the continuous archive's pieces after it, or the archive
// alone; with a backup id, that backup alone. Each segment is streamed through
// Repository::ReadFile (which verifies it) into a scratch file, then read with the verifying
// SegmentReader and removed. Memory is bounded by the largest record, not the log's size;
// scratch disk by the largest segment.
//
// Every record read is checked: its checksum, its LSN following the previous one across
// segments, each segment's LSN range against what the directory or manifest says. Damage is
// Corruption naming the file and offset; nothing is skipped silently.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "log/format.h"
#include "ordo/file_system.h"
#include "ordo/status.h"
#include "repository/repository.h"

namespace ordo::restore {

// Which commits the callback sees. A commit matches when it passes every filter given.
struct LogWalkFilter {
  std::optional<int64_t> since_micros;  // commit time >= this (Unix microseconds)
  std::optional<int64_t> until_micros;  // commit time <= this
  // Commits with an op on this exact key, or a CLEAR (which removes every key).
  std::optional<std::string> key;
};

struct LogWalkOptions {
  LogWalkFilter filter;
  // Repository: the backup to read ("" or "latest": the newest).
  std::string backup_id;
  // Repository: the database whose log to read ("": the only one the repository holds).
  std::string database_id_hex;
  // Repository: where segments are staged while read. Empty: a fresh directory under the
  // system's temporary directory ($TMPDIR, else /tmp), removed at the end.
  std::string scratch_directory;
};

// One commit as the callback sees it. `record.ops` views bytes that stay valid only during
// the callback.
struct LogCommit {
  const log::DecodedRecord* record = nullptr;
  uint64_t segment_id = 0;
  uint64_t offset = 0;  // where the record starts in its segment file
};

// Returns false to stop the walk (not an error).
using LogVisitor = std::function<bool(const LogCommit& commit)>;

struct LogWalkSummary {
  std::string database_id_hex;
  std::string backup_id;   // repository: the backup read
  uint64_t first_lsn = 0;  // the LSN range the source holds (last < first when empty)
  uint64_t last_lsn = 0;
  uint64_t segments = 0;  // segments read
  uint64_t records_read = 0;
  uint64_t records_matched = 0;
  bool stopped = false;  // the visitor stopped the walk
};

// Walks the log of `data_directory`. NotFound if it is not a data directory.
Status WalkDataDirectory(FileSystem* fs, const std::string& data_directory,
                         const LogWalkOptions& options, const LogVisitor& visitor,
                         LogWalkSummary* summary);

// Walks the log of one backup of `repository` (which must be readable: CanRead). NotFound if
// the repository holds no backup or not the one asked for.
Status WalkRepository(FileSystem* fs, repository::Repository* repository,
                      const LogWalkOptions& options, const LogVisitor& visitor,
                      LogWalkSummary* summary);

// True if `record` touches `key`: an op on it (as the key or the target of a rename or copy),
// or a CLEAR.
bool RecordTouchesKey(const log::DecodedRecord& record, std::string_view key);

// Parses a point in time given on a command line: Unix seconds ("1700000000", fractions
// allowed) or RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.250+02:00"; a space may
// stand for the T; a date alone "2024-05-01" is its midnight UTC). False if malformed.
bool ParseTimeArgument(const std::string& text, int64_t* unix_micros);

// Lower-case name of an op type: "set", "delete", "clear", "expire", "restore-point",
// "flushdb", "set-expiry", "rename", "copy".
const char* OpTypeName(log::OpType type);

}  // namespace ordo::restore
