// Opening and closing a database: directory creation, locking, recovery, starting the
// committer and the expiry sweeper; and the final checkpoint at close.
#include <xxhash.h>

#include "db/db_impl.h"
#include "db/identity.h"
#include "fmt/format.h"
#include "index/checkpoint.h"
#include "util/clock.h"

namespace ordo {

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kAlways:
      return "always";
    case SyncMode::kEverySec:
      return "everysec";
    case SyncMode::kNone:
      return "none";
  }
  return "unknown";
}

bool ParseSyncMode(const std::string& text, SyncMode* mode) {
  if (text == "always")
    *mode = SyncMode::kAlways;
  else if (text == "everysec")
    *mode = SyncMode::kEverySec;
  else if (text == "none")
    *mode = SyncMode::kNone;
  else
    return false;
  return true;
}

std::string StateDigest::ToHex() const { return fmt::format("{:016x}{:016x}", high, low); }

Result<std::unique_ptr<DB>> DB::Open(const Options& options, const std::string& directory,
                                     OpenReport* report) {
  ORDO_ASSIGN_OR_RETURN(std::unique_ptr<db::DBInternal> db,
                        db::DBInternal::Open(options, directory, report));
  return std::unique_ptr<DB>(std::move(db));
}

namespace db {

Result<std::unique_ptr<DBInternal>> DBInternal::Open(const Options& options,
                                                     const std::string& directory,
                                                     OpenReport* report) {
  if (options.segment_bytes < kSegmentBytesMin || options.segment_bytes > kSegmentBytesMax) {
    return Status::InvalidArgument(fmt::format("segment size {} is outside [{}, {}] bytes",
                                               options.segment_bytes, kSegmentBytesMin,
                                               kSegmentBytesMax));
  }
  if (options.integrity_level < -1 || options.integrity_level > 3) {
    return Status::InvalidArgument(
        fmt::format("integrity level {} is not one of 0, 1, 2, 3", options.integrity_level));
  }
  OpenReport local_report;
  if (report == nullptr) report = &local_report;
  *report = OpenReport{};
  auto impl = std::make_unique<DBImpl>(options, directory);
  ORDO_RETURN_IF_ERROR(impl->OpenImpl(report));
  return std::unique_ptr<DBInternal>(std::move(impl));
}

}  // namespace db

Status CheckDatabase(const std::string& directory, int level, FileSystem* fs, OpenReport* report) {
  Options options;
  options.file_system = fs;
  options.read_only = true;
  options.create_if_missing = false;
  options.integrity_level = level;
  ORDO_ASSIGN_OR_RETURN(std::unique_ptr<DB> db, DB::Open(options, directory, report));
  if (level >= 3) {
    ORDO_ASSIGN_OR_RETURN(StateDigest computed, db->ComputeDigest());
    if (!(computed == db->Digest())) {
      return Status::Corruption(
          fmt::format("{}: digest recomputed from every value {} differs "
                      "from the index's {}",
                      directory, computed.ToHex(), db->Digest().ToHex()));
    }
    report->actions.push_back("recomputed the state digest from every value: " + computed.ToHex());
  }
  return db->Close();
}

