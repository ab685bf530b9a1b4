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
#include "io/memory_file_system.h"
#include "tests/test_util.h"
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

}  // namespace
}  // namespace ordo::index
