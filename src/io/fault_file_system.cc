// The fault-injecting FileSystem. The header holds the crash model; this file keeps two
// listings (live and durable) of node pointers per directory, and SimulateCrash turns the live
// disk into the durable one.
#include "io/fault_file_system.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

namespace ordo {
namespace {

// Lexically normal, without a trailing slash, so that "d/", "d" and "./d" name one directory.
std::string NormalPath(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal.empty() ? "." : normal;
}

// Splits a normal path into its directory and its name.
std::pair<std::string, std::string> SplitPath(const std::string& normal_path) {
  const size_t slash = normal_path.find_last_of('/');
  if (slash == std::string::npos) return {".", normal_path};
  if (slash == 0) return {"/", normal_path.substr(1)};
  return {normal_path.substr(0, slash), normal_path.substr(slash + 1)};
}

std::string JoinPath(const std::string& directory, const std::string& name) {
  if (directory == ".") return name;
  if (directory == "/") return "/" + name;
  return directory + "/" + name;
}

// splitmix64: small, seedable, and the same on every platform, so a seed names one crash.
uint64_t NextRandom(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t mixed = state;
  mixed = (mixed ^ (mixed >> 30)) * 0xbf58476d1ce4e5b9ULL;
  mixed = (mixed ^ (mixed >> 27)) * 0x94d049bb133111ebULL;
  return mixed ^ (mixed >> 31);
}

// The page a crash keeps or loses as a whole in CrashMode::kTornPages.
constexpr uint64_t kCrashPageBytes = 4096;

std::string RandomBytes(size_t count, uint64_t& random_state) {
  std::string bytes(count, '\0');
  for (char& byte : bytes) byte = static_cast<char>(NextRandom(random_state));
  return bytes;
}

// What `mode` leaves of a file's unsynced bytes, which start at offset `durable_size`.
std::string TornBytes(CrashMode mode, uint64_t durable_size, std::string_view unsynced,
                      uint64_t& random_state) {
  const uint64_t size = unsynced.size();
  switch (mode) {
    case CrashMode::kDropUnsynced:
      return std::string();
    case CrashMode::kTornWrite:
    case CrashMode::kTornWriteWithGarbage: {
      std::string kept(unsynced.substr(0, NextRandom(random_state) % (size + 1)));
      // With garbage, the end of the prefix holds random bytes: sectors the device wrote with
      // something other than what was asked.
      if (mode == CrashMode::kTornWriteWithGarbage && !kept.empty()) {
        const uint64_t garbage_from = NextRandom(random_state) % kept.size();
        const std::string garbage = RandomBytes(kept.size() - garbage_from, random_state);
        kept.replace(garbage_from, garbage.size(), garbage);
      }
      return kept;
    }
    case CrashMode::kTornPages:
    case CrashMode::kTornPagesWithGarbage: {
      std::string kept(unsynced);
      uint64_t end_of_kept = 0;
      // Pages are aligned in the file, so the first one ends at the next page boundary.
      for (uint64_t begin = 0; begin < size;) {
        const uint64_t file_offset = durable_size + begin;
        const uint64_t end =
            std::min(size, begin + kCrashPageBytes - file_offset % kCrashPageBytes);
        const uint64_t draw = NextRandom(random_state) % 4;
        if (draw < 2) {
          end_of_kept = end;  // persisted
        } else if (draw == 3 && mode == CrashMode::kTornPagesWithGarbage) {
          kept.replace(begin, end - begin, RandomBytes(end - begin, random_state));
          end_of_kept = end;
        } else {
          std::fill(kept.begin() + begin, kept.begin() + end, '\0');
        }
        begin = end;
      }
      // The new size may not have reached the disk: then the file ends after its last page.
      if (NextRandom(random_state) % 2 == 0) kept.resize(end_of_kept);
      return kept;
    }
    case CrashMode::kTornRanges: {
      std::string kept(unsynced);
      std::vector<uint64_t> cuts = {0, size};
      const uint64_t cut_count = 1 + NextRandom(random_state) % 8;
      for (uint64_t i = 0; i < cut_count && size > 0; ++i) {
        cuts.push_back(NextRandom(random_state) % size);
      }
      std::sort(cuts.begin(), cuts.end());
      for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        const uint64_t begin = cuts[i];
        const uint64_t end = cuts[i + 1];
        const uint64_t draw = NextRandom(random_state) % 4;
        if (draw == 2) std::fill(kept.begin() + begin, kept.begin() + end, '\0');
        if (draw == 3) kept.replace(begin, end - begin, RandomBytes(end - begin, random_state));
      }
      if (NextRandom(random_state) % 3 == 0) kept.resize(NextRandom(random_state) % (size + 1));
      return kept;
    }
  }
  return std::string();
}

Status StaleHandleError(const std::string& path) {
  return Status::IOError(path + ": stale handle: opened before a simulated crash");
}

bool KindMatches(FaultKind kind, bool is_append, bool is_sync, bool is_read) {
  switch (kind) {
    case FaultKind::kWrite:
      return is_append;
    case FaultKind::kSync:
      return is_sync;
    case FaultKind::kRead:
      return is_read;
    case FaultKind::kAny:
      return !is_read;
  }
  return false;
}

}  // namespace

