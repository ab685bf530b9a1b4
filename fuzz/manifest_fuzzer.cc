// Fuzz harness for the JSON files of a backup repository (src/backup/manifest_json.cc):
// manifests, archive-piece descriptions and the repository description. A repository may sit
// on shared or remote storage, so these are untrusted text; a malformed one must give
// Corruption or NotSupported, never a crash, an exception or undefined behaviour.
//
// Input: byte 0 picks the file kind (bits 0-1) and whether to seal it (bit 2); the rest is the
// JSON text. Every file carries a "sha256" over the rest, which random text never matches; to
// reach the field checks behind it, "seal" parses the text and, if it is a JSON object, sets
// its "sha256" field as the writer does.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "backup/manifest_json.h"
#include "backup/repository.h"
#include "fuzz/fuzz_check.h"
#include "util/sha256.h"

namespace {

using namespace ordo;
using Json = nlohmann::json;

constexpr uint8_t kSeal = 4;
const std::string kPath = "repo/manifests/fuzz.json";

// The writer's sealing (manifest_json.cc, SealAndDump), applied to whatever object the text is.
std::string Seal(std::string_view text) {
  Json object = Json::parse(text, nullptr, false);
  if (object.is_discarded() || !object.is_object()) return std::string(text);
  object.erase("sha256");
  object["sha256"] = Sha256Hex(object.dump());
  return object.dump();
}

// A file that parsed must encode to a file that parses to the same thing.
void CheckManifestRoundTrip(const backup::Manifest& manifest) {
  const std::string text = backup::ManifestToJson(manifest);
  backup::Manifest again;
  FUZZ_CHECK(backup::ManifestFromJson(text, kPath, &again).ok());
  FUZZ_CHECK(backup::ManifestToJson(again) == text);
}

void CheckPieceRoundTrip(const backup::ArchivePiece& piece) {
  const std::string text = backup::ArchivePieceToJson(piece);
  backup::ArchivePiece again;
  FUZZ_CHECK(backup::ArchivePieceFromJson(text, kPath, &again).ok());
  FUZZ_CHECK(backup::ArchivePieceToJson(again) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (flags & kSeal) text = Seal(text);
  switch (flags & 3) {
    case 0: {
      backup::Manifest manifest;
      if (backup::ManifestFromJson(text, kPath, &manifest).ok()) CheckManifestRoundTrip(manifest);
      break;
    }
    case 1: {
      backup::ArchivePiece piece;
      if (backup::ArchivePieceFromJson(text, kPath, &piece).ok()) CheckPieceRoundTrip(piece);
      break;
    }
    default: {
      backup::RepositoryInfo info;
      if (backup::RepositoryInfoFromJson(text, kPath, &info).ok()) {
        backup::RepositoryInfo again;
        FUZZ_CHECK(
            backup::RepositoryInfoFromJson(backup::RepositoryInfoToJson(info), kPath, &again).ok());
      }
      break;
    }
  }
  return 0;
}
