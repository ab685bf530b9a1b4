// The index on its own: the inline/heap key boundary (19/20 bytes), key order, the digest and
// memory accounting under puts, replaces and erases, expiry order, and a checkpoint round trip
// (through the in-memory file system) that rebuilds the same index.
#include "index/index.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "index/checkpoint.h"
#include "index/collection.h"
#include "io/memory_file_system.h"
#include "tests/test_util.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo::index {
namespace {

IndexEntry EntryFor(uint64_t n, int64_t expire_at_ms = 0) {
  IndexEntry entry;
  entry.segment_id = static_cast<uint32_t>(1 + n % 7);
  entry.value_offset = static_cast<uint32_t>(64 + n * 10);
  entry.value_bytes = static_cast<uint32_t>(n % 100);
  entry.expire_at_ms = expire_at_ms;
  entry.value_hash = n * 0x9e3779b97f4a7c15ULL;
  return entry;
}

// The digest from scratch: the sum of every entry's EntryHash (index.h).
StateDigest DigestOf(const std::map<std::string, IndexEntry>& entries) {
  StateDigest sum;
  for (const auto& [key, entry] : entries) {
    const StateDigest one = EntryHash(key, entry.value_hash, entry.expire_at_ms);
    sum.low += one.low;  // two independent 64-bit sums (index.cc)
    sum.high += one.high;
  }
  return sum;
}

TEST(CompactKeyTest, KeysUpTo19BytesStayInlineAndLongerOnesGoToTheHeap) {
  ASSERT_EQ(CompactKey::kInlineBytesMax, 19u);
  for (size_t length : {size_t{0}, size_t{1}, size_t{18}, size_t{19}, size_t{20}, size_t{21},
                        size_t{255}, size_t{256}, size_t{kKeyBytesMax}}) {  // 2^16: past u16
    SCOPED_TRACE(length);
    std::string bytes(length, '\0');
    for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<char>(i * 31 + 7);  // any byte
    CompactKey key(bytes);
    EXPECT_EQ(key.view(), bytes);
    EXPECT_EQ(key.heap_bytes(), length <= 19 ? 0u : length);
    CompactKey copy(key);  // deep
    EXPECT_EQ(copy.view(), bytes);
    CompactKey moved(std::move(key));
    EXPECT_EQ(moved.view(), bytes);
    EXPECT_EQ(key.view(), "");  // NOLINT(bugprone-use-after-move): moved-from is empty
    copy = moved;
    EXPECT_EQ(copy.view(), bytes);
  }
  // A 19-byte key whose last byte is 0xff (the heap marker's value) is still inline.
  const std::string marker_like = std::string(18, 'k') + '\xff';
  CompactKey key(marker_like);
  EXPECT_EQ(key.view(), marker_like);
  EXPECT_EQ(key.heap_bytes(), 0u);
}

TEST(IndexTest, KeysAreOrderedAsBytesAcrossTheInlineBoundary) {
  Index index;
  std::map<std::string, IndexEntry> expected;
  std::mt19937_64 random(11);
  for (uint64_t n = 0; n < 3000; ++n) {
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 4 == 0 ? 0xff : random() % 3);
    // Databases 0, 1 and 256: each database's keys are one range, in database order.
    const std::string key =
        IndexKey(static_cast<uint32_t>((random() % 3) * (random() % 2 ? 1 : 256)), bytes);
    index.Put(key, EntryFor(n));
    expected[key] = EntryFor(n);
  }
  ASSERT_EQ(index.size(), expected.size());
  auto it = expected.begin();
  for (const auto& [key, entry] : index) {
    ASSERT_NE(it, expected.end());
    EXPECT_EQ(key.view(), it->first);
    EXPECT_EQ(entry.value_offset, it->second.value_offset);
    ++it;
  }
  const auto& [probe, unused] = *std::next(expected.begin(), expected.size() / 2);
  EXPECT_EQ(index.LowerBound(probe)->first.view(), probe);
}

