// The in-memory ordered index: key -> where the live value is in the log, its size, expiry and
// hash. It holds no values (they stay in the segments) and it is derived data: it can always be
// rebuilt from the log, and checkpoints (checkpoint.h) only make that faster.
//
// It also keeps the state digest: the sum over all entries of EntryHash(), updated on every
// change, so the digest of the whole state is always at hand in O(1).
//
// Not thread-safe: the database guards it with a reader-writer lock.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "log/format.h"
#include "ordo/db.h"

namespace ordo::index {

// Where a value lives. 28 bytes, 4-byte aligned (packed: with the 20-byte key a slot is 48
// bytes, and keys of up to 19 bytes stay inline). Copy fields out; do not bind references to
// the 8-byte ones.
//
// A key holding a collection (a hash or a set, collection.h) has segment_id 0 (segments start
// at 1), its KeyType in value_offset, and in value_hash the address of its Collection, which
// the Index owns: only the Index creates, replaces and frees such entries (PutCollection,
// ChangeCollection, Put, Erase, Clear...), and a copy of the entry is valid only while the key
// is unchanged.
#pragma pack(push, 4)
struct IndexEntry {
  uint32_t segment_id = 0;
  uint32_t value_offset = 0;  // offset of the value's first byte in the segment file
  uint32_t value_bytes = 0;
  int64_t expire_at_ms = 0;  // 0 = never
  uint64_t value_hash = 0;   // XXH3-64 of the value
};
#pragma pack(pop)
static_assert(sizeof(IndexEntry) == 28 && alignof(IndexEntry) == 4);

class Collection;
enum class KeyType : uint8_t;

inline bool IsCollection(const IndexEntry& entry) { return entry.segment_id == 0; }
// The log's ids, offsets and sizes are wider on disk; these limits (log/format.h, ordo/options.h)
// are what lets the index narrow them. The writers assert them and the decoders refuse beyond.
static_assert(log::kSegmentIdMax <= UINT32_MAX, "IndexEntry::segment_id");
static_assert(log::kSegmentFileBytesMax <= UINT32_MAX, "IndexEntry::value_offset");
static_assert(kValueBytesMax <= UINT32_MAX, "IndexEntry::value_bytes");

// The index's key: the database's number in 2 bytes, big-endian (so each database's keys are
// one range, in database order), then the key. Only the index and the overlay hold it; the log
// and every interface outside the engine name the database apart.
inline constexpr size_t kDatabasePrefixBytes = 2;
inline constexpr size_t kIndexKeyBytesMax = kKeyBytesMax + kDatabasePrefixBytes;
static_assert(log::kDatabasesMax == 1u << (8 * kDatabasePrefixBytes));
std::string IndexKey(uint32_t db, std::string_view key);
// IndexKey built on the stack for the usual short keys: every read looks one up, and a heap
// string per GET would cost more than the lookup. Not copyable (view() points into it).
class IndexKeyOnStack {
 public:
  IndexKeyOnStack(uint32_t db, std::string_view key) {
    if (kDatabasePrefixBytes + key.size() > sizeof(inline_)) {
      heap_ = IndexKey(db, key);
      view_ = heap_;
      return;
    }
    inline_[0] = static_cast<char>(db >> 8);
    inline_[1] = static_cast<char>(db & 0xff);
    std::memcpy(inline_ + kDatabasePrefixBytes, key.data(), key.size());
    view_ = std::string_view(inline_, kDatabasePrefixBytes + key.size());
  }
  IndexKeyOnStack(const IndexKeyOnStack&) = delete;
  IndexKeyOnStack& operator=(const IndexKeyOnStack&) = delete;
  std::string_view view() const { return view_; }

 private:
  char inline_[128];
  std::string heap_;
  std::string_view view_;
};

inline uint32_t DatabaseOf(std::string_view index_key) {
  assert(index_key.size() >= kDatabasePrefixBytes);
  return (static_cast<uint32_t>(static_cast<unsigned char>(index_key[0])) << 8) |
         static_cast<unsigned char>(index_key[1]);
}
inline std::string_view UserKeyOf(std::string_view index_key) {
  assert(index_key.size() >= kDatabasePrefixBytes);
  return index_key.substr(kDatabasePrefixBytes);
}

// A key in 20 bytes: up to 19 bytes inline, longer ones (up to kIndexKeyBytesMax, their length in 4
// bytes) on the heap. With the 28-byte entry a slot is 48 bytes (docs/BENCHMARKS.md, index memory
// per key). Inline keys also make the b-tree's comparisons cheap: no pointer to chase
// (redis-benchmark's keys are 16 bytes).
class CompactKey {
 public:
  explicit CompactKey(std::string_view key);
  CompactKey(CompactKey&& other) noexcept { Steal(other); }
  CompactKey& operator=(CompactKey&& other) noexcept {
    if (this != &other) {
      Release();
      Steal(other);
    }
    return *this;
  }
  // Copies are deep; the b-tree moves slots, so copies are rare.
  CompactKey(const CompactKey& other) : CompactKey(other.view()) {}
  CompactKey& operator=(const CompactKey& other) {
    if (this != &other) *this = CompactKey(other.view());
    return *this;
  }
  ~CompactKey() { Release(); }

