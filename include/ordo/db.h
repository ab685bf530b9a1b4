// The embedding API of ordo: a durable, ordered key-value store whose log is the database.
//
// Threading: a DB is thread-safe. Any number of threads may read and write at once. Writes are
// serialised in one order (their LSN, log sequence number, 1, 2, 3, ...) and made durable by
// group commit: one committer thread writes everything waiting in one write(2) and one
// fdatasync, then acknowledges all of it.
//
// Visibility: a write is visible to reads from the moment it is sequenced, before it is
// durable. Every read therefore says which LSN it observed (`observed_lsn`); do not act on what
// was read before AckedLsn() >= observed_lsn (WaitForAck), or a crash could take it back.
// If the database fails (an I/O error), writes not yet durable are dropped from view.
//
// Errors: every call that can fail returns a Status (or a Result); after a failed write or sync
// the database is in the failed state: every later write returns Status::Failed naming the
// original error, reads go on serving what is durable. No call throws.
//
// Ownership: Open gives the caller the DB (a std::unique_ptr); destroying it closes it. The
// FileSystem in Options::file_system is not owned and must outlive the DB. A DB is neither
// copyable nor movable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/options.h"
#include "ordo/status.h"

namespace ordo {

// A group of changes applied atomically, as one log record: after a crash all of it or none of
// it is there; they apply in the order added (a later op on a key sees the earlier ones). Adding
// an op only records it: limits are checked when the batch is written (DB::Write): each key <=
// kKeyBytesMax, each value <= kValueBytesMax, the whole batch <= 1 GiB as a log record
// (docs/FORMAT.md), expiry times >= 0; else InvalidArgument naming the limit, nothing written.
// A WriteBatch is a plain value: copyable, movable, not thread-safe (one thread at a time, as a
// std::vector). The ops themselves are the engine's (src/log/write_batch_internal.h).
class WriteBatch {
 public:
  WriteBatch();
  WriteBatch(const WriteBatch& other);
  WriteBatch(WriteBatch&& other) noexcept;
  WriteBatch& operator=(const WriteBatch& other);
  WriteBatch& operator=(WriteBatch&& other) noexcept;
  ~WriteBatch();

  // Sets `key` to `value`. `expire_at_ms`: the Unix time in milliseconds at which the key
  // expires (reads treat it as absent from then on, and its deletion is logged); 0 = never.
  void Put(std::string_view key, std::string_view value, int64_t expire_at_ms = 0);
  // Removes `key` (nothing if it is absent).
  void Delete(std::string_view key);
  // Removes every key of the database (FLUSHDB, FLUSHALL); named so, unlike LevelDB's
  // WriteBatch::Clear, which empties the batch. Ops added after it apply to the empty state.
  void ClearDatabase();

  bool empty() const;
  // The number of ops added.
  size_t size() const;

 private:
  friend class WriteBatchInternal;
  struct Op;  // defined by the log, which records it (src/log/write_batch_internal.h)
  std::vector<Op> ops_;
};

// What a read found besides the value.
struct ReadInfo {
  int64_t expire_at_ms = 0;  // 0 = no expiry
  uint64_t value_bytes = 0;
  uint64_t observed_lsn = 0;  // the newest not-yet-acknowledged LSN this read saw, 0 if none
};

// The state digest: an order-independent 128-bit hash of every live entry, the sum (mod 2^64 in
// each half) of XXH3-128(entry) over all entries. Equal digests mean equal states.
struct StateDigest {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const StateDigest& other) const = default;
  std::string ToHex() const;
};

struct Statistics {
  uint64_t keys = 0;
  uint64_t keys_with_expiry = 0;
  uint64_t last_lsn = 0;     // the newest LSN submitted
  uint64_t acked_lsn = 0;    // the newest LSN acknowledged
  uint64_t durable_lsn = 0;  // the newest LSN known to be on disk (fdatasync done)
  uint64_t segments = 0;
  uint64_t active_segment_id = 0;
  uint64_t log_bytes = 0;
  uint64_t commits = 0;        // records written since open
  uint64_t syncs = 0;          // fdatasync calls since open
  uint64_t caller_groups = 0;  // groups committed on a caller's thread (the server's loop)
  uint64_t bytes_written = 0;  // log bytes written since open
  uint64_t expired_keys = 0;   // keys deleted because their time ran out, since open
  uint64_t checkpoints = 0;    // checkpoints written since open
  uint64_t last_checkpoint_lsn = 0;
  int64_t last_checkpoint_time_ms = 0;
  uint64_t index_bytes = 0;  // estimated memory of the in-memory index
  bool failed = false;
  std::string failure;  // the error that failed the database, when failed
};