// Handles route every call through the FaultFileSystem, which owns the model and the lock.
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* file_system, std::unique_ptr<WritableFile> target,
                    FaultFileSystem::NodePointer node, uint64_t epoch)
      : file_system_(file_system),
        target_(std::move(target)),
        node_(std::move(node)),
        epoch_(epoch) {}

  Status Append(std::string_view bytes) override {
    return file_system_->FileAppend(*target_, epoch_, bytes);
  }
  Status Preallocate(uint64_t physical_bytes) override {
    return file_system_->FilePreallocate(*target_, epoch_, physical_bytes, false);
  }
  Status TrimPreallocation() override {
    return file_system_->FilePreallocate(*target_, epoch_, 0, true);
  }
  Status Sync() override { return file_system_->FileSync(*target_, node_, epoch_, false); }
  Status SyncAll() override { return file_system_->FileSync(*target_, node_, epoch_, true); }
  Status Close() override {
    // A stale handle's file may now hold other bytes; closing it must not touch them.
    if (file_system_->IsStale(epoch_)) return Status::Ok();
    return target_->Close();
  }
  uint64_t Size() const override { return target_->Size(); }
  const std::string& path() const override { return target_->path(); }

 private:
  FaultFileSystem* const file_system_;
  const std::unique_ptr<WritableFile> target_;
  const FaultFileSystem::NodePointer node_;
  const uint64_t epoch_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultFileSystem* file_system, std::unique_ptr<RandomAccessFile> target,
                        uint64_t epoch)
      : file_system_(file_system), target_(std::move(target)), epoch_(epoch) {}

  Status Read(uint64_t offset, size_t count, char* scratch, size_t* read_count) const override {
    return file_system_->FileRead(*target_, epoch_, offset, count, scratch, read_count);
  }
  const std::string& path() const override { return target_->path(); }
  void AdviseSequential() const override { target_->AdviseSequential(); }

 private:
  FaultFileSystem* const file_system_;
  const std::unique_ptr<RandomAccessFile> target_;
  const uint64_t epoch_;
};

const char* CrashModeName(CrashMode mode) {
  switch (mode) {
    case CrashMode::kDropUnsynced:
      return "drop unsynced";
    case CrashMode::kTornWrite:
      return "torn write";
    case CrashMode::kTornWriteWithGarbage:
      return "torn write with garbage";
    case CrashMode::kTornPages:
      return "torn pages";
    case CrashMode::kTornPagesWithGarbage:
      return "torn pages with garbage";
    case CrashMode::kTornRanges:
      return "torn ranges";
  }
  return "unknown";
}

FaultFileSystem::FaultFileSystem(FileSystem* target) : target_(target) {
  assert(target_ != nullptr);
}

FaultFileSystem::~FaultFileSystem() = default;

// --- Faults and counters ---

void FaultFileSystem::FailAfter(uint64_t n, FaultKind kind, Errno error, bool persistent) {
  assert(n >= 1);
  std::lock_guard<std::mutex> guard(mutex_);
  fail_armed_ = true;
  fail_at_ = n;
  fail_kind_ = kind;
  fail_error_ = error;
  fail_persistent_ = persistent;
  fail_matched_ = 0;
}

