// The write path: sequencing (Submit), the committer thread (group commit, rotation, sync,
// apply, acknowledge) and the failed state.
#include "db/db_impl.h"
#include "fmt/format.h"
#include "util/checksum.h"
#include "util/clock.h"

namespace ordo::db {

Result<uint64_t> DBImpl::Submit(WriteBatch batch) {
  ORDO_RETURN_IF_ERROR(log::ValidateBatch(batch));
  std::unique_lock<std::mutex> lock(mutex_);
  AwaitAtomicSectionLocked(lock);
  return SubmitLocked(batch);
}

Result<uint64_t> DBImpl::SubmitDeferred(WriteBatch batch) {
  ORDO_RETURN_IF_ERROR(log::ValidateBatch(batch));
  std::unique_lock<std::mutex> lock(mutex_);
  AwaitAtomicSectionLocked(lock);
  return SubmitLocked(batch, /*deferred=*/true);
}

void DBImpl::AwaitAtomicSectionLocked(std::unique_lock<std::mutex>& lock) {
  const std::thread::id self = std::this_thread::get_id();
  atomic_cv_.wait(lock, [&] { return !atomic_open_ || atomic_owner_ == self; });
}

Status DBImpl::WritableLocked() const {
  if (failed_) return FailedStatusLocked();
  if (closing_) {
    return options_.read_only ? Status::NotSupported("database is open read-only")
                              : Status::Failed("database is closing");
  }
  return Status::Ok();
}

Result<uint64_t> DBImpl::SubmitLocked(WriteBatch& batch, bool deferred) {
  ORDO_RETURN_IF_ERROR(WritableLocked());
  // The log and every reader of it know collection ops (13 to 16); the write path does not
  // yet (issue 13: its overlay deltas are to come), so none is sequenced.
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    if (log::IsCollectionOp(op.type)) {
      return Status::NotSupported("hashes and sets cannot be written yet");
    }
  }
  if (atomic_open_) return AppendToAtomicLocked(batch);
  if (batch.empty()) return last_lsn_;
  const uint64_t record_bytes = log::EncodedRecordBytes(batch);
  ORDO_RETURN_IF_ERROR(CheckRecordFitsLocked(record_bytes));
  const uint64_t lsn = ++last_lsn_;
  // A value moves into the overlay only once encoded (EncodePendingLocked), so a metadata op
  // after a put of the same key in this batch would find no value to carry: such a batch's
  // values are copied instead.
  const bool copy_values = HasMetadataOps(batch);
  std::vector<AppliedOp> ops = ApplyOpsLocked(batch, lsn, copy_values);
  EncodePendingLocked(lsn, batch, std::move(ops), /*values_in_overlay=*/copy_values);
  if (!deferred) {
    pending_wakes_committer_ = true;
    committer_cv_.notify_one();
  }
  return lsn;
}

Status DBImpl::CheckRecordFitsLocked(uint64_t record_bytes) const {
  // A record that does not fit the active segment opens the next one. The index keeps segment
  // ids in 4 bytes: at the last id the log cannot grow, and the write is refused before it is
  // sequenced (SegmentWriter::Create would refuse the segment too).
  if (next_offset_ + record_bytes > options_.segment_bytes && next_segment_records_ > 0 &&
      next_segment_id_ >= log::kSegmentIdMax) {
    return Status::NotSupported(fmt::format(
        "the log is at segment {}, the last segment id this build supports: a write that "
        "needs a new segment is refused",
        next_segment_id_));
  }
  return Status::Ok();
}

namespace {

void AddToDigest(StateDigest* digest, const StateDigest& hash, int sign) {
  digest->low += sign > 0 ? hash.low : -hash.low;
  digest->high += sign > 0 ? hash.high : -hash.high;
}

bool IsMetadataOp(log::OpType type) {
  return type == log::OpType::kSetExpiry || type == log::OpType::kRename ||
         type == log::OpType::kCopy;
}

}  // namespace

