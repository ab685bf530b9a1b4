// Collections in the index: elements, the content digest (equal contents, equal digests,
// whatever the history), Redis's encoding names and their one-way conversion, inline values.
#include "index/collection.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace ordo::index
