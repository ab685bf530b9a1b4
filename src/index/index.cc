#include "index/index.h"

#include <xxhash.h>

#include <cstdlib>
#include <new>
#include <string>

#include "index/collection.h"
#include "util/coding.h"

namespace ordo::index {

CompactKey::CompactKey(std::string_view key) {
  // Every key reaching the index passed ValidateBatch, or the decoders of the log and of a
  // checkpoint, which refuse longer keys: the heap length below fits its 4 bytes.
  assert(key.size() <= kIndexKeyBytesMax);
  std::memset(bytes_, 0, sizeof(bytes_));
  if (key.size() <= kInlineBytesMax) {
    std::memcpy(bytes_, key.data(), key.size());
    bytes_[kMarkerAt] = static_cast<char>(key.size());
    assert(IsInline() && view().size() == key.size());
    return;
  }
  char* heap = static_cast<char*>(std::malloc(key.size()));
  // Out of memory is not a broken invariant: reported as operator new and std::string do.
  if (heap == nullptr) throw std::bad_alloc();
  std::memcpy(heap, key.data(), key.size());
  const uint32_t length = static_cast<uint32_t>(key.size());
  std::memcpy(bytes_, &heap, sizeof(heap));
  std::memcpy(bytes_ + 8, &length, sizeof(length));
  bytes_[kMarkerAt] = static_cast<char>(kHeapMarker);
  assert(!IsInline() && view().size() == key.size());
}

void CompactKey::Release() {
  if (IsInline()) return;
  char* heap = nullptr;
  std::memcpy(&heap, bytes_, sizeof(heap));
  std::free(heap);
  bytes_[kMarkerAt] = 0;
}

std::string IndexKey(uint32_t db, std::string_view key) {
  assert(db < log::kDatabasesMax && key.size() <= kKeyBytesMax);
  std::string index_key;
  index_key.reserve(kDatabasePrefixBytes + key.size());
  index_key.push_back(static_cast<char>(db >> 8));
  index_key.push_back(static_cast<char>(db & 0xff));
  index_key.append(key);
  assert(DatabaseOf(index_key) == db);
  return index_key;
}

StateDigest EntryHash(std::string_view index_key, uint64_t value_hash, int64_t expire_at_ms) {
  // Hot at open (every checkpoint entry) and on every commit: hash from a stack buffer for the
  // usual short keys, from the heap only for long ones.
  constexpr size_t kStackBytes = 256;
  char stack[kStackBytes];
  std::string heap;
  const uint32_t db = DatabaseOf(index_key);
  const std::string_view key = UserKeyOf(index_key);
  assert(key.size() <= kKeyBytesMax);  // its length is hashed as 4 bytes
  const size_t total = 4 + key.size() + 16 + (db != 0 ? 4 : 0);
  char* bytes = stack;
  if (total > kStackBytes) {
    heap.resize(total);
    bytes = heap.data();
  }
  EncodeFixed32(bytes, static_cast<uint32_t>(key.size()));
  std::memcpy(bytes + 4, key.data(), key.size());
  EncodeFixed64(bytes + 4 + key.size(), value_hash);
  EncodeFixed64(bytes + 12 + key.size(), static_cast<uint64_t>(expire_at_ms));
  if (db != 0) EncodeFixed32(bytes + 20 + key.size(), db);
  const XXH128_hash_t hash = XXH3_128bits(bytes, total);
  return StateDigest{hash.low64, hash.high64};
}

StateDigest CollectionEntryHash(std::string_view index_key, KeyType type,
                                const StateDigest& content, int64_t expire_at_ms) {
  char stack[256];
  std::string heap;
  const uint32_t db = DatabaseOf(index_key);
  const std::string_view key = UserKeyOf(index_key);
  assert(key.size() <= kKeyBytesMax);
  const size_t total = 4 + key.size() + 25 + (db != 0 ? 4 : 0);
  char* bytes = stack;
  if (total > sizeof(stack)) {
    heap.resize(total);
    bytes = heap.data();
  }
  char* at = bytes;
  EncodeFixed32(at, static_cast<uint32_t>(key.size()));
  std::memcpy(at + 4, key.data(), key.size());
  at += 4 + key.size();
  *at++ = static_cast<char>(type);
  EncodeFixed64(at, content.low);
  EncodeFixed64(at + 8, content.high);
  EncodeFixed64(at + 16, static_cast<uint64_t>(expire_at_ms));
  at += 24;
  if (db != 0) {
    EncodeFixed32(at, db);
    at += 4;
  }
  assert(static_cast<size_t>(at - bytes) == total);
  const XXH128_hash_t hash = XXH3_128bits(bytes, total);
  return StateDigest{hash.low64, hash.high64};
}

namespace {

Collection* CollectionOf(const IndexEntry& entry) {
  assert(IsCollection(entry));
  const uint64_t address = entry.value_hash;
  return reinterpret_cast<Collection*>(static_cast<uintptr_t>(address));
}

}  // namespace

Index::~Index() {
  reclaimer_ = nullptr;  // the database's reclaiming thread may be gone: free here
  ReleaseAll();
}

StateDigest Index::TermOf(std::string_view key, const IndexEntry& entry) {
  const int64_t expire_at_ms = entry.expire_at_ms;
  if (!IsCollection(entry)) return EntryHash(key, entry.value_hash, expire_at_ms);
  const Collection* collection = CollectionOf(entry);
  return CollectionEntryHash(key, collection->type(), collection->content_digest(), expire_at_ms);
}

void Index::Release(const IndexEntry& entry) {
  if (!IsCollection(entry)) return;
  std::unique_ptr<Collection> collection(CollectionOf(entry));
  assert(collections_ > 0 && collection_bytes_ >= collection->MemoryBytes());
  collections_ -= 1;
  collection_bytes_ -= collection->MemoryBytes();
  if (reclaimer_) reclaimer_(std::move(collection));
}

void Index::ReleaseAll() {
  if (collections_ == 0) return;
  for (const auto& [key, entry] : map_) Release(entry);
  assert(collections_ == 0 && collection_bytes_ == 0);
}

void Index::PutCollection(std::string_view key, std::unique_ptr<Collection> collection,
                          int64_t expire_at_ms) {
  assert(collection != nullptr && !collection->empty());
  IndexEntry entry;
  entry.segment_id = 0;
  entry.value_offset = static_cast<uint32_t>(collection->type());
  entry.value_bytes = 0;
  entry.expire_at_ms = expire_at_ms;
  entry.value_hash = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(collection.get()));
  const uint64_t bytes = collection->MemoryBytes();
  PutEntry(key, entry);
  collection.release();  // the map's now: counted from here on
  collections_ += 1;
  collection_bytes_ += bytes;
}

