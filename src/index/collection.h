// A hash or a set: what an index slot points to when its key holds a collection
// (docs/ARCHITECTURE.md, "Collections"). Fields and members are kept here, in memory; a hash
// field's value stays in the log (an ElemRef says where), unless it is short enough to live in
// the ElemRef itself. The collection keeps its element count, its content digest and Redis's
// encoding name, each up to date after every change, so none costs a walk.
//
// The content digest (docs/FORMAT.md, "State digest") is the sum, each 64-bit half on its own
// (mod 2^64, as the state digest's), of one XXH3-128 per element:
//   hash: field_length u32 | field | value_hash u64
//   set:  member_length u32 | member
// (little-endian), so equal contents have equal digests whatever their history.
//
// Not thread-safe: the index's owner guards it (the database's index lock).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "index/index.h"
#include "ordo/db.h"

namespace ordo::index {

// What a key holds. The numbers are the type byte of checkpoints and of a collection's digest
// term (docs/FORMAT.md): fixed.
enum class KeyType : uint8_t { kString = 0, kHash = 1, kSet = 2 };

// Elements (fields, members) are limited as keys are: they live in memory.
inline constexpr size_t kElementBytesMax = kKeyBytesMax;

// A hash field's value: where it is in the log (segment, offset, length, XXH3-64 of the
// bytes), or, for a value of at most kInlineBytesMax bytes, the bytes themselves (no log read;
// counters and flags are the usual small values). 20 bytes, 4-byte aligned, as IndexEntry's
// first fields and hash: with a 20-byte CompactKey field a map slot is 40 bytes.
class ElemRef {
 public:
  static constexpr size_t kInlineBytesMax = 15;

  static ElemRef InLog(uint32_t segment_id, uint32_t offset, uint32_t bytes, uint64_t hash);
  // `value` must have at most kInlineBytesMax bytes.
  static ElemRef Inline(std::string_view value);

  bool is_inline() const { return Fixed32(0) == 0; }
  // Inline values only.
  std::string_view inline_value() const {
    return std::string_view(bytes_ + 5, static_cast<unsigned char>(bytes_[4]));
  }
  // Log values only.
  uint32_t segment_id() const { return Fixed32(0); }
  uint32_t offset() const { return Fixed32(4); }
  uint32_t value_bytes() const { return is_inline() ? inline_value().size() : Fixed32(8); }
  // XXH3-64 of the value (for an inline one, computed: it is at most 15 bytes).
  uint64_t value_hash() const;

  bool operator==(const ElemRef& other) const {
    return std::memcmp(bytes_, other.bytes_, sizeof(bytes_)) == 0;
  }

 private:
  uint32_t Fixed32(size_t at) const {
    uint32_t value;
    std::memcpy(&value, bytes_ + at, sizeof(value));
    return value;
  }
  // Log:    segment_id u32 (never 0) | offset u32 | bytes u32 | hash u64.
  // Inline: 0 u32 | length u8 | the value's bytes, zero-padded.
  char bytes_[20] = {};
};
static_assert(sizeof(ElemRef) == 20 && alignof(ElemRef) == 1);

class Collection {
 public:
  using HashMap = absl::btree_map<CompactKey, ElemRef, KeyLess>;
  using SetMembers = absl::btree_set<CompactKey, KeyLess>;

  explicit Collection(KeyType type);

  KeyType type() const { return type_; }
  size_t size() const;
  bool empty() const { return size() == 0; }
  StateDigest content_digest() const { return content_digest_; }

  // Hashes. SetField returns whether the field is new.
  const ElemRef* FindField(std::string_view field) const;
  bool SetField(std::string_view field, const ElemRef& value);
  bool RemoveField(std::string_view field);
  const HashMap& fields() const { return std::get<HashMap>(elements_); }

  // Sets. AddMember / RemoveMember return whether the set changed.
  bool ContainsMember(std::string_view member) const;
  bool AddMember(std::string_view member);
  bool RemoveMember(std::string_view member);
  const SetMembers& members() const { return std::get<SetMembers>(elements_); }

  // Redis 7.0's OBJECT ENCODING for this collection. Redis converts a small encoding to the
  // big one once a threshold is passed and never back (until a restart rebuilds the key), so
  // this is a state of the collection, kept in checkpoints, not a function of its contents.
  // One exception: SPOP with a count that leaves less than a fifth of it (spopWithCountCommand,
  // its third case) builds a new set from the members that stay, which may be an intset again;
  // the command must log that as the key's deletion and the remaining members' addition, so
  // that replay builds the same new set.
  //   hash: "listpack" until it has more than 128 fields or a field or value of more than 64
  //         bytes (hash-max-listpack-entries / -value), then "hashtable";
  //   set:  "intset" while every member is an integer (Redis's string2ll) and there are at
  //         most 512 (set-max-intset-entries), then "hashtable"; a set whose first member is
  //         not an integer starts as "hashtable".
  bool big_encoding() const { return big_encoding_; }
  std::string_view EncodingName() const;
  // Checkpoint loading restores the encoding as it was.
  void set_big_encoding(bool big) { big_encoding_ = big; }

  // Estimated bytes of memory: the object, the map's slots and nodes, heap elements.
  uint64_t MemoryBytes() const;

  // One element's term in the content digest (see the file comment).
  static StateDigest FieldHash(std::string_view field, uint64_t value_hash);
  static StateDigest MemberHash(std::string_view member);

 private:
  void Add(const StateDigest& hash);
  void Subtract(const StateDigest& hash);

  KeyType type_;
  bool big_encoding_ = false;
  StateDigest content_digest_;
  uint64_t heap_element_bytes_ = 0;
  std::variant<HashMap, SetMembers> elements_;
};

}  // namespace ordo::index
