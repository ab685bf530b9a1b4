// A FileSystem for crash and I/O-error tests. It wraps a real FileSystem (normally
// FileSystem::Default() working in a temporary directory), passes every call through, and on
// the side keeps a model of what a power loss would leave on disk. It can:
//
//   * forget everything not made durable (SimulateCrash), optionally tearing the unsynced tail
//     of each file instead of dropping it whole;
//   * fail the Nth matching call with EIO or ENOSPC, once or forever (FailAfter);
//   * freeze after the Nth sync point, as if the power went out there (CrashAfterSyncs);
//   * count sync points and mutating calls, so a test can first run a workload to count them
//     and then crash or fail at every one in turn, as SQLite's I/O-error loops do.
//
// THE CRASH MODEL (what SimulateCrash leaves behind)
//
// The model is inode-like: a path names a file node, and each node has a durable size.
//
// File contents.
//   * Sync() and SyncAll() succeeding make every byte up to the handle's logical end (Size())
//     durable. Zeros preallocated after it (WritableFile::Preallocate) count as unsynced: a
//     crash may drop them, which in reality it would not; recovery must handle both.
//   * A crash decides, file by file, what becomes of the unsynced bytes [durable size, size):
//       kDropUnsynced          all are lost: the file is cut to its durable size;
//       kTornWrite             a random prefix of them is kept, cut at any byte;
//       kTornWriteWithGarbage  as kTornWrite, with the end of that prefix random bytes;
//       kTornPages             each 4 KiB page (aligned in the file; the first one starts at the
//                              durable size) is kept or lost on its own, in no order, as page
//                              writeback and a disk's own cache persist them; a lost page reads
//                              as zeros (what was there: preallocated zeros, or a hole); the
//                              file keeps its size, or ends after its last kept page;
//       kTornPagesWithGarbage  as kTornPages, and a lost page may read as random bytes;
//       kTornRanges            cut at 1 to 8 random byte offsets, each range kept, zeros or
//                              random bytes (a device that writes sectors in any order); the
//                              file may end anywhere after the durable size;
//     or, for a test that needs one exact shape, as a CrashTear function says. Durable bytes
//     are never changed.
//   * A Sync that fails (injected or real) "poisons" the file, as Linux does after an fsync
//     error (the dirty pages are marked clean and dropped): later Syncs on that file return OK
//     but make nothing more durable, until a Truncate cuts the file back to its durable size or
//     a crash resets the model. A database that retries a failed sync therefore loses data in
//     these tests, as it would in production.
//   * NewWritableFile on an existing file truncates it, and that truncation is taken as durable
//     at once (the old contents are gone even if the file is never synced). Truncate() is also
//     durable at once: a crash never resurrects a cut tail.
//
// Directory entries.
//   * Creating, renaming and removing a file change only the live directory. Each directory
//     also has a durable listing, which SyncDir(directory) sets equal to the live one. A file's
//     own Sync does NOT make its directory entry durable (no ext4 journal-ordering assumption).
//   * A crash resets every tracked directory to its durable listing: files created since the
//     last SyncDir vanish, renames are undone (the file is back under its old name with its
//     durable bytes, and a file the rename replaced is back too), removals are undone (the
//     file is back with the bytes that were durable when it was removed).
//   * A rename between two directories needs both directories synced; if only one is, the
//     model can keep the file under both names (each a separate copy) or under neither.
//   * Files that existed before this FileSystem first touched them are assumed fully durable
//     (contents and entry). Files the FileSystem never touches are left alone by a crash.
//   * Not modelled (taken as durable at once): CreateDir, SetReadOnly/SetWritable/SetOwnerOnly,
//     the file LockFile creates. Bytes written and synced through a handle after its file was
//     removed or renamed over are not restored if the crash undoes that removal.
//
// After SimulateCrash the model restarts from what is on disk: every file is fully durable,
// every entry is durable, injected faults and the freeze are cleared (the machine rebooted),
// counters are kept.
//
// FAULTS
//
// FailAfter(n, kind, error, persistent) counts the calls that match `kind` from the moment it
// is armed and fails the nth (n >= 1), and with `persistent` every later one too. An injected
// failure changes nothing on disk, except that a failed Append writes a prefix of its bytes when
// SetShortWrite(ShortWrite::kHalf) is set, modelling a short write. The Status names the path and
// the operation like the POSIX FileSystem's: EIO gives Status::IOError, ENOSPC Status::NoSpace,
// and the message ends with "(injected fault)".
//
// Calls are classified as:
//   kWrite  WritableFile::Append.
//   kSync   WritableFile::Sync, WritableFile::SyncAll, FileSystem::SyncDir, FileSystem::SyncFile
//           (the "sync points"; SyncFile makes every byte of the file durable, named "fsync
//           PATH" like SyncAll).
//   kRead   RandomAccessFile::Read, FileSystem::NewRandomAccessFile.
//   kAny    every mutating call: Append, Sync, SyncAll, SyncDir, SyncFile, NewWritableFile,
//           ReopenWritableFile, CreateDir, RemoveFile, RenameFile, Truncate, SetReadOnly,
//           SetWritable, SetOwnerOnly, LockFile. (Not reads, not Close, not the queries FileExists,
//           GetFileSize, GetChildren.)
//
// CrashAfterSyncs(n) lets the next n sync points run normally (whatever they return) and then
// freezes the file system: every later mutating call returns Status::IOError naming the path
// and "simulated power loss", and changes nothing. Reads still work (they see what the page
// cache would). A later SimulateCrash() drops what was not durable at the freeze.
// CrashAtSync(n) freezes at the nth sync point instead, which then fails unperformed.
//
// HANDLES, THREADS, LIFETIME
//
// * RandomAccessFile reads see unsynced appended bytes (the page cache) until a crash.
// * Handles opened before SimulateCrash are dead afterwards: every call on them returns
//   Status::IOError ("stale handle") and touches nothing; Close returns OK; destroying them is
//   safe. So a test may crash while the database object still holds files, then destroy it.
// * SimulateCrash must be called while no other thread is calling into this FileSystem (freeze
//   it first with CrashAfterSyncs, or stop the writers).
// * Thread-safe: one mutex guards the model, the counters and the faults, and is held across
//   every mutating call to the target (mutations are serialised; reads are not).
// * The target FileSystem and this FaultFileSystem must outlive every file opened through it.
//   The target's WritableFile must not write on Close or destruction (true of the POSIX one).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/file_system.h"

