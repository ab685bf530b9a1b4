#include "util/ordered_pipeline.h"

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace ordo {
namespace {

// A slot's life: kFree -> (produce) kProduced -> (a worker takes it) kTransforming ->
// kTransformed -> (consume) kFree. Item n may enter slot n % slots only once item n - slots
// has been consumed, so a slot never holds two items.
enum class SlotState { kFree, kProduced, kTransforming, kTransformed };

class Pipeline {
 public:
  Pipeline(size_t slots, const OrderedPipeline::Stages& stages)
      : stages_(stages), state_(slots, SlotState::kFree), transform_error_(slots) {}

  void Produce();
  void Transform(size_t worker);
  void Consume();
  // Stops every stage at once with `status` (a thread that could not be started).
  void Abort(Status status);
  Status result() {
    std::lock_guard<std::mutex> lock(mutex_);
    return result_;
  }

 private:
  size_t SlotOf(uint64_t item) const { return static_cast<size_t>(item % state_.size()); }
  // Ends the run with `status` (OK at the normal end); wakes every waiting stage. Needs mutex_.
  void StopLocked(Status status);

  const OrderedPipeline::Stages& stages_;
  std::mutex mutex_;
  std::condition_variable slot_freed_;        // the producer waits for its next slot
  std::condition_variable item_produced_;     // workers wait for work
  std::condition_variable item_transformed_;  // the consumer waits for its next item
  std::vector<SlotState> state_;
  std::vector<Status> transform_error_;  // of the item in the slot, reported in stream order
  uint64_t produced_ = 0;                // items 0 .. produced_ - 1 have been produced
  uint64_t next_transform_ = 0;  // the next item a worker takes (workers take them in order)
  bool produce_ended_ = false;   // produced_ is final
  Status produce_error_;         // why item produced_ could not be produced, if it failed
  bool stopped_ = false;         // the consumer finished or failed: every stage leaves
  Status result_;
};

void Pipeline::StopLocked(Status status) {
  if (stopped_) return;
  stopped_ = true;
  result_ = std::move(status);
  slot_freed_.notify_all();
  item_produced_.notify_all();
  item_transformed_.notify_all();
}

void Pipeline::Abort(Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  StopLocked(std::move(status));
}

void Pipeline::Produce() {
  for (uint64_t item = 0;; ++item) {
    const size_t slot = SlotOf(item);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      slot_freed_.wait(lock, [&] { return stopped_ || state_[slot] == SlotState::kFree; });
      if (stopped_) return;
    }
    Result<OrderedPipeline::Produced> produced = stages_.produce(slot);
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    assert(produced_ == item && state_[slot] == SlotState::kFree);
    if (!produced.ok() || *produced == OrderedPipeline::Produced::kEnd) {
      if (!produced.ok()) produce_error_ = produced.status();
      produce_ended_ = true;
      item_produced_.notify_all();     // idle workers leave
      item_transformed_.notify_all();  // the consumer may be waiting for this item
      return;
    }
    state_[slot] = SlotState::kProduced;
    ++produced_;
    produce_ended_ = *produced == OrderedPipeline::Produced::kLastItem;
    item_produced_.notify_one();
    if (produce_ended_) {
      item_produced_.notify_all();
      item_transformed_.notify_all();
      return;
    }
  }
}

void Pipeline::Transform(size_t worker) {
  for (;;) {
    uint64_t item = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      item_produced_.wait(
          lock, [&] { return stopped_ || next_transform_ < produced_ || produce_ended_; });
      if (stopped_ || next_transform_ >= produced_) return;  // stopped, or no more items
      item = next_transform_++;
      assert(state_[SlotOf(item)] == SlotState::kProduced);
      state_[SlotOf(item)] = SlotState::kTransforming;
    }
    const size_t slot = SlotOf(item);
    Status status = stages_.transform(slot, worker);
    std::lock_guard<std::mutex> lock(mutex_);
    transform_error_[slot] = std::move(status);
    state_[slot] = SlotState::kTransformed;
    item_transformed_.notify_one();
  }
}

void Pipeline::Consume() {
  for (uint64_t item = 0;; ++item) {
    const size_t slot = SlotOf(item);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      item_transformed_.wait(lock, [&] {
        return stopped_ || state_[slot] == SlotState::kTransformed ||
               (produce_ended_ && item == produced_);
      });
      if (stopped_) return;
      if (state_[slot] != SlotState::kTransformed) {
        // The end of the stream, or the producer's error at this item (the earliest: every item
        // before it was consumed without error).
        return StopLocked(produce_error_);
      }
      if (!transform_error_[slot].ok()) return StopLocked(transform_error_[slot]);
    }
    Status status = stages_.consume(slot);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status.ok()) return StopLocked(std::move(status));
    state_[slot] = SlotState::kFree;
    slot_freed_.notify_one();
  }
}

}  // namespace

Status OrderedPipeline::Run(size_t slots, size_t workers, CallerRuns caller_runs,
                            const Stages& stages) {
  assert(workers >= 1 && workers <= kWorkersMax);
  assert(slots >= workers + 2 && slots <= kSlotsMax);
  Pipeline pipeline(slots, stages);
  std::vector<std::thread> threads;
  threads.reserve(workers + 1);
  bool started = true;
  try {
    if (caller_runs == CallerRuns::kProduce) {
      threads.emplace_back([&pipeline] { pipeline.Consume(); });
    } else {
      threads.emplace_back([&pipeline] { pipeline.Produce(); });
    }
    for (size_t worker = 0; worker < workers; ++worker) {
      threads.emplace_back([&pipeline, worker] { pipeline.Transform(worker); });
    }
  } catch (const std::system_error& error) {
    pipeline.Abort(Status::IOError(std::string("cannot start a pipeline thread: ") + error.what()));
    started = false;
  }
  if (started) {
    if (caller_runs == CallerRuns::kProduce) {
      pipeline.Produce();
    } else {
      pipeline.Consume();
    }
  }
  // Every thread leaves once the consumer has stopped (or the producer has ended and the last
  // item is consumed): no thread outlives this call.
  for (std::thread& thread : threads) thread.join();
  return pipeline.result();
}

size_t OrderedPipeline::DefaultWorkers(size_t limit) {
  const size_t cores = std::thread::hardware_concurrency();
  return std::clamp<size_t>(cores, 1, std::max<size_t>(1, limit));
}

}  // namespace ordo
