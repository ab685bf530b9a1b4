// Applying the log's collection ops (types 13 to 16, docs/FORMAT.md "Collections") to the
// index: the one definition every reader of the log uses (recovery and replay, point-in-time
// restore, `ordo check`, the database's commit), so that they all build the same state.
#pragma once

#include <cstdint>

#include "index/collection.h"
#include "index/index.h"
#include "log/format.h"
#include "ordo/status.h"

namespace ordo::index {

// Applies `op` (a collection op of the record at `record_offset` in segment `segment_id`) to
// `index`. A hash op on a key holding a string or a set (or a set op on a string or a hash) is
// Corruption: no writer logs one (the server answers WRONGTYPE instead). An op that empties a
// collection removes its key; a remove from an absent key changes nothing.
Status ApplyCollectionOp(const log::RecordOp& op, uint64_t segment_id, uint64_t record_offset,
                         Index* index);

// A hash field's value as the index keeps it: inline up to ElemRef::kInlineBytesMax bytes,
// else its place in the log.
ElemRef ValueRef(std::string_view value, uint64_t segment_id, uint64_t value_offset);

}  // namespace ordo::index