bool DBImpl::HasMetadataOps(const WriteBatch& batch) {
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    if (IsMetadataOp(op.type)) return true;
  }
  return false;
}

std::vector<DBImpl::AppliedOp> DBImpl::ApplyOpsLocked(WriteBatch& batch, uint64_t lsn,
                                                      bool copy_values) {
  std::vector<AppliedOp> applied_ops;
  applied_ops.reserve(batch.size());
  // Each op, in order: subtract the entry it replaces from the digest, add its own, and update
  // the overlay, so a key repeated within the batch sees the earlier op. The totals of the
  // op's database move with the whole's.
  const auto add = AddToDigest;
  for (auto& op : WriteBatchInternal::MutableOps(&batch)) {
    AppliedOp applied{op.type, {}, {}};
    if (op.type == log::OpType::kRestorePoint) {  // a mark in the log, no state
      applied.key = op.key;
      applied_ops.push_back(std::move(applied));
      continue;
    }
    if (op.type == log::OpType::kClear) {
      submitted_digest_ = StateDigest{};
      submitted_keys_ = 0;
      submitted_by_db_.clear();
      overlay_.clear();
      overlay_clear_lsn_ = lsn;
      overlay_flushed_.clear();
      applied_ops.push_back(std::move(applied));
      continue;
    }
    if (IsMetadataOp(op.type)) {
      ApplyMetadataOpLocked(op, lsn, &applied);
      applied_ops.push_back(std::move(applied));
      continue;
    }
    if (op.db >= submitted_by_db_.size()) submitted_by_db_.resize(op.db + 1);
    DatabaseTotals& totals = submitted_by_db_[op.db];
    if (op.type == log::OpType::kFlushDatabase) {
      add(&submitted_digest_, totals.digest, -1);
      submitted_keys_ -= totals.keys;
      totals = DatabaseTotals{};
      const std::string first = index::IndexKey(op.db, "");
      auto entry = overlay_.lower_bound(first);
      while (entry != overlay_.end() && index::DatabaseOf(entry->first) == op.db) {
        entry = overlay_.erase(entry);
      }
      overlay_flushed_[op.db] = lsn;
      applied.db = op.db;
      applied_ops.push_back(std::move(applied));
      continue;
    }
    applied.key = index::IndexKey(op.db, op.key);
    StateDigest old_hash;
    const bool existed = CurrentEntryHashLocked(applied.key, &old_hash);
    add(&submitted_digest_, old_hash, -1);
    add(&totals.digest, old_hash, -1);
    const int64_t change = (op.type == log::OpType::kPut ? 1 : 0) - (existed ? 1 : 0);
    submitted_keys_ += change;
    totals.keys += change;
    if (op.type == log::OpType::kPut) {
      assert(op.value.size() <= kValueBytesMax);  // ValidateBatch
      applied.entry.value_bytes = static_cast<uint32_t>(op.value.size());
      applied.entry.expire_at_ms = op.expire_at_ms;
      applied.entry.value_hash = Checksum64(op.value);
      const StateDigest new_hash =
          index::EntryHash(applied.key, applied.entry.value_hash, op.expire_at_ms);
      add(&submitted_digest_, new_hash, +1);
      add(&totals.digest, new_hash, +1);
      // Without copy_values the value moves into the overlay after encoding
      // (EncodePendingLocked): no copy here.
      overlay_[applied.key] = OverlayEntry{lsn, false, copy_values ? op.value : std::string(),
                                           op.expire_at_ms, applied.entry.value_hash};
    } else {
      overlay_[applied.key] = OverlayEntry{lsn, true, {}, 0, 0};
    }
    applied_ops.push_back(std::move(applied));
  }
  return applied_ops;
}

