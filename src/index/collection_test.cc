// Collections in the index: elements, the content digest (equal contents, equal digests,
// whatever the history), Redis's encoding names and their one-way conversion, inline values.
#include "index/collection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "util/checksum.h"

namespace ordo::index {
namespace {

ElemRef Logged(uint64_t hash) { return ElemRef::InLog(3, 4096, 100, hash); }

TEST(ElemRefTest, InlineAndLoggedValues) {
  const ElemRef small = ElemRef::Inline("12345");
  EXPECT_TRUE(small.is_inline());
  EXPECT_EQ(small.inline_value(), "12345");
  EXPECT_EQ(small.value_bytes(), 5u);
  EXPECT_EQ(small.value_hash(), Checksum64("12345"));
  const ElemRef empty = ElemRef::Inline("");
  EXPECT_TRUE(empty.is_inline());
  EXPECT_EQ(empty.inline_value(), "");
  const std::string longest(ElemRef::kInlineBytesMax, 'x');
  EXPECT_EQ(ElemRef::Inline(longest).inline_value(), longest);
  const ElemRef logged = ElemRef::InLog(7, 123456, 1000, 0xabcdef);
  EXPECT_FALSE(logged.is_inline());
  EXPECT_EQ(logged.segment_id(), 7u);
  EXPECT_EQ(logged.offset(), 123456u);
  EXPECT_EQ(logged.value_bytes(), 1000u);
  EXPECT_EQ(logged.value_hash(), 0xabcdefu);
}

TEST(CollectionTest, HashFieldsAreSetReplacedAndRemoved) {
  Collection hash(KeyType::kHash);
  EXPECT_TRUE(hash.empty());
  EXPECT_TRUE(hash.SetField("name", ElemRef::Inline("ada")));
  EXPECT_TRUE(hash.SetField("a-field-longer-than-nineteen-bytes", Logged(9)));
  EXPECT_FALSE(hash.SetField("name", ElemRef::Inline("grace")));
  EXPECT_EQ(hash.size(), 2u);
  ASSERT_NE(hash.FindField("name"), nullptr);
  EXPECT_EQ(hash.FindField("name")->inline_value(), "grace");
  EXPECT_EQ(hash.FindField("missing"), nullptr);
  EXPECT_TRUE(hash.RemoveField("name"));
  EXPECT_FALSE(hash.RemoveField("name"));
  EXPECT_EQ(hash.size(), 1u);
  EXPECT_TRUE(hash.RemoveField("a-field-longer-than-nineteen-bytes"));
  EXPECT_TRUE(hash.empty());
  EXPECT_EQ(hash.content_digest(), StateDigest{});
  EXPECT_EQ(hash.MemoryBytes(), sizeof(Collection));
}

TEST(CollectionTest, EqualContentsHaveEqualDigestsWhateverTheHistory) {
  Collection a(KeyType::kHash);
  a.SetField("f1", Logged(1));
  a.SetField("f2", ElemRef::Inline("v"));
  a.SetField("f3", Logged(3));
  a.RemoveField("f3");
  Collection b(KeyType::kHash);
  b.SetField("f2", ElemRef::Inline("old"));
  b.SetField("f1", Logged(1));
  b.SetField("f2", ElemRef::Inline("v"));
  EXPECT_EQ(a.content_digest(), b.content_digest());
  // The same value in the log or inline hashes alike: only its hash counts.
  Collection c(KeyType::kHash);
  c.SetField("f1", Logged(1));
  c.SetField("f2", ElemRef::InLog(5, 0, 1, Checksum64("v")));
  EXPECT_EQ(a.content_digest(), c.content_digest());
  b.SetField("f1", Logged(2));
  EXPECT_NE(a.content_digest(), b.content_digest());
  // A field's name and value do not trade places: "ab" -> x differs from "a" -> ... .
  EXPECT_NE(Collection::FieldHash("ab", 1), Collection::FieldHash("a", 1));
  EXPECT_NE(Collection::MemberHash("ab"), Collection::MemberHash("ba"));

  Collection s1(KeyType::kSet);
  Collection s2(KeyType::kSet);
  for (const char* member : {"x", "y", "z"}) s1.AddMember(member);
  for (const char* member : {"z", "q", "x", "y"}) s2.AddMember(member);
  s2.RemoveMember("q");
  EXPECT_EQ(s1.content_digest(), s2.content_digest());
}

TEST(CollectionTest, SetMembersAreAddedOnceAndRemoved) {
  Collection set(KeyType::kSet);
  EXPECT_TRUE(set.AddMember("1"));
  EXPECT_FALSE(set.AddMember("1"));
  EXPECT_TRUE(set.AddMember("a-member-longer-than-nineteen-bytes"));
  EXPECT_TRUE(set.ContainsMember("1"));
  EXPECT_FALSE(set.ContainsMember("2"));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.RemoveMember("a-member-longer-than-nineteen-bytes"));
  EXPECT_FALSE(set.RemoveMember("a-member-longer-than-nineteen-bytes"));
  EXPECT_TRUE(set.RemoveMember("1"));
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.content_digest(), StateDigest{});
  EXPECT_EQ(set.MemoryBytes(), sizeof(Collection));
}

