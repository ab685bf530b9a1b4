// DBImpl: the database. See include/ordo/db.h for the contract; this header for the design.
//
// Write path: Submit() validates the batch, takes mutex_, assigns the next LSN and the record's
// place in the log (segment, offset: rotation is decided here, between records), encodes the
// record into the pending group, and records every change in the overlay so it is visible at
// once. The committer takes the whole pending group, writes it with one write(2) per segment
// (sealing and creating segments where the group crosses one), fdatasyncs once (sync mode
// "always"), applies the group to the index, acknowledges it, and drops the overlay entries the
// index now covers. The committer is the committer thread, woken by Submit(), or a caller of
// CommitPending() (after SubmitDeferred(), which does not wake the thread): committing on the
// caller's thread saves the two thread hand-offs per group, which on a busy machine cost more
// than the write itself. The committer thread still wakes every kDeferredCommitMaxMs, and so
// commits deferred writes nobody commits, writes interval checkpoints and everysec's syncs.
//
// Read path: overlay first (pending, not yet acknowledged writes: the read reports their LSN
// as observed_lsn), then the index, then the value from its segment file, checked against the
// value hash the index holds.
//
// Locks: mutex_ guards the overlay, the pending group and the counters; index_mutex_ guards the
// index (shared for readers, exclusive for the committer's apply). Order: mutex_ before
// index_mutex_; the committer never holds both. commit_mutex_ makes one thread at a time the
// committer (the committer thread, or a caller of CommitPending()): it is held from taking the
// pending group until that group is acknowledged, so groups are written in LSN order, and it
// guards the segment writer and the other committer-only state. Order: commit_mutex_ before
// mutex_.
//
// Failure: any write, sync, seal or segment-creation error fails the database for good:
// pending writes are dropped (their writers get Failed), the overlay is cleared so reads show
// only what is durable, and every later write gets Failed naming the first error.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "db/db_internal.h"
#include "db/recovery.h"
#include "index/index.h"
#include "log/segment_writer.h"
#include "log/write_batch_internal.h"

namespace ordo::db {

// Zeros are written this far ahead of the active segment's end (see WritableFile::Preallocate).
inline constexpr uint64_t kPreallocateChunkBytes = 1 << 20;

class DBImpl final : public DBInternal {
 public:
  DBImpl(const Options& options, std::string directory);
  ~DBImpl() override;

  Status OpenImpl(OpenReport* report);

  Status Close() override;
  Status Get(std::string_view key, std::string* value, ReadInfo* info) override;
  Status GetInfo(std::string_view key, ReadInfo* info) override;
  Status Put(std::string_view key, std::string_view value, int64_t expire_at_ms) override;
  Status Delete(std::string_view key) override;
  Status Write(WriteBatch batch) override;
  Result<uint64_t> Submit(WriteBatch batch) override;
  Result<uint64_t> SubmitDeferred(WriteBatch batch) override;
  Status CommitPending() override;
  Status WaitForAck(uint64_t lsn) override;
  uint64_t AckedLsn() const override { return acked_lsn_.load(std::memory_order_acquire); }
  void SetAckListener(std::function<void()> listener) override;
  std::string Scan(std::string_view start, std::string_view end, size_t limit,
                   const std::function<void(const ScanEntry&)>& visit) override;
  Status ForEach(std::string_view start, std::string_view end,
                 const std::function<bool(std::string_view, std::string_view, const ReadInfo&)>&
                     visit) override;
  uint64_t CountKeys() override;
  StateDigest Digest() override;
  Result<StateDigest> ComputeDigest() override;
  Statistics GetStatistics() override;
  Status Checkpoint() override;
  Result<uint64_t> CreateRestorePoint(std::string_view name) override;
  void BeginAtomic() override;
  Result<uint64_t> EndAtomic() override;
  Status GetIn(uint32_t db, std::string_view key, std::string* value, ReadInfo* info) override;
  Status GetInfoIn(uint32_t db, std::string_view key, ReadInfo* info) override;
  std::string ScanIn(uint32_t db, std::string_view start, std::string_view end, size_t limit,
                     const std::function<void(const ScanEntry&)>& visit) override;
  Status ForEachIn(uint32_t db, std::string_view start, std::string_view end,
                   const std::function<bool(std::string_view, std::string_view, const ReadInfo&)>&
                       visit) override;
  uint64_t CountKeysIn(uint32_t db) override;
  uint64_t CountKeysWithExpiryIn(uint32_t db) override;
  uint32_t DatabasesInUse() override;