namespace db {

DBImpl::DBImpl(const Options& options, std::string directory)
    : options_(options),
      directory_(std::move(directory)),
      fs_(options.file_system != nullptr ? options.file_system : FileSystem::Default()) {}

DBImpl::~DBImpl() {
  Status ignored = Close();
  (void)ignored;
}

Status DBImpl::OpenDirectory(OpenReport* report) {
  const bool exists = fs_->FileExists(directory_);
  if (!exists) {
    if (!options_.create_if_missing || options_.read_only) {
      return Status::NotFound(directory_ + ": no such data directory");
    }
    ORDO_RETURN_IF_ERROR(fs_->CreateDir(directory_));
    report->actions.push_back("created data directory " + directory_);
  }
  if (!options_.read_only) {
    ORDO_ASSIGN_OR_RETURN(lock_, fs_->LockFile(directory_ + "/LOCK"));
    ORDO_RETURN_IF_ERROR(fs_->CreateDir(directory_ + "/log"));
    ORDO_RETURN_IF_ERROR(fs_->CreateDir(directory_ + "/index"));
  }
  const std::string identity_path = directory_ + "/IDENTITY";
  Identity identity;
  Status read = ReadIdentity(fs_, identity_path, &identity);
  if (read.IsNotFound()) {
    auto names = fs_->GetChildren(directory_ + "/log");
    bool has_segments = false;
    if (names.ok()) {
      for (const auto& name : *names) {
        uint64_t id = 0;
        has_segments |= log::ParseSegmentFileName(name, &id);
      }
    }
    if (has_segments) {
      return Status::Corruption(identity_path +
                                ": missing, but log/ holds segments; restore "
                                "IDENTITY from the copy this directory came from");
    }
    if (options_.read_only) return Status::NotFound(identity_path + ": not an ordo data directory");
    identity = NewIdentity();
    ORDO_RETURN_IF_ERROR(WriteIdentity(fs_, identity_path, identity));
    report->actions.push_back("created database " + DatabaseIdHex(identity.database_id));
    report->created_database = true;
  } else if (!read.ok()) {
    return read;
  }
  database_id_ = identity.database_id;
  return Status::Ok();
}

Status DBImpl::OpenImpl(OpenReport* report) {
  const int64_t start_micros = MonotonicMicros();
  ORDO_RETURN_IF_ERROR(OpenDirectory(report));
  report->previous_shutdown_clean = ShutdownWasClean(fs_, directory_);
  int level = options_.integrity_level;
  if (level < 0) level = report->previous_shutdown_clean ? 0 : 2;
  report->integrity_level = level;
  RecoveredLog recovered;
  const RecoveryOptions recovery{options_.read_only, level};
  ORDO_RETURN_IF_ERROR(
      RecoverLog(fs_, directory_, database_id_, recovery, &index_, &recovered, report));
  last_lsn_ = recovered.last_lsn;
  // The checkpoint loaded counts as written: a close with nothing new need not rewrite it.
  if (!report->checkpoint.empty()) {
    last_checkpoint_lsn_ = recovered.checkpoint_lsn;
    loaded_checkpoint_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ResetSubmittedTotalsLocked();
  }
  acked_lsn_ = recovered.last_lsn;
  durable_lsn_ = recovered.last_lsn;
  applied_lsn_ = recovered.last_lsn;
  segments_ = recovered.segments.size();
  uint64_t log_bytes = 0;
  for (const auto& segment : recovered.segments) log_bytes += segment.file_size;
  if (recovered.has_active) {
    log_bytes = log_bytes - recovered.segments.back().file_size + recovered.active_size;
  }
  log_bytes_ = log_bytes;
  if (!options_.read_only) {
    ORDO_RETURN_IF_ERROR(StartWriter(recovered, report));
    committer_ = std::thread([this] { CommitterLoop(); });
    if (options_.expiry_sweep_interval_ms > 0) sweeper_ = std::thread([this] { SweeperLoop(); });
  } else {
    closing_ = true;  // no writes in read-only mode
  }
  report->keys = index_.size();
  report->segments = segments_;
  report->log_bytes = log_bytes_;
  report->last_lsn = last_lsn_;
  report->duration_micros = MonotonicMicros() - start_micros;
  return Status::Ok();
}

Status DBImpl::StartWriter(const RecoveredLog& recovered, OpenReport* report) {
  const std::string log_directory = directory_ + "/log";
  // A run killed before its syncs returned leaves writes in the page cache only: records of the
  // active segment (Reopen syncs them), a seal, the directory entry of a new segment. They are
  // made durable before anything is written after them, because what comes after vouches for
  // them: records name what was durable when they were written, and a newer segment proves the
  // seal before it durable (docs/FORMAT.md, "End of records").
  ORDO_RETURN_IF_ERROR(fs_->SyncDir(log_directory));
  if (recovered.has_active) {
    const SegmentState& active = recovered.segments.back();
    ORDO_ASSIGN_OR_RETURN(
        writer_, log::SegmentWriter::Reopen(fs_, active.path, active.header, recovered.active_size,
                                            recovered.active_records, recovered.last_lsn,
                                            recovered.active_checksum));
    if (active.header.format_version < log::kFormatVersion) {
      // Written by an earlier format (docs/FORMAT.md, "Versions"): a segment holds records of
      // one format, so it is sealed as it is (even with no record) and new records go to a new
      // segment of this build's format.
      ORDO_RETURN_IF_ERROR(RotateTo(active.id + 1, recovered.last_lsn + 1));
      report->actions.push_back(fmt::format(
          "sealed {} (segment format {}); new records go to {} (format {})", active.path,
          active.header.format_version, writer_->path(), log::kFormatVersion));
    }
  } else {
    if (!recovered.segments.empty()) {
      ORDO_RETURN_IF_ERROR(fs_->SyncFile(recovered.segments.back().path));
    }
    log::SegmentHeader header;
    header.database_id = database_id_;
    header.segment_id = recovered.segments.empty() ? 1 : recovered.segments.back().id + 1;
    header.first_lsn = recovered.last_lsn + 1;
    header.previous_footer_hash =
        recovered.segments.empty() ? 0 : recovered.segments.back().footer.footer_checksum;
    ORDO_ASSIGN_OR_RETURN(writer_, log::SegmentWriter::Create(fs_, log_directory, header));
    ++segments_;
    log_bytes_ += writer_->size();
  }
  writer_->SetPreallocation(kPreallocateChunkBytes, options_.segment_bytes);
  next_segment_id_ = writer_->header().segment_id;
  next_offset_ = writer_->size();
  next_segment_records_ = writer_->record_count();
  return Status::Ok();
}

Status DBImpl::Close() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_) return failed_ ? failure_ : Status::Ok();
    closing_ = true;
    closed_ = true;
  }
  committer_cv_.notify_all();
  sweeper_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  if (sweeper_.joinable()) sweeper_.join();
  std::lock_guard<std::mutex> commit_lock(commit_mutex_);  // against a late CommitPending()
  Status result;
  if (writer_ != nullptr && !failed_) {
    // The active segment ends at its last record on disk, then the checkpoint marks the end
    // of the log: the next open sees a clean shutdown.
    result = writer_->Finish();
    if (result.ok()) result = WriteCheckpointNow();
  }
  writer_.reset();
  lock_.reset();
  std::lock_guard<std::mutex> lock(mutex_);
  if (failed_) return failure_;
  return result;
}

