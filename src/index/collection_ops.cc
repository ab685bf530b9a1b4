// Collection ops applied to the index: see collection_ops.h.
#include "index/collection_ops.h"

#include <memory>

#include "fmt/format.h"
#include "util/checksum.h"

namespace ordo::index {
namespace {

KeyType TypeOf(log::OpType type) {
  return type == log::OpType::kHashSet || type == log::OpType::kHashDelete ? KeyType::kHash
                                                                           : KeyType::kSet;
}

std::string_view TypeName(KeyType type) {
  switch (type) {
    case KeyType::kString:
      return "a string";
    case KeyType::kHash:
      return "a hash";
    case KeyType::kSet:
      return "a set";
  }
  return "?";
}

// Applies the op's elements to `collection` (of the op's type).
void ApplyElements(const log::RecordOp& op, uint64_t segment_id, uint64_t record_offset,
                   Collection* collection) {
  log::ForEachElement(op, [&](std::string_view element, std::string_view value,
                              uint32_t value_offset) {
    switch (op.type) {
      case log::OpType::kHashSet:
        collection->SetField(element, ValueRef(value, segment_id, record_offset + value_offset));
        break;
      case log::OpType::kHashDelete:
        collection->RemoveField(element);
        break;
      case log::OpType::kSetAdd:
        collection->AddMember(element);
        break;
      default:
        collection->RemoveMember(element);
        break;
    }
  });
}

}  // namespace

ElemRef ValueRef(std::string_view value, uint64_t segment_id, uint64_t value_offset) {
  if (value.size() <= ElemRef::kInlineBytesMax) return ElemRef::Inline(value);
  // The readers refused what does not fit 4 bytes (segment ids, offsets, value sizes).
  assert(segment_id >= 1 && segment_id <= log::kSegmentIdMax);
  assert(value_offset + value.size() <= log::kSegmentFileBytesMax);
  return ElemRef::InLog(static_cast<uint32_t>(segment_id), static_cast<uint32_t>(value_offset),
                        static_cast<uint32_t>(value.size()), Checksum64(value));
}

Status ApplyCollectionOp(const log::RecordOp& op, uint64_t segment_id, uint64_t record_offset,
                         Index* index) {
  assert(log::IsCollectionOp(op.type));
  const KeyType type = TypeOf(op.type);
  const std::string key = IndexKey(op.db, op.key);
  const IndexEntry* entry = index->Find(key);
  if (entry != nullptr) {
    const KeyType held =
        IsCollection(*entry) ? Index::CollectionIn(*entry)->type() : KeyType::kString;
    if (held != type) {
      return Status::Corruption(fmt::format(
          "a {} op on a key holding {}", type == KeyType::kHash ? "hash" : "set", TypeName(held)));
    }
    index->ChangeCollection(key, [&](Collection& collection) {
      ApplyElements(op, segment_id, record_offset, &collection);
    });
    return Status::Ok();
  }
  if (op.type == log::OpType::kHashDelete || op.type == log::OpType::kSetRemove) {
    return Status::Ok();  // nothing to remove from
  }
  auto collection = std::make_unique<Collection>(type);
  ApplyElements(op, segment_id, record_offset, collection.get());
  index->PutCollection(key, std::move(collection), 0);
  return Status::Ok();
}

}  // namespace ordo::index
