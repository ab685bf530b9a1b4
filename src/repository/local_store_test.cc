// The Store contract (store.h), checked on the local directory store. A second backend (object
// storage) must pass the same checks.
#include "repository/local_store.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/test_util.h"

namespace ordo::repository {
namespace {

class LocalStoreTest : public ::testing::Test {
 protected:
  std::vector<std::string> Sorted(const std::string& directory) {
    auto names = store_->List(directory);
    EXPECT_OK(names);
    if (!names.ok()) return {};
    std::sort(names->begin(), names->end());
    return *names;
  }

  testing::ScratchDirectory scratch_;
  std::unique_ptr<Store> store_ = NewLocalStore(FileSystem::Default(), scratch_.Sub("repo"));
};

TEST_F(LocalStoreTest, PutIsWriteOnceAndDurableInFreshDirectories) {
  ASSERT_OK(store_->CreateRoot());
  bool published = false;
  ASSERT_OK(store_->Put("a/b/one.json", "first", &published));
  EXPECT_TRUE(published);
  ASSERT_OK(store_->Put("a/b/one.json", "second", &published));
  EXPECT_FALSE(published);  // never overwritten
  EXPECT_EQ(*store_->ReadSmall("a/b/one.json", 100, "a test file"), "first");
  EXPECT_EQ(*store_->Size("a/b/one.json"), 5u);
  EXPECT_EQ(Sorted("a/b"), std::vector<std::string>{"one.json"});  // no temporaries listed
  EXPECT_EQ(store_->Describe("a/b/one.json"), scratch_.Sub("repo") + "/a/b/one.json");
}

TEST_F(LocalStoreTest, NewFileIsNamedWhenCommittedAndVanishesIfAbandoned) {
  ASSERT_OK(store_->CreateRoot());
  {
    auto file = store_->Create("data");
    ASSERT_OK(file);
    ASSERT_OK((*file)->file()->Append("abandoned"));
  }
  EXPECT_EQ(*FileSystem::Default()->GetChildren(scratch_.Sub("repo/data")),
            std::vector<std::string>{});
  auto file = store_->Create("data");
  ASSERT_OK(file);
  ASSERT_OK((*file)->file()->Append("kept"));
  bool published = false;
  ASSERT_OK((*file)->Commit("data/name", &published));
  EXPECT_TRUE(published);
  EXPECT_EQ(*store_->ReadSmall("data/name", 100, "a test file"), "kept");
}

TEST_F(LocalStoreTest, ReplaceMoveRemoveAndListing) {
  ASSERT_OK(store_->CreateRoot());
  ASSERT_OK(store_->Replace("leases/x.json", "v1"));
  ASSERT_OK(store_->Replace("leases/x.json", "v2"));
  EXPECT_EQ(*store_->ReadSmall("leases/x.json", 100, "a lease"), "v2");

  bool published = false;
  ASSERT_OK(store_->Put("data/f", "bytes", &published));
  ASSERT_OK(store_->Move("data/f", "trash/f"));
  EXPECT_FALSE(store_->Exists("data/f"));
  EXPECT_EQ(Sorted("trash"), std::vector<std::string>{"f"});
  ASSERT_OK(store_->Remove("trash/f"));
  EXPECT_EQ(Sorted("trash"), std::vector<std::string>{});

  EXPECT_TRUE(store_->List("missing").status().IsNotFound());
  const Status too_large = store_->ReadSmall("leases/x.json", 1, "a lease").status();
  EXPECT_TRUE(too_large.IsCorruption()) << too_large.ToString();
  EXPECT_NE(too_large.message().find("2 bytes, too large for a lease"), std::string::npos)
      << too_large.ToString();
}

}  // namespace
}  // namespace ordo::repository
