// The read path: lookups through the overlay and the index, value reads verified against the
// value hash, scans, digests, statistics, and expiry (reads hide expired keys; the sweeper and
// reads log their deletion).
#include "db/db_impl.h"
#include "fmt/format.h"
#include "log/format.h"
#include "util/checksum.h"
#include "util/clock.h"

namespace ordo::db {

bool DBImpl::Expired(int64_t expire_at_ms) const {
  return expire_at_ms != 0 && expire_at_ms <= WallMillis();
}

void DBImpl::Lookup(std::string_view key, bool want_value, Found* found) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto in_overlay = overlay_.find(key);
    if (in_overlay != overlay_.end()) {
      const OverlayEntry& entry = in_overlay->second;
      found->observed_lsn = entry.lsn;
      found->present = !entry.deleted;
      if (entry.in_log) {
        // A pending metadata op: the value is read from the log, as for an index entry.
        found->entry = entry.location;
        found->entry.expire_at_ms = entry.expire_at_ms;
        return;
      }
      found->from_overlay = true;
      if (want_value) found->overlay_value = entry.value;
      found->entry.expire_at_ms = entry.expire_at_ms;
      found->entry.value_bytes = entry.value_bytes();
      return;
    }
    uint64_t flush_lsn = 0;
    if (FlushPendingLocked(key, &flush_lsn)) {
      found->observed_lsn = flush_lsn;
      found->present = false;
      return;
    }
  }
  // A write submitted after the check above is not seen, as if this read came first; one
  // applied meanwhile is seen from the index, which then holds it.
  std::shared_lock<std::shared_mutex> lock(index_mutex_);
  const index::IndexEntry* entry = index_.Find(key);
  if (entry == nullptr) return;
  found->present = true;
  found->entry = *entry;
}

Result<std::shared_ptr<RandomAccessFile>> DBImpl::SegmentFile(uint32_t segment_id) {
  std::lock_guard<std::mutex> lock(files_mutex_);
  auto found = files_.find(segment_id);
  if (found != files_.end()) return found->second;
  const std::string path = directory_ + "/log/" + log::SegmentFileName(segment_id);
  ORDO_ASSIGN_OR_RETURN(auto file, fs_->NewRandomAccessFile(path));
  std::shared_ptr<RandomAccessFile> shared(std::move(file));
  files_.emplace(segment_id, shared);
  return shared;
}

Status DBImpl::ReadValue(const index::IndexEntry& entry, std::string* value) {
  ORDO_ASSIGN_OR_RETURN(auto file, SegmentFile(entry.segment_id));
  value->resize(entry.value_bytes);
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(
      file->Read(entry.value_offset, entry.value_bytes, value->data(), &read_count));
  if (read_count != entry.value_bytes) {
    return Status::Corruption(fmt::format("{} offset {}: value of {} bytes cut short at {}",
                                          file->path(), entry.value_offset, entry.value_bytes,
                                          read_count));
  }
  const uint64_t hash = Checksum64(*value);
  if (hash != entry.value_hash) {
    return Status::Corruption(
        fmt::format("{} offset {}: value hash mismatch (index {:016x}, "
                    "read {:016x})",
                    file->path(), entry.value_offset, entry.value_hash, hash));
  }
  return Status::Ok();
}

Status DBImpl::LookupLive(std::string_view key, bool want_value, Found* found, ReadInfo* info) {
  Lookup(key, want_value, found);
  *info = ReadInfo{};
  info->observed_lsn = found->observed_lsn;
  if (!found->present) return Status::NotFound("key not found");
  if (Expired(found->entry.expire_at_ms)) {
    if (!options_.read_only) ExpireKeys({std::string(key)});
    return Status::NotFound("key expired");
  }
  info->expire_at_ms = found->entry.expire_at_ms;
  info->value_bytes = found->entry.value_bytes;
  return Status::Ok();
}

Status DBImpl::GetInfo(std::string_view key, ReadInfo* info) { return GetInfoIn(0, key, info); }

Status DBImpl::GetInfoIn(uint32_t db, std::string_view key, ReadInfo* info) {
  // No such key can exist (ValidateBatch refuses it): absent, as any other.
  if (db >= log::kDatabasesMax) return Status::InvalidArgument("no such database");
  if (key.size() > kKeyBytesMax) return Status::NotFound("key not found");
  Found found;
  const index::IndexKeyOnStack index_key(db, key);
  return LookupLive(index_key.view(), /*want_value=*/false, &found, info);
}

Status DBImpl::Get(std::string_view key, std::string* value, ReadInfo* info) {
  return GetIn(0, key, value, info);
}