void DBImpl::ApplyMetadataOpLocked(const WriteBatchInternal::Op& op, uint64_t lsn,
                                   AppliedOp* applied) {
  applied->key = index::IndexKey(op.db, op.key);
  applied->entry.expire_at_ms = op.expire_at_ms;
  const bool names_target = op.type != log::OpType::kSetExpiry;
  if (names_target) applied->target_key = index::IndexKey(op.target_db, op.target_key);
  OverlayEntry source;
  // An absent key: the op changes nothing, here as when the index applies it.
  if (!CurrentEntryLocked(applied->key, &source, /*copy_value=*/true)) return;
  const uint32_t databases_needed = std::max(op.db, names_target ? op.target_db : 0) + 1;
  if (submitted_by_db_.size() < databases_needed) submitted_by_db_.resize(databases_needed);
  DatabaseTotals& source_totals = submitted_by_db_[op.db];
  const StateDigest source_hash =
      index::EntryHash(applied->key, source.value_hash, source.expire_at_ms);
  source.lsn = lsn;
  if (op.type == log::OpType::kSetExpiry) {
    AddToDigest(&submitted_digest_, source_hash, -1);
    AddToDigest(&source_totals.digest, source_hash, -1);
    source.expire_at_ms = op.expire_at_ms;
    const StateDigest new_hash =
        index::EntryHash(applied->key, source.value_hash, source.expire_at_ms);
    AddToDigest(&submitted_digest_, new_hash, +1);
    AddToDigest(&source_totals.digest, new_hash, +1);
    overlay_[applied->key] = std::move(source);
    return;
  }
  // Rename and copy: the target's entry (if any) goes, the source's comes in its place.
  assert(applied->target_key != applied->key);  // ValidateBatch
  DatabaseTotals& target_totals = submitted_by_db_[op.target_db];
  StateDigest replaced_hash;
  if (CurrentEntryHashLocked(applied->target_key, &replaced_hash)) {
    AddToDigest(&submitted_digest_, replaced_hash, -1);
    AddToDigest(&target_totals.digest, replaced_hash, -1);
    --submitted_keys_;
    --target_totals.keys;
  }
  if (op.type == log::OpType::kRename) {
    AddToDigest(&submitted_digest_, source_hash, -1);
    AddToDigest(&source_totals.digest, source_hash, -1);
    --submitted_keys_;
    --source_totals.keys;
    overlay_[applied->key] = OverlayEntry{lsn, true, {}, 0, 0};
  }
  const StateDigest target_hash =
      index::EntryHash(applied->target_key, source.value_hash, source.expire_at_ms);
  AddToDigest(&submitted_digest_, target_hash, +1);
  AddToDigest(&target_totals.digest, target_hash, +1);
  ++submitted_keys_;
  ++target_totals.keys;
  overlay_[applied->target_key] = std::move(source);
}

bool DBImpl::CurrentEntryLocked(std::string_view key, OverlayEntry* current, bool copy_value) {
  auto in_overlay = overlay_.find(key);
  if (in_overlay != overlay_.end()) {
    const OverlayEntry& entry = in_overlay->second;
    if (entry.deleted) return false;
    *current = OverlayEntry{entry.lsn,    false,         {}, entry.expire_at_ms, entry.value_hash,
                            entry.in_log, entry.location};
    if (copy_value) current->value = entry.value;
    return true;
  }
  uint64_t flush_lsn = 0;
  if (FlushPendingLocked(key, &flush_lsn)) return false;
  std::shared_lock<std::shared_mutex> index_lock(index_mutex_);
  const index::IndexEntry* entry = index_.Find(key);
  if (entry == nullptr) return false;
  *current = OverlayEntry{};
  current->location = *entry;
  current->expire_at_ms = current->location.expire_at_ms;
  current->value_hash = current->location.value_hash;
  current->in_log = true;
  return true;
}