 private:
  struct OverlayEntry {
    uint64_t lsn = 0;
    bool deleted = false;
    std::string value;  // unless in_log
    int64_t expire_at_ms = 0;
    uint64_t value_hash = 0;
    // The value is not held here but in the log, at `location` (its expiry is expire_at_ms, not
    // location's): what a metadata-only op (new expiry, rename, copy) of a key whose value the
    // index already held leaves in the overlay. Reads fetch the value from the log.
    bool in_log = false;
    index::IndexEntry location = {};
    uint32_t value_bytes() const {
      assert(value.size() <= kValueBytesMax);  // ValidateBatch
      return in_log ? location.value_bytes : static_cast<uint32_t>(value.size());
    }
  };
  struct AppliedOp {
    log::OpType type;
    std::string key;              // the index key (index::IndexKey); a restore point's name
    index::IndexEntry entry;      // kPut: the new entry; kSetExpiry: the expiry in expire_at_ms
    uint32_t db = 0;              // kFlushDatabase: the database flushed
    std::string target_key = {};  // kRename, kCopy: the target's index key
  };
  struct PendingRecord {
    uint64_t lsn = 0;
    StateDigest digest;  // after this record
    uint64_t live_keys = 0;
    uint64_t segment_id = 0;
    uint64_t bytes = 0;
    std::vector<AppliedOp> ops;
  };
  struct PendingGroup {
    std::string bytes;  // the records, back to back, in LSN order
    std::vector<PendingRecord> records;
    bool empty() const { return records.empty(); }
  };
  // What a lookup found: a pending overlay value, an index entry, or nothing.
  struct Found {
    bool present = false;
    bool from_overlay = false;
    std::string overlay_value;
    index::IndexEntry entry;
    uint64_t observed_lsn = 0;
  };

  Status OpenDirectory(OpenReport* report);
  // Opens the active segment for appending (sealing one of an earlier format first), or
  // creates the next segment when the newest is sealed.
  Status StartWriter(const RecoveredLog& recovered, OpenReport* report);
  // What a write gets once the database has failed (mutex_ held).
  Status FailedStatusLocked() const;
  // Sequences `batch` into pending_ (or into the open atomic section); wakes the committer
  // unless `deferred`. The caller has waited for other threads' atomic sections
  // (AwaitAtomicSectionLocked).
  Result<uint64_t> SubmitLocked(WriteBatch& batch, bool deferred = false);
  // Waits while another thread's atomic section is open: its record must stay whole and keep
  // its one LSN, so nothing else is sequenced meanwhile.
  void AwaitAtomicSectionLocked(std::unique_lock<std::mutex>& lock);
  // OK if writes are accepted; else why not (failed, closing, read-only).
  Status WritableLocked() const;
  // Refuses a record of `record_bytes` that would need a segment beyond kSegmentIdMax.
  Status CheckRecordFitsLocked(uint64_t record_bytes) const;
  // Applies `batch`'s ops, as of `lsn`, to the overlay and the submitted digest and key count;
  // returns what the index will apply. The overlay gets a copy of each value only when
  // `copy_values` (else EncodePendingLocked moves it there).
  std::vector<AppliedOp> ApplyOpsLocked(WriteBatch& batch, uint64_t lsn, bool copy_values);
  // Whether `batch` holds a metadata-only op (kSetExpiry, kRename, kCopy).
  static bool HasMetadataOps(const WriteBatch& batch);
  // Places the record (rotating between records) and encodes it into pending_.
  void EncodePendingLocked(uint64_t lsn, WriteBatch& batch, std::vector<AppliedOp> ops,
                           bool values_in_overlay);
  // A write inside the open atomic section: applied now, encoded at EndAtomic.
  Result<uint64_t> AppendToAtomicLocked(WriteBatch& batch);
  // Whether `index_key` exists as the latest submitted write left it, and its digest
  // contribution (zero if absent).
  bool CurrentEntryHashLocked(std::string_view index_key, StateDigest* hash);
  // Whether `index_key` exists as the latest submitted write left it, and if so its entry as
  // an overlay entry: a copy of the overlay's own (its value only when `copy_value`), or one
  // naming the index's entry as its location in the log.
  bool CurrentEntryLocked(std::string_view index_key, OverlayEntry* current, bool copy_value);
  // ApplyOpsLocked's part for the metadata-only ops (kSetExpiry, kRename, kCopy): the digest,
  // key counts and overlay move as the index will when it applies the op.
  void ApplyMetadataOpLocked(const WriteBatchInternal::Op& op, uint64_t lsn, AppliedOp* applied);
  // Whether a pending flush (FLUSHALL, or FLUSHDB of the key's database) hides the index's
  // entry of `index_key`; if so, *lsn is the flush's.
  bool FlushPendingLocked(std::string_view index_key, uint64_t* lsn) const;
  // Overlay, then index. The overlay's value is copied only when `want_value`.
  void Lookup(std::string_view index_key, bool want_value, Found* found);
  // Lookup, hiding (and logging the expiry of) an expired key; fills `info`.
  Status LookupLive(std::string_view index_key, bool want_value, Found* found, ReadInfo* info);
  Status ReadValue(const index::IndexEntry& entry, std::string* value);
  Result<std::shared_ptr<RandomAccessFile>> SegmentFile(uint32_t segment_id);
  bool Expired(int64_t expire_at_ms) const;
  // Logs the expiry of each key (index keys) that is still expired (checked under the lock).
  void ExpireKeys(const std::vector<std::string>& index_keys);

