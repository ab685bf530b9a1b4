// JSON forms of the repository description (ordo-repository.json) and of manifests
// (manifests/<backup-id>.json), docs/FORMAT.md "Backup repository".
//
// Both are one JSON object carrying a "sha256" field: the SHA-256 (hex) of the object without
// that field, serialized compactly with keys sorted (nlohmann::json's dump()). So a flipped digit
// in an LSN or a size is found, not trusted. Unknown fields are kept under the checksum and
// otherwise ignored.
#pragma once

#include <string>
#include <string_view>

#include "ordo/status.h"
#include "repository/repository.h"

namespace ordo::repository {

inline constexpr char kRepositoryFormat[] = "ordo-repository";
inline constexpr char kManifestFormat[] = "ordo-manifest";
inline constexpr int kRepositoryVersion = 1;
inline constexpr int kManifestVersion = 1;
inline constexpr char kArchivePieceFormat[] = "ordo-archive-piece";
inline constexpr int kArchivePieceVersion = 1;

const char* EncryptionModeName(EncryptionMode mode);  // "none", "key", "public-key"
// InvalidArgument for any other name.
Result<EncryptionMode> ParseEncryptionMode(std::string_view name);

std::string RepositoryInfoToJson(const RepositoryInfo& info);
// Corruption naming `path` if malformed or its checksum fails; NotSupported for another version.
Status RepositoryInfoFromJson(std::string_view text, const std::string& path, RepositoryInfo* info);

std::string ManifestToJson(const Manifest& manifest);
// Corruption naming `path` if malformed, its checksum fails, or a field is out of shape (a stored
// name that is not a SHA-256, a relative path that escapes the data directory); NotSupported for
// another version.
Status ManifestFromJson(std::string_view text, const std::string& path, Manifest* manifest);

inline constexpr char kLeaseFormat[] = "ordo-lease";
inline constexpr int kLeaseVersion = 1;

std::string LeaseToJson(const Lease& lease);
// Corruption naming `path` if malformed, its checksum fails, or a field is out of shape;
// NotSupported for another version.
Status LeaseFromJson(std::string_view text, const std::string& path, Lease* lease);

std::string ArchivePieceToJson(const ArchivePiece& piece);
// Corruption naming `path` if malformed, its checksum fails, or a field is out of shape;
// NotSupported for another version.
Status ArchivePieceFromJson(std::string_view text, const std::string& path, ArchivePiece* piece);

}  // namespace ordo::repository
