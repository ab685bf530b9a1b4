// The embedding API of ordo: a durable, ordered key-value store whose log is the database.
// This header is the whole contract an embedder uses; what the engine's own server needs beyond
// it (asynchronous and deferred commits, the ack listener, restore points, the log's op codes)
// is internal (src/db/db_internal.h, src/log/write_batch_internal.h).
//
// Threading: a DB is thread-safe. Any number of threads may call any method at once, except
// that the DB must not be destroyed while another thread is inside one of its calls. Writes
// are serialised in one order (their LSN, log sequence number, 1, 2, 3, ...) and made durable
// by group commit: one committer thread writes everything waiting in one write(2) and one
// fdatasync, then acknowledges all of it. Put, Delete and Write return once their write is
// acknowledged (SyncMode::kAlways, the default: once it is on disk).
//
// Visibility: a write is visible to reads from the moment it is sequenced, before it is
// durable, so a read on one thread may see another thread's write that a crash could still take
// back (its Put has not returned yet). Every read therefore says which LSN it observed
// (ReadInfo::observed_lsn); an embedder that acts on what it read in a way that must survive a
// crash (replies to a client, tells another system) first calls WaitForAck(observed_lsn). A
// thread's own writes are acknowledged once its Put/Delete/Write returned OK. If the database
// fails (an I/O error), writes not yet durable are dropped from view.
//
// Errors: every call that can fail returns a Status (or a Result); no call throws, except
// std::bad_alloc when memory runs out (as the standard library's containers do). After a
// failed write or sync the database is in the failed state: every later write returns
// Status::Failed naming the original error, reads go on serving what is durable.
//
// Ownership: DB::Open gives the caller the DB (a std::unique_ptr); destroying it closes it. The
// FileSystem in Options::file_system is not owned and must outlive the DB. A DB is neither
// copyable nor movable. Apart from Options::file_system, no call keeps a pointer or reference
// to its arguments after it returns; callbacks (`visit`) run only during the call taking them.
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
  // Removes `key`; logged even if it is absent (then the state does not change).
  void Delete(std::string_view key);
  // Removes every key (of every database a server keeps: FLUSHALL); named so, unlike LevelDB's
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
  // The newest LSN this read saw that was not yet acknowledged (durable), 0 if none: what to
  // pass to DB::WaitForAck before acting on the read ("Visibility" above).
  uint64_t observed_lsn = 0;
};

// The state digest: an order-independent 128-bit hash of every live entry, the sum (mod 2^64 in
// each half) of XXH3-128(entry) over all entries. Equal digests mean equal states.
struct StateDigest {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const StateDigest& other) const = default;
  std::string ToHex() const;  // 32 lower-case hex digits, high half first
};

// A snapshot of the engine's counters (DB::GetStatistics).
struct Statistics {
  uint64_t keys = 0;
  uint64_t keys_with_expiry = 0;
  uint64_t last_lsn = 0;     // the newest LSN sequenced (visible, maybe not durable yet)
  uint64_t acked_lsn = 0;    // the newest LSN acknowledged
  uint64_t durable_lsn = 0;  // the newest LSN known to be on disk (fdatasync done)
  uint64_t segments = 0;
  uint64_t active_segment_id = 0;
  uint64_t log_bytes = 0;
  uint64_t commits = 0;  // records written since open
  uint64_t syncs = 0;    // fdatasync calls since open
  // Groups committed on a caller's thread rather than the committer thread (the server's event
  // loop commits its own writes); always 0 for an embedder.
  uint64_t caller_groups = 0;
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

  // Closes: stops accepting writes, makes everything sequenced durable, writes a checkpoint and
  // marks the shutdown clean, then releases the directory. Returns the error that failed the
  // database if it failed (then nothing more is written: the next open recovers), or the error
  // of the final sync or checkpoint. Writes racing Close are either made durable or get Failed.
  // A second call does nothing (it returns the database's failure, if any). Afterwards writes
  // get Failed (NotSupported when read-only) and reads answer from the state at close; the only
  // other thing to do is to destroy the DB. The destructor closes too, but cannot report errors.
  virtual Status Close() = 0;
  virtual ~DB() = default;

  // ---- Reads. Never block on the disk's syncs, and see writes from the moment they are
  // sequenced ("Visibility" above).

  // Reads `key` into *value (not null). NotFound when the key is absent or expired; then *value
  // is left unchanged and *info holds only observed_lsn (an absence can be unacknowledged too: a
  // delete not yet durable). Corruption when the stored value fails its checksum (naming file
  // and offset), IOError when it cannot be read; then *value is unspecified. `info` is optional.
  // Reading an expired key logs its deletion (as the expiry sweep does; not when read-only).
  virtual Status Get(std::string_view key, std::string* value, ReadInfo* info = nullptr) = 0;
  // Like Get without reading the value (so neither Corruption nor IOError); `info` not null.
  virtual Status GetInfo(std::string_view key, ReadInfo* info) = 0;