void FaultFileSystem::SetShortWrite(ShortWrite short_write) {
  std::lock_guard<std::mutex> guard(mutex_);
  short_write_ = short_write;
}

void FaultFileSystem::CrashAfterSyncs(uint64_t n) {
  assert(n >= 1);
  std::lock_guard<std::mutex> guard(mutex_);
  crash_armed_ = true;
  crash_at_sync_ = false;
  crash_after_syncs_ = n;
  syncs_since_armed_ = 0;
}

void FaultFileSystem::CrashAtSync(uint64_t n) {
  assert(n >= 1);
  std::lock_guard<std::mutex> guard(mutex_);
  crash_armed_ = true;
  crash_at_sync_ = true;
  crash_after_syncs_ = n;
  syncs_since_armed_ = 0;
}

void FaultFileSystem::Reset() {
  std::lock_guard<std::mutex> guard(mutex_);
  syncs_held_ = false;
  hold_cv_.notify_all();
  fail_armed_ = false;
  fail_matched_ = 0;
  short_write_ = ShortWrite::kNone;
  crash_armed_ = false;
  syncs_since_armed_ = 0;
  frozen_ = false;
  sync_count_ = 0;
  sync_points_.clear();
  mutation_count_ = 0;
  injected_count_ = 0;
}

uint64_t FaultFileSystem::sync_count() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return sync_count_;
}
std::vector<std::string> FaultFileSystem::sync_points() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return sync_points_;
}
uint64_t FaultFileSystem::mutation_count() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return mutation_count_;
}
uint64_t FaultFileSystem::injected_count() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return injected_count_;
}
bool FaultFileSystem::frozen() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return frozen_;
}

Status FaultFileSystem::InjectedError(const std::string& path, const std::string& operation) const {
  const int error_number = fail_error_ == Errno::kENOSPC ? ENOSPC : EIO;
  std::string message =
      path + ": " + operation + ": " + std::strerror(error_number) + " (injected fault)";
  if (error_number == ENOSPC) return Status::NoSpace(std::move(message));
  return Status::IOError(std::move(message));
}

Status FaultFileSystem::CheckCallLocked(Call call, const std::string& path,
                                        const std::string& operation) {
  const bool is_read = call == Call::kRead;
  const bool is_sync = call == Call::kSync;
  if (!is_read) ++mutation_count_;
  if (is_sync) {
    ++sync_count_;
    sync_points_.push_back(operation + " " + path);
  }
  if (is_sync && crash_armed_ && crash_at_sync_ && !frozen_ &&
      ++syncs_since_armed_ >= crash_after_syncs_) {
    frozen_ = true;  // CrashAtSync: this sync point never happens
  }
  if (frozen_ && !is_read) {
    return Status::IOError(path + ": " + operation + ": simulated power loss");
  }
  if (fail_armed_ && KindMatches(fail_kind_, call == Call::kAppend, is_sync, is_read)) {
    ++fail_matched_;
    if (fail_matched_ == fail_at_ || (fail_persistent_ && fail_matched_ > fail_at_)) {
      ++injected_count_;
      return InjectedError(path, operation);
    }
  }
  return Status::Ok();
}

void FaultFileSystem::HoldSyncs() {
  std::lock_guard<std::mutex> guard(mutex_);
  syncs_held_ = true;
}

void FaultFileSystem::ReleaseSyncs() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    syncs_held_ = false;
  }
  hold_cv_.notify_all();
}

void FaultFileSystem::WaitUntilSyncsHeld(uint64_t count) {
  std::unique_lock<std::mutex> guard(mutex_);
  hold_cv_.wait(guard, [&] { return syncs_waiting_ >= count; });
}

void FaultFileSystem::WaitWhileSyncsHeldLocked(std::unique_lock<std::mutex>& guard) {
  if (!syncs_held_) return;
  ++syncs_waiting_;
  hold_cv_.notify_all();
  hold_cv_.wait(guard, [&] { return !syncs_held_; });
  --syncs_waiting_;
}

void FaultFileSystem::AfterSyncLocked() {
  if (!crash_armed_ || crash_at_sync_ || frozen_) return;
  ++syncs_since_armed_;
  if (syncs_since_armed_ >= crash_after_syncs_) frozen_ = true;
}

