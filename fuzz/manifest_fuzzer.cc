// Fuzz harness for the JSON files of a backup repository (src/repository/manifest_json.cc):
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

#include "fuzz/fuzz_check.h"
#include "repository/manifest_json.h"
#include "repository/repository.h"
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
void CheckManifestRoundTrip(const repository::Manifest& manifest) {
  const std::string text = repository::ManifestToJson(manifest);
  repository::Manifest again;
  FUZZ_CHECK(repository::ManifestFromJson(text, kPath, &again).ok());
  FUZZ_CHECK(repository::ManifestToJson(again) == text);
}

void CheckPieceRoundTrip(const repository::ArchivePiece& piece) {
  const std::string text = repository::ArchivePieceToJson(piece);
  repository::ArchivePiece again;
  FUZZ_CHECK(repository::ArchivePieceFromJson(text, kPath, &again).ok());
  FUZZ_CHECK(repository::ArchivePieceToJson(again) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (flags & kSeal) text = Seal(text);
  switch (flags & 3) {
    case 0: {
      repository::Manifest manifest;
      if (repository::ManifestFromJson(text, kPath, &manifest).ok())
        CheckManifestRoundTrip(manifest);
      break;
    }
    case 1: {
      repository::ArchivePiece piece;
      if (repository::ArchivePieceFromJson(text, kPath, &piece).ok()) CheckPieceRoundTrip(piece);
      break;
    }
    default: {
      repository::RepositoryInfo info;
      if (repository::RepositoryInfoFromJson(text, kPath, &info).ok()) {
        repository::RepositoryInfo again;
        FUZZ_CHECK(repository::RepositoryInfoFromJson(repository::RepositoryInfoToJson(info), kPath,
                                                      &again)
                       .ok());
      }
      break;
    }
  }
  return 0;
}