const Collection* Index::FindCollection(std::string_view key) const {
  const IndexEntry* entry = Find(key);
  return entry == nullptr || !IsCollection(*entry) ? nullptr : CollectionOf(*entry);
}

const Collection* Index::CollectionIn(const IndexEntry& entry) { return CollectionOf(entry); }

StateDigest Index::EntryTerm(std::string_view key, const IndexEntry& entry) {
  return TermOf(key, entry);
}

bool Index::ChangeCollection(std::string_view key, const std::function<void(Collection&)>& change) {
  auto found = map_.find(key);
  assert(found != map_.end() && IsCollection(found->second));
  Collection* collection = CollectionOf(found->second);
  // Only the digest term moves (the key, its expiry and its counts stay), and nothing is
  // accounted until the change is done: if it throws, the totals still match the map.
  const StateDigest before = TermOf(key, found->second);
  const uint64_t bytes_before = collection->MemoryBytes();
  change(*collection);
  collection_bytes_ = collection_bytes_ - bytes_before + collection->MemoryBytes();
  const uint32_t db = DatabaseOf(key);
  AdjustDigest(db, before, false);
  if (collection->empty()) {
    // The term is out already; the key's other totals go now (TermOf is not read again).
    AccountKey(key, found->second, false);
    Release(found->second);
    map_.erase(found);
    return false;
  }
  AdjustDigest(db, TermOf(key, found->second), true);
  return true;
}

void Index::AdjustDigest(uint32_t db, const StateDigest& term, bool add) {
  if (db >= by_database_.size()) by_database_.resize(db + 1);
  DatabaseTotals& totals = by_database_[db];
  if (add) {
    digest_.low += term.low;
    digest_.high += term.high;
    totals.digest.low += term.low;
    totals.digest.high += term.high;
  } else {
    digest_.low -= term.low;
    digest_.high -= term.high;
    totals.digest.low -= term.low;
    totals.digest.high -= term.high;
  }
}

void Index::Account(std::string_view key, const IndexEntry& entry, bool add) {
  AdjustDigest(DatabaseOf(key), TermOf(key, entry), add);
  AccountKey(key, entry, add);
}

