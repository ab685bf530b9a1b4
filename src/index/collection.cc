// Hashes and sets in the index: see collection.h.
#include "index/collection.h"

#include <xxhash.h>

#include <cassert>

#include "util/checksum.h"
#include "util/coding.h"
#include "util/integer_text.h"

namespace ordo::index {
namespace {

// Redis 7.0's defaults: hash-max-listpack-entries, hash-max-listpack-value,
// set-max-intset-entries.
constexpr size_t kListpackEntriesMax = 128;
constexpr size_t kListpackValueBytesMax = 64;
constexpr size_t kIntsetEntriesMax = 512;

// Bytes a map slot holds: the 20-byte CompactKey, and for a hash the 20-byte ElemRef.
constexpr uint64_t kFieldSlotBytes = 40;
constexpr uint64_t kMemberSlotBytes = 20;

bool IsInteger(std::string_view text) {
  int64_t ignored;
  return ParseInt64(text, &ignored);
}

StateDigest Hash128(const char* bytes, size_t size) {
  const XXH128_hash_t hash = XXH3_128bits(bytes, size);
  return StateDigest{hash.low64, hash.high64};
}

}  // namespace

ElemRef ElemRef::InLog(uint32_t segment_id, uint32_t offset, uint32_t bytes, uint64_t hash) {
  assert(segment_id != 0);  // 0 marks an inline value; segments start at 1
  ElemRef ref;
  EncodeFixed32(ref.bytes_, segment_id);
  EncodeFixed32(ref.bytes_ + 4, offset);
  EncodeFixed32(ref.bytes_ + 8, bytes);
  EncodeFixed64(ref.bytes_ + 12, hash);
  return ref;
}

ElemRef ElemRef::Inline(std::string_view value) {
  assert(value.size() <= kInlineBytesMax);
  ElemRef ref;
  ref.bytes_[4] = static_cast<char>(value.size());
  std::memcpy(ref.bytes_ + 5, value.data(), value.size());
  return ref;
}

uint64_t ElemRef::value_hash() const {
  if (is_inline()) return Checksum64(inline_value());
  uint64_t hash;
  std::memcpy(&hash, bytes_ + 12, sizeof(hash));
  return hash;
}

Collection::Collection(KeyType type) : type_(type) {
  assert(type == KeyType::kHash || type == KeyType::kSet);
  if (type == KeyType::kHash) {
    elements_.emplace<HashMap>();
  } else {
    elements_.emplace<SetMembers>();
  }
}

size_t Collection::size() const {
  return type_ == KeyType::kHash ? fields().size() : members().size();
}

const ElemRef* Collection::FindField(std::string_view field) const {
  const HashMap& map = fields();
  auto found = map.find(field);
  return found == map.end() ? nullptr : &found->second;
}

bool Collection::SetField(std::string_view field, const ElemRef& value) {
  assert(field.size() <= kElementBytesMax);
  HashMap& map = std::get<HashMap>(elements_);
  auto found = map.lower_bound(field);
  const bool added = found == map.end() || found->first.view() != field;
  if (added) {
    found = map.emplace_hint(found, CompactKey(field), value);
    if (field.size() > CompactKey::kInlineBytesMax) heap_element_bytes_ += field.size();
  } else {
    Subtract(FieldHash(field, found->second.value_hash()));
    found->second = value;
  }
  Add(FieldHash(field, value.value_hash()));
  if (map.size() > kListpackEntriesMax || field.size() > kListpackValueBytesMax ||
      value.value_bytes() > kListpackValueBytesMax) {
    big_encoding_ = true;
  }
  return added;
}

bool Collection::RemoveField(std::string_view field) {
  HashMap& map = std::get<HashMap>(elements_);
  auto found = map.find(field);
  if (found == map.end()) return false;
  Subtract(FieldHash(field, found->second.value_hash()));
  if (field.size() > CompactKey::kInlineBytesMax) heap_element_bytes_ -= field.size();
  map.erase(found);
  return true;
}

bool Collection::ContainsMember(std::string_view member) const {
  return members().contains(member);
}

bool Collection::AddMember(std::string_view member) {
  assert(member.size() <= kElementBytesMax);
  SetMembers& set = std::get<SetMembers>(elements_);
  if (!set.emplace(member).second) return false;
  if (member.size() > CompactKey::kInlineBytesMax) heap_element_bytes_ += member.size();
  Add(MemberHash(member));
  // Redis's setTypeCreate makes a hashtable for a first member that is not an integer;
  // setTypeAdd converts an intset on a non-integer or past set-max-intset-entries.
  if (!IsInteger(member) || set.size() > kIntsetEntriesMax) {
    big_encoding_ = true;
  }
  return true;
}

bool Collection::RemoveMember(std::string_view member) {
  SetMembers& set = std::get<SetMembers>(elements_);
  auto found = set.find(member);
  if (found == set.end()) return false;
  Subtract(MemberHash(member));
  if (member.size() > CompactKey::kInlineBytesMax) heap_element_bytes_ -= member.size();
  set.erase(found);
  return true;
}

std::string_view Collection::EncodingName() const {
  if (big_encoding_) return "hashtable";
  return type_ == KeyType::kHash ? "listpack" : "intset";
}

uint64_t Collection::MemoryBytes() const {
  // Slots times 1.05 for node headers, as Index::MemoryBytes assumes for its own b-tree.
  const uint64_t slot = type_ == KeyType::kHash ? kFieldSlotBytes : kMemberSlotBytes;
  return sizeof(Collection) + size() * slot * 105 / 100 + heap_element_bytes_;
}

namespace {

// XXH3-128 of `element_length u32 | element [| value_hash u64]`: a field's or a member's term.
StateDigest ElementHash(std::string_view element, const uint64_t* value_hash) {
  assert(element.size() <= kElementBytesMax);
  char stack[256];
  std::string heap;
  const size_t total = 4 + element.size() + (value_hash != nullptr ? 8 : 0);
  char* bytes = stack;
  if (total > sizeof(stack)) {
    heap.resize(total);
    bytes = heap.data();
  }
  EncodeFixed32(bytes, static_cast<uint32_t>(element.size()));
  std::memcpy(bytes + 4, element.data(), element.size());
  if (value_hash != nullptr) EncodeFixed64(bytes + 4 + element.size(), *value_hash);
  return Hash128(bytes, total);
}

}  // namespace

StateDigest Collection::FieldHash(std::string_view field, uint64_t value_hash) {
  return ElementHash(field, &value_hash);
}

StateDigest Collection::MemberHash(std::string_view member) { return ElementHash(member, nullptr); }

void Collection::Add(const StateDigest& hash) {
  content_digest_.low += hash.low;
  content_digest_.high += hash.high;
}

void Collection::Subtract(const StateDigest& hash) {
  content_digest_.low -= hash.low;
  content_digest_.high -= hash.high;
}

}  // namespace ordo::index