  std::string_view view() const {
    if (IsInline()) return std::string_view(bytes_, static_cast<unsigned char>(bytes_[kMarkerAt]));
    const char* heap = nullptr;
    uint32_t length = 0;
    std::memcpy(&heap, bytes_, sizeof(heap));
    std::memcpy(&length, bytes_ + 8, sizeof(length));
    // The constructor's side of the boundary: only keys too long to be inline go to the heap.
    assert(length > kInlineBytesMax && length <= kIndexKeyBytesMax);
    return std::string_view(heap, length);
  }
  // Heap bytes owned, for the memory estimate.
  size_t heap_bytes() const { return IsInline() ? 0 : view().size(); }

 private:
  static constexpr size_t kBytes = 20;
  static constexpr size_t kMarkerAt = kBytes - 1;  // inline: the length; heap: kHeapMarker
  static constexpr unsigned char kHeapMarker = 0xff;
  bool IsInline() const { return static_cast<unsigned char>(bytes_[kMarkerAt]) != kHeapMarker; }
  void Release();
  void Steal(CompactKey& other) {
    std::memcpy(bytes_, other.bytes_, sizeof(bytes_));
    other.bytes_[kMarkerAt] = 0;  // other becomes an empty inline key
  }
  char bytes_[kBytes];

 public:
  static constexpr size_t kInlineBytesMax = kBytes - 1;
};

static_assert(sizeof(std::pair<const CompactKey, IndexEntry>) == 48, "one index slot");

struct KeyLess {
  using is_transparent = void;
  bool operator()(const CompactKey& a, const CompactKey& b) const { return a.view() < b.view(); }
  bool operator()(const CompactKey& a, std::string_view b) const { return a.view() < b; }
  bool operator()(std::string_view a, const CompactKey& b) const { return a < b.view(); }
};

// The digest contribution of one entry (`index_key`: IndexKey's), XXH3-128 of
//   key_length u32 | key | value_hash u64 | expire_at_ms i64              in database 0
//   key_length u32 | key | value_hash u64 | expire_at_ms i64 | db u32     in any other
// (little-endian; `key` without the database prefix): database 0's entries hash as they did
// before there were databases, so an older log's digests still hold.
StateDigest EntryHash(std::string_view index_key, uint64_t value_hash, int64_t expire_at_ms);
// The same for a key holding a collection (docs/FORMAT.md, "The state digest"):
//   key_length u32 | key | type u8 | content_low u64 | content_high u64 | expire_at_ms i64
//   [| db u32, in a database other than 0]
StateDigest CollectionEntryHash(std::string_view index_key, KeyType type,
                                const StateDigest& content, int64_t expire_at_ms);

class Index {
 public:
  Index() = default;
  ~Index();
  // The index owns its collections: no copies.
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // absl::btree_map with 1 KiB nodes instead of its default 256 bytes: ~20 slots a node instead
  // of 5, so node headers and child pointers cost ~1 byte a key instead of ~8 (the index memory
  // target is 64 bytes a key plus the key). Same interface as absl::btree_map.
  using Map = absl::container_internal::btree_map_container<
      absl::container_internal::btree<absl::container_internal::map_params<
          CompactKey, IndexEntry, KeyLess, std::allocator<std::pair<const CompactKey, IndexEntry>>,
          /*TargetNodeSize=*/1024, /*IsMulti=*/false>>>;

