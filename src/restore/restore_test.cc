// Restoring: the target appears only complete (crash at every sync point of a restore), a
// non-empty target is refused, and encrypted repositories restore only with the right key.
#include "restore/restore.h"

#include <gtest/gtest.h>

#include "backup/backup_run.h"
#include "io/fault_file_system.h"
#include "restore/verify.h"
#include "tests/backup_fixtures.h"

namespace ordo::restore {
namespace {

using testing::DigestOf;
using testing::Fill;
using testing::InitAndOpen;

// A stopped database with several segments and a checkpoint, backed up once into `repo`.
repository::Manifest MakeBackup(const ordo::testing::ScratchDirectory& scratch,
                                repository::Repository* repository) {
  if (!std::filesystem::exists(scratch.Sub("data"))) {
    auto db = DB::Open(testing::SmallSegments(), scratch.Sub("data"));
    EXPECT_OK(db);
    if (!db.ok()) return {};
    Fill(db->get(), 300);
  }
  backup::BackupResult result;
  const Status status = backup::TakeBackup(FileSystem::Default(), scratch.Sub("data"), repository,
                                           backup::BackupOptions{}, &result);
  EXPECT_OK(status);
  return result.manifest;
}

void ExpectRestoredState(const std::string& directory, const repository::Manifest& manifest) {
  StateDigest digest;
  uint64_t keys = 0;
  DigestOf(directory, &digest, &keys);
  EXPECT_EQ(digest, manifest.digest);
  EXPECT_EQ(keys, manifest.keys);
}

TEST(RestoreBackup, RefusesANonEmptyTargetAndAcceptsAnEmptyOne) {
  ordo::testing::ScratchDirectory scratch;
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  const repository::Manifest manifest = MakeBackup(scratch, repository.get());
  std::filesystem::create_directories(scratch.Sub("busy"));
  { std::ofstream(scratch.Sub("busy/precious")) << "do not touch"; }
  RestoreReport report;
  Status status = RestoreBackup(FileSystem::Default(), repository.get(), manifest,
                                scratch.Sub("busy"), {}, &report);
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_NE(status.message().find("not empty"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find(scratch.Sub("busy")), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(scratch.Sub("busy/precious")));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(scratch.path()), {}), 3);

  std::filesystem::create_directories(scratch.Sub("empty"));
  status = RestoreBackup(FileSystem::Default(), repository.get(), manifest, scratch.Sub("empty/"),
                         {}, &report);
  ASSERT_OK(status);
  ExpectRestoredState(scratch.Sub("empty"), manifest);
}

// A restore opens what it restored and compares the state with what its sources claim, before
// the target appears: parts that do not belong to one history (a backup and an archive of two
// histories meeting exactly at a piece boundary, where no bytes overlap to compare; here a
// manifest claiming another state) fail the restore instead of reporting a state nobody has.
TEST(RestoreBackup, ARestoreThatDoesNotOpenToTheClaimedStateFailsAndLeavesNoTarget) {
  ordo::testing::ScratchDirectory scratch;
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  repository::Manifest manifest = MakeBackup(scratch, repository.get());
  manifest.digest.low ^= 1;
  RestoreReport report;
  RestoreSources sources;
  sources.backup = &manifest;
  const Status status = RestoreFrom(FileSystem::Default(), repository.get(), sources,
                                    scratch.Sub("target"), {}, &report);
  EXPECT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("do not belong to one history"), std::string::npos)
      << status.ToString();
  EXPECT_FALSE(std::filesystem::exists(scratch.Sub("target")));
}