TEST(IndexTest, DigestAndMemoryFollowPutsReplacesAndErases) {
  Index index;
  std::map<std::string, IndexEntry> expected;
  EXPECT_EQ(index.digest(), StateDigest{});
  EXPECT_EQ(index.MemoryBytes(), 0u);
  std::mt19937_64 random(5);
  for (uint64_t n = 0; n < 5000; ++n) {
    const std::string key =
        IndexKey(static_cast<uint32_t>(random() % 3),
                 "key" + std::to_string(random() % 700) +
                     (n % 3 == 0 ? std::string(30, 'L') : std::string()));  // heap keys too
    if (random() % 4 == 0) {
      EXPECT_EQ(index.Erase(key), expected.erase(key) == 1);
    } else {
      const IndexEntry entry = EntryFor(n, random() % 5 == 0 ? 1000 + n : 0);
      index.Put(key, entry);
      expected[key] = entry;
    }
    if (n % 500 == 0) {
      ASSERT_EQ(index.digest(), DigestOf(expected)) << n;
    }
  }
  EXPECT_EQ(index.size(), expected.size());
  EXPECT_EQ(index.digest(), DigestOf(expected));
  size_t with_expiry = 0;
  uint64_t heap_bytes = 0;
  for (const auto& [key, entry] : expected) {
    with_expiry += entry.expire_at_ms != 0 ? 1 : 0;
    heap_bytes += key.size() > CompactKey::kInlineBytesMax ? key.size() + 16 : 0;
  }
  EXPECT_EQ(index.keys_with_expiry(), with_expiry);
  EXPECT_EQ(index.MemoryBytes(), expected.size() * 48 * 21 / 20 + heap_bytes);

  for (const auto& [key, entry] : expected) EXPECT_TRUE(index.Erase(key));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.digest(), StateDigest{});
  EXPECT_EQ(index.keys_with_expiry(), 0u);
  EXPECT_EQ(index.MemoryBytes(), 0u);
  EXPECT_FALSE(index.Erase("absent"));
}

TEST(IndexTest, DatabaseZeroHashesAsBeforeDatabasesAndOthersApart) {
  // Database 0's entry hash is the one logs and checkpoints written before databases hold.
  std::string legacy;
  PutFixed32(&legacy, 3);
  legacy += "abc";
  PutFixed64(&legacy, 42);
  PutFixed64(&legacy, 7);
  const XXH128_hash_t expected = XXH3_128bits(legacy.data(), legacy.size());
  EXPECT_EQ(EntryHash(IndexKey(0, "abc"), 42, 7), (StateDigest{expected.low64, expected.high64}));
  EXPECT_NE(EntryHash(IndexKey(1, "abc"), 42, 7), EntryHash(IndexKey(0, "abc"), 42, 7));
  EXPECT_NE(EntryHash(IndexKey(2, "abc"), 42, 7), EntryHash(IndexKey(1, "abc"), 42, 7));
  EXPECT_EQ(DatabaseOf(IndexKey(65535, "k")), 65535u);
  EXPECT_EQ(UserKeyOf(IndexKey(300, "k")), "k");
  for (size_t length : {size_t{0}, size_t{17}, size_t{126}, size_t{127}, kKeyBytesMax}) {
    const std::string key(length, 'q');
    EXPECT_EQ(IndexKeyOnStack(513, key).view(), IndexKey(513, key)) << length;
  }
}

TEST(IndexTest, TotalsPerDatabaseAndClearingOne) {
  Index index;
  for (uint32_t db : {0u, 1u, 5u}) {
    for (uint64_t n = 0; n < 50; ++n) {
      index.Put(IndexKey(db, "k" + std::to_string(n)), EntryFor(n, n % 10 == 0 ? 1000 + n : 0));
    }
  }
  EXPECT_EQ(index.databases(), 6u);
  EXPECT_EQ(index.size_of(1), 50u);
  EXPECT_EQ(index.size_of(2), 0u);
  EXPECT_EQ(index.keys_with_expiry_of(5), 5u);
  StateDigest sum;
  for (uint32_t db = 0; db < index.databases(); ++db) {
    sum.low += index.digest_of(db).low;
    sum.high += index.digest_of(db).high;
  }
  EXPECT_EQ(sum, index.digest());
  const StateDigest before = index.digest();
  const StateDigest of_one = index.digest_of(1);
  index.ClearDatabase(1);
  EXPECT_EQ(index.size(), 100u);
  EXPECT_EQ(index.size_of(1), 0u);
  EXPECT_EQ(index.Find(IndexKey(1, "k3")), nullptr);
  EXPECT_NE(index.Find(IndexKey(0, "k3")), nullptr);
  EXPECT_NE(index.Find(IndexKey(5, "k3")), nullptr);
  EXPECT_EQ(index.digest().low, before.low - of_one.low);
  EXPECT_EQ(index.digest().high, before.high - of_one.high);
  index.ClearDatabase(7);  // never used: nothing happens
  EXPECT_EQ(index.size(), 100u);
}

