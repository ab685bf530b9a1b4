#include "repository/manifest_json.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "log/format.h"
#include "util/sha256.h"

namespace ordo::repository {
namespace {

using Json = nlohmann::json;

// Adds the "sha256" field over the rest and renders the object for a file.
std::string SealAndDump(Json object) {
  object["sha256"] = Sha256Hex(object.dump());
  return object.dump(2) + "\n";
}

// Parses `text` and checks its "sha256" field; the field is removed from `object`.
Status ParseSealed(std::string_view text, const std::string& path, Json* object) {
  *object = Json::parse(text, nullptr, false);
  if (object->is_discarded() || !object->is_object()) {
    return Status::Corruption(path + ": not a JSON object");
  }
  const auto field = object->find("sha256");
  if (field == object->end() || !field->is_string()) {
    return Status::Corruption(path + ": the \"sha256\" checksum field is missing");
  }
  const std::string expected = field->get<std::string>();
  object->erase("sha256");
  const std::string actual = Sha256Hex(object->dump());
  if (actual != expected) {
    return Status::Corruption(path + ": checksum mismatch: the contents hash to " + actual +
                              ", the \"sha256\" field says " + expected);
  }
  return Status::Ok();
}

Status CheckFormat(const Json& object, const std::string& path, const char* format, int version) {
  if (!object.contains("format") || object["format"] != format) {
    return Status::Corruption(path + ": \"format\" is not \"" + format + "\"");
  }
  if (!object.contains("version") || !object["version"].is_number_integer()) {
    return Status::Corruption(path + ": \"version\" is missing");
  }
  if (object["version"] != version) {  // compares the numbers, whatever their JSON type
    return Status::NotSupported(path + ": version " + object["version"].dump() +
                                " (this build reads " + std::to_string(version) + ")");
  }
  return Status::Ok();
}

// A field whose JSON type or range is wrong (thrown inside the readers' try blocks, as
// nlohmann's own exceptions are, and turned into Corruption the same way).
struct FieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann's get<uint64_t>() converts whatever number it finds: -1 becomes 2^64 - 1, 1.5
// becomes 1, and 1e300 is undefined behaviour (found by fuzz/manifest_fuzzer.cc under UBSan).
// These accept integers in range only.
uint64_t GetUint64(const Json& object, const char* name) {
  const Json& field = object.at(name);
  if (!field.is_number_unsigned()) {
    throw FieldError(std::string("\"") + name + "\" is not a non-negative integer");
  }
  return field.get<uint64_t>();
}

int64_t GetInt64(const Json& object, const char* name) {
  const Json& field = object.at(name);
  const bool fits = field.is_number_unsigned()
                        ? field.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
                        : field.is_number_integer();
  if (!fits) throw FieldError(std::string("\"") + name + "\" is not a 64-bit integer");
  return field.get<int64_t>();
}

std::string DigestHex(const StateDigest& digest) { return digest.ToHex(); }

bool ParseDigestHex(const std::string& hex, StateDigest* digest) {
  if (hex.size() != 32 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return false;
  }
  digest->high = std::stoull(hex.substr(0, 16), nullptr, 16);
  digest->low = std::stoull(hex.substr(16), nullptr, 16);
  return true;
}

// A path inside the data directory: relative, without "." or ".." components or empty parts.
bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

Json FileToJson(const ManifestFile& file) {
  return Json{{"kind", file.kind},
              {"relative_path", file.relative_path},
              {"plain_bytes", file.plain_bytes},
              {"plain_sha256", file.plain_sha256},
              {"stored_name", file.stored_name},
              {"stored_bytes", file.stored_bytes},
              {"segment_id", file.segment_id},
              {"first_lsn", file.first_lsn},
              {"last_lsn", file.last_lsn},
              {"segment_key", file.segment_key}};
}

Status FileFromJson(const Json& object, const std::string& path, size_t index, ManifestFile* file) {
  file->kind = object.at("kind").get<std::string>();
  file->relative_path = object.at("relative_path").get<std::string>();
  file->plain_bytes = GetUint64(object, "plain_bytes");
  file->plain_sha256 = object.at("plain_sha256").get<std::string>();
  file->stored_name = object.at("stored_name").get<std::string>();
  file->stored_bytes = GetUint64(object, "stored_bytes");
  file->segment_id = GetUint64(object, "segment_id");
  file->first_lsn = GetUint64(object, "first_lsn");
  file->last_lsn = GetUint64(object, "last_lsn");
  file->segment_key = object.at("segment_key").get<std::string>();
  const std::string where = path + ": files[" + std::to_string(index) + "]: ";
  if (!IsSha256Hex(file->stored_name) || !IsSha256Hex(file->plain_sha256)) {
    return Status::Corruption(where + "stored_name and plain_sha256 must be 64 lowercase hex");
  }
  if (!IsSafeRelativePath(file->relative_path)) {
    return Status::Corruption(where + "relative_path \"" + file->relative_path +
                              "\" is not a plain path inside a data directory");
  }
  return Status::Ok();
}

}  // namespace

const char* EncryptionModeName(EncryptionMode mode) {
  switch (mode) {
    case EncryptionMode::kNone:
      return "none";
    case EncryptionMode::kKey:
      return "key";
    case EncryptionMode::kPublicKey:
      return "public-key";
  }
  return "?";
}

Result<EncryptionMode> ParseEncryptionMode(std::string_view name) {
  if (name == "none") return EncryptionMode::kNone;
  if (name == "key") return EncryptionMode::kKey;
  if (name == "public-key") return EncryptionMode::kPublicKey;
  return Status::InvalidArgument("unknown encryption mode \"" + std::string(name) +
                                 "\" (expected none, key or public-key)");
}

std::string RepositoryInfoToJson(const RepositoryInfo& info) {
  Json object{
      {"format", kRepositoryFormat},         {"version", info.format_version},
      {"repository_id", info.repository_id}, {"created", info.created},
      {"compression", info.compression},     {"encryption", EncryptionModeName(info.encryption)}};
  if (info.encryption == EncryptionMode::kKey) object["key_id"] = info.key_id;
  if (info.encryption == EncryptionMode::kPublicKey) object["public_key"] = info.public_key;
  return SealAndDump(std::move(object));
}

Status RepositoryInfoFromJson(std::string_view text, const std::string& path,
                              RepositoryInfo* info) {
  Json object;
  ORDO_RETURN_IF_ERROR(ParseSealed(text, path, &object));
  ORDO_RETURN_IF_ERROR(CheckFormat(object, path, kRepositoryFormat, kRepositoryVersion));
  try {
    info->format_version = static_cast<int>(GetInt64(object, "version"));
    info->repository_id = object.at("repository_id").get<std::string>();
    info->created = object.at("created").get<std::string>();
    info->compression = object.at("compression").get<std::string>();
    const Result<EncryptionMode> mode =
        ParseEncryptionMode(object.at("encryption").get<std::string>());
    if (!mode.ok()) return Status::Corruption(path + ": " + mode.status().message());
    info->encryption = *mode;
    info->key_id = object.value("key_id", std::string());
    info->public_key = object.value("public_key", std::string());
  } catch (const Json::exception& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  } catch (const FieldError& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  }
  if (info->compression != "zstd") {
    return Status::NotSupported(path + ": compression \"" + info->compression +
                                "\" (this build reads zstd)");
  }
  if ((info->encryption == EncryptionMode::kKey && info->key_id.size() != 16) ||
      (info->encryption == EncryptionMode::kPublicKey && info->public_key.empty())) {
    return Status::Corruption(path + ": key_id or public_key missing for encryption \"" +
                              EncryptionModeName(info->encryption) + "\"");
  }
  return Status::Ok();
}

std::string ManifestToJson(const Manifest& manifest) {
  Json files = Json::array();
  for (const ManifestFile& file : manifest.files) files.push_back(FileToJson(file));
  Json object{{"format", kManifestFormat},
              {"version", manifest.format_version},
              {"backup_id", manifest.backup_id},
              {"parent_backup_id", manifest.parent_backup_id},
              {"database_id", manifest.database_id},
              {"started", manifest.started},
              {"finished", manifest.finished},
              {"first_lsn", manifest.first_lsn},
              {"last_lsn", manifest.last_lsn},
              {"first_commit_time_micros", manifest.first_commit_time_micros},
              {"last_commit_time_micros", manifest.last_commit_time_micros},
              {"state_digest", DigestHex(manifest.digest)},
              {"keys", manifest.keys},
              {"files", std::move(files)},
              {"bytes_read", manifest.bytes_read},
              {"bytes_written", manifest.bytes_written},
              {"new_files", manifest.new_files},
              {"duration_seconds", manifest.duration_seconds}};
  return SealAndDump(std::move(object));
}

Status ManifestFromJson(std::string_view text, const std::string& path, Manifest* manifest) {
  Json object;
  ORDO_RETURN_IF_ERROR(ParseSealed(text, path, &object));
  ORDO_RETURN_IF_ERROR(CheckFormat(object, path, kManifestFormat, kManifestVersion));
  *manifest = Manifest();
  try {
    manifest->format_version = static_cast<int>(GetInt64(object, "version"));
    manifest->backup_id = object.at("backup_id").get<std::string>();
    manifest->parent_backup_id = object.at("parent_backup_id").get<std::string>();
    manifest->database_id = object.at("database_id").get<std::string>();
    manifest->started = object.at("started").get<std::string>();
    manifest->finished = object.at("finished").get<std::string>();
    manifest->first_lsn = GetUint64(object, "first_lsn");
    manifest->last_lsn = GetUint64(object, "last_lsn");
    manifest->first_commit_time_micros = GetInt64(object, "first_commit_time_micros");
    manifest->last_commit_time_micros = GetInt64(object, "last_commit_time_micros");
    if (!ParseDigestHex(object.at("state_digest").get<std::string>(), &manifest->digest)) {
      return Status::Corruption(path + ": state_digest is not 32 lowercase hex digits");
    }
    manifest->keys = GetUint64(object, "keys");
    manifest->bytes_read = GetUint64(object, "bytes_read");
    manifest->bytes_written = GetUint64(object, "bytes_written");
    manifest->new_files = GetUint64(object, "new_files");
    manifest->duration_seconds = object.at("duration_seconds").get<double>();
    const Json& files = object.at("files");
    if (!files.is_array()) return Status::Corruption(path + ": \"files\" is not an array");
    manifest->files.resize(files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      ORDO_RETURN_IF_ERROR(FileFromJson(files[i], path, i, &manifest->files[i]));
    }
  } catch (const Json::exception& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  } catch (const FieldError& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  }
  if (!IsValidBackupId(manifest->backup_id)) {
    return Status::Corruption(path + ": backup_id \"" + manifest->backup_id + "\" is malformed");
  }
  return Status::Ok();
}

std::string ArchivePieceToJson(const ArchivePiece& piece) {
  Json object{{"format", kArchivePieceFormat},
              {"version", piece.format_version},
              {"database_id", piece.database_id},
              {"segment_id", piece.segment_id},
              {"start_offset", piece.start_offset},
              {"end_offset", piece.end_offset},
              {"sealed", piece.sealed},
              {"first_lsn", piece.first_lsn},
              {"last_lsn", piece.last_lsn},
              {"records", piece.records},
              {"first_commit_time_micros", piece.first_commit_time_micros},
              {"last_commit_time_micros", piece.last_commit_time_micros},
              {"state_digest", DigestHex(piece.digest)},
              {"keys", piece.keys},
              {"archived", piece.archived},
              {"file", FileToJson(piece.file)},
              {"identity", FileToJson(piece.identity)}};
  return SealAndDump(std::move(object));
}

Status ArchivePieceFromJson(std::string_view text, const std::string& path, ArchivePiece* piece) {
  Json object;
  ORDO_RETURN_IF_ERROR(ParseSealed(text, path, &object));
  ORDO_RETURN_IF_ERROR(CheckFormat(object, path, kArchivePieceFormat, kArchivePieceVersion));
  *piece = ArchivePiece();
  try {
    piece->format_version = static_cast<int>(GetInt64(object, "version"));
    piece->database_id = object.at("database_id").get<std::string>();
    piece->segment_id = GetUint64(object, "segment_id");
    piece->start_offset = GetUint64(object, "start_offset");
    piece->end_offset = GetUint64(object, "end_offset");
    piece->sealed = object.at("sealed").get<bool>();
    piece->first_lsn = GetUint64(object, "first_lsn");
    piece->last_lsn = GetUint64(object, "last_lsn");
    piece->records = GetUint64(object, "records");
    piece->first_commit_time_micros = GetInt64(object, "first_commit_time_micros");
    piece->last_commit_time_micros = GetInt64(object, "last_commit_time_micros");
    if (!ParseDigestHex(object.at("state_digest").get<std::string>(), &piece->digest)) {
      return Status::Corruption(path + ": state_digest is not 32 lowercase hex digits");
    }
    piece->keys = GetUint64(object, "keys");
    piece->archived = object.at("archived").get<std::string>();
    ORDO_RETURN_IF_ERROR(FileFromJson(object.at("file"), path, 0, &piece->file));
    ORDO_RETURN_IF_ERROR(FileFromJson(object.at("identity"), path, 1, &piece->identity));
  } catch (const Json::exception& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  } catch (const FieldError& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  }
  if (piece->end_offset <= piece->start_offset ||
      piece->file.plain_bytes != piece->end_offset - piece->start_offset) {
    return Status::Corruption(path + ": offsets " + std::to_string(piece->start_offset) + ".." +
                              std::to_string(piece->end_offset) + " do not match the " +
                              std::to_string(piece->file.plain_bytes) + " bytes stored");
  }
  if (piece->records != (piece->last_lsn + 1) - piece->first_lsn) {
    return Status::Corruption(path + ": records does not match the LSN range");
  }
  // A restore appends the piece to its file and copies the identity file by these paths: a
  // description naming any other file (consistently edited, or written by something else) must
  // not make a restore write into another file of the target.
  const std::string segment_path = "log/" + log::SegmentFileName(piece->segment_id);
  if (piece->file.kind != "archive-piece" || piece->file.relative_path != segment_path) {
    return Status::Corruption(path + ": the piece's file is \"" + piece->file.relative_path +
                              "\" (kind \"" + piece->file.kind + "\"), not the archive piece of " +
                              segment_path);
  }
  if (piece->identity.kind != "identity" || piece->identity.relative_path != "IDENTITY") {
    return Status::Corruption(path + ": the piece's identity file is \"" +
                              piece->identity.relative_path + "\" (kind \"" + piece->identity.kind +
                              "\"), not IDENTITY");
  }
  return Status::Ok();
}

std::string LeaseToJson(const Lease& lease) {
  Json object{{"format", kLeaseFormat},
              {"version", kLeaseVersion},
              {"id", lease.id},
              {"writer", lease.writer},
              {"host", lease.host},
              {"pid", lease.pid},
              {"created_micros", lease.created_micros},
              {"refreshed_micros", lease.refreshed_micros},
              {"protect_since_micros", lease.protect_since_micros},
              {"files", lease.files}};
  return SealAndDump(std::move(object));
}

Status LeaseFromJson(std::string_view text, const std::string& path, Lease* lease) {
  Json object;
  ORDO_RETURN_IF_ERROR(ParseSealed(text, path, &object));
  ORDO_RETURN_IF_ERROR(CheckFormat(object, path, kLeaseFormat, kLeaseVersion));
  *lease = Lease();
  try {
    lease->id = object.at("id").get<std::string>();
    lease->writer = object.at("writer").get<std::string>();
    lease->host = object.at("host").get<std::string>();
    lease->pid = GetInt64(object, "pid");
    lease->created_micros = GetInt64(object, "created_micros");
    lease->refreshed_micros = GetInt64(object, "refreshed_micros");
    lease->protect_since_micros = GetInt64(object, "protect_since_micros");
    lease->files = object.at("files").get<std::vector<std::string>>();
  } catch (const Json::exception& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  } catch (const FieldError& error) {
    return Status::Corruption(path + ": malformed field: " + error.what());
  }
  for (const std::string& name : lease->files) {
    if (!IsSha256Hex(name)) {
      return Status::Corruption(path + ": \"" + name + "\" is not a stored name (SHA-256)");
    }
  }
  if (lease->id.size() != 16 ||
      lease->id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Status::Corruption(path + ": lease id \"" + lease->id + "\" is not 16 hex digits");
  }
  return Status::Ok();
}

}  // namespace ordo::repository