namespace ordo {

enum class FaultKind : uint8_t {
  kWrite,  // Append
  kSync,   // Sync, SyncAll, SyncDir
  kRead,   // Read, NewRandomAccessFile
  kAny,    // every mutating call (see the header comment)
};

// The errno an injected failure reports.
enum class Errno : uint8_t {
  kEIO,     // Status::IOError
  kENOSPC,  // Status::NoSpace
};

// What a crash does to each file's unsynced bytes (see THE CRASH MODEL above).
enum class CrashMode : uint8_t {
  kDropUnsynced,          // every file is cut to its durable size
  kTornWrite,             // each file keeps a random prefix of its unsynced bytes
  kTornWriteWithGarbage,  // as kTornWrite, and the end of that prefix may be random bytes
  kTornPages,             // each 4 KiB page kept or lost (zeros) on its own, in no order
  kTornPagesWithGarbage,  // as kTornPages, and a lost page may be random bytes
  kTornRanges,            // random byte ranges, each kept, zeros or random bytes
};
inline constexpr CrashMode kCrashModes[] = {
    CrashMode::kDropUnsynced,         CrashMode::kTornWrite,
    CrashMode::kTornWriteWithGarbage, CrashMode::kTornPages,
    CrashMode::kTornPagesWithGarbage, CrashMode::kTornRanges};
const char* CrashModeName(CrashMode mode);

// An exact crash, for a test that needs one shape: called for each file that has unsynced
// bytes, with its path, its durable size and the unsynced bytes as the file held them; returns
// what the file holds after its durable size once the power is back (any length: shorter cuts
// the file, longer extends it).
using CrashTear = std::function<std::string(const std::string& path, uint64_t durable_size,
                                            std::string_view unsynced)>;

// What a failed (injected) Append leaves in the file.
enum class ShortWrite : uint8_t {
  kNone,  // nothing
  kHalf,  // the first half of the bytes (rounded down)
};

class FaultFileSystem final : public FileSystem {
 public:
  // `target` is not owned and must outlive this object.
  explicit FaultFileSystem(FileSystem* target = FileSystem::Default());
  ~FaultFileSystem() override;
  FaultFileSystem(const FaultFileSystem&) = delete;
  FaultFileSystem& operator=(const FaultFileSystem&) = delete;