TEST(IndexTest, MetadataOpsMoveEntriesAndKeepDigestAndTotals) {
  // Each op against a model map: the digest is always the model's (from scratch), the totals
  // per database follow, and the value location goes with the entry.
  Index index;
  std::map<std::string, IndexEntry> model;
  auto put = [&](const std::string& key, const IndexEntry& entry) {
    index.Put(key, entry);
    model[key] = entry;
  };
  const std::string a = IndexKey(0, "a"), b = IndexKey(0, "b"), c = IndexKey(5, "a");
  put(a, EntryFor(1));
  put(b, EntryFor(2, 500));
  EXPECT_TRUE(index.SetExpiry(a, 900));
  model[a].expire_at_ms = 900;
  EXPECT_EQ(index.digest(), DigestOf(model));
  EXPECT_EQ(index.keys_with_expiry(), 2u);
  EXPECT_FALSE(index.SetExpiry(IndexKey(0, "none"), 1));  // absent: nothing changes
  EXPECT_EQ(index.size(), 2u);
  // Rename onto an existing key: one key fewer, the target holds the source's entry.
  EXPECT_TRUE(index.Rename(a, b));
  model[b] = model[a];
  model.erase(a);
  EXPECT_EQ(index.digest(), DigestOf(model));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.Find(b)->value_offset, EntryFor(1).value_offset);
  EXPECT_EQ(index.Find(b)->expire_at_ms, 900);
  EXPECT_EQ(index.Find(a), nullptr);
  EXPECT_FALSE(index.Rename(a, c));
  // Rename into another database (MOVE), then copy back: both name the same value.
  EXPECT_TRUE(index.Rename(b, c));
  model[c] = model[b];
  model.erase(b);
  EXPECT_EQ(index.size_of(0), 0u);
  EXPECT_EQ(index.size_of(5), 1u);
  EXPECT_EQ(index.keys_with_expiry_of(5), 1u);
  EXPECT_TRUE(index.Copy(c, a));
  model[a] = model[c];
  EXPECT_EQ(index.digest(), DigestOf(model));
  EXPECT_EQ(index.size_of(0), 1u);
  EXPECT_EQ(index.keys_with_expiry(), 2u);
  EXPECT_EQ(index.Find(a)->value_offset, index.Find(c)->value_offset);
  EXPECT_EQ(index.digest_of(5), DigestOf({{c, model[c]}}));
  // The expiry order follows renames: the renamed key is the one collected.
  std::vector<std::string> due;
  index.CollectExpired(1000, 10, &due);
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<std::string>{a, c}));
  // The same state built by puts alone has the same digest: history does not count.
  Index direct;
  for (const auto& [key, entry] : model) direct.Put(key, entry);
  EXPECT_EQ(direct.digest(), index.digest());
}

TEST(IndexTest, CollectExpiredReturnsTheDueKeysSoonestFirst) {
  Index index;
  index.Put("late", EntryFor(1, 300));
  index.Put("never", EntryFor(2));
  index.Put("soon", EntryFor(3, 100));
  index.Put("mid", EntryFor(4, 200));
  index.Put("mid", EntryFor(5, 250));  // a replace moves it in the expiry order
  std::vector<std::string> keys;
  index.CollectExpired(250, 10, &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"soon", "mid"}));
  keys.clear();
  index.CollectExpired(1000, 1, &keys);
  EXPECT_EQ(keys, std::vector<std::string>{"soon"});
}