TEST(CollectionTest, HashEncodingConvertsOnceAsRedisDoes) {
  Collection hash(KeyType::kHash);
  for (int i = 0; i < 128; ++i) hash.SetField("f" + std::to_string(i), ElemRef::Inline("v"));
  EXPECT_EQ(hash.EncodingName(), "listpack");
  hash.SetField("f128", ElemRef::Inline("v"));
  EXPECT_EQ(hash.EncodingName(), "hashtable");
  for (int i = 0; i < 129; ++i) hash.RemoveField("f" + std::to_string(i));
  hash.SetField("f", ElemRef::Inline("v"));
  EXPECT_EQ(hash.EncodingName(), "hashtable");  // never back

  Collection by_value(KeyType::kHash);
  by_value.SetField("f", ElemRef::InLog(1, 0, 64, 1));
  EXPECT_EQ(by_value.EncodingName(), "listpack");
  by_value.SetField("g", ElemRef::InLog(1, 0, 65, 1));
  EXPECT_EQ(by_value.EncodingName(), "hashtable");
  Collection by_field(KeyType::kHash);
  by_field.SetField(std::string(64, 'f'), ElemRef::Inline("v"));
  EXPECT_EQ(by_field.EncodingName(), "listpack");
  by_field.SetField(std::string(65, 'f'), ElemRef::Inline("v"));
  EXPECT_EQ(by_field.EncodingName(), "hashtable");
}

TEST(CollectionTest, SetEncodingIsIntsetForIntegersUpTo512) {
  Collection set(KeyType::kSet);
  for (int i = 0; i < 512; ++i) set.AddMember(std::to_string(i - 100));
  EXPECT_EQ(set.EncodingName(), "intset");
  set.AddMember("512");
  EXPECT_EQ(set.EncodingName(), "hashtable");

  Collection words(KeyType::kSet);
  words.AddMember("a");
  EXPECT_EQ(words.EncodingName(), "hashtable");
  // Redis's string2ll: no leading zeros, no '+', within int64.
  for (const char* not_integer : {"01", "+1", " 1", "9223372036854775808", "1.0", ""}) {
    Collection odd(KeyType::kSet);
    odd.AddMember("5");
    odd.AddMember(not_integer);
    EXPECT_EQ(odd.EncodingName(), "hashtable") << not_integer;
  }
  Collection extremes(KeyType::kSet);
  extremes.AddMember("-9223372036854775808");
  extremes.AddMember("9223372036854775807");
  EXPECT_EQ(extremes.EncodingName(), "intset");
}