TEST(RestoreBackup, AManifestCannotWriteOutsideTheTarget) {
  EXPECT_TRUE(IsRestorablePath("IDENTITY"));
  EXPECT_TRUE(IsRestorablePath("log/00000000000000000001.seg"));
  EXPECT_TRUE(IsRestorablePath("index/00000000000000000009.idx"));
  EXPECT_FALSE(IsRestorablePath("log/../../etc/passwd"));
  EXPECT_FALSE(IsRestorablePath("../IDENTITY"));
  EXPECT_FALSE(IsRestorablePath("log/.."));
  EXPECT_FALSE(IsRestorablePath("/etc/passwd"));
  EXPECT_FALSE(IsRestorablePath("log/"));
}

// A power loss after any sync point of a restore leaves no target at all (only a
// "<target>.restoring-*" directory); a completed restore is whole. The fault model does not
// follow directory renames, so a restore that completed is checked without a simulated crash.
TEST(RestoreBackup, CrashAtEverySyncPointNeverLeavesAHalfRestoredTarget) {
  ordo::testing::ScratchDirectory scratch;
  auto repository = InitAndOpen(FileSystem::Default(), scratch.Sub("repo"));
  const repository::Manifest manifest = MakeBackup(scratch, repository.get());
  FaultFileSystem fault;
  auto faulty = testing::OpenRepositoryOrDie(&fault, scratch.Sub("repo"));
  bool completed = false;
  uint64_t crashes = 0;
  for (uint64_t n = 1; n < 500 && !completed; ++n) {
    SCOPED_TRACE("crash after sync point " + std::to_string(n));
    const std::string target = scratch.Sub("restored-" + std::to_string(n));
    fault.Reset();
    fault.CrashAfterSyncs(n);
    RestoreReport report;
    const Status status = RestoreBackup(&fault, faulty.get(), manifest, target, {}, &report);
    if (status.ok()) {
      completed = true;
      fault.Reset();
      ExpectRestoredState(target, manifest);
      break;
    }
    ++crashes;
    EXPECT_NE(status.message().find(".restoring-"), std::string::npos) << status.ToString();
    const Status crashed =
        fault.SimulateCrash(n % 2 ? CrashMode::kTornWrite : CrashMode::kDropUnsynced, n);
    ASSERT_OK(crashed);
    fault.Reset();
    EXPECT_FALSE(std::filesystem::exists(target));
    // Restoring again after the "reboot" works (through the real file system: the fault
    // model would lose track of the files the directory rename moves).
    faulty = testing::OpenRepositoryOrDie(&fault, scratch.Sub("repo"));
    const Status again =
        RestoreBackup(FileSystem::Default(), repository.get(), manifest, target, {}, &report);
    ASSERT_OK(again);
    ExpectRestoredState(target, manifest);
  }
  EXPECT_TRUE(completed);
  EXPECT_GE(crashes, manifest.files.size());  // at least one sync per file
}

TEST(RestoreBackup, KeyRepositoryRoundTripAndWrongKey) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  ASSERT_OK(repository::GenerateKeyFiles(fs, scratch.Sub("right"), false));
  ASSERT_OK(repository::GenerateKeyFiles(fs, scratch.Sub("wrong"), false));
  repository::KeyMaterial right;
  repository::KeyMaterial wrong;
  ASSERT_OK(repository::ReadKeyFile(fs, scratch.Sub("right.key"), &right));
  ASSERT_OK(repository::ReadKeyFile(fs, scratch.Sub("wrong.key"), &wrong));
  auto repository = InitAndOpen(fs, scratch.Sub("repo"), repository::EncryptionMode::kKey, right);
  ASSERT_NE(repository, nullptr);
  const repository::Manifest manifest = MakeBackup(scratch, repository.get());
  ASSERT_FALSE(manifest.backup_id.empty());

  auto with_wrong = repository::Repository::Open(fs, scratch.Sub("repo"), wrong);
  ASSERT_FALSE(with_wrong.ok());
  EXPECT_TRUE(with_wrong.status().IsInvalidArgument()) << with_wrong.status().ToString();
  EXPECT_NE(with_wrong.status().message().find("wrong key"), std::string::npos);
  // Without a key nothing can be written or read.
  auto without = testing::OpenRepositoryOrDie(fs, scratch.Sub("repo"));
  backup::BackupResult result;
  EXPECT_TRUE(
      backup::TakeBackup(fs, scratch.Sub("data"), without.get(), {}, &result).IsInvalidArgument());
  RestoreReport report;
  EXPECT_FALSE(RestoreBackup(fs, without.get(), manifest, scratch.Sub("nokey"), {}, &report).ok());
  EXPECT_FALSE(std::filesystem::exists(scratch.Sub("nokey")));

  const Status status =
      RestoreBackup(fs, repository.get(), manifest, scratch.Sub("restored"), {}, &report);
  ASSERT_OK(status);
  ExpectRestoredState(scratch.Sub("restored"), manifest);
  EXPECT_EQ(testing::ReadAll(scratch.Sub("restored")), testing::ReadAll(scratch.Sub("data")));
}