TEST(CheckpointTest, AWrittenCheckpointLoadsTheSameIndex) {
  MemoryFileSystem fs;
  Index index;
  for (uint64_t n = 0; n < 2000; ++n) {
    index.Put("k" + std::to_string(n) + std::string(n % 40, 'x'), EntryFor(n, n % 9 ? 0 : n));
  }
  CheckpointInfo info;
  info.database_id = std::string(16, '\x5a');
  info.lsn = 4242;
  info.replay_segment_id = 7;  // EntryFor names segments 1 to 7
  info.replay_offset = 4096;
  info.created_time_ms = 1700000000000;
  ASSERT_OK(WriteCheckpoint(&fs, "index", index, info));
  const std::string path = "index/" + CheckpointFileName(4242);
  ASSERT_TRUE(fs.FileExists(path));

  Index loaded;
  CheckpointInfo read;
  ASSERT_OK(LoadCheckpoint(&fs, path, info.database_id, &loaded, &read));
  EXPECT_EQ(read.lsn, 4242u);
  EXPECT_EQ(read.replay_segment_id, 7u);
  EXPECT_EQ(read.replay_offset, 4096u);
  EXPECT_EQ(read.entry_count, index.size());
  EXPECT_EQ(read.digest, index.digest());
  EXPECT_EQ(loaded.size(), index.size());
  EXPECT_EQ(loaded.digest(), index.digest());
  EXPECT_EQ(loaded.keys_with_expiry(), index.keys_with_expiry());
  EXPECT_EQ(loaded.MemoryBytes(), index.MemoryBytes());
  auto it = loaded.begin();
  for (const auto& [key, entry] : index) {
    ASSERT_NE(it, loaded.end());
    EXPECT_EQ(it->first.view(), key.view());
    EXPECT_EQ(it->second.value_hash, entry.value_hash);
    EXPECT_EQ(it->second.expire_at_ms, entry.expire_at_ms);
    ++it;
  }

  // Another database's checkpoint is refused, and leaves the index empty.
  Index other;
  EXPECT_FALSE(LoadCheckpoint(&fs, path, std::string(16, '\x01'), &other, &read).ok());
  EXPECT_EQ(other.size(), 0u);
}