Status DBImpl::WriteCheckpointNow() {
  // Runs as the committer (commit_mutex_ held): nothing else changes the index, and the
  // log is synced first so the checkpoint never covers a record that a crash could take back.
  if (unsynced_) {
    Status synced = writer_->Sync();
    if (!synced.ok()) {
      Fail(synced);
      return synced;
    }
    ++syncs_;
    unsynced_ = false;
    std::lock_guard<std::mutex> lock(mutex_);
    durable_lsn_ = applied_lsn_;
  }
  // Nothing applied since the last checkpoint written or loaded (its file is still there: the
  // newest two are kept): writing the same one again would only cost time.
  if (applied_lsn_ == last_checkpoint_lsn_.load() &&
      (checkpoints_.load() > 0 || loaded_checkpoint_) &&
      fs_->FileExists(directory_ + "/index/" + index::CheckpointFileName(applied_lsn_))) {
    return Status::Ok();
  }
  index::CheckpointInfo info;
  info.database_id = database_id_;
  info.lsn = applied_lsn_;
  info.replay_segment_id = writer_->header().segment_id;
  info.replay_offset = writer_->size();
  const std::string index_directory = directory_ + "/index";
  {
    std::shared_lock<std::shared_mutex> lock(index_mutex_);
    ORDO_RETURN_IF_ERROR(index::WriteCheckpoint(fs_, index_directory, index_, info));
  }
  ++checkpoints_;
  last_checkpoint_lsn_ = info.lsn;
  last_checkpoint_time_ms_ = WallMillis();
  bytes_since_checkpoint_ = 0;
  // Keep the newest two: if the newest proves unusable at open, the older one still helps.
  auto names = fs_->GetChildren(index_directory);
  if (names.ok()) {
    std::vector<uint64_t> lsns;
    for (const auto& name : *names) {
      uint64_t lsn = 0;
      if (index::ParseCheckpointFileName(name, &lsn))
        lsns.push_back(lsn);
      else if (name.ends_with(".idx.tmp"))
        (void)fs_->RemoveFile(index_directory + "/" + name);
    }
    std::sort(lsns.rbegin(), lsns.rend());
    for (size_t i = 2; i < lsns.size(); ++i) {
      (void)fs_->RemoveFile(index_directory + "/" + index::CheckpointFileName(lsns[i]));
    }
  }
  return Status::Ok();
}

}  // namespace db
}  // namespace ordo
