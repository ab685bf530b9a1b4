// An ordered pipeline of three stages over a fixed ring of slots, for streaming work that must
// stay in order at both ends but whose middle can run in parallel: the backup's content files
// (read and hash in order, compress chunks on every core, encrypt, hash and write in order) and
// their restore (read, hash and decrypt in order, decompress in parallel, hash and hand on in
// order).
//
//   produce    sequential, items 0, 1, 2, ... in order: fills a slot
//   transform  parallel on `workers` threads, any order: works on one slot alone
//   consume    sequential, in order: uses a slot, which is then free for item + slots
//
// Item n always lives in slot n % slots, so the caller owns the per-slot buffers (the pipeline
// only hands out slot indices) and memory is bounded by the slot count whatever the stream's
// length. A stage touches a slot only while the pipeline has given it that slot, and every
// hand-over is made under one mutex, so the stages need no locking of their own.
//
// Threads: the calling thread runs one of the two sequential stages (`caller_runs`), so that a
// stage that must stay on the caller's thread (one that reports progress to it, say) can; one
// helper thread runs the other; `workers` threads run transform. Run() joins every thread it
// started before it returns, on every path.
//
// Errors: the first error in STREAM ORDER wins, as if the stages ran one item at a time on one
// thread: an error of produce or transform at item n is reported when consume reaches item n
// (items before n are still consumed; nothing after n is); an error of consume stops everything
// at once. So Run returns the same Status a sequential loop would, whatever the timing.
#pragma once

#include <cstddef>
#include <functional>

#include "ordo/status.h"

namespace ordo {

class OrderedPipeline {
 public:
  // What produce did with its slot.
  enum class Produced {
    kItem,      // filled the slot; more items may follow
    kLastItem,  // filled the slot; it is the last item
    kEnd,       // filled nothing: the stream ended before this item
  };
  enum class CallerRuns { kProduce, kConsume };

  struct Stages {
    std::function<Result<Produced>(size_t slot)> produce;
    // `worker` is 0 .. workers - 1, fixed per thread: an index for per-thread state.
    std::function<Status(size_t slot, size_t worker)> transform;
    std::function<Status(size_t slot)> consume;
  };

  // Limits: slots and workers are small, fixed numbers (they bound memory and threads).
  static constexpr size_t kSlotsMax = 64;
  static constexpr size_t kWorkersMax = 16;

  // Runs the stream to its end or its first error (in stream order). Requires
  // 1 <= workers <= kWorkersMax and workers + 2 <= slots <= kSlotsMax (fewer slots would leave
  // a worker idle). IOError if a thread cannot be started.
  static Status Run(size_t slots, size_t workers, CallerRuns caller_runs, const Stages& stages);

  // Worker threads for a pipeline on this machine: one per core, at least 1, at most
  // `limit`.
  static size_t DefaultWorkers(size_t limit);
};

}  // namespace ordo