bool FaultFileSystem::IsStale(uint64_t epoch) {
  std::lock_guard<std::mutex> guard(mutex_);
  return epoch != epoch_;
}

// --- The model ---

FaultFileSystem::NodePointer FaultFileSystem::LiveNodeLocked(const std::string& normal_path) {
  const auto [directory, name] = SplitPath(normal_path);
  if (const auto listing = live_.find(directory); listing != live_.end()) {
    if (const auto entry = listing->second.find(name); entry != listing->second.end()) {
      return entry->second;
    }
  }
  // Not tracked yet: a file that exists was there before this model started (or survived a
  // crash), so it is taken as fully durable.
  if (!target_->FileExists(normal_path)) return nullptr;
  auto node = std::make_shared<Node>();
  const Result<uint64_t> size = target_->GetFileSize(normal_path);
  node->synced_bytes = size.ok() ? *size : 0;
  node->live_path = normal_path;
  SetLiveLocked(normal_path, node);
  if (DurableNodeLocked(normal_path) == nullptr) SetDurableLocked(normal_path, node);
  return node;
}

FaultFileSystem::NodePointer FaultFileSystem::DurableNodeLocked(
    const std::string& normal_path) const {
  const auto [directory, name] = SplitPath(normal_path);
  const auto listing = durable_.find(directory);
  if (listing == durable_.end()) return nullptr;
  const auto entry = listing->second.find(name);
  return entry == listing->second.end() ? nullptr : entry->second;
}

void FaultFileSystem::SetLiveLocked(const std::string& normal_path, NodePointer node) {
  const auto [directory, name] = SplitPath(normal_path);
  if (node == nullptr) {
    if (const auto listing = live_.find(directory); listing != live_.end()) {
      listing->second.erase(name);
    }
    return;
  }
  live_[directory][name] = std::move(node);
}

void FaultFileSystem::SetDurableLocked(const std::string& normal_path, NodePointer node) {
  const auto [directory, name] = SplitPath(normal_path);
  NodePointer old = DurableNodeLocked(normal_path);
  if (old == node) return;
  if (old != nullptr) {
    --old->durable_links;
    assert(old->durable_links >= 0);
    // Nothing durable names the node any more, so its saved bytes can never come back.
    if (old->durable_links == 0 && old->has_saved_bytes) {
      old->has_saved_bytes = false;
      old->saved_bytes = std::string();
    }
  }
  if (node == nullptr) {
    durable_[directory].erase(name);
    return;
  }
  ++node->durable_links;
  durable_[directory][name] = std::move(node);
}

Status FaultFileSystem::SaveDurableBytesLocked(Node& node) {
  if (node.durable_links == 0 || node.has_saved_bytes) return Status::Ok();
  assert(!node.live_path.empty());
  ORDO_ASSIGN_OR_RETURN(auto file, target_->NewRandomAccessFile(node.live_path));
  std::string bytes(node.synced_bytes, '\0');
  size_t read_count = 0;
  ORDO_RETURN_IF_ERROR(file->Read(0, bytes.size(), bytes.data(), &read_count));
  bytes.resize(read_count);
  node.saved_bytes = std::move(bytes);
  node.has_saved_bytes = true;
  return Status::Ok();
}

// --- Handle calls ---

Status FaultFileSystem::FileAppend(WritableFile& target, uint64_t epoch, std::string_view bytes) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (epoch != epoch_) return StaleHandleError(target.path());
  const uint64_t injected_before = injected_count_;
  Status status = CheckCallLocked(Call::kAppend, target.path(),
                                  "write at offset " + std::to_string(target.Size()));
  if (!status.ok()) {
    if (injected_count_ != injected_before && short_write_ == ShortWrite::kHalf) {
      // A short write: the kernel took part of the buffer before the device failed.
      const Status partial = target.Append(bytes.substr(0, bytes.size() / 2));
      if (!partial.ok()) return partial;
    }
    return status;
  }
  return target.Append(bytes);
}