Status DBImpl::GetIn(uint32_t db, std::string_view key, std::string* value, ReadInfo* info) {
  // No such key can exist (ValidateBatch refuses it): absent, as any other.
  if (db >= log::kDatabasesMax) return Status::InvalidArgument("no such database");
  if (key.size() > kKeyBytesMax) return Status::NotFound("key not found");
  Found found;
  ReadInfo local;
  const index::IndexKeyOnStack index_key(db, key);
  ORDO_RETURN_IF_ERROR(
      LookupLive(index_key.view(), /*want_value=*/true, &found, info != nullptr ? info : &local));
  if (found.from_overlay) {
    *value = std::move(found.overlay_value);
    return Status::Ok();
  }
  return ReadValue(found.entry, value);
}

void DBImpl::ExpireKeys(const std::vector<std::string>& index_keys) {
  WriteBatch batch;
  std::unique_lock<std::mutex> lock(mutex_);
  AwaitAtomicSectionLocked(lock);  // the owner's own reads join its section
  if (failed_ || closing_) return;
  const int64_t now_ms = WallMillis();
  for (const auto& key : index_keys) {
    // Checked again under the lock: the key may have been rewritten since it was seen expired.
    auto in_overlay = overlay_.find(key);
    int64_t expire_at_ms = 0;
    uint64_t flush_lsn = 0;
    if (in_overlay != overlay_.end()) {
      if (in_overlay->second.deleted) continue;
      expire_at_ms = in_overlay->second.expire_at_ms;
    } else if (FlushPendingLocked(key, &flush_lsn)) {
      continue;
    } else {
      std::shared_lock<std::shared_mutex> index_lock(index_mutex_);
      const index::IndexEntry* entry = index_.Find(key);
      if (entry == nullptr) continue;
      expire_at_ms = entry->expire_at_ms;
    }
    if (expire_at_ms != 0 && expire_at_ms <= now_ms) {
      WriteBatchInternal::ExpireIn(&batch, index::DatabaseOf(key), index::UserKeyOf(key));
    }
  }
  if (batch.empty()) return;
  auto submitted = SubmitLocked(batch);
  (void)submitted;  // a failed database reports its failure on the next write
}

void DBImpl::SweeperLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!closing_) {
    sweeper_cv_.wait_for(lock, std::chrono::milliseconds(options_.expiry_sweep_interval_ms));
    if (closing_ || failed_) return;
    lock.unlock();
    std::vector<std::string> keys;
    {
      std::shared_lock<std::shared_mutex> index_lock(index_mutex_);
      index_.CollectExpired(WallMillis(), 1000, &keys);
    }
    if (!keys.empty()) ExpireKeys(keys);
    lock.lock();
  }
}

std::string DBImpl::Scan(std::string_view start, std::string_view end, size_t limit,
                         const std::function<void(const ScanEntry&)>& visit) {
  return ScanIn(0, start, end, limit, visit);
}

std::string DBImpl::ScanIn(uint32_t db, std::string_view user_start, std::string_view user_end,
                           size_t limit, const std::function<void(const ScanEntry&)>& visit) {
  assert(limit > 0);
  if (db >= log::kDatabasesMax) return {};
  // The range in index keys: this database's keys from user_start, to user_end or its last.
  // Bounds are not keys: a resume cursor is one byte longer than the longest key, and must not
  // be cut back to that key (it would be visited again).
  auto bound = [](uint32_t database, std::string_view user_key) {
    std::string key = index::IndexKey(database, "");
    key.append(user_key);
    return key;
  };
  const std::string start = bound(db, user_start);
  const std::string end = !user_end.empty()             ? bound(db, user_end)
                          : db + 1 < log::kDatabasesMax ? bound(db + 1, "")
                                                        : std::string();
  std::vector<ScanEntry> batch;
  std::string next;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::shared_lock<std::shared_mutex> index_lock(index_mutex_);
    auto in_overlay = overlay_.lower_bound(start);
    uint64_t flush_lsn = 0;
    auto in_index = FlushPendingLocked(start, &flush_lsn) ? index_.end() : index_.LowerBound(start);
    const int64_t now_ms = WallMillis();
    auto in_range = [&](std::string_view key) { return end.empty() || key < end; };
    while (batch.size() < limit) {
      const bool overlay_left = in_overlay != overlay_.end() && in_range(in_overlay->first);
      const bool index_left = in_index != index_.end() && in_range(in_index->first.view());
      if (!overlay_left && !index_left) break;
      ScanEntry entry;
      bool present = true;
      if (overlay_left && (!index_left || in_overlay->first <= in_index->first.view())) {
        if (index_left && in_overlay->first == in_index->first.view()) ++in_index;
        entry.key = in_overlay->first;
        present = !in_overlay->second.deleted;
        entry.info.expire_at_ms = in_overlay->second.expire_at_ms;
        entry.info.value_bytes = in_overlay->second.value_bytes();
        entry.info.observed_lsn = in_overlay->second.lsn;
        ++in_overlay;
      } else {
        entry.key = in_index->first.view();
        entry.info.expire_at_ms = in_index->second.expire_at_ms;
        entry.info.value_bytes = in_index->second.value_bytes;
        ++in_index;
      }
      if (entry.info.expire_at_ms != 0 && entry.info.expire_at_ms <= now_ms) present = false;
      if (present) batch.push_back(std::move(entry));
      next.clear();
    }
    const bool overlay_left = in_overlay != overlay_.end() && in_range(in_overlay->first);
    const bool index_left = in_index != index_.end() && in_range(in_index->first.view());
    if ((overlay_left || index_left) && !batch.empty()) {
      next = batch.back().key;
      next.push_back('\0');  // the smallest key after the last one visited
    }
  }
  for (auto& entry : batch) {
    entry.key.erase(0, index::kDatabasePrefixBytes);  // the caller's key, without the database
    visit(entry);
  }
  if (!next.empty()) next.erase(0, index::kDatabasePrefixBytes);
  return next;
}