void DBImpl::ResetSubmittedTotalsLocked() {
  std::shared_lock<std::shared_mutex> index_lock(index_mutex_);
  submitted_digest_ = index_.digest();
  submitted_keys_ = index_.size();
  submitted_by_db_.assign(index_.databases(), DatabaseTotals{});
  for (uint32_t db = 0; db < index_.databases(); ++db) {
    submitted_by_db_[db] = DatabaseTotals{index_.digest_of(db), index_.size_of(db)};
  }
}

void DBImpl::EncodePendingLocked(uint64_t lsn, WriteBatch& batch, std::vector<AppliedOp> ops,
                                 bool values_in_overlay) {
  assert(ops.size() == batch.size());
  const uint64_t record_bytes = log::EncodedRecordBytes(batch);
  if (next_offset_ + record_bytes > options_.segment_bytes && next_segment_records_ > 0) {
    assert(next_segment_id_ < log::kSegmentIdMax);  // CheckRecordFitsLocked
    ++next_segment_id_;  // rotate between records: this record opens the next segment
    next_offset_ = log::kSegmentHeaderBytes;
    next_segment_records_ = 0;
  }
  // Where the record goes fits what the index can address (IndexEntry narrows both).
  assert(next_segment_id_ >= 1 && next_segment_id_ <= log::kSegmentIdMax);
  assert(next_offset_ + record_bytes <= log::kSegmentFileBytesMax - log::kSegmentFooterBytes);
  PendingRecord record;
  record.lsn = lsn;
  record.segment_id = next_segment_id_;
  record.bytes = record_bytes;
  record.ops = std::move(ops);
  record.digest = submitted_digest_;
  record.live_keys = submitted_keys_;
  std::vector<uint32_t> value_offsets;
  const size_t group_offset = pending_.bytes.size();
  log::EncodeRecord(log::RecordMeta{lsn, WallMicros(), record.digest, record.live_keys}, batch,
                    &pending_.bytes, &value_offsets);
  assert(pending_.bytes.size() - group_offset == record_bytes);
  for (size_t i = 0; i < record.ops.size(); ++i) {
    if (record.ops[i].type != log::OpType::kPut) continue;
    // Both checked against the index's limits above (the value lies inside the record).
    assert(value_offsets[i] < record_bytes);
    record.ops[i].entry.segment_id = static_cast<uint32_t>(next_segment_id_);
    record.ops[i].entry.value_offset = static_cast<uint32_t>(next_offset_ + value_offsets[i]);
  }
  if (!values_in_overlay) {
    // In op order, so that of several puts of one key in this batch the last value stays; a
    // key the batch deleted last keeps its deleted entry.
    auto& batch_ops = WriteBatchInternal::MutableOps(&batch);
    for (size_t i = 0; i < batch_ops.size(); ++i) {
      if (batch_ops[i].type != log::OpType::kPut) continue;
      // Absent if a later flush in this batch removed it.
      auto entry = overlay_.find(record.ops[i].key);
      if (entry != overlay_.end() && !entry->second.deleted && entry->second.lsn == lsn) {
        entry->second.value = std::move(batch_ops[i].value);
      }
    }
  }
  next_offset_ += record_bytes;
  ++next_segment_records_;
  pending_.records.push_back(std::move(record));
}

void DBImpl::BeginAtomic() {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::thread::id self = std::this_thread::get_id();
  assert(!(atomic_open_ && atomic_owner_ == self));  // sections do not nest
  atomic_cv_.wait(lock, [&] { return !atomic_open_; });
  atomic_open_ = true;
  atomic_owner_ = self;
  assert(atomic_lsn_ == 0 && atomic_batch_.empty() && atomic_ops_.empty());
}