Status FaultFileSystem::FilePreallocate(WritableFile& target, uint64_t epoch,
                                        uint64_t physical_bytes, bool trim) {
  // Preallocated zeros lie after the logical end, so the model treats them like unsynced
  // appended bytes: a crash may drop them (a legal outcome: the file then simply ends earlier).
  std::lock_guard<std::mutex> guard(mutex_);
  if (epoch != epoch_) return StaleHandleError(target.path());
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, target.path(),
                                       trim ? "trim preallocation" : "preallocate"));
  return trim ? target.TrimPreallocation() : target.Preallocate(physical_bytes);
}

Status FaultFileSystem::FileSync(WritableFile& target, const NodePointer& node, uint64_t epoch,
                                 bool sync_all) {
  std::unique_lock<std::mutex> guard(mutex_);
  WaitWhileSyncsHeldLocked(guard);
  if (epoch != epoch_) return StaleHandleError(target.path());
  const bool was_frozen = frozen_;
  Status status = CheckCallLocked(Call::kSync, target.path(), sync_all ? "fsync" : "fdatasync");
  if (status.ok()) status = sync_all ? target.SyncAll() : target.Sync();
  if (status.ok()) {
    if (!node->sync_failed) {
      // Every byte up to the handle's logical end is durable. (Preallocated zeros after it are
      // durable too in reality; the model lets a crash drop them, which recovery must handle
      // anyway.) ordo has one writer per file, so the handle's end is the file's.
      node->synced_bytes = target.Size();
    }
  } else if (!was_frozen) {
    node->sync_failed = true;
  }
  AfterSyncLocked();
  return status;
}

Status FaultFileSystem::FileRead(const RandomAccessFile& target, uint64_t epoch, uint64_t offset,
                                 size_t count, char* scratch, size_t* read_count) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (epoch != epoch_) return StaleHandleError(target.path());
    ORDO_RETURN_IF_ERROR(
        CheckCallLocked(Call::kRead, target.path(), "read at offset " + std::to_string(offset)));
  }
  // Reads run outside the lock: they change nothing, and the committer must not wait on them.
  return target.Read(offset, count, scratch, read_count);
}

// --- FileSystem calls ---

Result<std::unique_ptr<WritableFile>> FaultFileSystem::NewWritableFile(const std::string& path) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, path, "create"));
  const std::string normal_path = NormalPath(path);
  NodePointer node = LiveNodeLocked(normal_path);
  ORDO_ASSIGN_OR_RETURN(auto file, target_->NewWritableFile(path));
  if (node != nullptr) {
    // O_TRUNC keeps the inode and, in this model, drops its old bytes at once.
    node->synced_bytes = 0;
    node->sync_failed = false;
  } else {
    node = std::make_shared<Node>();
    node->live_path = normal_path;
    SetLiveLocked(normal_path, node);
  }
  return std::unique_ptr<WritableFile>(
      new FaultWritableFile(this, std::move(file), std::move(node), epoch_));
}

Result<std::unique_ptr<WritableFile>> FaultFileSystem::ReopenWritableFile(const std::string& path) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, path, "open for append"));
  const std::string normal_path = NormalPath(path);
  NodePointer node = LiveNodeLocked(normal_path);
  ORDO_ASSIGN_OR_RETURN(auto file, target_->ReopenWritableFile(path));
  if (node == nullptr) {
    // Only if the file appeared between the two calls (not through this file system).
    node = LiveNodeLocked(normal_path);
    if (node == nullptr) return Status::IOError(path + ": open for append: file vanished");
  }
  return std::unique_ptr<WritableFile>(
      new FaultWritableFile(this, std::move(file), std::move(node), epoch_));
}

Result<std::unique_ptr<RandomAccessFile>> FaultFileSystem::NewRandomAccessFile(
    const std::string& path) {
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kRead, path, "open"));
    epoch = epoch_;
  }
  ORDO_ASSIGN_OR_RETURN(auto file, target_->NewRandomAccessFile(path));
  return std::unique_ptr<RandomAccessFile>(new FaultRandomAccessFile(this, std::move(file), epoch));
}

bool FaultFileSystem::FileExists(const std::string& path) { return target_->FileExists(path); }

Result<uint64_t> FaultFileSystem::GetFileSize(const std::string& path) {
  return target_->GetFileSize(path);
}

Result<int64_t> FaultFileSystem::GetModificationTimeMicros(const std::string& path) {
  return target_->GetModificationTimeMicros(path);
}