  // ---- Writes: each waits until its write is acknowledged per the sync mode (SyncMode::kAlways:
  // fdatasync done), and returns OK then. InvalidArgument for a key, value or batch over its
  // limit (nothing written); Failed once the database has failed (naming the first error; a
  // write whose own commit failed is no longer visible, and may or may not be there after a
  // restart: its sync did not return) or is closing; NotSupported on a read-only open.
  // Concurrent writes are ordered by LSN; each is atomic.
  virtual Status Put(std::string_view key, std::string_view value, int64_t expire_at_ms = 0) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // Applies every op of `batch` as one commit (WriteBatch). An empty batch writes nothing; it
  // returns once every write sequenced before it is acknowledged.
  virtual Status Write(WriteBatch batch) = 0;

  // ---- Durability of what a read observed.

  // Blocks until every write up to `lsn` is acknowledged (OK: durable per the sync mode), or
  // the database fails first (Failed: the write may be lost). OK at once for 0 or an LSN already
  // acknowledged.
  virtual Status WaitForAck(uint64_t lsn) = 0;
  // The newest acknowledged LSN: every write with a smaller or equal LSN is durable per the sync
  // mode. Never blocks.
  virtual uint64_t AckedLsn() const = 0;

  // ---- Iteration: entries in key order, in batches. Not a point-in-time snapshot: an entry
  // changed during a scan may show either version.

  struct ScanEntry {
    std::string key;
    ReadInfo info;
  };
  // Visits at most `limit` (> 0) live keys with start <= key < end (empty end = no bound),
  // calls `visit` for each on the calling thread (without any lock held: `visit` may call into
  // the DB), and returns the key to start the next batch from, or an empty string when the
  // range is exhausted. Reads no values, so it cannot fail.
  virtual std::string Scan(std::string_view start, std::string_view end, size_t limit,
                           const std::function<void(const ScanEntry&)>& visit) = 0;
  // Calls `visit` for every live key with start <= key < end (empty end = no bound) in order,
  // with its value (valid only during the call), on the calling thread without any lock held;
  // stops early when `visit` returns false. Reads values one at a time (memory stays flat). Not
  // a snapshot, as Scan. Returns OK, or the first read error (Corruption, IOError), after which
  // nothing more is visited.
  virtual Status ForEach(std::string_view start, std::string_view end,
                         const std::function<bool(std::string_view key, std::string_view value,
                                                  const ReadInfo& info)>& visit) = 0;

  // ---- State. CountKeys, Digest, ComputeDigest and GetStatistics go on answering on a failed
  // database (from what is durable).

  // The number of live keys, counting writes sequenced but not yet acknowledged (expired keys
  // not yet deleted count too). A directory written by a server may hold keys in numbered
  // databases (Redis's SELECT): Get, GetInfo, Scan and ForEach address database 0, while
  // CountKeys, Digest and ComputeDigest cover every database.
  virtual uint64_t CountKeys() = 0;
  // The state digest as maintained, at AckedLsn(); O(1).
  virtual StateDigest Digest() = 0;
  // Recomputes the digest from every value in the log (the acknowledged state, as Digest()),
  // checking each value's stored hash: Corruption (naming file and offset) or IOError on the
  // first value that fails. Reads the whole database. Not a snapshot: with writes going on
  // meanwhile the result matches no single state, so compare it with Digest() when quiet.
  virtual Result<StateDigest> ComputeDigest() = 0;
  virtual Statistics GetStatistics() = 0;
  // Writes an index checkpoint now (docs/FORMAT.md) at the acknowledged LSN, which makes the
  // next open faster, and waits for it. Failed if the database failed or is closed, or on a
  // read-only open. An error writing the checkpoint file (IOError, NoSpace) is returned and
  // leaves the database working (a checkpoint is derived data); an error syncing the log
  // before it fails the database, as every sync error does.
  virtual Status Checkpoint() = 0;
};

// Verifies a database directory without opening it for writing (ordo check; safe on a
// directory another process is writing). `level` 0..3 (docs/OPERATIONS.md); `fs` as
// Options::file_system (null = the default). Fills *report (not null) with what it found, also
// on failure; returns Corruption naming file and offset for damage, or the errors of DB::Open.
Status CheckDatabase(const std::string& directory, int level, FileSystem* fs, OpenReport* report);

}  // namespace ordo