// Version 3: an index holding collections is written with them, and loads back the same; one of
// strings only stays version 2, readable by a build before collections.
TEST(CheckpointTest, CollectionsAreWrittenAsVersion3AndLoadBackTheSame) {
  MemoryFileSystem fs;
  Index index;
  for (uint64_t n = 0; n < 50; ++n) index.Put(IndexKey(0, "s" + std::to_string(n)), EntryFor(n));
  CheckpointInfo info;
  info.database_id = std::string(16, '\x5a');
  info.lsn = 10;
  info.replay_segment_id = 7;
  info.replay_offset = 4096;
  ASSERT_OK(WriteCheckpoint(&fs, "index", index, info));
  CheckpointInfo read;
  Index strings;
  ASSERT_OK(
      LoadCheckpoint(&fs, "index/" + CheckpointFileName(10), info.database_id, &strings, &read));
  EXPECT_EQ(read.version, 2u);

  auto hash = std::make_unique<Collection>(KeyType::kHash);
  for (int i = 0; i < 200; ++i) {
    const std::string field = "field" + std::to_string(i) + std::string(i % 30, 'f');
    hash->SetField(field, i % 2 ? ElemRef::Inline(std::to_string(i))
                                : ElemRef::InLog(1 + i % 7, 64 + i, 100, 1000 + i));
  }
  const bool hash_big = hash->big_encoding();
  index.PutCollection(IndexKey(0, "h"), std::move(hash), 1700000000000);
  auto small = std::make_unique<Collection>(KeyType::kHash);
  small->SetField("", ElemRef::Inline(""));
  index.PutCollection(IndexKey(4, "small"), std::move(small), 0);
  auto set = std::make_unique<Collection>(KeyType::kSet);
  for (int i = 0; i < 100; ++i) set->AddMember(std::to_string(i * 7));
  index.PutCollection(IndexKey(2, "set"), std::move(set), 0);
  info.lsn = 11;
  ASSERT_OK(WriteCheckpoint(&fs, "index", index, info));
  const std::string path = "index/" + CheckpointFileName(11);
  Index loaded;
  ASSERT_OK(LoadCheckpoint(&fs, path, info.database_id, &loaded, &read));
  EXPECT_EQ(read.version, 3u);
  EXPECT_EQ(loaded.size(), index.size());
  EXPECT_EQ(loaded.collections(), 3u);
  EXPECT_EQ(loaded.digest(), index.digest());
  EXPECT_EQ(loaded.digest_of(2), index.digest_of(2));
  EXPECT_EQ(loaded.keys_with_expiry(), 1u);
  EXPECT_EQ(loaded.MemoryBytes(), index.MemoryBytes());
  const Collection* h = loaded.FindCollection(IndexKey(0, "h"));
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->size(), 200u);
  EXPECT_EQ(h->big_encoding(), hash_big);
  EXPECT_EQ(h->EncodingName(), "hashtable");
  ASSERT_NE(h->FindField("field1f"), nullptr);
  EXPECT_EQ(h->FindField("field1f")->inline_value(), "1");
  EXPECT_EQ(*h->FindField("field2ff"), ElemRef::InLog(3, 66, 100, 1002));
  EXPECT_EQ(loaded.FindCollection(IndexKey(2, "set"))->EncodingName(), "intset");
  EXPECT_EQ(loaded.FindCollection(IndexKey(4, "small"))->FindField("")->inline_value(), "");

  // A collection element changed (its bytes, with every checksum made right again) is refused:
  // its digest no longer matches. The first "\x02" "21" is the inline value "21" of the hash's
  // field 21 (its length byte, then the bytes), which becomes "22".
  Result<std::string> read_bytes = ReadFileToString(&fs, path);
  ASSERT_TRUE(read_bytes.ok());
  std::string bytes = *read_bytes;
  const size_t at = bytes.find("\x02\x32\x31");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] = '2';
  const size_t trailer_at = bytes.size() - kCheckpointTrailerBytes;
  EncodeFixed64(bytes.data() + trailer_at + 8,
                Checksum64(std::string_view(bytes).substr(kCheckpointHeaderBytes,
                                                          trailer_at - kCheckpointHeaderBytes)));
  ASSERT_OK(WriteFileAtomically(&fs, path, bytes));
  Index damaged;
  const Status status = LoadCheckpoint(&fs, path, info.database_id, &damaged, &read);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.ToString().find("collection digest does not match"), std::string::npos)
      << status.ToString();
  EXPECT_EQ(damaged.size(), 0u);
  EXPECT_EQ(damaged.collections(), 0u);
}

// The digest terms against bytes laid out by hand from docs/FORMAT.md, so the code and the
// document cannot drift apart together.
TEST(CollectionDigestTest, TermsAreTheDocumentedBytes) {
  auto xxh128 = [](const std::string& bytes) {
    const XXH128_hash_t hash = XXH3_128bits(bytes.data(), bytes.size());
    return StateDigest{hash.low64, hash.high64};
  };
  std::string field_bytes;
  PutFixed32(&field_bytes, 3);
  field_bytes += "abc";
  PutFixed64(&field_bytes, 0x1122334455667788u);
  EXPECT_EQ(Collection::FieldHash("abc", 0x1122334455667788u), xxh128(field_bytes));
  std::string member_bytes;
  PutFixed32(&member_bytes, 2);
  member_bytes += "xy";
  EXPECT_EQ(Collection::MemberHash("xy"), xxh128(member_bytes));
  const StateDigest content{0x0102030405060708u, 0x1112131415161718u};
  for (uint32_t db : {0u, 9u}) {
    std::string term_bytes;
    PutFixed32(&term_bytes, 1);
    term_bytes += "k";
    term_bytes.push_back(2);  // a set
    PutFixed64(&term_bytes, content.low);
    PutFixed64(&term_bytes, content.high);
    PutFixed64(&term_bytes, 1234);
    if (db != 0) PutFixed32(&term_bytes, db);
    EXPECT_EQ(CollectionEntryHash(IndexKey(db, "k"), KeyType::kSet, content, 1234),
              xxh128(term_bytes));
  }
}