  // Inserts or replaces (a collection the key held is freed). `entry` is a string's.
  void Put(std::string_view key, const IndexEntry& entry);
  // Inserts or replaces with a collection (not empty), which the index then owns.
  void PutCollection(std::string_view key, std::unique_ptr<Collection> collection,
                     int64_t expire_at_ms);
  // The collection `key` holds; null if absent or a string. The pointer is valid until the
  // key changes (any Put, Erase, Clear, or a ChangeCollection that empties it): a reader holds
  // the index's lock while it uses it, and never copies an entry to read it after.
  const Collection* FindCollection(std::string_view key) const;
  // The same from an entry of this index that IsCollection.
  static const Collection* CollectionIn(const IndexEntry& entry);
  // An entry's digest term, a string's (EntryHash) or a collection's (CollectionEntryHash).
  static StateDigest EntryTerm(std::string_view key, const IndexEntry& entry);
  // Runs `change` on the collection `key` holds (which must be one), keeping the digest, the
  // totals and the memory estimate right; a collection left empty is removed with its key.
  // Returns whether the key still exists. `change` must not call the index.
  bool ChangeCollection(std::string_view key, const std::function<void(Collection&)>& change);
  // Where freed collections go: by default they are destroyed at once; the database hands big
  // ones to a background thread (Redis's lazyfree). Called with the index's lock held.
  void SetReclaimer(std::function<void(std::unique_ptr<Collection>)> reclaimer) {
    reclaimer_ = std::move(reclaimer);
  }
  // Appends a key greater than every key present (checkpoint loading: sorted input).
  void PutLast(std::string_view key, const IndexEntry& entry);
  // Returns whether the key was present.
  bool Erase(std::string_view key);
  // The metadata-only ops (log types 10 to 12). Each returns whether `key` was present; when
  // it is absent nothing changes. SetExpiry keeps the value and replaces the expiry (0: none).
  // Rename moves `key`'s entry (value location, hash, expiry) to `target`, replacing it; Copy
  // gives `target` the same entry and keeps `key`'s. `target` differs from `key`.
  bool SetExpiry(std::string_view key, int64_t expire_at_ms);
  bool Rename(std::string_view key, std::string_view target);
  bool Copy(std::string_view key, std::string_view target);
  // Every database, or one (FLUSHALL, FLUSHDB).
  void Clear();
  void ClearDatabase(uint32_t db);
  const IndexEntry* Find(std::string_view key) const;

  size_t size() const { return map_.size(); }
  size_t keys_with_expiry() const { return keys_with_expiry_; }
  StateDigest digest() const { return digest_; }
  // The same for one database; databases() is one past the highest that ever held a key.
  uint32_t databases() const { return static_cast<uint32_t>(by_database_.size()); }
  uint64_t size_of(uint32_t db) const { return db < databases() ? by_database_[db].keys : 0; }
  uint64_t keys_with_expiry_of(uint32_t db) const {
    return db < databases() ? by_database_[db].keys_with_expiry : 0;
  }
  StateDigest digest_of(uint32_t db) const {
    return db < databases() ? by_database_[db].digest : StateDigest{};
  }
  // Estimated bytes of memory: slots, node overhead, heap keys, collections.
  uint64_t MemoryBytes() const;
  // Keys holding collections.
  uint64_t collections() const { return collections_; }

  // Appends to `keys` up to `limit` keys whose expiry is at or before `now_ms`, soonest first.
  void CollectExpired(int64_t now_ms, size_t limit, std::vector<std::string>* keys) const;

  Map::const_iterator LowerBound(std::string_view key) const { return map_.lower_bound(key); }
  Map::const_iterator begin() const { return map_.begin(); }
  Map::const_iterator end() const { return map_.end(); }

 private:
  // An entry's whole accounting: its digest term (AdjustDigest) and its key's totals, expiry
  // order and heap bytes (AccountKey).
  void Account(std::string_view key, const IndexEntry& entry, bool add);
  void AccountKey(std::string_view key, const IndexEntry& entry, bool add);
  void AdjustDigest(uint32_t db, const StateDigest& term, bool add);
  void PutEntry(std::string_view key, const IndexEntry& entry);
  // The digest term of an entry, a string's or a collection's.
  static StateDigest TermOf(std::string_view key, const IndexEntry& entry);
  // Frees the collection a removed entry held (if any), through the reclaimer.
  void Release(const IndexEntry& entry);
  void ReleaseAll();

  struct DatabaseTotals {
    uint64_t keys = 0;
    uint64_t keys_with_expiry = 0;
    StateDigest digest;
  };

  Map map_;
  StateDigest digest_;
  size_t keys_with_expiry_ = 0;
  std::vector<DatabaseTotals> by_database_;
  // Keys with an expiry, by expiry time: lets the sweeper find expired keys without a scan.
  // Costs memory only for keys that have an expiry.
  std::set<std::pair<int64_t, std::string>> expiry_order_;
  uint64_t heap_key_bytes_ = 0;
  uint64_t heap_keys_ = 0;  // keys longer than CompactKey::kInlineBytesMax
  uint64_t collections_ = 0;
  uint64_t collection_bytes_ = 0;  // Collection::MemoryBytes of every collection
  std::function<void(std::unique_ptr<Collection>)> reclaimer_;
};

}  // namespace ordo::index
