// Numbers in manifests and archive-piece files are read as integers in range or refused (found
// by fuzz/manifest_fuzzer.cc: nlohmann's get<uint64_t>() of 1e300 is undefined behaviour, and
// it turned -1 into 2^64 - 1 and version 4294967297 into 1 without a word).
#include "repository/manifest_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "log/format.h"
#include "tests/test_util.h"
#include "util/sha256.h"

namespace ordo::repository {
namespace {

using Json = nlohmann::json;

Manifest ValidManifest() {
  Manifest manifest;
  manifest.backup_id = "20240101T000000Z-0123abcd";
  manifest.database_id = std::string(32, '4');
  manifest.first_lsn = 1;
  manifest.last_lsn = 9;
  return manifest;
}

// The manifest's JSON with `field` set to `value`, sealed again as the writer seals it.
std::string WithField(const std::string& field, const Json& value) {
  Json object = Json::parse(ManifestToJson(ValidManifest()));
  object.erase("sha256");
  object[field] = value;
  object["sha256"] = Sha256Hex(object.dump());
  return object.dump();
}

TEST(ManifestJson, ValidManifestParses) {
  Manifest manifest;
  const Status status = ManifestFromJson(WithField("keys", 7), "m.json", &manifest);
  ASSERT_OK(status);
  EXPECT_EQ(manifest.keys, 7u);
  EXPECT_EQ(manifest.last_lsn, 9u);
}

TEST(ManifestJson, NumberOutOfRangeOrOfWrongKindIsCorruption) {
  const Json bad_values[] = {1e300, -1, 1.5, "7", -1e300};
  for (const Json& value : bad_values) {
    Manifest manifest;
    const Status status = ManifestFromJson(WithField("first_lsn", value), "m.json", &manifest);
    EXPECT_TRUE(status.IsCorruption()) << value.dump() << ": " << status.ToString();
    EXPECT_NE(status.message().find("first_lsn"), std::string::npos) << status.ToString();
  }
  Manifest manifest;
  EXPECT_TRUE(ManifestFromJson(WithField("first_commit_time_micros", 9223372036854775808ull),
                               "m.json", &manifest)
                  .IsCorruption());
  EXPECT_OK(ManifestFromJson(WithField("first_commit_time_micros", -5), "m.json", &manifest));
}

TEST(ManifestJson, VersionIsComparedAsANumberNotTruncated) {
  Manifest manifest;
  const Status status = ManifestFromJson(WithField("version", 4294967297ull), "m.json", &manifest);
  EXPECT_EQ(status.code(), Status::Code::kNotSupported) << status.ToString();
}

ManifestFile ValidFile(const std::string& kind, const std::string& relative_path) {
  ManifestFile file;
  file.kind = kind;
  file.relative_path = relative_path;
  file.plain_bytes = 100;
  file.plain_sha256 = std::string(64, 'a');
  file.stored_name = std::string(64, 'b');
  file.stored_bytes = 120;
  return file;
}

// An archive piece as the archiver describes segment 3's first 100 bytes.
ArchivePiece ValidPiece() {
  ArchivePiece piece;
  piece.database_id = std::string(32, '4');
  piece.segment_id = 3;
  piece.end_offset = 100;
  piece.first_lsn = 10;
  piece.last_lsn = 14;
  piece.records = 5;
  piece.archived = "2026-11-29T00:00:00.000000Z";
  piece.file = ValidFile("archive-piece", "log/" + log::SegmentFileName(3));
  piece.identity = ValidFile("identity", "IDENTITY");
  return piece;
}

// A restore writes a piece into the file its description names: a description naming another
// file than its own segment's (or an identity file elsewhere than IDENTITY) is refused, so that
// an edited but consistent description cannot make a restore append to another file.
TEST(ManifestJson, ArchivePieceMustNameItsOwnSegmentAndIdentityFiles) {
  ArchivePiece parsed;
  ASSERT_OK(ArchivePieceFromJson(ArchivePieceToJson(ValidPiece()), "p.json", &parsed));
  EXPECT_EQ(parsed.file.relative_path, "log/" + log::SegmentFileName(3));

  std::vector<ArchivePiece> bad(5, ValidPiece());
  bad[0].file.relative_path = "log/" + log::SegmentFileName(4);  // another segment
  bad[1].file.relative_path = "IDENTITY";
  bad[2].file.kind = "sealed-segment";
  bad[3].identity.relative_path = "log/" + log::SegmentFileName(3);
  bad[4].identity.kind = "checkpoint";
  for (const ArchivePiece& piece : bad) {
    const Status status = ArchivePieceFromJson(ArchivePieceToJson(piece), "p.json", &parsed);
    EXPECT_TRUE(status.IsCorruption())
        << piece.file.relative_path << " " << piece.file.kind << ": " << status.ToString();
    EXPECT_NE(status.message().find("p.json"), std::string::npos) << status.ToString();
  }
}

}  // namespace
}  // namespace ordo::repository