class DB {
 public:
  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  // Opens (or, with create_if_missing, creates) the database in `directory`, running recovery
  // at the chosen integrity level, and returns it; the caller owns it. Fails with
  // InvalidArgument for bad options (segment_bytes, integrity_level out of range); NotFound if
  // the directory (or, read-only, its IDENTITY) is missing and may not be created; Busy if
  // another process holds the directory; Corruption naming file and offset for damage that is
  // not a torn tail; NotSupported for a format this build does not know; IOError or NoSpace
  // from the file system. On failure the directory is left unlocked. `report` (optional, owned
  // by the caller) receives what opening did; on a failure after the options were accepted,
  // what it did before it stopped (ordo check prints it).
  static Result<std::unique_ptr<DB>> Open(const Options& options, const std::string& directory,
                                          OpenReport* report = nullptr);

  // Closes: stops accepting writes, makes everything submitted durable, writes a checkpoint and
  // marks the shutdown clean. Also done by the destructor (which cannot report errors).
  virtual Status Close() = 0;
  virtual ~DB() = default;

  // ---- Reads. NotFound when the key is absent or expired; then *value is left unchanged and
  // *info holds only observed_lsn (an absence can be unacknowledged too: a delete not yet
  // durable). On another error (Corruption: the value's checksum failed; IOError) *value is
  // unspecified. `info` is optional.
  virtual Status Get(std::string_view key, std::string* value, ReadInfo* info = nullptr) = 0;
  // Like Get without reading the value.
  virtual Status GetInfo(std::string_view key, ReadInfo* info) = 0;

  // ---- Writes: synchronous forms wait until the write is acknowledged per the sync mode (with
  // SyncMode::kAlways: fdatasync done). InvalidArgument for a key or value over its limit,
  // Failed once the database has failed, NotSupported on a read-only open.
  virtual Status Put(std::string_view key, std::string_view value, int64_t expire_at_ms = 0) = 0;
  virtual Status Delete(std::string_view key) = 0;
  virtual Status Write(WriteBatch batch) = 0;

  // Blocks until `lsn` is acknowledged (OK) or the database failed (Failed).
  virtual Status WaitForAck(uint64_t lsn) = 0;
  // The newest acknowledged LSN: every write with a smaller or equal LSN may be reported done.
  virtual uint64_t AckedLsn() const = 0;

  // ---- Iteration: entries in key order, in batches. Not a point-in-time snapshot: an entry
  // changed during a scan may show either version. Visits at most `limit` (> 0) live keys with
  // start <= key < end (empty end = no bound), calls `visit` for each (without any lock held:
  // `visit` may call into the DB), and returns the key to start the next batch from, or an
  // empty string when the range is exhausted.
  struct ScanEntry {
    std::string key;
    ReadInfo info;
  };
  virtual std::string Scan(std::string_view start, std::string_view end, size_t limit,
                           const std::function<void(const ScanEntry&)>& visit) = 0;
  // Calls `visit` for every live key with start <= key < end (empty end = no bound) in order,
  // with its value; stops early when `visit` returns false. Reads values one at a time (memory
  // stays flat). Not a snapshot, as Scan. Returns the first read error (Corruption, IOError).
  virtual Status ForEach(std::string_view start, std::string_view end,
                         const std::function<bool(std::string_view key, std::string_view value,
                                                  const ReadInfo& info)>& visit) = 0;

  // ---- State.
  virtual uint64_t CountKeys() = 0;
  virtual StateDigest Digest() = 0;  // as maintained, at AckedLsn(); O(1)
  // Recomputes the digest from every value in the log, checking each value's stored hash.
  virtual Result<StateDigest> ComputeDigest() = 0;
  virtual Statistics GetStatistics() = 0;
  // Writes an index checkpoint now (docs/FORMAT.md) at the current acknowledged LSN.
  virtual Status Checkpoint() = 0;
};

// Verifies a database directory without opening it for writing (ordo check). Level 0..3.
// Fills `report`; returns Corruption naming file and offset for damage.
Status CheckDatabase(const std::string& directory, int level, FileSystem* fs, OpenReport* report);

}  // namespace ordo
