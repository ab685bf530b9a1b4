#include "backup/archive_loop.h"

#include <algorithm>
#include <cassert>
#include <chrono>

#include "util/clock.h"

namespace ordo::backup {

namespace {

// Errors that another attempt cannot fix: the data directory does not continue the archive,
// or this process may not write the repository.
bool IsPermanent(const Status& status) { return status.IsFailed() || status.IsInvalidArgument(); }

// Appends `value` to a ring of at most `capacity` values, overwriting the oldest once full;
// `next` is where the next value goes then.
void PushToRing(std::vector<int64_t>* ring, size_t* next, size_t capacity, int64_t value) {
  if (ring->size() < capacity) {
    ring->push_back(value);
  } else {
    (*ring)[*next] = value;
    *next = (*next + 1) % capacity;
  }
}

int64_t Percentile(std::vector<int64_t>& values, double fraction) {
  assert(!values.empty());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()));
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(index), values.end());
  return values[index];
}

}  // namespace

std::string ArchiveStatusText(ArchiveState state, const std::string& failure_reason) {
  switch (state) {
    case ArchiveState::kStarting:
      return "starting";
    case ArchiveState::kOk:
      return "ok";
    case ArchiveState::kRetrying:
      return "retrying";
    case ArchiveState::kFailed:
      return "failed: " + failure_reason;
  }
  return "unknown";
}

int64_t LiveLagMicros(const ArchiveSnapshot& snapshot, uint64_t acked_lsn, int64_t now_micros) {
  if (acked_lsn <= snapshot.archived_lsn) return 0;
  int64_t since = std::max(snapshot.archived_commit_time_micros, snapshot.covered_since_micros);
  if (since == 0) since = snapshot.started_micros;
  return std::max<int64_t>(0, now_micros - since);
}

int64_t RoundPeriodMicros(int64_t interval_ms, const std::vector<int64_t>& recent_round_micros) {
  const int64_t interval_micros = interval_ms * 1000;
  int64_t longest = 0;
  for (const int64_t micros : recent_round_micros) longest = std::max(longest, micros);
  return interval_micros - std::min(longest, interval_micros / 2);
}

Result<std::unique_ptr<ContinuousArchiver>> ContinuousArchiver::Start(
    FileSystem* fs, std::string data_directory, std::unique_ptr<repository::Repository> repository,
    ContinuousArchiverOptions options, RoundObserver observer) {
  if (options.interval_ms < kArchiveIntervalMinMs || options.interval_ms > kArchiveIntervalMaxMs) {
    return Status::InvalidArgument("archive interval " + std::to_string(options.interval_ms) +
                                   " ms: must be " + std::to_string(kArchiveIntervalMinMs) + ".." +
                                   std::to_string(kArchiveIntervalMaxMs) + " ms");
  }
  assert(repository != nullptr);
  options.backoff_max_ms = std::max(options.backoff_max_ms, options.interval_ms);
  std::unique_ptr<ContinuousArchiver> archiver(new ContinuousArchiver(
      fs, std::move(data_directory), std::move(repository), options, std::move(observer)));
  archiver->thread_ = std::thread([raw = archiver.get()] { raw->Loop(); });
  return archiver;
}

ContinuousArchiver::ContinuousArchiver(FileSystem* fs, std::string data_directory,
                                       std::unique_ptr<repository::Repository> repository,
                                       ContinuousArchiverOptions options, RoundObserver observer)
    : options_(options),
      observer_(std::move(observer)),
      repository_(std::move(repository)),
      archiver_(fs, std::move(data_directory), repository_.get()) {
  snapshot_.started_micros = WallMicros();
  snapshot_.status = ArchiveStatusText(ArchiveState::kStarting, "");
}

ContinuousArchiver::~ContinuousArchiver() {
  const Status ignored = Stop();  // the destructor cannot report; Stop's caller can
  (void)ignored;
}

Status ContinuousArchiver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  return final_status_;  // written by the loop thread before it ended; join orders it
}

ArchiveSnapshot ContinuousArchiver::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_;
}

ArchiveSnapshot ContinuousArchiver::WaitForRounds(uint64_t rounds, int64_t timeout_ms) const {
  std::unique_lock<std::mutex> lock(mutex_);
  round_done_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return snapshot_.rounds >= rounds || loop_ended_; });
  return snapshot_;
}