// The index owns collections: their digest terms, totals, memory, and freeing on every path.
TEST(IndexCollectionTest, TheIndexKeepsTotalsAndDigestsForCollections) {
  Index index;
  const std::string key = IndexKey(0, "h");
  auto hash = std::make_unique<Collection>(KeyType::kHash);
  hash->SetField("f", ElemRef::Inline("1"));
  const StateDigest content = hash->content_digest();
  index.PutCollection(key, std::move(hash), 0);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.collections(), 1u);
  EXPECT_EQ(index.digest(), CollectionEntryHash(key, KeyType::kHash, content, 0));
  ASSERT_NE(index.FindCollection(key), nullptr);
  EXPECT_EQ(index.FindCollection(key)->size(), 1u);
  const uint64_t memory_one = index.MemoryBytes();

  EXPECT_TRUE(
      index.ChangeCollection(key, [](Collection& c) { c.SetField("g", ElemRef::Inline("2")); }));
  EXPECT_EQ(index.FindCollection(key)->size(), 2u);
  EXPECT_EQ(index.digest(), CollectionEntryHash(key, KeyType::kHash,
                                                index.FindCollection(key)->content_digest(), 0));
  EXPECT_GT(index.MemoryBytes(), memory_one);

  // A string and a collection with the same key and "content" never share a term.
  IndexEntry string_entry;
  string_entry.segment_id = 1;
  string_entry.value_offset = 64;
  string_entry.value_bytes = 1;
  string_entry.value_hash = 42;
  index.Put(IndexKey(3, "s"), string_entry);
  EXPECT_EQ(index.FindCollection(IndexKey(3, "s")), nullptr);
  EXPECT_EQ(index.size_of(3), 1u);

  // Removing the last element removes the key.
  EXPECT_FALSE(index.ChangeCollection(key, [](Collection& c) {
    c.RemoveField("f");
    c.RemoveField("g");
  }));
  EXPECT_EQ(index.Find(key), nullptr);
  EXPECT_EQ(index.collections(), 0u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.digest(), EntryHash(IndexKey(3, "s"), 42, 0));
}

TEST(IndexCollectionTest, EveryRemovalFreesThroughTheReclaimer) {
  Index index;
  std::vector<size_t> reclaimed;  // sizes of what was handed over
  index.SetReclaimer([&](std::unique_ptr<Collection> c) { reclaimed.push_back(c->size()); });
  auto make = [](int members) {
    auto set = std::make_unique<Collection>(KeyType::kSet);
    for (int i = 0; i < members; ++i) set->AddMember(std::to_string(i));
    return set;
  };
  index.PutCollection(IndexKey(0, "a"), make(1), 0);
  index.PutCollection(IndexKey(0, "a"), make(2), 0);  // replaces: the first is freed
  EXPECT_EQ(reclaimed, std::vector<size_t>({1}));
  IndexEntry string_entry;
  string_entry.segment_id = 1;
  string_entry.value_offset = 64;
  index.Put(IndexKey(0, "a"), string_entry);  // a string over a set
  EXPECT_EQ(reclaimed, std::vector<size_t>({1, 2}));
  index.PutCollection(IndexKey(0, "b"), make(3), 1000);
  EXPECT_EQ(index.keys_with_expiry(), 1u);
  EXPECT_TRUE(index.Erase(IndexKey(0, "b")));
  EXPECT_EQ(index.keys_with_expiry(), 0u);
  index.PutCollection(IndexKey(2, "c"), make(4), 0);
  index.PutCollection(IndexKey(2, "d"), make(5), 0);
  index.PutCollection(IndexKey(5, "e"), make(6), 0);
  index.ClearDatabase(2);
  EXPECT_EQ(reclaimed, std::vector<size_t>({1, 2, 3, 4, 5}));
  index.Clear();
  EXPECT_EQ(reclaimed, std::vector<size_t>({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(index.collections(), 0u);
  EXPECT_EQ(index.MemoryBytes(), 0u);
  // What is left when the index goes is freed by the index itself (ASan checks for leaks).
  index.PutCollection(IndexKey(0, "z"), make(7), 0);
}

}  // namespace
}  // namespace ordo::index
