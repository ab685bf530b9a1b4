// WriteBatch (include/ordo/db.h) and WriteBatchInternal (write_batch_internal.h): a batch is the
// list of its ops, which the log encodes as one record (record.cc).
#include <cassert>

#include "log/write_batch_internal.h"

namespace ordo {

WriteBatch::WriteBatch() = default;
WriteBatch::WriteBatch(const WriteBatch& other) = default;
WriteBatch::WriteBatch(WriteBatch&& other) noexcept = default;
WriteBatch& WriteBatch::operator=(const WriteBatch& other) = default;
WriteBatch& WriteBatch::operator=(WriteBatch&& other) noexcept = default;
WriteBatch::~WriteBatch() = default;

void WriteBatch::Put(std::string_view key, std::string_view value, int64_t expire_at_ms) {
  ops_.push_back(Op{log::OpType::kPut, std::string(key), std::string(value), expire_at_ms});
}

void WriteBatch::Delete(std::string_view key) {
  ops_.push_back(Op{log::OpType::kDelete, std::string(key), {}, 0});
}

void WriteBatch::ClearDatabase() { ops_.push_back(Op{log::OpType::kClear, {}, {}, 0}); }

bool WriteBatch::empty() const { return ops_.empty(); }

size_t WriteBatch::size() const { return ops_.size(); }

void WriteBatchInternal::Expire(WriteBatch* batch, std::string_view key) {
  batch->ops_.push_back(Op{log::OpType::kExpire, std::string(key), {}, 0});
}

void WriteBatchInternal::FlushDatabase(WriteBatch* batch, uint32_t db) {
  batch->ops_.push_back(Op{log::OpType::kFlushDatabase, {}, {}, 0, db});
}

void WriteBatchInternal::SetDatabase(WriteBatch* batch, uint32_t db) {
  for (Op& op : batch->ops_) {
    if (op.type == log::OpType::kPut || op.type == log::OpType::kDelete ||
        op.type == log::OpType::kExpire || op.type == log::OpType::kSetExpiry) {
      op.db = db;
    }
  }
}

void WriteBatchInternal::ExpireIn(WriteBatch* batch, uint32_t db, std::string_view key) {
  batch->ops_.push_back(Op{log::OpType::kExpire, std::string(key), {}, 0, db});
}

void WriteBatchInternal::SetExpiry(WriteBatch* batch, uint32_t db, std::string_view key,
                                   int64_t expire_at_ms) {
  batch->ops_.push_back(Op{log::OpType::kSetExpiry, std::string(key), {}, expire_at_ms, db});
}

void WriteBatchInternal::Rename(WriteBatch* batch, uint32_t db, std::string_view key,
                                uint32_t target_db, std::string_view target_key) {
  batch->ops_.push_back(
      Op{log::OpType::kRename, std::string(key), {}, 0, db, std::string(target_key), target_db});
}

void WriteBatchInternal::Copy(WriteBatch* batch, uint32_t db, std::string_view key,
                              uint32_t target_db, std::string_view target_key) {
  batch->ops_.push_back(
      Op{log::OpType::kCopy, std::string(key), {}, 0, db, std::string(target_key), target_db});
}

namespace {

void AddCollectionOp(std::vector<WriteBatchInternal::Op>* ops, log::OpType type, uint32_t db,
                     std::string_view key, std::vector<std::string> elements) {
  WriteBatchInternal::Op op{type, std::string(key), {}, 0, db};
  op.elements = std::move(elements);
  ops->push_back(std::move(op));
}

}  // namespace

void WriteBatchInternal::HashSet(WriteBatch* batch, uint32_t db, std::string_view key,
                                 std::vector<std::string> fields_and_values) {
  assert(!fields_and_values.empty() && fields_and_values.size() % 2 == 0);
  AddCollectionOp(&batch->ops_, log::OpType::kHashSet, db, key, std::move(fields_and_values));
}

void WriteBatchInternal::HashDelete(WriteBatch* batch, uint32_t db, std::string_view key,
                                    std::vector<std::string> fields) {
  assert(!fields.empty());
  AddCollectionOp(&batch->ops_, log::OpType::kHashDelete, db, key, std::move(fields));
}

void WriteBatchInternal::SetAdd(WriteBatch* batch, uint32_t db, std::string_view key,
                                std::vector<std::string> members) {
  assert(!members.empty());
  AddCollectionOp(&batch->ops_, log::OpType::kSetAdd, db, key, std::move(members));
}

void WriteBatchInternal::SetRemove(WriteBatch* batch, uint32_t db, std::string_view key,
                                   std::vector<std::string> members) {
  assert(!members.empty());
  AddCollectionOp(&batch->ops_, log::OpType::kSetRemove, db, key, std::move(members));
}

void WriteBatchInternal::RestorePoint(WriteBatch* batch, std::string_view name) {
  batch->ops_.push_back(Op{log::OpType::kRestorePoint, std::string(name), {}, 0});
}

}  // namespace ordo