void ContinuousArchiver::Loop() {
  using Clock = std::chrono::steady_clock;
  int64_t backoff_ms = options_.interval_ms;
  for (;;) {
    ArchiveStep step;
    int64_t round_start_micros = WallMicros();
    const Clock::time_point round_start = Clock::now();
    Status status = RunRound(&step);
    Record(step, status, round_start_micros);
    if (IsPermanent(status)) break;
    // After a success the next round starts RoundPeriodMicros after this one started (see
    // archive_loop.h; a round longer than that is followed at once). While rounds fail, back
    // off from now: 2x, 4x ... the interval, up to backoff_max_ms.
    Clock::time_point next_round;
    if (status.ok()) {
      backoff_ms = options_.interval_ms;
      const int64_t took_micros =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - round_start).count();
      PushToRing(&round_micros_, &round_micros_next_, kArchiveRoundsTimed, took_micros);
      next_round = round_start + std::chrono::microseconds(
                                     RoundPeriodMicros(options_.interval_ms, round_micros_));
    } else {
      backoff_ms = std::min(backoff_ms * 2, options_.backoff_max_ms);
      next_round = Clock::now() + std::chrono::milliseconds(backoff_ms);
    }
    // Wait for the next round, Stop(), or (after a success) a newly sealed segment.
    bool stop = false;
    for (;;) {
      const Clock::time_point poll =
          status.ok()
              ? std::min(next_round, Clock::now() + std::chrono::milliseconds(kArchiveSealPollMs))
              : next_round;
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_until(lock, poll, [this] { return stop_requested_; })) {
        stop = true;
        break;
      }
      lock.unlock();
      if (Clock::now() >= next_round) break;
      // At most one early round per segment, so a segment that somehow stays unshipped
      // cannot make the loop spin.
      if (archiver_open_ && archiver_.next_segment_id() != early_round_segment_ &&
          archiver_.SealedSegmentWaiting()) {
        early_round_segment_ = archiver_.next_segment_id();
        break;
      }
    }
    if (!stop) continue;
    // Stop(): one final round ships what was committed before it.
    step = ArchiveStep{};
    round_start_micros = WallMicros();
    status = RunRound(&step);
    Record(step, status, round_start_micros);
    final_status_ = status;
    break;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  loop_ended_ = true;
  round_done_.notify_all();
}

Status ContinuousArchiver::RunRound(ArchiveStep* step) {
  *step = ArchiveStep{};
  if (!archiver_open_) {
    ORDO_RETURN_IF_ERROR(archiver_.Open());
    archiver_open_ = true;
    archiver_opened_once_ = true;
  }
  const Status status = archiver_.ArchiveAvailable(step);
  // After an error, open again: Open() lists the archive and resumes after its newest piece,
  // which is right even when the error came after a description was published.
  if (!status.ok()) archiver_open_ = false;
  return status;
}

void ContinuousArchiver::Record(const ArchiveStep& step, const Status& status,
                                int64_t round_start_micros) {
  // The percentiles are computed before taking the lock: Snapshot() must stay cheap.
  LagFigures lags;
  const bool new_lags = AddLags(step.commit_lags_micros, &lags);
  ArchiveSnapshot copy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ArchiveSnapshot& s = snapshot_;
    ++s.rounds;
    s.pieces += step.pieces;
    s.records += step.records;
    s.bytes_read += step.bytes_read;
    s.bytes_written += step.bytes_written;
    // The archiver's position is valid once an Open succeeded (it is kept across failures).
    if (archiver_opened_once_) {
      s.archived_lsn = std::max(s.archived_lsn, archiver_.archived_lsn());
      s.archived_commit_time_micros =
          std::max(s.archived_commit_time_micros, archiver_.archived_commit_time_micros());
    }
    if (status.ok()) {
      s.state = ArchiveState::kOk;
      s.covered_since_micros = round_start_micros;
      s.status = ArchiveStatusText(s.state, "");
    } else {
      ++s.errors;
      s.last_error = status.ToString();
      s.state = IsPermanent(status) ? ArchiveState::kFailed : ArchiveState::kRetrying;
      s.status = ArchiveStatusText(s.state,
                                   status.IsFailed() ? "diverged" : "cannot write the repository");
    }
    if (new_lags) {
      s.lags_counted = lags.counted;
      s.lag_p50_micros = lags.p50_micros;
      s.lag_p99_micros = lags.p99_micros;
      s.lag_max_micros = lags.max_micros;
    }
    copy = s;
  }
  round_done_.notify_all();
  if (observer_) observer_(step, status, copy);
}

bool ContinuousArchiver::AddLags(const std::vector<int64_t>& lags, LagFigures* figures) {
  if (lags.empty()) return false;
  for (const int64_t lag : lags) PushToRing(&lags_, &lags_next_, kArchiveLagsKeptMax, lag);
  assert(!lags_.empty() && lags_.size() <= kArchiveLagsKeptMax);
  std::vector<int64_t> scratch = lags_;  // at most 800 KB, once per round that shipped commits
  figures->counted = scratch.size();
  figures->max_micros = *std::max_element(scratch.begin(), scratch.end());
  figures->p99_micros = Percentile(scratch, 0.99);
  figures->p50_micros = Percentile(scratch, 0.50);
  return true;
}

}  // namespace ordo::backup