  // --- Crash ---

  // Makes the files on disk what a power loss would have left (see the crash model above),
  // kills every open handle, clears faults and the freeze, and restarts the model with every
  // file durable. `seed` drives the torn-write choices; the same seed and the same history give
  // the same result. Fails only if the target fails while rewriting the files.
  [[nodiscard]] Status SimulateCrash(CrashMode mode = CrashMode::kDropUnsynced, uint64_t seed = 0);
  // The same, with `tear` deciding what each file keeps of its unsynced bytes.
  [[nodiscard]] Status SimulateCrash(const CrashTear& tear);

  // --- Faults ---

  // Fails the nth call matching `kind` counted from now (n >= 1); with `persistent` every later
  // matching call fails too. Replaces any earlier FailAfter.
  void FailAfter(uint64_t n, FaultKind kind, Errno error, bool persistent);
  // What a failed Append writes before failing. Default ShortWrite::kNone.
  void SetShortWrite(ShortWrite short_write);
  // After the nth sync point counted from now (n >= 1) the file system freezes.
  void CrashAfterSyncs(uint64_t n);
  // The nth sync point counted from now (n >= 1) never happens: the power goes out as it is
  // issued, so it and every later mutating call fail as under a freeze. What was written before
  // it stays unsynced, for SimulateCrash to tear: the crash that sync points most often meet.
  void CrashAtSync(uint64_t n);
  // --- A slow disk ---

  // From now on every sync point (Sync, SyncAll, SyncDir) waits, before it does anything, until
  // ReleaseSyncs(): a disk whose flushes take as long as the test wants. Writers line up behind
  // the held sync exactly as behind a slow one (group commit), and a test can arm a fault or a
  // freeze for the syncs that follow. Reads and other calls go on.
  void HoldSyncs();
  // Lets the held sync points, and every later one, run.
  void ReleaseSyncs();
  // Returns once at least `count` sync points are waiting in HoldSyncs().
  void WaitUntilSyncsHeld(uint64_t count = 1);

  // Clears FailAfter, CrashAfterSyncs, the freeze, a hold, the short-write setting and the
  // counters.
  // Keeps the durability model (what is synced and what a crash would drop).
  void Reset();

  // --- Counters (since construction or the last Reset; every call counts, failed or not) ---

  // Sync, SyncAll and SyncDir calls.
  uint64_t sync_count() const;
  // Each of those calls, in order, named as "fdatasync PATH", "fsync PATH" or
  // "fsync directory PATH": sync point n is element n - 1.
  std::vector<std::string> sync_points() const;
  // Mutating calls (the kAny set).
  uint64_t mutation_count() const;
  // Failures injected by FailAfter (not those of a frozen file system).
  uint64_t injected_count() const;
  // True once CrashAfterSyncs has frozen the file system, until SimulateCrash or Reset.
  bool frozen() const;

