// Continuous archiving as a service: a thread that drives an Archiver (archiver.h) every
// interval, so that the newest restorable commit is at most about one interval old. Used by
// `ordo serve --archive` inside the server and by `ordo archive` beside a live data directory.
//
// The loop, one round per interval:
//   * Open the archiver if it is not open (resume after the newest piece), then ship every
//     complete piece (Archiver::ArchiveAvailable: the sealed segments and one piece of the
//     active segment).
//   * The interval is the archive lag aimed at: a commit made just after a round cut its piece
//     is shipped by the next round, so the next round starts one interval after this one
//     started, less the time recent rounds took to ship (RoundPeriodMicros); at once if this
//     round took longer.
//   * Between rounds the loop looks every kArchiveSealPollMs whether the segment being shipped
//     has been sealed; if so the next round starts at once, so a sealed segment is shipped
//     within about kArchiveSealPollMs of its seal whatever the interval.
//   * A round that fails is retried after a backoff that doubles from the interval up to
//     backoff_max_ms, and the error is reported (Snapshot, the optional observer). Pieces shipped
//     before the error stay; the next round resumes at the first piece not shipped.
//   * A data directory that does not continue the archive (Archiver::Open returns Failed:
//     "diverged") and a repository this process cannot write (InvalidArgument) are permanent:
//     the loop reports "failed: ..." and its thread ends. It never spins on them.
//   * Stop() wakes the thread, runs one final round (unless failed permanently) so that the
//     commits made before Stop() are archived, and joins.
//
// Commits never wait for the loop: it reads the data directory without a lock (as a backup
// does) and only its own thread touches the Archiver. While it cannot keep up, the database
// goes on; the unshipped log stays in the data directory (segments are never deleted in this
// version) and is shipped when the repository is back.
//
// Thread-safe: Start, Stop and the destructor from one owner thread; Snapshot and
// WaitForRounds from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backup/archiver.h"
#include "ordo/file_system.h"
#include "repository/repository.h"

namespace ordo::backup {

inline constexpr int64_t kArchiveIntervalDefaultMs = 1000;
inline constexpr int64_t kArchiveIntervalMinMs = 100;
inline constexpr int64_t kArchiveIntervalMaxMs = 3600 * 1000;
inline constexpr int64_t kArchiveBackoffMaxDefaultMs = 30 * 1000;
// Commit lags kept for the percentiles: the most recent ones (a ring, 8 bytes each).
inline constexpr size_t kArchiveLagsKeptMax = 100 * 1000;
static_assert(kArchiveIntervalMinMs <= kArchiveIntervalDefaultMs &&
              kArchiveIntervalDefaultMs <= kArchiveIntervalMaxMs);

// How often, between rounds, the loop looks for a newly sealed segment (one stat call).
inline constexpr int64_t kArchiveSealPollMs = 100;

// How many recent successful rounds RoundPeriodMicros looks at.
inline constexpr size_t kArchiveRoundsTimed = 4;

// The time from one successful round's start to the next round's start: the interval less the
// longest of the recent rounds' durations (microseconds), and at least half the interval, so
// that a commit waits about one interval from its commit to its publication even though each
// round takes a while to ship, and rounds never come more often than twice an interval.
int64_t RoundPeriodMicros(int64_t interval_ms, const std::vector<int64_t>& recent_round_micros);

struct ContinuousArchiverOptions {
  int64_t interval_ms = kArchiveIntervalDefaultMs;  // kArchiveIntervalMinMs..kArchiveIntervalMaxMs
  // The longest wait between two attempts while rounds fail; at least interval_ms.
  int64_t backoff_max_ms = kArchiveBackoffMaxDefaultMs;
};

enum class ArchiveState {
  kStarting,  // no round has finished yet
  kOk,        // the last round succeeded
  kRetrying,  // the last round failed; another follows after the backoff
  kFailed,    // a permanent error (see above): the loop has ended
};

// "starting", "ok", "retrying", or "failed: diverged" / "failed: <reason>".
std::string ArchiveStatusText(ArchiveState state, const std::string& failure_reason);

// What the loop has done since Start(). Microsecond times are Unix wall time.
struct ArchiveSnapshot {
  ArchiveState state = ArchiveState::kStarting;
  std::string status;      // ArchiveStatusText
  std::string last_error;  // of the newest failed round ("" if none has failed); kept after
                           // recovery so an operator can see what happened
  uint64_t rounds = 0;     // finished, successful or not
  uint64_t errors = 0;     // failed rounds
  uint64_t pieces = 0;
  uint64_t records = 0;  // commits archived
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t archived_lsn = 0;  // the newest commit in the archive (0: none yet)
  int64_t archived_commit_time_micros = 0;
  // Start of the newest successful round: every commit written to the data directory before
  // this moment is in the archive. 0 until a round succeeds.
  int64_t covered_since_micros = 0;
  int64_t started_micros = 0;  // when Start() ran
  // Archive lag (commit to published piece) over the newest kArchiveLagsKeptMax commits the
  // loop archived; 0 when none.
  uint64_t lags_counted = 0;
  int64_t lag_p50_micros = 0;
  int64_t lag_p99_micros = 0;
  int64_t lag_max_micros = 0;
};

// An upper bound on the live RPO: how long ago the oldest acknowledged commit that is not in
// the archive was made. 0 when `acked_lsn` <= snapshot.archived_lsn. Otherwise that commit was
// made after the newest archived one and was written after the newest successful round began
// (or the round would have shipped it), so the bound is `now_micros` minus the later of
// archived_commit_time_micros and covered_since_micros; it exceeds the true lag by at most
// about one interval. Before any round succeeded and with nothing archived, it counts from
// started_micros (older commits are reported as if made then).
int64_t LiveLagMicros(const ArchiveSnapshot& snapshot, uint64_t acked_lsn, int64_t now_micros);

class ContinuousArchiver {
 public:
  // Called on the loop's thread after every round, with what it shipped and how it ended.
  // Must not call back into the ContinuousArchiver.
  using RoundObserver = std::function<void(const ArchiveStep& step, const Status& status,
                                           const ArchiveSnapshot& snapshot)>;