  void CommitterLoop();
  // Who commits a group: the committer thread calls the ack listener and does everysec's
  // once-a-second fdatasync; a CommitPending() caller does neither (it sees AckedLsn() move,
  // and an event loop must not stall on a sync that `everysec` promises to keep off the path).
  enum class CommitBy { kCommitterThread, kCaller };
  // Commits a group taken from pending_ (commit_mutex_ held since): the one place a group is
  // committed, from the committer thread or from CommitPending(). Fails the database on error.
  Status CommitGroupLocked(PendingGroup& group, CommitBy by);
  // Writes (stamping each record with the durable LSN of that moment: SegmentWriter), syncs (per
  // the sync mode and `by`), applies and acknowledges `group`.
  Status WriteGroup(PendingGroup& group, CommitBy by);
  Status RotateTo(uint64_t segment_id, uint64_t first_lsn);
  void ApplyGroup(const PendingGroup& group);
  void Acknowledge(uint64_t lsn, bool synced, bool notify_listener);
  void Fail(const Status& status);
  Status WriteCheckpointNow();
  void SweeperLoop();

  const Options options_;
  const std::string directory_;
  FileSystem* const fs_;
  std::unique_ptr<FileLock> lock_;
  std::string database_id_;

  std::mutex mutex_;
  std::condition_variable committer_cv_;
  std::condition_variable ack_cv_;
  std::condition_variable sweeper_cv_;
  std::map<std::string, OverlayEntry, std::less<>> overlay_;  // by index key
  uint64_t overlay_clear_lsn_ = 0;
  // Databases with a FLUSHDB not yet applied to the index, and its LSN: the index's entries of
  // such a database are gone for readers (overlay_clear_lsn_ does the same for FLUSHALL).
  std::map<uint32_t, uint64_t> overlay_flushed_;
  PendingGroup pending_;
  // Whether pending_ holds a write that asked for the committer thread (Submit, not
  // SubmitDeferred): it waits for this, not for pending_ to be non-empty.
  bool pending_wakes_committer_ = false;
  uint64_t last_lsn_ = 0;
  StateDigest submitted_digest_;  // the digest after every submitted write (at last_lsn_)
  uint64_t submitted_keys_ = 0;   // live keys after every submitted write
  // The same for each database (what a FLUSHDB removes from the two above).
  struct DatabaseTotals {
    StateDigest digest;
    uint64_t keys = 0;
  };
  std::vector<DatabaseTotals> submitted_by_db_;
  // Sets the submitted totals to the index's (open, failure).
  void ResetSubmittedTotalsLocked();
  std::atomic<uint64_t> acked_lsn_{0};
  // The open atomic section (BeginAtomic): its owner, its LSN (0 until its first write), the
  // ops it wrote so far and their encoded size as one record.
  bool atomic_open_ = false;
  std::thread::id atomic_owner_;
  uint64_t atomic_lsn_ = 0;
  uint64_t atomic_record_bytes_ = 0;
  WriteBatch atomic_batch_;
  std::vector<AppliedOp> atomic_ops_;
  std::condition_variable atomic_cv_;
  uint64_t durable_lsn_ = 0;
  uint64_t next_segment_id_ = 0;  // where the next record goes
  uint64_t next_offset_ = 0;
  uint64_t next_segment_records_ = 0;
  uint64_t segments_ = 0;
  Status failure_;
  bool failed_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool checkpoint_requested_ = false;
  uint64_t checkpoints_done_ = 0;
  Status checkpoint_status_;  // of the last checkpoint the committer wrote
  std::function<void()> ack_listener_;

  std::shared_mutex index_mutex_;
  index::Index index_;
  uint64_t applied_lsn_ = 0;

  // Guarded by commit_mutex_ (the committer of the moment), or the committer thread alone
  // before it starts and after it stops.
  std::mutex commit_mutex_;
  std::unique_ptr<log::SegmentWriter> writer_;
  uint64_t bytes_since_checkpoint_ = 0;
  bool loaded_checkpoint_ = false;  // open used a checkpoint (last_checkpoint_lsn_ is its LSN)
  int64_t last_sync_micros_ = 0;
  bool unsynced_ = false;

  std::mutex files_mutex_;
  std::unordered_map<uint32_t, std::shared_ptr<RandomAccessFile>> files_;

  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> caller_groups_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> log_bytes_{0};
  std::atomic<uint64_t> expired_keys_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> last_checkpoint_lsn_{0};
  std::atomic<int64_t> last_checkpoint_time_ms_{0};

  std::thread committer_;
  std::thread sweeper_;
};

}  // namespace ordo::db