Result<uint64_t> DBImpl::AppendToAtomicLocked(WriteBatch& batch) {
  assert(atomic_open_ && atomic_owner_ == std::this_thread::get_id());
  if (batch.empty()) return atomic_lsn_ != 0 ? atomic_lsn_ : last_lsn_;
  // The section is one record: a write that would take it past a record's limit is refused
  // alone, before anything of it is applied; what the section wrote before stays.
  const uint64_t ops_bytes =
      log::EncodedRecordBytes(batch) - log::kRecordHeaderBytes - log::kRecordFixedPayloadBytes;
  const uint64_t record_bytes =
      (atomic_lsn_ != 0 ? atomic_record_bytes_
                        : log::kRecordHeaderBytes + log::kRecordFixedPayloadBytes) +
      ops_bytes;
  if (record_bytes - log::kRecordHeaderBytes > log::kRecordPayloadBytesMax) {
    return Status::InvalidArgument(
        fmt::format("atomic write of {} bytes exceeds the limit of {} bytes for one commit",
                    record_bytes - log::kRecordHeaderBytes, log::kRecordPayloadBytesMax));
  }
  // No other record is sequenced while the section is open, so where it will go is known now.
  ORDO_RETURN_IF_ERROR(CheckRecordFitsLocked(record_bytes));
  if (atomic_lsn_ == 0) atomic_lsn_ = ++last_lsn_;
  atomic_record_bytes_ = record_bytes;
  std::vector<AppliedOp> ops = ApplyOpsLocked(batch, atomic_lsn_, /*copy_values=*/true);
  for (auto& op : WriteBatchInternal::MutableOps(&batch)) {
    WriteBatchInternal::MutableOps(&atomic_batch_).push_back(std::move(op));
  }
  for (auto& op : ops) atomic_ops_.push_back(std::move(op));
  return atomic_lsn_;
}

Result<uint64_t> DBImpl::EndAtomic() {
  std::lock_guard<std::mutex> lock(mutex_);
  assert(atomic_open_ && atomic_owner_ == std::this_thread::get_id());
  const uint64_t lsn = atomic_lsn_;
  const uint64_t record_bytes = atomic_record_bytes_;
  WriteBatch batch = std::move(atomic_batch_);
  std::vector<AppliedOp> ops = std::move(atomic_ops_);
  atomic_batch_ = WriteBatch();
  atomic_ops_.clear();
  atomic_lsn_ = 0;
  atomic_record_bytes_ = 0;
  atomic_open_ = false;
  atomic_owner_ = std::thread::id();
  atomic_cv_.notify_all();
  if (lsn == 0) return last_lsn_;  // the section wrote nothing
  // A database that failed meanwhile dropped the section's overlay entries with the rest
  // (Fail); the record is never written.
  ORDO_RETURN_IF_ERROR(WritableLocked());
  assert(log::EncodedRecordBytes(batch) == record_bytes);  // the running count, checked
  EncodePendingLocked(lsn, batch, std::move(ops), /*values_in_overlay=*/true);
  return lsn;
}

bool DBImpl::FlushPendingLocked(std::string_view index_key, uint64_t* lsn) const {
  *lsn = overlay_clear_lsn_;
  auto flushed = overlay_flushed_.find(index::DatabaseOf(index_key));
  if (flushed != overlay_flushed_.end()) *lsn = std::max(*lsn, flushed->second);
  return *lsn != 0;
}

bool DBImpl::CurrentEntryHashLocked(std::string_view key, StateDigest* hash) {
  *hash = StateDigest{};
  OverlayEntry current;
  if (!CurrentEntryLocked(key, &current, /*copy_value=*/false)) return false;
  *hash = index::EntryHash(key, current.value_hash, current.expire_at_ms);
  return true;
}

Status DBImpl::WaitForAck(uint64_t lsn) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (acked_lsn_.load() < lsn && !pending_.empty() && !pending_wakes_committer_) {
    // A deferred write someone now waits for: commit it now rather than at the backstop.
    pending_wakes_committer_ = true;
    committer_cv_.notify_one();
  }
  ack_cv_.wait(lock, [&] { return acked_lsn_.load() >= lsn || failed_; });
  if (acked_lsn_.load() >= lsn) return Status::Ok();
  return Status::Failed("write not acknowledged: " + failure_.ToString());
}