Status DBImpl::ForEach(
    std::string_view start, std::string_view end,
    const std::function<bool(std::string_view, std::string_view, const ReadInfo&)>& visit) {
  return ForEachIn(0, start, end, visit);
}

Status DBImpl::ForEachIn(
    uint32_t db, std::string_view start, std::string_view end,
    const std::function<bool(std::string_view, std::string_view, const ReadInfo&)>& visit) {
  std::string cursor(start);
  std::string value;
  for (;;) {
    std::vector<std::string> keys;
    cursor =
        ScanIn(db, cursor, end, 256, [&](const ScanEntry& entry) { keys.push_back(entry.key); });
    for (const auto& key : keys) {
      ReadInfo info;
      Status read = GetIn(db, key, &value, &info);
      if (read.IsNotFound()) continue;  // deleted or expired since the scan saw it
      ORDO_RETURN_IF_ERROR(read);
      if (!visit(key, value, info)) return Status::Ok();
    }
    if (cursor.empty()) return Status::Ok();
  }
}

uint64_t DBImpl::CountKeys() {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_keys_;
}

uint64_t DBImpl::CountKeysIn(uint32_t db) {
  std::lock_guard<std::mutex> lock(mutex_);
  return db < submitted_by_db_.size() ? submitted_by_db_[db].keys : 0;
}

uint64_t DBImpl::CountKeysWithExpiryIn(uint32_t db) {
  std::shared_lock<std::shared_mutex> lock(index_mutex_);
  return index_.keys_with_expiry_of(db);
}

uint32_t DBImpl::DatabasesInUse() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_lock<std::shared_mutex> index_lock(index_mutex_);
  return std::max(static_cast<uint32_t>(submitted_by_db_.size()), index_.databases());
}

StateDigest DBImpl::Digest() {
  std::shared_lock<std::shared_mutex> lock(index_mutex_);
  return index_.digest();
}

Result<StateDigest> DBImpl::ComputeDigest() {
  // Walks the index in key order in batches, reading and checking every value.
  StateDigest digest;
  std::string cursor;
  std::string value;
  for (;;) {
    std::vector<std::pair<std::string, index::IndexEntry>> batch;
    {
      std::shared_lock<std::shared_mutex> lock(index_mutex_);
      for (auto it = index_.LowerBound(cursor); it != index_.end() && batch.size() < 1024; ++it) {
        batch.emplace_back(std::string(it->first.view()), it->second);
      }
    }
    if (batch.empty()) return digest;
    for (const auto& [key, entry] : batch) {
      ORDO_RETURN_IF_ERROR(ReadValue(entry, &value));
      const StateDigest hash = index::EntryHash(key, Checksum64(value), entry.expire_at_ms);
      digest.low += hash.low;
      digest.high += hash.high;
    }
    cursor = batch.back().first;
    cursor.push_back('\0');
  }
}

Statistics DBImpl::GetStatistics() {
  Statistics stats;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats.last_lsn = last_lsn_;
    stats.durable_lsn = durable_lsn_;
    stats.segments = segments_;
    stats.active_segment_id = next_segment_id_;
    stats.failed = failed_;
    if (failed_) stats.failure = failure_.ToString();
  }
  stats.acked_lsn = acked_lsn_.load();
  stats.keys = CountKeys();
  {
    std::shared_lock<std::shared_mutex> lock(index_mutex_);
    stats.keys_with_expiry = index_.keys_with_expiry();
    stats.index_bytes = index_.MemoryBytes();
  }
  stats.log_bytes = log_bytes_.load();
  stats.commits = commits_.load();
  stats.syncs = syncs_.load();
  stats.caller_groups = caller_groups_.load();
  stats.bytes_written = bytes_written_.load();
  stats.expired_keys = expired_keys_.load();
  stats.checkpoints = checkpoints_.load();
  stats.last_checkpoint_lsn = last_checkpoint_lsn_.load();
  stats.last_checkpoint_time_ms = last_checkpoint_time_ms_.load();
  return stats;
}

}  // namespace ordo::db
