// Tests of OrderedPipeline against its contract (ordered_pipeline.h): order at both ends,
// which thread runs which stage, errors reported in stream order whatever the timing, and no
// stage still running once Run returns.
#include "util/ordered_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace ordo {
namespace {

using Produced = OrderedPipeline::Produced;
using CallerRuns = OrderedPipeline::CallerRuns;

// A pipeline over the numbers 0 .. count - 1: produce writes n into the slot, transform squares
// it, consume appends it to `consumed`. Each stage can be told to fail at one item.
struct Numbers {
  uint64_t count = 100;
  std::optional<uint64_t> produce_fails_at;
  std::optional<uint64_t> transform_fails_at;
  std::optional<uint64_t> consume_fails_at;
  bool last_item_marked = true;  // kLastItem on the last, else a kEnd after it

  std::vector<uint64_t> slot_values;
  std::vector<uint64_t> slot_items;
  uint64_t next = 0;
  std::vector<uint64_t> consumed;
  std::atomic<int> running{0};  // stage calls in progress
  std::thread::id produce_thread;
  std::thread::id consume_thread;

  OrderedPipeline::Stages Stages(size_t slots) {
    slot_values.assign(slots, 0);
    slot_items.assign(slots, 0);
    OrderedPipeline::Stages stages;
    stages.produce = [this](size_t slot) -> Result<Produced> {
      ++running;
      produce_thread = std::this_thread::get_id();
      const uint64_t item = next++;
      Result<Produced> result = Produced::kItem;
      if (produce_fails_at == item) {
        result = Status::IOError("produce failed at " + std::to_string(item));
      } else if (item >= count) {
        result = Produced::kEnd;
      } else {
        slot_values[slot] = item;
        slot_items[slot] = item;
        if (last_item_marked && item + 1 == count) result = Produced::kLastItem;
      }
      --running;
      return result;
    };
    stages.transform = [this](size_t slot, size_t) -> Status {
      ++running;
      Status status;
      if (transform_fails_at == slot_items[slot]) {
        status = Status::Corruption("transform failed at " + std::to_string(slot_items[slot]));
      }
      slot_values[slot] *= slot_values[slot];
      --running;
      return status;
    };
    stages.consume = [this](size_t slot) -> Status {
      ++running;
      consume_thread = std::this_thread::get_id();
      Status status;
      if (consume_fails_at == slot_items[slot]) {
        status = Status::NoSpace("consume failed at " + std::to_string(slot_items[slot]));
      } else {
        consumed.push_back(slot_values[slot]);
      }
      --running;
      return status;
    };
    return stages;
  }
};

std::vector<uint64_t> SquaresBelow(uint64_t count) {
  std::vector<uint64_t> squares;
  for (uint64_t n = 0; n < count; ++n) squares.push_back(n * n);
  return squares;
}

struct Shape {
  size_t slots;
  size_t workers;
  CallerRuns caller_runs;
};

std::vector<Shape> Shapes() {
  std::vector<Shape> shapes;
  for (const CallerRuns caller_runs : {CallerRuns::kProduce, CallerRuns::kConsume}) {
    shapes.push_back({3, 1, caller_runs});
    shapes.push_back({4, 2, caller_runs});
    shapes.push_back({7, 4, caller_runs});
  }
  return shapes;
}

TEST(OrderedPipelineTest, ConsumesEveryItemInOrder) {
  for (const Shape& shape : Shapes()) {
    for (const uint64_t count : {0, 1, 2, 5, 500}) {
      for (const bool marked : {true, false}) {
        SCOPED_TRACE(std::to_string(shape.slots) + " slots, " + std::to_string(shape.workers) +
                     " workers, " + std::to_string(count) + " items");
        Numbers numbers;
        numbers.count = count;
        numbers.last_item_marked = marked;
        const Status status = OrderedPipeline::Run(shape.slots, shape.workers, shape.caller_runs,
                                                   numbers.Stages(shape.slots));
        ASSERT_OK(status);
        EXPECT_EQ(numbers.consumed, SquaresBelow(count));
        EXPECT_EQ(numbers.running.load(), 0);
      }
    }
  }
}

TEST(OrderedPipelineTest, TheCallerRunsTheStageItAsksFor) {
  for (const CallerRuns caller_runs : {CallerRuns::kProduce, CallerRuns::kConsume}) {
    Numbers numbers;
    ASSERT_OK(OrderedPipeline::Run(4, 2, caller_runs, numbers.Stages(4)));
    const std::thread::id caller = std::this_thread::get_id();
    if (caller_runs == CallerRuns::kProduce) {
      EXPECT_EQ(numbers.produce_thread, caller);
      EXPECT_NE(numbers.consume_thread, caller);
    } else {
      EXPECT_EQ(numbers.consume_thread, caller);
      EXPECT_NE(numbers.produce_thread, caller);
    }
  }
}

// Whatever finishes first, the error reported is the first in stream order, and every item
// before it (and none after it) was consumed: what a one-thread loop would do.
TEST(OrderedPipelineTest, ErrorsAreReportedInStreamOrder) {
  for (const Shape& shape : Shapes()) {
    SCOPED_TRACE(std::to_string(shape.slots) + " slots, " + std::to_string(shape.workers) +
                 " workers");
    {
      Numbers numbers;
      numbers.produce_fails_at = 37;
      const Status status = OrderedPipeline::Run(shape.slots, shape.workers, shape.caller_runs,
                                                 numbers.Stages(shape.slots));
      EXPECT_TRUE(status.IsIOError()) << status.ToString();
      EXPECT_EQ(status.message(), "produce failed at 37");
      EXPECT_EQ(numbers.consumed, SquaresBelow(37));
      EXPECT_EQ(numbers.next, 38u) << "produce is not called after its error";
    }
    {
      Numbers numbers;
      numbers.transform_fails_at = 20;
      numbers.produce_fails_at = 21;  // the later item's error loses, even if it comes first
      const Status status = OrderedPipeline::Run(shape.slots, shape.workers, shape.caller_runs,
                                                 numbers.Stages(shape.slots));
      EXPECT_TRUE(status.IsCorruption()) << status.ToString();
      EXPECT_EQ(status.message(), "transform failed at 20");
      EXPECT_EQ(numbers.consumed, SquaresBelow(20));
    }
    {
      Numbers numbers;
      numbers.consume_fails_at = 10;
      numbers.transform_fails_at = 11;
      const Status status = OrderedPipeline::Run(shape.slots, shape.workers, shape.caller_runs,
                                                 numbers.Stages(shape.slots));
      EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
      EXPECT_EQ(numbers.consumed, SquaresBelow(10));
      // Production stops soon after: at most a ring's worth beyond the failed item.
      EXPECT_LE(numbers.next, 10 + shape.slots + 1);
      EXPECT_EQ(numbers.running.load(), 0) << "a stage still ran after Run returned";
    }
    {
      Numbers numbers;
      numbers.transform_fails_at = 0;
      const Status status = OrderedPipeline::Run(shape.slots, shape.workers, shape.caller_runs,
                                                 numbers.Stages(shape.slots));
      EXPECT_EQ(status.message(), "transform failed at 0");
      EXPECT_TRUE(numbers.consumed.empty());
    }
  }
}

TEST(OrderedPipelineTest, DefaultWorkersStaysWithinItsLimit) {
  EXPECT_GE(OrderedPipeline::DefaultWorkers(4), 1u);
  EXPECT_LE(OrderedPipeline::DefaultWorkers(4), 4u);
  EXPECT_EQ(OrderedPipeline::DefaultWorkers(1), 1u);
  EXPECT_EQ(OrderedPipeline::DefaultWorkers(0), 1u);
}

}  // namespace
}  // namespace ordo
