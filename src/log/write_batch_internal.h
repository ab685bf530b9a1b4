// The engine's side of a WriteBatch (in the manner of LevelDB's WriteBatchInternal): the ops a
// batch holds, as the log records them, and the ops only the engine writes. include/ordo/db.h
// keeps them out of the embedding contract: an embedder builds a batch with Put, Delete and
// ClearDatabase; the log encodes its ops (record.cc), the database applies them (src/db/), the
// server counts their bytes. They live here, in the log, because the log is the lowest layer
// that reads them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "log/format.h"
#include "ordo/db.h"

namespace ordo {

// One op of a WriteBatch.
struct WriteBatch::Op {
  log::OpType type;
  std::string key;  // the name, for kRestorePoint; empty for kClear
  std::string value;
  int64_t expire_at_ms = 0;     // kPut, kSetExpiry: Unix ms, 0 = never
  uint32_t db = 0;              // the database of the key, or the one to flush
  std::string target_key = {};  // kRename, kCopy: where the key's entry goes
  uint32_t target_db = 0;
  // Collection ops: kHashSet's fields and values alternating; the others' fields or members.
  std::vector<std::string> elements = {};
};

class WriteBatchInternal {
 public:
  using Op = WriteBatch::Op;

  // The ops in the order added.
  static const std::vector<Op>& Ops(const WriteBatch& batch) { return batch.ops_; }
  // The same, for the database to move values out of a batch it owns.
  static std::vector<Op>& MutableOps(WriteBatch* batch) { return batch->ops_; }

  // A delete because the key's time ran out (the expiry sweep and reads log it, so that replay
  // and every reader of the log agree on when a key went).
  static void Expire(WriteBatch* batch, std::string_view key);
  // A named restore point: a mark in the log for `ordo restore --point NAME`, no change to the
  // state. The name has 1 to log::kRestorePointNameBytesMax bytes (checked at write).
  static void RestorePoint(WriteBatch* batch, std::string_view name);
  // Removes every key of database `db` (FLUSHDB); WriteBatch::ClearDatabase removes every key
  // of every database (FLUSHALL).
  static void FlushDatabase(WriteBatch* batch, uint32_t db);
  // Moves every op of `batch` that names one key (put, delete, expire, set expiry) into
  // database `db`: a batch built with WriteBatch's methods addresses database 0. Renames and
  // copies keep the databases they were built with.
  static void SetDatabase(WriteBatch* batch, uint32_t db);
  // Metadata-only ops (docs/FORMAT.md, types 10 to 12): the key's value is not logged again.
  // A new expiry (Unix ms; 0: none) for `key` of database `db`; no change if the key is absent.
  static void SetExpiry(WriteBatch* batch, uint32_t db, std::string_view key, int64_t expire_at_ms);
  // `key`'s entry (value, expiry) moves to `target_key` of `target_db`, replacing what is
  // there; no change if `key` is absent. The target must differ from the key (ValidateBatch).
  static void Rename(WriteBatch* batch, uint32_t db, std::string_view key, uint32_t target_db,
                     std::string_view target_key);
  // As Rename, but `key` stays: both name the same value in the log.
  static void Copy(WriteBatch* batch, uint32_t db, std::string_view key, uint32_t target_db,
                   std::string_view target_key);
  // Collection ops (docs/FORMAT.md, types 13 to 16), their effects only. `fields_and_values`
  // alternates fields and values; each list holds one element at least.
  static void HashSet(WriteBatch* batch, uint32_t db, std::string_view key,
                      std::vector<std::string> fields_and_values);
  static void HashDelete(WriteBatch* batch, uint32_t db, std::string_view key,
                         std::vector<std::string> fields);
  static void SetAdd(WriteBatch* batch, uint32_t db, std::string_view key,
                     std::vector<std::string> members);
  static void SetRemove(WriteBatch* batch, uint32_t db, std::string_view key,
                        std::vector<std::string> members);
  // An expiry of `key` in database `db`.
  static void ExpireIn(WriteBatch* batch, uint32_t db, std::string_view key);
};

}  // namespace ordo