  // Starts the loop over `data_directory` into `repository` (taken over; it must be writable).
  // InvalidArgument for an interval outside kArchiveIntervalMinMs..kArchiveIntervalMaxMs. The
  // first round starts at once; its outcome shows in Snapshot.
  static Result<std::unique_ptr<ContinuousArchiver>> Start(
      FileSystem* fs, std::string data_directory,
      std::unique_ptr<repository::Repository> repository, ContinuousArchiverOptions options,
      RoundObserver observer = nullptr);
  ~ContinuousArchiver();  // Stop()
  ContinuousArchiver(const ContinuousArchiver&) = delete;
  ContinuousArchiver& operator=(const ContinuousArchiver&) = delete;

  // Wakes the loop, runs the final round (none after a permanent failure) and joins. Returns
  // that round's status (OK if there was none). Idempotent.
  Status Stop();

  ArchiveSnapshot Snapshot() const;
  // Blocks until at least `rounds` rounds have finished, the loop has ended, or `timeout_ms`
  // passed; returns the snapshot then.
  ArchiveSnapshot WaitForRounds(uint64_t rounds, int64_t timeout_ms) const;

 private:
  ContinuousArchiver(FileSystem* fs, std::string data_directory,
                     std::unique_ptr<repository::Repository> repository,
                     ContinuousArchiverOptions options, RoundObserver observer);
  void Loop();
  Status RunRound(ArchiveStep* step);  // on the loop thread
  void Record(const ArchiveStep& step, const Status& status, int64_t round_start_micros);
  struct LagFigures {
    uint64_t counted = 0;
    int64_t p50_micros = 0;
    int64_t p99_micros = 0;
    int64_t max_micros = 0;
  };
  // Adds the round's lags to the ring and computes the figures over it; false if none came.
  bool AddLags(const std::vector<int64_t>& lags, LagFigures* figures);

  const ContinuousArchiverOptions options_;
  const RoundObserver observer_;
  std::unique_ptr<repository::Repository> repository_;
  // Touched only by the loop thread.
  Archiver archiver_;
  bool archiver_open_ = false;
  bool archiver_opened_once_ = false;  // its archived_lsn() is meaningful
  std::vector<int64_t> lags_;         // ring of the newest commit lags, at most kArchiveLagsKeptMax
  size_t lags_next_ = 0;              // where the next lag goes once the ring is full
  uint64_t early_round_segment_ = 0;  // the segment whose seal last started a round early
  std::vector<int64_t> round_micros_;  // durations of the newest successful rounds (ring)
  size_t round_micros_next_ = 0;
  Status final_status_;  // of the final round, set before the thread ends (join orders it)

  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;        // Stop() -> loop
  mutable std::condition_variable round_done_;  // loop -> WaitForRounds
  bool stop_requested_ = false;
  bool loop_ended_ = false;
  ArchiveSnapshot snapshot_;
  std::thread thread_;
};

}  // namespace ordo::backup