Result<std::vector<std::string>> FaultFileSystem::GetChildren(const std::string& directory) {
  return target_->GetChildren(directory);
}

Status FaultFileSystem::CreateDir(const std::string& directory) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, directory, "create directory"));
  return target_->CreateDir(directory);
}

Status FaultFileSystem::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, path, "remove"));
  const std::string normal_path = NormalPath(path);
  NodePointer node = LiveNodeLocked(normal_path);
  const bool had_saved_bytes = node != nullptr && node->has_saved_bytes;
  // A crash may undo the removal, so keep the bytes it would bring back.
  if (node != nullptr) ORDO_RETURN_IF_ERROR(SaveDurableBytesLocked(*node));
  Status status = target_->RemoveFile(path);
  if (node == nullptr) return status;
  if (!status.ok()) {
    if (!had_saved_bytes) {
      node->has_saved_bytes = false;
      node->saved_bytes = std::string();
    }
    return status;
  }
  SetLiveLocked(normal_path, nullptr);
  node->live_path.clear();
  return status;
}

Status FaultFileSystem::RenameFile(const std::string& source, const std::string& target) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, source, "rename to " + target));
  const std::string normal_source = NormalPath(source);
  const std::string normal_target = NormalPath(target);
  if (normal_source == normal_target) return target_->RenameFile(source, target);
  NodePointer moved = LiveNodeLocked(normal_source);
  NodePointer replaced = LiveNodeLocked(normal_target);
  if (replaced == moved) replaced = nullptr;
  const bool had_saved_bytes = replaced != nullptr && replaced->has_saved_bytes;
  // A crash may undo the rename and bring back the file it replaced.
  if (replaced != nullptr) ORDO_RETURN_IF_ERROR(SaveDurableBytesLocked(*replaced));
  Status status = target_->RenameFile(source, target);
  if (!status.ok()) {
    if (replaced != nullptr && !had_saved_bytes) {
      replaced->has_saved_bytes = false;
      replaced->saved_bytes = std::string();
    }
    return status;
  }
  if (replaced != nullptr) replaced->live_path.clear();
  if (moved == nullptr) {
    // The target renamed something this model cannot see (it did not exist when looked up).
    SetLiveLocked(normal_target, nullptr);
    return status;
  }
  SetLiveLocked(normal_source, nullptr);
  SetLiveLocked(normal_target, moved);
  moved->live_path = normal_target;
  return status;
}

Status FaultFileSystem::SyncDir(const std::string& directory) {
  std::unique_lock<std::mutex> guard(mutex_);
  WaitWhileSyncsHeldLocked(guard);
  Status status = CheckCallLocked(Call::kSync, directory, "fsync directory");
  if (status.ok()) status = target_->SyncDir(directory);
  if (status.ok()) {
    const std::string normal_directory = NormalPath(directory);
    // The durable listing becomes the live one: first forget entries gone from it, then record
    // every live entry.
    std::vector<std::string> gone;
    if (const auto durable = durable_.find(normal_directory); durable != durable_.end()) {
      const auto live = live_.find(normal_directory);
      for (const auto& [name, node] : durable->second) {
        if (live == live_.end() || !live->second.contains(name)) gone.push_back(name);
      }
    }
    for (const std::string& name : gone) {
      SetDurableLocked(JoinPath(normal_directory, name), nullptr);
    }
    if (const auto live = live_.find(normal_directory); live != live_.end()) {
      for (const auto& [name, node] : live->second) {
        SetDurableLocked(JoinPath(normal_directory, name), node);
      }
    }
  }
  AfterSyncLocked();
  return status;
}

Status FaultFileSystem::SyncFile(const std::string& path) {
  std::unique_lock<std::mutex> guard(mutex_);
  WaitWhileSyncsHeldLocked(guard);
  const bool was_frozen = frozen_;
  Status status = CheckCallLocked(Call::kSync, path, "fsync");
  NodePointer node = status.ok() ? LiveNodeLocked(NormalPath(path)) : nullptr;
  if (status.ok()) status = target_->SyncFile(path);
  if (node != nullptr) {
    if (status.ok() && !node->sync_failed) {
      const Result<uint64_t> size = target_->GetFileSize(path);
      if (size.ok()) node->synced_bytes = *size;
    } else if (!status.ok() && !was_frozen) {
      node->sync_failed = true;
    }
  }
  AfterSyncLocked();
  return status;
}