Status DBImpl::Write(WriteBatch batch) {
  ORDO_ASSIGN_OR_RETURN(uint64_t lsn, Submit(std::move(batch)));
  return WaitForAck(lsn);
}

Status DBImpl::Put(std::string_view key, std::string_view value, int64_t expire_at_ms) {
  WriteBatch batch;
  batch.Put(key, value, expire_at_ms);
  return Write(std::move(batch));
}

Status DBImpl::Delete(std::string_view key) {
  WriteBatch batch;
  batch.Delete(key);
  return Write(std::move(batch));
}

void DBImpl::SetAckListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(mutex_);
  ack_listener_ = std::move(listener);
}

Status DBImpl::FailedStatusLocked() const {
  assert(failed_);
  return Status::Failed("database failed and accepts no writes: " + failure_.ToString());
}

Status DBImpl::CommitPending() {
  std::unique_lock<std::mutex> commit_lock(commit_mutex_, std::try_to_lock);
  PendingGroup group;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return FailedStatusLocked();
    if (!commit_lock.owns_lock() || pending_.bytes.size() > kCallerCommitBytesMax) {
      // The committer thread is busy (a group, a checkpoint), or the write would hold the
      // caller for long: rather than block the caller, leave the writes to that thread.
      if (!pending_.empty()) {
        pending_wakes_committer_ = true;
        committer_cv_.notify_one();
      }
      return Status::Ok();
    }
    // Nothing pending also covers a read-only database and one closed (Submit refuses writes
    // once closing, and the committer thread commits everything before it stops).
    if (pending_.empty()) return Status::Ok();
    assert(writer_ != nullptr);
    std::swap(group, pending_);
    pending_wakes_committer_ = false;
  }
  const Status committed = CommitGroupLocked(group, CommitBy::kCaller);
  if (committed.ok()) ++caller_groups_;
  return committed;
}

Status DBImpl::CommitGroupLocked(PendingGroup& group, CommitBy by) {
  assert(!group.empty());
  Status written = WriteGroup(group, by);
  if (!written.ok()) Fail(written);
  return written;
}

void DBImpl::CommitterLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Wakes at least every kDeferredCommitMaxMs (deferred writes do not wake it), which is
      // also often enough for everysec's once-a-second sync and the checkpoint interval.
      static_assert(kDeferredCommitMaxMs <= 200);
      committer_cv_.wait_for(lock, std::chrono::milliseconds(kDeferredCommitMaxMs), [&] {
        return pending_wakes_committer_ || closing_ || failed_ || checkpoint_requested_;
      });
      if (failed_) return;
    }
    // This thread is the committer until the group is acknowledged; a CommitPending() caller
    // holding the role finishes its group first.
    std::lock_guard<std::mutex> commit_lock(commit_mutex_);
    PendingGroup group;
    bool stop = false;
    bool checkpoint = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failed_) return;
      std::swap(group, pending_);
      pending_wakes_committer_ = false;
      stop = closing_ && group.empty();
      checkpoint = checkpoint_requested_;
    }
    if (!group.empty()) {
      if (!CommitGroupLocked(group, CommitBy::kCommitterThread).ok()) return;
    } else if (unsynced_ && (stop || MonotonicMicros() - last_sync_micros_ >= 1000000)) {
      // everysec / none: what was written but not synced is synced at least once a second
      // (everysec) or at close (both).
      if (options_.sync_mode == SyncMode::kEverySec || stop) {
        Status synced = writer_->Sync();
        if (!synced.ok()) {
          Fail(synced);
          return;
        }
        ++syncs_;
        unsynced_ = false;
        last_sync_micros_ = MonotonicMicros();
        std::lock_guard<std::mutex> lock(mutex_);
        durable_lsn_ = applied_lsn_;
      }
    }
    const bool interval_due = options_.checkpoint_interval_bytes > 0 &&
                              bytes_since_checkpoint_ >= options_.checkpoint_interval_bytes;
    if (checkpoint || interval_due) {
      Status written = WriteCheckpointNow();
      std::lock_guard<std::mutex> lock(mutex_);
      checkpoint_requested_ = false;
      ++checkpoints_done_;
      // A checkpoint is derived data: failing to write one does not fail the database (the
      // log is intact), but Checkpoint()'s caller hears of it.
      checkpoint_status_ = written;
      ack_cv_.notify_all();
    }
    if (stop) return;
  }
}

