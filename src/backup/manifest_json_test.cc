// Numbers in manifests and archive-piece files are read as integers in range or refused (found
// by fuzz/manifest_fuzzer.cc: nlohmann's get<uint64_t>() of 1e300 is undefined behaviour, and
// it turned -1 into 2^64 - 1 and version 4294967297 into 1 without a word).
#include "backup/manifest_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "backup/sha256.h"

namespace ordo::backup {
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
  ASSERT_TRUE(status.ok()) << status.ToString();
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
                               "m.json", &manifest).IsCorruption());
  EXPECT_TRUE(ManifestFromJson(WithField("first_commit_time_micros", -5), "m.json", &manifest).ok());
}

TEST(ManifestJson, VersionIsComparedAsANumberNotTruncated) {
  Manifest manifest;
  const Status status = ManifestFromJson(WithField("version", 4294967297ull), "m.json", &manifest);
  EXPECT_EQ(status.code(), Status::Code::kNotSupported) << status.ToString();
}

}  // namespace
}  // namespace ordo::backup