TEST(IndexCollectionTest, ChangingACollectionKeepsItsExpiry) {
  Index index;
  auto set = std::make_unique<Collection>(KeyType::kSet);
  set->AddMember("a");
  index.PutCollection(IndexKey(1, "s"), std::move(set), 5000);
  EXPECT_EQ(index.keys_with_expiry_of(1), 1u);
  index.ChangeCollection(IndexKey(1, "s"), [](Collection& c) { c.AddMember("b"); });
  EXPECT_EQ(index.keys_with_expiry_of(1), 1u);
  std::vector<std::string> due;
  index.CollectExpired(6000, 10, &due);
  EXPECT_EQ(due, std::vector<std::string>({IndexKey(1, "s")}));
  EXPECT_EQ(index.digest_of(1),
            CollectionEntryHash(IndexKey(1, "s"), KeyType::kSet,
                                index.FindCollection(IndexKey(1, "s"))->content_digest(), 5000));
  index.ChangeCollection(IndexKey(1, "s"), [](Collection& c) {
    c.RemoveMember("a");
    c.RemoveMember("b");
  });
  EXPECT_EQ(index.keys_with_expiry(), 0u);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.digest(), StateDigest{});
  due.clear();
  index.CollectExpired(6000, 10, &due);
  EXPECT_TRUE(due.empty());
}

// Rename moves a collection (the same object, no copy), Copy gives the target its own copy,
// SetExpiry keeps it: digests, totals and the number of collections follow.
TEST(IndexCollectionTest, MetadataOpsMoveAndCopyCollections) {
  Index index;
  auto set = std::make_unique<Collection>(KeyType::kSet);
  set->AddMember("1");
  set->AddMember("2");
  const Collection* original = set.get();
  index.PutCollection(IndexKey(0, "a"), std::move(set), 0);
  EXPECT_TRUE(index.Rename(IndexKey(0, "a"), IndexKey(3, "b")));
  EXPECT_EQ(index.FindCollection(IndexKey(3, "b")), original);
  EXPECT_EQ(index.Find(IndexKey(0, "a")), nullptr);
  EXPECT_EQ(index.collections(), 1u);
  EXPECT_TRUE(index.Copy(IndexKey(3, "b"), IndexKey(0, "c")));
  const Collection* copy = index.FindCollection(IndexKey(0, "c"));
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy, original);
  EXPECT_EQ(copy->content_digest(), original->content_digest());
  EXPECT_EQ(index.collections(), 2u);
  // The copy is its own: changing it leaves the original.
  index.ChangeCollection(IndexKey(0, "c"), [](Collection& c) { c.AddMember("x"); });
  EXPECT_EQ(original->size(), 2u);
  EXPECT_EQ(index.FindCollection(IndexKey(0, "c"))->EncodingName(), "hashtable");
  EXPECT_EQ(original->EncodingName(), "intset");
  EXPECT_TRUE(index.SetExpiry(IndexKey(3, "b"), 7000));
  EXPECT_EQ(index.FindCollection(IndexKey(3, "b")), original);
  EXPECT_EQ(index.digest_of(3),
            CollectionEntryHash(IndexKey(3, "b"), KeyType::kSet, original->content_digest(), 7000));
  // A rename onto a collection frees the target's and keeps the source's.
  EXPECT_TRUE(index.Rename(IndexKey(3, "b"), IndexKey(0, "c")));
  EXPECT_EQ(index.FindCollection(IndexKey(0, "c")), original);
  EXPECT_EQ(index.collections(), 1u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.keys_with_expiry(), 1u);
}