Status DBImpl::RotateTo(uint64_t segment_id, uint64_t first_lsn) {
  assert(segment_id == writer_->header().segment_id + 1);
  ORDO_ASSIGN_OR_RETURN(log::SegmentFooter footer, writer_->Seal());
  log::SegmentHeader header;
  header.database_id = database_id_;
  header.segment_id = segment_id;
  header.first_lsn = first_lsn;
  header.previous_footer_hash = footer.footer_checksum;
  ORDO_ASSIGN_OR_RETURN(writer_, log::SegmentWriter::Create(fs_, directory_ + "/log", header));
  writer_->SetPreallocation(kPreallocateChunkBytes, options_.segment_bytes);
  log_bytes_ += log::kSegmentFooterBytes + writer_->size();
  std::lock_guard<std::mutex> lock(mutex_);
  ++segments_;
  return Status::Ok();
}

Status DBImpl::WriteGroup(PendingGroup& group, CommitBy by) {
  // Runs of records for one segment go out in one write(2); a run ends where the group crosses
  // into the next segment, which is sealed and created in between.
  size_t run_start_record = 0;
  uint64_t run_start_byte = 0;
  uint64_t byte = 0;
  for (size_t i = 0; i <= group.records.size(); ++i) {
    const bool end = i == group.records.size();
    if (end || group.records[i].segment_id != writer_->header().segment_id) {
      if (i > run_start_record) {
        const std::span<char> run(group.bytes.data() + run_start_byte, byte - run_start_byte);
        ORDO_RETURN_IF_ERROR(writer_->Append(run, i - run_start_record, group.records[i - 1].lsn));
        bytes_written_ += run.size();
        log_bytes_ += run.size();
        bytes_since_checkpoint_ += run.size();
        unsynced_ = true;
      }
      if (end) break;
      ORDO_RETURN_IF_ERROR(RotateTo(group.records[i].segment_id, group.records[i].lsn));
      run_start_record = i;
      run_start_byte = byte;
    }
    byte += group.records[i].bytes;
  }
  assert(byte == group.bytes.size());
  commits_ += group.records.size();
  bool synced = false;
  // everysec's sync is the committer thread's (it wakes every kDeferredCommitMaxMs and syncs
  // what is unsynced once a second is up), never a CommitPending() caller's.
  if (options_.sync_mode == SyncMode::kAlways ||
      (options_.sync_mode == SyncMode::kEverySec && by == CommitBy::kCommitterThread &&
       MonotonicMicros() - last_sync_micros_ >= 1000000)) {
    ORDO_RETURN_IF_ERROR(writer_->Sync());
    ++syncs_;
    synced = true;
    unsynced_ = false;
    last_sync_micros_ = MonotonicMicros();
  }
  ApplyGroup(group);
  Acknowledge(group.records.back().lsn, synced, by == CommitBy::kCommitterThread);
  return Status::Ok();
}