// Write-only mode: a host with only the public key backs up but cannot read its backups.
TEST(RestoreBackup, PublicKeyHostCanBackUpButOnlyTheSecretKeyRestores) {
  ordo::testing::ScratchDirectory scratch;
  FileSystem* fs = FileSystem::Default();
  ASSERT_OK(repository::GenerateKeyFiles(fs, scratch.Sub("pair"), true));
  repository::KeyMaterial public_only;
  repository::KeyMaterial secret;
  ASSERT_OK(repository::ReadKeyFile(fs, scratch.Sub("pair.pub"), &public_only));
  ASSERT_OK(repository::ReadKeyFile(fs, scratch.Sub("pair.key"), &secret));
  ASSERT_TRUE(public_only.secret_key.empty());
  repository::RepositoryInfo info;
  ASSERT_OK(repository::Repository::Init(fs, scratch.Sub("repo"),
                                         repository::EncryptionMode::kPublicKey, {},
                                         public_only.public_key, &info));
  auto host = testing::OpenRepositoryOrDie(fs, scratch.Sub("repo"), public_only);
  ASSERT_NE(host, nullptr);
  EXPECT_TRUE(host->CanWrite());
  EXPECT_FALSE(host->CanRead());
  const repository::Manifest manifest = MakeBackup(scratch, host.get());
  ASSERT_FALSE(manifest.backup_id.empty());

  RestoreReport report;
  Status status = RestoreBackup(fs, host.get(), manifest, scratch.Sub("restored"), {}, &report);
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_NE(status.message().find("secret key"), std::string::npos) << status.ToString();
  EXPECT_FALSE(std::filesystem::exists(scratch.Sub("restored")));
  // Verify checks what it can without the key and says what it could not.
  std::filesystem::create_directories(scratch.Sub("scratch"));
  VerifyOptions options;
  options.scratch_directory = scratch.Sub("scratch");
  VerifyReport verify_report;
  status = VerifyBackup(fs, host.get(), manifest, options, &verify_report);
  ASSERT_OK(status);
  EXPECT_EQ(verify_report.stored_checked, manifest.files.size());
  EXPECT_FALSE(verify_report.contents_verified);
  ASSERT_FALSE(verify_report.not_checked.empty());
  options.drill = true;
  status = VerifyBackup(fs, host.get(), manifest, options, &verify_report);
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();

  auto owner = testing::OpenRepositoryOrDie(fs, scratch.Sub("repo"), secret);
  ASSERT_NE(owner, nullptr);
  EXPECT_TRUE(owner->CanRead());
  status = RestoreBackup(fs, owner.get(), manifest, scratch.Sub("restored"), {}, &report);
  ASSERT_OK(status);
  ExpectRestoredState(scratch.Sub("restored"), manifest);
  status = VerifyBackup(fs, owner.get(), manifest, options, &verify_report);
  ASSERT_OK(status);
  EXPECT_TRUE(verify_report.drilled);
  EXPECT_TRUE(verify_report.not_checked.empty());
}

}  // namespace
}  // namespace ordo::restore
