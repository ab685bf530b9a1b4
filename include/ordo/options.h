// Options for opening a database, and the report that opening produces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ordo {

class FileSystem;

// When a write is acknowledged.
enum class SyncMode {
  kAlways,    // after its bytes are durable (fdatasync): nothing acknowledged is ever lost
  kEverySec,  // after write(2); fdatasync at most once a second: a crash loses <= ~1 s
  kNone,      // after write(2); never fdatasync except at seal and close: a crash of the
              // machine (not of the process) loses whatever the kernel had not flushed
};

const char* SyncModeName(SyncMode mode);
// Parses "always", "everysec", "none"; false for anything else.
bool ParseSyncMode(const std::string& text, SyncMode* mode);

// Limits (refused at the boundary with Status::InvalidArgument).
inline constexpr uint64_t kKeyBytesMax = 64 * 1024;
inline constexpr uint64_t kValueBytesMax = 512ull * 1024 * 1024;
inline constexpr uint64_t kSegmentBytesMin = 64 * 1024;
inline constexpr uint64_t kSegmentBytesMax = 1024ull * 1024 * 1024;
inline constexpr uint64_t kSegmentBytesDefault = 64ull * 1024 * 1024;

struct Options {
  // The file system all I/O goes through; null means FileSystem::Default().
  FileSystem* file_system = nullptr;
  bool create_if_missing = true;
  // Open without the lock, write nothing, never cut a tail: for reading a directory another
  // process may be writing (ordo dump, ordo check on a live directory). The state read is the
  // longest consistent prefix of the log found at open.
  bool read_only = false;
  SyncMode sync_mode = SyncMode::kAlways;
  // A segment is sealed when the next record would take it past this size. A record larger than
  // a whole segment gets a segment of its own.
  uint64_t segment_bytes = kSegmentBytesDefault;
  // Integrity level at open, 0..3 (docs/OPERATIONS.md); -1 chooses: 0 after a clean shutdown,
  // 1 by default, 2 after an unclean shutdown.
  int integrity_level = -1;
  // A background checkpoint is written once this many log bytes were written since the last
  // one; 0 disables background checkpoints (one is still written at a clean close).
  uint64_t checkpoint_interval_bytes = 512ull * 1024 * 1024;
  // Expired keys are found and deleted (a logged delete) by a background sweep at this period;
  // 0 disables the sweep (reads still treat expired keys as absent).
  uint32_t expiry_sweep_interval_ms = 100;
};

// What opening did, for the startup summary and for `ordo check`.
struct OpenReport {
  int integrity_level = 0;
  bool previous_shutdown_clean = false;
  bool created_database = false;  // this open created the database (no previous shutdown)
  uint64_t keys = 0;
  uint64_t segments = 0;
  uint64_t log_bytes = 0;
  uint64_t last_lsn = 0;
  std::string checkpoint;         // the checkpoint file used, empty when none
  uint64_t replayed_records = 0;  // records replayed after the checkpoint
  uint64_t verified_records = 0;  // records whose checksum was checked
  uint64_t torn_tail_bytes = 0;   // bytes cut from the end of the active segment
  // The records a cut removed: from the LSN expected where it cut, through the highest LSN of a
  // whole record found after that point (0 when none was found). Both 0 when nothing was cut.
  // Never acknowledged in sync mode `always` (docs/OPERATIONS.md, "The startup summary").
  uint64_t cut_from_lsn = 0;
  uint64_t cut_through_lsn = 0;
  std::vector<std::string> actions;  // each recovery action, one sentence each
  int64_t duration_micros = 0;
};

}  // namespace ordo