  // --- FileSystem ---

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> ReopenWritableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;
  Result<int64_t> GetModificationTimeMicros(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& directory) override;
  Status CreateDir(const std::string& directory) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& source, const std::string& target) override;
  Status SyncDir(const std::string& directory) override;
  Status SyncFile(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status SetReadOnly(const std::string& path) override;
  Status SetWritable(const std::string& path) override;
  Status SetOwnerOnly(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

 private:
  friend class FaultWritableFile;
  friend class FaultRandomAccessFile;

  // One file (an inode): what the model knows about its contents.
  struct Node {
    uint64_t synced_bytes = 0;
    // A Sync failed: nothing more becomes durable (see "poisons" above).
    bool sync_failed = false;
    bool read_only = false;
    // Normalised path of the live directory entry; empty once removed or renamed over.
    std::string live_path;
    // How many durable directory entries name this node.
    int durable_links = 0;
    // The durable bytes, saved when the live entry went away while a durable one remains.
    bool has_saved_bytes = false;
    std::string saved_bytes;
  };
  using NodePointer = std::shared_ptr<Node>;
  // Directory (normalised path) -> entry name -> node.
  using Listing = std::map<std::string, std::map<std::string, NodePointer>>;

  enum class Call : uint8_t { kAppend, kSync, kOtherMutation, kRead };

  // Counts the call and returns the injected failure or the freeze error for it, if any.
  Status CheckCallLocked(Call call, const std::string& path, const std::string& operation);
  // Counts a completed sync point for CrashAfterSyncs.
  void AfterSyncLocked();
  // Waits (releasing the lock) while HoldSyncs() holds sync points.
  void WaitWhileSyncsHeldLocked(std::unique_lock<std::mutex>& guard);
  Status InjectedError(const std::string& path, const std::string& operation) const;
  // SetReadOnly, SetWritable and SetOwnerOnly: `change` on the target (a kOtherMutation named
  // `operation`), then the model's read-only flag.
  Status ChangeMode(const std::string& path, const char* operation,
                    Status (FileSystem::*change)(const std::string&), bool read_only);

  // The node live at `path`; adopts an untracked existing file as fully durable; null if none.
  NodePointer LiveNodeLocked(const std::string& normal_path);
  NodePointer DurableNodeLocked(const std::string& normal_path) const;
  void SetLiveLocked(const std::string& normal_path, NodePointer node);
  void SetDurableLocked(const std::string& normal_path, NodePointer node);
  // Saves the durable bytes of `node` if a durable entry still needs them once its live entry
  // goes away. Must run before the target removes or replaces the live file.
  Status SaveDurableBytesLocked(Node& node);

  // Parts of the writable-file and random-access-file calls that need the model.
  Status FileAppend(WritableFile& target, uint64_t epoch, std::string_view bytes);
  Status FilePreallocate(WritableFile& target, uint64_t epoch, uint64_t physical_bytes, bool trim);
  Status FileSync(WritableFile& target, const NodePointer& node, uint64_t epoch, bool sync_all);
  Status FileRead(const RandomAccessFile& target, uint64_t epoch, uint64_t offset, size_t count,
                  char* scratch, size_t* read_count);
  bool IsStale(uint64_t epoch);

  // SimulateCrash helpers.
  Status SimulateCrashLocked(const CrashTear& tear);
  // Gives the file at `path` its durable bytes followed by what `tear` keeps of the rest.
  Status TearUnsyncedBytes(const std::string& path, const Node& node, const CrashTear& tear);
  Status WriteWholeFile(const std::string& path, std::string_view bytes, bool read_only);

  FileSystem* const target_;
  mutable std::mutex mutex_;

  // Model of the disk.
  Listing live_;
  Listing durable_;
  // Incremented by each SimulateCrash; handles from an older epoch are stale.
  uint64_t epoch_ = 0;

  // Faults.
  bool fail_armed_ = false;
  uint64_t fail_at_ = 0;
  FaultKind fail_kind_ = FaultKind::kAny;
  Errno fail_error_ = Errno::kEIO;
  bool fail_persistent_ = false;
  uint64_t fail_matched_ = 0;
  ShortWrite short_write_ = ShortWrite::kNone;
  bool crash_armed_ = false;
  bool crash_at_sync_ = false;  // CrashAtSync (freeze at the sync), not CrashAfterSyncs
  uint64_t crash_after_syncs_ = 0;
  uint64_t syncs_since_armed_ = 0;
  bool frozen_ = false;
  bool syncs_held_ = false;
  uint64_t syncs_waiting_ = 0;  // sync points waiting in HoldSyncs()
  std::condition_variable hold_cv_;

  // Counters.
  uint64_t sync_count_ = 0;
  std::vector<std::string> sync_points_;
  uint64_t mutation_count_ = 0;
  uint64_t injected_count_ = 0;
};

}  // namespace ordo