void Index::AccountKey(std::string_view key, const IndexEntry& entry, bool add) {
  // A copy: emplace and make_pair take references, and the packed entry's 8-byte fields are
  // only 4-byte aligned (binding a reference to one is undefined behaviour; UBSan reports it).
  const int64_t expire_at_ms = entry.expire_at_ms;
  const uint32_t db = DatabaseOf(key);
  if (db >= by_database_.size()) by_database_.resize(db + 1);
  DatabaseTotals& totals = by_database_[db];
  if (add) {
    ++totals.keys;
    if (expire_at_ms != 0) {
      ++keys_with_expiry_;
      ++totals.keys_with_expiry;
      expiry_order_.emplace(expire_at_ms, std::string(key));
    }
    if (key.size() > CompactKey::kInlineBytesMax) {
      heap_key_bytes_ += key.size();
      ++heap_keys_;
    }
  } else {
    assert(totals.keys > 0);
    --totals.keys;
    if (expire_at_ms != 0) {
      --keys_with_expiry_;
      --totals.keys_with_expiry;
      expiry_order_.erase(std::make_pair(expire_at_ms, std::string(key)));
    }
    if (key.size() > CompactKey::kInlineBytesMax) {
      heap_key_bytes_ -= key.size();
      --heap_keys_;
    }
  }
}

void Index::Put(std::string_view key, const IndexEntry& entry) {
  // A collection's entry is made by PutCollection only: its pointer is the index's to own.
  assert(!IsCollection(entry));
  PutEntry(key, entry);
}

void Index::PutEntry(std::string_view key, const IndexEntry& entry) {
  // One descent: lower_bound, then replace in place or insert with the position as hint.
  auto found = map_.lower_bound(key);
  if (found != map_.end() && found->first.view() == key) {
    Account(key, found->second, false);
    Release(found->second);
    found->second = entry;
  } else {
    map_.emplace_hint(found, CompactKey(key), entry);
  }
  Account(key, entry, true);
}

void Index::PutLast(std::string_view key, const IndexEntry& entry) {
  assert(!IsCollection(entry));
  assert(map_.empty() || std::prev(map_.end())->first.view() < key);
  map_.emplace_hint(map_.end(), CompactKey(key), entry);
  Account(key, entry, true);
}

bool Index::Erase(std::string_view key) {
  auto found = map_.find(key);
  if (found == map_.end()) return false;
  Account(key, found->second, false);
  Release(found->second);
  map_.erase(found);
  return true;
}

bool Index::SetExpiry(std::string_view key, int64_t expire_at_ms) {
  auto found = map_.find(key);
  if (found == map_.end()) return false;
  Account(key, found->second, false);
  found->second.expire_at_ms = expire_at_ms;
  Account(key, found->second, true);
  return true;
}

bool Index::Rename(std::string_view key, std::string_view target) {
  assert(key != target);  // ValidateBatch, and the decoder
  auto found = map_.find(key);
  if (found == map_.end()) return false;
  const IndexEntry entry = found->second;
  Account(key, entry, false);
  map_.erase(found);  // not Release: a collection moves with its entry
  PutEntry(target, entry);
  return true;
}

bool Index::Copy(std::string_view key, std::string_view target) {
  assert(key != target);
  const IndexEntry* found = Find(key);
  if (found == nullptr) return false;
  const IndexEntry entry = *found;  // Put may move the slot `found` points at
  if (IsCollection(entry)) {
    // A collection gets its own copy of the elements (their values in the log are shared).
    const int64_t expire_at_ms = entry.expire_at_ms;
    PutCollection(target, std::make_unique<Collection>(*CollectionOf(entry)), expire_at_ms);
    return true;
  }
  Put(target, entry);
  return true;
}

void Index::Clear() {
  ReleaseAll();
  map_.clear();
  digest_ = StateDigest{};
  keys_with_expiry_ = 0;
  by_database_.clear();
  expiry_order_.clear();
  heap_key_bytes_ = 0;
  heap_keys_ = 0;
}

void Index::ClearDatabase(uint32_t db) {
  if (size_of(db) == 0) return;
  const std::string first = IndexKey(db, "");
  auto it = map_.lower_bound(first);
  while (it != map_.end() && DatabaseOf(it->first.view()) == db) {
    Account(it->first.view(), it->second, false);
    Release(it->second);
    it = map_.erase(it);
  }
  assert(size_of(db) == 0 && digest_of(db) == StateDigest{});
}

void Index::CollectExpired(int64_t now_ms, size_t limit, std::vector<std::string>* keys) const {
  for (const auto& [expire_at_ms, key] : expiry_order_) {
    if (expire_at_ms > now_ms || keys->size() >= limit) break;
    keys->push_back(key);
  }
}

const IndexEntry* Index::Find(std::string_view key) const {
  auto found = map_.find(key);
  return found == map_.end() ? nullptr : &found->second;
}

uint64_t Index::MemoryBytes() const {
  // 48-byte slots in 1 KiB b-tree nodes (~20 a node: headers and child pointers add ~5%), plus
  // each heap key's bytes and its malloc header and rounding (~16 bytes).
  const uint64_t slot_bytes = sizeof(std::pair<const CompactKey, IndexEntry>);
  return map_.size() * slot_bytes * 21 / 20 + heap_key_bytes_ + heap_keys_ * 16 + collection_bytes_;
}

}  // namespace ordo::index