// Hostile version-3 entries, each in a file whose checksums are right: each is refused with
// Corruption and leaves the index empty.
TEST(CheckpointTest, DamagedVersion3EntriesAreRefused) {
  MemoryFileSystem fs;
  const std::string database_id(16, '\x5a');
  auto file_with = [&](const std::string& body, uint64_t count) {
    std::string bytes("ORDOIDX1", 8);
    PutFixed32(&bytes, 3);
    PutFixed32(&bytes, kCheckpointHeaderBytes);
    bytes.append(database_id);
    PutFixed64(&bytes, 10);    // lsn
    PutFixed64(&bytes, 3);     // replay segment
    PutFixed64(&bytes, 4096);  // replay offset
    PutFixed64(&bytes, count);
    PutFixed64(&bytes, 0);  // digest (the entries are refused before it is compared)
    PutFixed64(&bytes, 0);
    PutFixed64(&bytes, 1);  // created
    PutFixed64(&bytes, Checksum64(bytes));
    bytes += body;
    PutFixed64(&bytes, count);
    PutFixed64(&bytes, Checksum64(body));
    bytes.append("ORDOIDXE", 8);
    return bytes;
  };
  // A collection's head: key, type, flags, expiry, count, digest (zero: refused before).
  auto head = [](const std::string& key, char type, char flags, int64_t expire, uint64_t count) {
    std::string body;
    PutLengthPrefixed(&body, IndexKey(0, key));
    body.push_back(type);
    body.push_back(flags);
    PutFixed64(&body, static_cast<uint64_t>(expire));
    PutVarint64(&body, count);
    PutFixed64(&body, 0);
    PutFixed64(&body, 0);
    return body;
  };
  std::string inline16 = head("h", 1, 1, 0, 1);
  PutLengthPrefixed(&inline16, "f");
  PutFixed32(&inline16, 0);
  inline16.push_back(16);
  inline16 += std::string(16, 'v');
  std::string beyond_replay = head("h", 1, 1, 0, 1);
  PutLengthPrefixed(&beyond_replay, "f");
  PutFixed32(&beyond_replay, 4);  // the replay segment is 3
  PutFixed32(&beyond_replay, 100);
  PutFixed32(&beyond_replay, 10);
  PutFixed64(&beyond_replay, 7);
  std::string out_of_order = head("s", 2, 1, 0, 2);
  PutLengthPrefixed(&out_of_order, "b");
  PutLengthPrefixed(&out_of_order, "a");
  std::string string_segment0;
  PutLengthPrefixed(&string_segment0, IndexKey(0, "x"));
  string_segment0.push_back(0);
  PutFixed32(&string_segment0, 0);  // segment 0 would be a collection's pointer
  PutFixed32(&string_segment0, 100);
  PutFixed32(&string_segment0, 10);
  PutFixed64(&string_segment0, 0);
  PutFixed64(&string_segment0, 7);
  // With its true digest, so that only the flags are wrong.
  std::string words_as_intset;
  PutLengthPrefixed(&words_as_intset, IndexKey(0, "s"));
  words_as_intset.push_back(2);
  words_as_intset.push_back(0);
  PutFixed64(&words_as_intset, 0);
  PutVarint64(&words_as_intset, 1);
  PutFixed64(&words_as_intset, Collection::MemberHash("word").low);
  PutFixed64(&words_as_intset, Collection::MemberHash("word").high);
  PutLengthPrefixed(&words_as_intset, "word");
  std::string one_member = head("s", 2, 1, 0, 1);
  PutLengthPrefixed(&one_member, "m");
  const std::pair<std::string, std::string> cases[] = {
      {"type 3", head("t", 3, 0, 0, 1) + std::string("\x01m", 2)},
      {"flags 2", head("s", 2, 2, 0, 1) + std::string("\x01m", 2)},
      {"count 0", head("s", 2, 1, 0, 0)},
      {"negative expiry", head("s", 2, 1, -5, 1) + std::string("\x01m", 2)},
      {"an inline value of 16 bytes", inline16},
      {"a value past the replay segment", beyond_replay},
      {"elements out of order", out_of_order},
      {"a string entry naming segment 0", string_segment0},
      {"a set of words claiming intset", words_as_intset},
      {"more elements than bytes", head("s", 2, 1, 0, 1000000)},
      {"bytes after the last entry", one_member + "zz"},
  };
  for (const auto& [what, body] : cases) {
    const std::string path = "index/" + CheckpointFileName(10);
    ASSERT_OK(WriteFileAtomically(&fs, path, file_with(body, 1)));
    Index index;
    CheckpointInfo info;
    const Status status = LoadCheckpoint(&fs, path, database_id, &index, &info);
    EXPECT_TRUE(status.IsCorruption()) << what << ": " << status.ToString();
    if (what == std::string("a set of words claiming intset")) {
      EXPECT_NE(status.ToString().find("small encoding"), std::string::npos) << status.ToString();
    }
    EXPECT_EQ(index.size(), 0u) << what;
    EXPECT_EQ(index.collections(), 0u) << what;
  }
}

}  // namespace
}  // namespace ordo::index