Status FaultFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(
      CheckCallLocked(Call::kOtherMutation, path, "truncate to " + std::to_string(size)));
  NodePointer node = LiveNodeLocked(NormalPath(path));
  ORDO_RETURN_IF_ERROR(target_->Truncate(path, size));
  if (node != nullptr) {
    // The cut is durable at once (see the header); once nothing unsynced is left, an earlier
    // sync failure has nothing left to lose.
    node->synced_bytes = std::min(node->synced_bytes, size);
    if (size <= node->synced_bytes) node->sync_failed = false;
  }
  return Status::Ok();
}

Status FaultFileSystem::ChangeMode(const std::string& path, const char* operation,
                                   Status (FileSystem::*change)(const std::string&),
                                   bool read_only) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, path, operation));
  NodePointer node = LiveNodeLocked(NormalPath(path));
  ORDO_RETURN_IF_ERROR((target_->*change)(path));
  if (node != nullptr) node->read_only = read_only;
  return Status::Ok();
}

Status FaultFileSystem::SetReadOnly(const std::string& path) {
  return ChangeMode(path, "chmod read-only", &FileSystem::SetReadOnly, /*read_only=*/true);
}

Status FaultFileSystem::SetWritable(const std::string& path) {
  return ChangeMode(path, "chmod writable", &FileSystem::SetWritable, /*read_only=*/false);
}

Status FaultFileSystem::SetOwnerOnly(const std::string& path) {
  return ChangeMode(path, "chmod 0600", &FileSystem::SetOwnerOnly, /*read_only=*/false);
}

Result<std::unique_ptr<FileLock>> FaultFileSystem::LockFile(const std::string& path) {
  std::lock_guard<std::mutex> guard(mutex_);
  ORDO_RETURN_IF_ERROR(CheckCallLocked(Call::kOtherMutation, path, "lock"));
  return target_->LockFile(path);
}

// --- Crash ---

Status FaultFileSystem::WriteWholeFile(const std::string& path, std::string_view bytes,
                                       bool read_only) {
  ORDO_ASSIGN_OR_RETURN(auto file, target_->NewWritableFile(path));
  ORDO_RETURN_IF_ERROR(file->Append(bytes));
  ORDO_RETURN_IF_ERROR(file->Close());
  if (read_only) ORDO_RETURN_IF_ERROR(target_->SetReadOnly(path));
  return Status::Ok();
}

Status FaultFileSystem::TearUnsyncedBytes(const std::string& path, const Node& node,
                                          const CrashTear& tear) {
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, target_->GetFileSize(path));
  const uint64_t durable = std::min(node.synced_bytes, size);
  if (size == durable) return Status::Ok();  // nothing unsynced: nothing to decide
  std::string unsynced(size - durable, '\0');
  {
    ORDO_ASSIGN_OR_RETURN(auto file, target_->NewRandomAccessFile(path));
    size_t read_count = 0;
    ORDO_RETURN_IF_ERROR(file->Read(durable, unsynced.size(), unsynced.data(), &read_count));
    unsynced.resize(read_count);
  }
  const std::string kept = tear(path, durable, unsynced);
  if (kept == unsynced) return Status::Ok();
  if (node.read_only) ORDO_RETURN_IF_ERROR(target_->SetWritable(path));
  ORDO_RETURN_IF_ERROR(target_->Truncate(path, durable));
  if (!kept.empty()) {
    ORDO_ASSIGN_OR_RETURN(auto file, target_->ReopenWritableFile(path));
    ORDO_RETURN_IF_ERROR(file->Append(kept));
    ORDO_RETURN_IF_ERROR(file->Close());
  }
  if (node.read_only) ORDO_RETURN_IF_ERROR(target_->SetReadOnly(path));
  return Status::Ok();
}

Status FaultFileSystem::SimulateCrash(CrashMode mode, uint64_t seed) {
  // One random stream for the whole crash, drawn file by file in a fixed order: the same seed
  // and history give the same disk.
  auto random_state = std::make_shared<uint64_t>(seed);
  return SimulateCrash(
      [mode, random_state](const std::string&, uint64_t durable_size, std::string_view unsynced) {
        return TornBytes(mode, durable_size, unsynced, *random_state);
      });
}

