// Verify finds damage to each kind of repository file and names the file; a drill proves a
// good backup; a manifest whose facts disagree with the log is refused.
#include "restore/verify.h"

#include <gtest/gtest.h>

#include "backup/backup_run.h"
#include "restore/restore.h"
#include "tests/backup_fixtures.h"

namespace ordo::restore {
namespace {

using testing::EditFile;
using testing::Fill;
using testing::InitAndOpen;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      std::unique_ptr<DB> db;
      ASSERT_OK_AND_ASSIGN(db, DB::Open(testing::SmallSegments(), scratch_.Sub("data")));
      Fill(db.get(), 300);
    }
    repository_ = InitAndOpen(FileSystem::Default(), Repo());
    ASSERT_NE(repository_, nullptr);
    backup::BackupResult result;
    ASSERT_OK(backup::TakeBackup(FileSystem::Default(), scratch_.Sub("data"), repository_.get(), {},
                                 &result));
    manifest_ = result.manifest;
    std::filesystem::create_directories(scratch_.Sub("scratch"));
  }

  std::string Repo() const { return scratch_.Sub("repo"); }
  const repository::ManifestFile& FileOfKind(const std::string& kind) const {
    for (const repository::ManifestFile& file : manifest_.files) {
      if (file.kind == kind) return file;
    }
    ADD_FAILURE() << "no " << kind;
    return manifest_.files.front();
  }

  Status Verify(const repository::Manifest& manifest, bool drill, VerifyReport* report) {
    std::filesystem::remove_all(scratch_.Sub("scratch"));
    std::filesystem::create_directories(scratch_.Sub("scratch"));
    VerifyOptions options;
    options.drill = drill;
    options.scratch_directory = scratch_.Sub("scratch");
    auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
    return VerifyBackup(FileSystem::Default(), repository.get(), manifest, options, report);
  }

  ordo::testing::ScratchDirectory scratch_;
  std::unique_ptr<repository::Repository> repository_;
  repository::Manifest manifest_;
};

TEST_F(VerifyTest, DrillOfAGoodBackupMatchesTheManifest) {
  VerifyReport report;
  const Status status = Verify(manifest_, true, &report);
  ASSERT_OK(status);
  EXPECT_TRUE(report.contents_verified);
  EXPECT_EQ(report.stored_checked, manifest_.files.size());
  EXPECT_EQ(report.contents_checked, manifest_.files.size());
  EXPECT_EQ(report.segments_checked, manifest_.files.size() - 2);
  EXPECT_EQ(report.records_checked, manifest_.last_lsn);
  EXPECT_TRUE(report.drilled);
  EXPECT_EQ(report.restored_digest, manifest_.digest);
  EXPECT_EQ(report.restored_keys, manifest_.keys);
  EXPECT_EQ(report.restored_last_lsn, manifest_.last_lsn);
  EXPECT_GT(report.rto_seconds, 0);
  EXPECT_GE(report.rpo_seconds, 0);
}

TEST_F(VerifyTest, AFlippedByteInADataFileIsNamed) {
  for (const char* kind : {"sealed-segment", "active-prefix", "checkpoint", "identity"}) {
    SCOPED_TRACE(kind);
    const repository::ManifestFile& file = FileOfKind(kind);
    const std::string path = Repo() + "/data/" + file.stored_name;
    std::string original;
    EditFile(path, [&](std::string& bytes) {
      original = bytes;
      bytes[bytes.size() / 2] ^= 0x01;
    });
    VerifyReport report;
    const Status status = Verify(manifest_, false, &report);
    EXPECT_TRUE(status.IsCorruption()) << status.ToString();
    EXPECT_NE(status.message().find(file.stored_name), std::string::npos) << status.ToString();
    EXPECT_NE(status.message().find(file.relative_path), std::string::npos) << status.ToString();
    EditFile(path, [&](std::string& bytes) { bytes = original; });
  }
  VerifyReport report;
  EXPECT_OK(Verify(manifest_, false, &report));
}

TEST_F(VerifyTest, AMissingDataFileIsNamed) {
  const repository::ManifestFile& file = FileOfKind("sealed-segment");
  const std::string path = Repo() + "/data/" + file.stored_name;
  std::filesystem::rename(path, scratch_.Sub("moved-away"));
  VerifyReport report;
  const Status status = Verify(manifest_, false, &report);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find(file.stored_name), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find(file.relative_path), std::string::npos) << status.ToString();
  // Restore refuses too, and leaves no target behind.
  RestoreReport restore_report;
  EXPECT_FALSE(RestoreBackup(FileSystem::Default(), repository_.get(), manifest_,
                             scratch_.Sub("restored"), {}, &restore_report)
                   .ok());
  EXPECT_FALSE(std::filesystem::exists(scratch_.Sub("restored")));
}

TEST_F(VerifyTest, AnEditedManifestFileIsRefused) {
  const std::string path = Repo() + "/manifests/" + manifest_.backup_id + ".json";
  const std::string old_digest = manifest_.digest.ToHex();
  EditFile(path, [&](std::string& bytes) {
    const size_t at = bytes.find(old_digest);
    ASSERT_NE(at, std::string::npos);
    bytes[at] = bytes[at] == '0' ? '1' : '0';
  });
  auto repository = testing::OpenRepositoryOrDie(FileSystem::Default(), Repo());
  auto read = repository->ReadManifest(manifest_.backup_id);
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsCorruption()) << read.status().ToString();
  EXPECT_NE(read.status().message().find(manifest_.backup_id + ".json"), std::string::npos)
      << read.status().ToString();
  EXPECT_FALSE(repository->ListManifests().ok());
}

// A manifest that parses but whose facts disagree with the stored log (what an edit with a
// recomputed checksum, or a bug, would give): each lie is named.
TEST_F(VerifyTest, ManifestFactsAreCheckedAgainstTheLog) {
  struct Lie {
    const char* what;
    std::function<void(repository::Manifest*)> apply;
    const char* expected;
  };
  const std::vector<Lie> lies = {
      {"digest", [](repository::Manifest* m) { m->digest.low ^= 1; }, "digest"},
      {"keys", [](repository::Manifest* m) { m->keys += 1; }, "keys"},
      {"last lsn", [](repository::Manifest* m) { m->last_lsn += 1; }, "LSN"},
      {"file order", [](repository::Manifest* m) { std::swap(m->files[2], m->files[3]); },
       "does not follow"},
      {"path", [](repository::Manifest* m) { m->files[1].relative_path = "log/../../x"; },
       "bad file path"},
      {"plain hash", [](repository::Manifest* m) { m->files[1].plain_sha256[0] ^= 1; }, "log/"},
  };
  for (const Lie& lie : lies) {
    SCOPED_TRACE(lie.what);
    repository::Manifest manifest = manifest_;
    lie.apply(&manifest);
    VerifyReport report;
    const Status status = Verify(manifest, false, &report);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.message().find(lie.expected), std::string::npos) << status.ToString();
  }
}

TEST_F(VerifyTest, ADamagedRepositoryDescriptionIsNamed) {
  EditFile(Repo() + "/ordo-repository.json",
           [](std::string& bytes) { bytes.resize(bytes.size() / 2); });
  auto opened = repository::Repository::Open(FileSystem::Default(), Repo(), {});
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString();
  EXPECT_NE(opened.status().message().find("ordo-repository.json"), std::string::npos)
      << opened.status().ToString();
}

}  // namespace
}  // namespace ordo::restore