void DBImpl::ApplyGroup(const PendingGroup& group) {
  std::unique_lock<std::shared_mutex> lock(index_mutex_);
  for (const auto& record : group.records) {
    for (const auto& op : record.ops) {
      switch (op.type) {
        case log::OpType::kPut:
          index_.Put(op.key, op.entry);
          break;
        case log::OpType::kDelete:
          index_.Erase(op.key);
          break;
        case log::OpType::kExpire:
          if (index_.Erase(op.key)) ++expired_keys_;
          break;
        case log::OpType::kRestorePoint:
          break;
        case log::OpType::kClear:
          index_.Clear();
          break;
        case log::OpType::kFlushDatabase:
          index_.ClearDatabase(op.db);
          break;
        case log::OpType::kSetExpiry:
          index_.SetExpiry(op.key, op.entry.expire_at_ms);
          break;
        case log::OpType::kRename:
          index_.Rename(op.key, op.target_key);
          break;
        case log::OpType::kCopy:
          index_.Copy(op.key, op.target_key);
          break;
        case log::OpType::kHashSet:
        case log::OpType::kHashDelete:
        case log::OpType::kSetAdd:
        case log::OpType::kSetRemove:
          assert(false && "SubmitLocked refuses collection ops (issue 13: to come)");
          break;
      }
    }
  }
  applied_lsn_ = group.records.back().lsn;
  // The index, maintained entry by entry, must reach the digest computed when the batch was
  // sequenced: two computations of the same state.
  assert(index_.digest() == group.records.back().digest);
  assert(index_.size() == group.records.back().live_keys);
  lock.unlock();
  std::lock_guard<std::mutex> overlay_lock(mutex_);
  for (const auto& record : group.records) {
    for (const auto& op : record.ops) {
      for (const std::string* key : {&op.key, &op.target_key}) {
        if (key->empty()) continue;  // no target (an index key is never empty)
        auto found = overlay_.find(*key);
        if (found != overlay_.end() && found->second.lsn <= record.lsn) overlay_.erase(found);
      }
    }
  }
  if (overlay_clear_lsn_ != 0 && overlay_clear_lsn_ <= applied_lsn_) overlay_clear_lsn_ = 0;
  for (auto flushed = overlay_flushed_.begin(); flushed != overlay_flushed_.end();) {
    flushed = flushed->second <= applied_lsn_ ? overlay_flushed_.erase(flushed) : ++flushed;
  }
}

void DBImpl::Acknowledge(uint64_t lsn, bool synced, bool notify_listener) {
  std::function<void()> listener;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (synced) durable_lsn_ = lsn;
    acked_lsn_.store(lsn, std::memory_order_release);
    if (notify_listener) listener = ack_listener_;
  }
  ack_cv_.notify_all();
  if (listener) listener();
}

void DBImpl::Fail(const Status& status) {
  std::function<void()> listener;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_) {
      failed_ = true;
      failure_ = status;
    }
    // Nothing that was not acknowledged stays visible: reads fall back to the index, which
    // holds only acknowledged writes.
    overlay_.clear();
    overlay_clear_lsn_ = 0;
    overlay_flushed_.clear();
    pending_ = PendingGroup{};
    pending_wakes_committer_ = false;
    ResetSubmittedTotalsLocked();
    listener = ack_listener_;
  }
  ack_cv_.notify_all();
  if (listener) listener();
}

Result<uint64_t> DBImpl::CreateRestorePoint(std::string_view name) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (atomic_open_ && atomic_owner_ == std::this_thread::get_id()) {
      // It would wait for its own section's commit, which comes only after EndAtomic.
      return Status::NotSupported("a restore point cannot be created inside an atomic section");
    }
  }
  WriteBatch batch;
  WriteBatchInternal::RestorePoint(&batch, name);
  ORDO_ASSIGN_OR_RETURN(uint64_t lsn, Submit(std::move(batch)));
  ORDO_RETURN_IF_ERROR(WaitForAck(lsn));
  return lsn;
}

Status DBImpl::Checkpoint() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failed_) return Status::Failed("database failed: " + failure_.ToString());
  if (closing_) return Status::Failed("database is closing");
  const uint64_t ticket = checkpoints_done_;
  checkpoint_requested_ = true;
  committer_cv_.notify_one();
  ack_cv_.wait(lock, [&] { return checkpoints_done_ > ticket || failed_; });
  if (failed_) return Status::Failed("database failed: " + failure_.ToString());
  return checkpoint_status_;
}

}  // namespace ordo::db