Status FaultFileSystem::SimulateCrash(const CrashTear& tear) {
  std::lock_guard<std::mutex> guard(mutex_);
  return SimulateCrashLocked(tear);
}

Status FaultFileSystem::SimulateCrashLocked(const CrashTear& tear) {
  // Every handle opened so far now refers to a machine that lost power.
  ++epoch_;

  struct Entry {
    std::string path;
    NodePointer node;
  };
  std::vector<Entry> durable_entries;
  std::set<const Node*> in_place;  // nodes whose live file already sits at a durable name
  for (const auto& [directory, names] : durable_) {
    for (const auto& [name, node] : names) {
      durable_entries.push_back({JoinPath(directory, name), node});
      if (node->live_path == durable_entries.back().path) in_place.insert(node.get());
    }
  }

  // Plan how each durable entry not already in place gets its file back: a live file that has
  // no durable name of its own is moved there (renamed, so a big file is not copied); any other
  // entry gets a copy of the node's durable bytes, read now before anything moves.
  struct Move {
    std::string aside_path;
    std::string final_path;
    NodePointer node;
  };
  struct Copy {
    std::string path;
    std::string bytes;
    bool read_only;
  };
  std::vector<Move> moves;
  std::set<const Node*> moving;
  std::vector<Copy> copies;
  for (const Entry& entry : durable_entries) {
    Node& node = *entry.node;
    if (node.live_path == entry.path) continue;
    if (!node.live_path.empty() && !in_place.contains(&node) && !moving.contains(&node)) {
      const std::string aside_path = JoinPath(SplitPath(entry.path).first,
                                              ".ordo-fault-crash-" + std::to_string(moves.size()));
      moves.push_back({aside_path, entry.path, entry.node});
      moving.insert(&node);
      continue;
    }
    Copy copy{entry.path, std::string(), node.read_only};
    if (node.has_saved_bytes) {
      copy.bytes = node.saved_bytes;
    } else {
      assert(!node.live_path.empty());
      ORDO_ASSIGN_OR_RETURN(auto file, target_->NewRandomAccessFile(node.live_path));
      copy.bytes.resize(node.synced_bytes);
      size_t read_count = 0;
      ORDO_RETURN_IF_ERROR(file->Read(0, copy.bytes.size(), copy.bytes.data(), &read_count));
      copy.bytes.resize(read_count);
    }
    copies.push_back(std::move(copy));
  }

  // Moved files go aside first, so that removing the non-durable live names cannot hit them and
  // a chain or cycle of renames cannot overwrite one with another.
  for (const Move& move : moves) {
    ORDO_RETURN_IF_ERROR(target_->RenameFile(move.node->live_path, move.aside_path));
  }
  for (const auto& [directory, names] : live_) {
    for (const auto& [name, node] : names) {
      if (moving.contains(node.get())) continue;
      const std::string path = JoinPath(directory, name);
      if (DurableNodeLocked(path) == node) continue;
      ORDO_RETURN_IF_ERROR(target_->RemoveFile(path));
    }
  }
  for (const Move& move : moves) {
    ORDO_RETURN_IF_ERROR(target_->RenameFile(move.aside_path, move.final_path));
  }
  for (const Copy& copy : copies) {
    ORDO_RETURN_IF_ERROR(WriteWholeFile(copy.path, copy.bytes, copy.read_only));
  }

  // Now each file that came from a live file loses (or tears) its unsynced tail. Copies hold
  // durable bytes only.
  for (const Entry& entry : durable_entries) {
    if (entry.node->live_path != entry.path) continue;
    ORDO_RETURN_IF_ERROR(TearUnsyncedBytes(entry.path, *entry.node, tear));
  }
  for (const Move& move : moves) {
    ORDO_RETURN_IF_ERROR(TearUnsyncedBytes(move.final_path, *move.node, tear));
  }

  // The machine rebooted: whatever is on disk now is durable, and is adopted on first use.
  live_.clear();
  durable_.clear();
  fail_armed_ = false;
  crash_armed_ = false;
  frozen_ = false;
  return Status::Ok();
}

}  // namespace ordo
