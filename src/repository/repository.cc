// The repository protocol over a Store (store.h). The stored form of content files is in
// content_codec.cc, the JSON forms in manifest_json.cc, key handling in keys.cc, where the bytes
// live in local_store.cc; this file is naming, write-once publishing, leases and trash, listing
// and the caches.
#include "repository/repository.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "repository/content_codec.h"
#include "repository/keys.h"
#include "repository/local_store.h"
#include "repository/manifest_json.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/sha256.h"
#include "util/time_format.h"

namespace ordo::repository {
namespace {

constexpr char kDescriptionName[] = "ordo-repository.json";
constexpr char kDataDirectory[] = "data";
constexpr char kManifestDirectory[] = "manifests";
constexpr char kJsonSuffix[] = ".json";
constexpr char kArchiveDirectory[] = "archive";
constexpr char kLeaseDirectory[] = "leases";
constexpr char kTrashDirectory[] = "trash";
constexpr uint64_t kLeaseBytesMax = 64 << 20;
// Small JSON files are read whole; anything larger is not one of ours.
constexpr uint64_t kDescriptionBytesMax = 64 << 10;
constexpr uint64_t kManifestBytesMax = 256 << 20;
constexpr size_t kHashBufferBytes = 1 << 20;

std::string DataName(const std::string& stored_name) {
  return std::string(kDataDirectory) + "/" + stored_name;
}
std::string TrashName(const std::string& stored_name) {
  return std::string(kTrashDirectory) + "/" + stored_name;
}
std::string ManifestName(const std::string& backup_id) {
  return std::string(kManifestDirectory) + "/" + backup_id + kJsonSuffix;
}
std::string ArchiveName(const std::string& database_hex) {
  return std::string(kArchiveDirectory) + "/" + database_hex;
}
std::string ArchivePieceName(const ArchivePiece& piece) {
  return ArchiveName(piece.database_id) + "/" + piece.Name() + kJsonSuffix;
}
std::string LeaseName(const std::string& id) {
  return std::string(kLeaseDirectory) + "/" + id + kJsonSuffix;
}

Status NotStoredName(const std::string& stored_name) {
  return Status::InvalidArgument("stored name \"" + stored_name + "\" is not a SHA-256");
}

// A manifest that names the stored size (not 0) must match it.
Status CheckStoredBytes(const std::string& path, uint64_t size, const ManifestFile& file) {
  if (file.stored_bytes == 0 || file.stored_bytes == size) return Status::Ok();
  return Status::Corruption(path + ": " + std::to_string(size) + " stored bytes, manifest says " +
                            std::to_string(file.stored_bytes));
}

Status HashMismatch(const std::string& path, const std::string& actual, const std::string& name) {
  return Status::Corruption(path + ": hash mismatch: stored bytes hash to " + actual +
                            ", name says " + name);
}

// Checks `key` against the repository's description and says what this process can do.
Status MatchKey(const std::string& path, const RepositoryInfo& info, const KeyMaterial& key,
                ContentKeys* keys, bool* can_read, bool* can_write) {
  keys->mode = info.encryption;
  *can_read = *can_write = info.encryption == EncryptionMode::kNone;
  if (info.encryption == EncryptionMode::kKey) {
    if (key.secret_key.empty()) return Status::Ok();
    if (key.secret_key.size() != kKeyBytes) {
      return Status::InvalidArgument("wrong key for repository " + path + ": not a 32-byte key");
    }
    const std::string key_id = KeyId(key.secret_key);
    if (key_id != info.key_id) {
      return Status::InvalidArgument("wrong key for repository " + path + ": the key's id is " +
                                     key_id + ", the repository's key id is " + info.key_id);
    }
    keys->content_key = ContentKeyFromRepositoryKey(key.secret_key);
    *can_read = *can_write = true;
  } else if (info.encryption == EncryptionMode::kPublicKey) {
    const Result<std::string> public_key = Base64Decode(info.public_key);
    if (!public_key.ok() || public_key->size() != kKeyBytes) {
      return Status::Corruption(path + "/" + kDescriptionName + ": malformed public_key");
    }
    keys->public_key = *public_key;
    *can_write = true;
    std::string given_public = key.public_key;
    if (!key.secret_key.empty()) {
      if (key.secret_key.size() != kKeyBytes) {
        return Status::InvalidArgument("wrong key for repository " + path + ": not a 32-byte key");
      }
      given_public = PublicKeyFromSecret(key.secret_key);
    }
    if (!given_public.empty() && given_public != *public_key) {
      return Status::InvalidArgument("wrong key for repository " + path +
                                     ": the key's public "
                                     "half is " +
                                     Base64Encode(given_public) + ", the repository's is " +
                                     info.public_key);
    }
    keys->secret_key = key.secret_key;
    *can_read = !key.secret_key.empty();
  }
  return Status::Ok();
}

}  // namespace

Repository::Repository(std::unique_ptr<Store> store, RepositoryInfo info, ContentKeys keys,
                       bool can_read, bool can_write)
    : store_(std::move(store)),
      info_(std::move(info)),
      keys_(std::move(keys)),
      can_read_(can_read),
      can_write_(can_write) {}

Repository::~Repository() { (void)EndWrite(); }

const RepositoryInfo& Repository::info() const { return info_; }
bool Repository::CanRead() const { return can_read_; }
bool Repository::CanWrite() const { return can_write_; }

Status Repository::CannotWrite() const {
  return Status::InvalidArgument("repository " + store_->Describe("") +
                                 " is encrypted with a symmetric key: writing needs its key "
                                 "(--key-file)");
}

Status Repository::CannotRead() const {
  if (info_.encryption == EncryptionMode::kPublicKey) {
    return Status::InvalidArgument(
        "repository " + store_->Describe("") +
        " is encrypted to a public key and this host has only the "
        "public key: reading its contents needs the secret key (--key-file PREFIX.key)");
  }
  return Status::InvalidArgument("repository " + store_->Describe("") +
                                 " is encrypted with a symmetric key: reading needs its key "
                                 "(--key-file)");
}

void Repository::EnsureListed() {
  if (listed_) return;
  (void)ListManifests();
}

void Repository::Remember(const ManifestFile& file) {
  known_.try_emplace(PlainKey(file.plain_sha256, file.plain_bytes), file);
}

void Repository::RebuildKnown() {
  known_.clear();
  for (const auto& [id, manifest] : manifests_) {
    for (const ManifestFile& file : manifest.files) Remember(file);
  }
}

Status Repository::HashStored(const std::string& name, std::string* sha256_hex, uint64_t* size) {
  ORDO_ASSIGN_OR_RETURN(auto file, store_->Open(name));
  ORDO_ASSIGN_OR_RETURN(*size, store_->Size(name));
  file->AdviseSequential();
  Sha256 hash;
  std::string buffer(static_cast<size_t>(std::min<uint64_t>(*size, kHashBufferBytes)), '\0');
  for (uint64_t offset = 0; offset < *size;) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(buffer.size(), *size - offset));
    size_t read_count = 0;
    ORDO_RETURN_IF_ERROR(file->Read(offset, count, buffer.data(), &read_count));
    if (read_count != count) {
      return Status::Corruption(store_->Describe(name) + " offset " +
                                std::to_string(offset + read_count) +
                                ": short read: the file shrank while being read");
    }
    hash.Update(std::string_view(buffer.data(), count));
    offset += count;
  }
  *sha256_hex = hash.FinishHex();
  return Status::Ok();
}

Status Repository::PutFile(const ReadChunk& source, ManifestFile* file, uint64_t* written) {
  if (written != nullptr) *written = 0;
  if (!can_write_) return CannotWrite();
  EnsureListed();
  // Dropped unpublished on any error: our own temporary, removed by its destructor (if the disk
  // is gone, prune removes it later).
  ORDO_ASSIGN_OR_RETURN(auto stored, store_->Create(kDataDirectory));
  ContentSummary summary;
  ORDO_RETURN_IF_ERROR(EncodeContent(keys_, source, stored->file(), &summary));
  file->plain_bytes = summary.plain_bytes;
  file->plain_sha256 = summary.plain_sha256;
  const auto known = known_.find(PlainKey(summary.plain_sha256, summary.plain_bytes));
  if (known != known_.end() && store_->Exists(DataName(known->second.stored_name))) {
    file->stored_name = known->second.stored_name;
    file->stored_bytes = known->second.stored_bytes;
    return Status::Ok();
  }
  bool published = false;
  ORDO_RETURN_IF_ERROR(stored->Commit(DataName(summary.stored_sha256), &published));
  file->stored_name = summary.stored_sha256;
  file->stored_bytes = summary.stored_bytes;
  if (written != nullptr && published) *written = summary.stored_bytes;
  if (published) published_.insert(summary.stored_sha256);
  Remember(*file);
  return RefreshLeaseIfDue();
}

Status Repository::ReadFile(const ManifestFile& file, const WriteChunk& sink) {
  if (!can_read_) return CannotRead();
  if (!IsSha256Hex(file.stored_name)) return NotStoredName(file.stored_name);
  ORDO_ASSIGN_OR_RETURN(const std::string name, LocateStored(file.stored_name));
  const std::string path = store_->Describe(name);
  ORDO_ASSIGN_OR_RETURN(auto stored, store_->Open(name));
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, store_->Size(name));
  stored->AdviseSequential();
  ContentSummary summary;
  const Status decoded = DecodeContent(keys_, *stored, size, sink, &summary);
  if (decoded.IsCorruption() || decoded.code() == Status::Code::kNotSupported) {
    // The root cause of a decoding failure is most often damage; the name says so for sure.
    std::string actual;
    uint64_t hashed_bytes = 0;
    if (HashStored(name, &actual, &hashed_bytes).ok() && actual != file.stored_name) {
      return Status::Corruption(HashMismatch(path, actual, file.stored_name).message() +
                                " (decoding stopped at: " + decoded.message() + ")");
    }
  }
  if (!decoded.ok()) return decoded;
  if (summary.stored_sha256 != file.stored_name) {
    return HashMismatch(path, summary.stored_sha256, file.stored_name);
  }
  ORDO_RETURN_IF_ERROR(CheckStoredBytes(path, size, file));
  if (!file.plain_sha256.empty() &&
      (summary.plain_sha256 != file.plain_sha256 || summary.plain_bytes != file.plain_bytes)) {
    return Status::Corruption(path + ": plain content is " + std::to_string(summary.plain_bytes) +
                              " bytes with SHA-256 " + summary.plain_sha256 + ", manifest says " +
                              std::to_string(file.plain_bytes) + " bytes " + file.plain_sha256);
  }
  return Status::Ok();
}

Status Repository::CheckStored(const ManifestFile& file) {
  if (!IsSha256Hex(file.stored_name)) return NotStoredName(file.stored_name);
  ORDO_ASSIGN_OR_RETURN(const std::string name, LocateStored(file.stored_name));
  const std::string path = store_->Describe(name);
  std::string actual;
  uint64_t size = 0;
  ORDO_RETURN_IF_ERROR(HashStored(name, &actual, &size));
  if (actual != file.stored_name) return HashMismatch(path, actual, file.stored_name);
  ORDO_RETURN_IF_ERROR(CheckStoredBytes(path, size, file));
  return Status::Ok();
}

std::optional<ManifestFile> Repository::FindSealedSegment(const std::string& segment_key) {
  if (segment_key.empty()) return std::nullopt;
  EnsureListed();
  // Newest manifest first: the likeliest to hold a recent segment.
  for (auto manifest = manifests_.rbegin(); manifest != manifests_.rend(); ++manifest) {
    for (const ManifestFile& file : manifest->second.files) {
      if (file.segment_key != segment_key) continue;
      if (!store_->Exists(DataName(file.stored_name))) return std::nullopt;
      return file;
    }
  }
  return std::nullopt;
}

Status Repository::PublishJson(const std::string& name, const std::string& json,
                               const std::string& conflict, bool* published) {
  *published = false;
  if (store_->Exists(name)) {
    ORDO_ASSIGN_OR_RETURN(const std::string existing,
                          store_->ReadSmall(name, kManifestBytesMax, "a repository JSON file"));
    if (existing != json) return Status::InvalidArgument(conflict);
    return Status::Ok();
  }
  ORDO_RETURN_IF_ERROR(store_->Put(name, json, published));
  if (*published) return Status::Ok();
  // Another writer published the name between the check and ours: the same test again.
  ORDO_ASSIGN_OR_RETURN(const std::string existing,
                        store_->ReadSmall(name, kManifestBytesMax, "a repository JSON file"));
  return existing == json ? Status::Ok() : Status::InvalidArgument(conflict);
}

Status Repository::WriteManifest(const Manifest& manifest) {
  if (!can_write_) return CannotWrite();
  if (!IsValidBackupId(manifest.backup_id)) {
    return Status::InvalidArgument("malformed backup id \"" + manifest.backup_id +
                                   "\" (expected yyyymmddThhmmssZ-8hex)");
  }
  for (const ManifestFile& file : manifest.files) {
    if (!IsSha256Hex(file.stored_name)) {
      return Status::InvalidArgument("manifest " + manifest.backup_id + ": stored name \"" +
                                     file.stored_name + "\" is not a SHA-256");
    }
  }
  std::vector<const ManifestFile*> files;
  for (const ManifestFile& file : manifest.files) files.push_back(&file);
  ORDO_RETURN_IF_ERROR(PinAndCheck(files, "backup " + manifest.backup_id));
  const std::string json = ManifestToJson(manifest);
  const std::string name = ManifestName(manifest.backup_id);
  const std::string path = store_->Describe(name);
  Manifest parsed;  // what a reader will see: refuse to publish what it would reject
  const Status readable = ManifestFromJson(json, path, &parsed);
  if (!readable.ok()) return Status::InvalidArgument(readable.message());
  bool published = false;
  ORDO_RETURN_IF_ERROR(PublishJson(
      name, json,
      path + ": backup id " + manifest.backup_id + " exists already with other contents",
      &published));
  if (listed_) manifests_[manifest.backup_id] = parsed;
  for (const ManifestFile& file : parsed.files) Remember(file);
  return Status::Ok();
}

Result<std::vector<Manifest>> Repository::ListManifests() {
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, store_->List(kManifestDirectory));
  std::sort(names.begin(), names.end());
  std::map<std::string, Manifest> manifests;
  for (const std::string& name : names) {
    // Anything starting with a dot is not a manifest.
    if (name.starts_with(".") || !name.ends_with(kJsonSuffix)) continue;
    const std::string backup_id = name.substr(0, name.size() - (sizeof(kJsonSuffix) - 1));
    ORDO_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(backup_id));
    manifests.emplace(backup_id, std::move(manifest));
  }
  manifests_ = manifests;
  listed_ = true;
  RebuildKnown();
  std::vector<Manifest> ordered;
  ordered.reserve(manifests.size());
  for (auto& [id, manifest] : manifests) ordered.push_back(std::move(manifest));
  return ordered;
}

Result<Manifest> Repository::ReadManifest(const std::string& backup_id) {
  const std::string name = ManifestName(backup_id);
  const std::string path = store_->Describe(name);
  if (!IsValidBackupId(backup_id)) {
    if (store_->Exists(name)) return Status::Corruption(path + ": not a backup id file name");
    return Status::InvalidArgument("malformed backup id \"" + backup_id + "\"");
  }
  if (!store_->Exists(name)) {
    return Status::NotFound("no backup " + backup_id + " in repository " + store_->Describe(""));
  }
  ORDO_ASSIGN_OR_RETURN(const std::string text,
                        store_->ReadSmall(name, kManifestBytesMax, "a manifest"));
  Manifest manifest;
  ORDO_RETURN_IF_ERROR(ManifestFromJson(text, path, &manifest));
  if (manifest.backup_id != backup_id) {
    return Status::Corruption(path + ": holds backup_id \"" + manifest.backup_id +
                              "\", its name says " + backup_id);
  }
  return manifest;
}

Status Repository::RemoveManifest(const std::string& backup_id) {
  if (!IsValidBackupId(backup_id)) {
    return Status::InvalidArgument("malformed backup id \"" + backup_id + "\"");
  }
  ORDO_RETURN_IF_ERROR(store_->Remove(ManifestName(backup_id)));
  if (manifests_.erase(backup_id) > 0) RebuildKnown();
  return Status::Ok();
}

Result<std::vector<std::string>> Repository::ListStoredNames() {
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, store_->List(kDataDirectory));
  std::erase_if(names, [](const std::string& name) { return !IsSha256Hex(name); });
  std::sort(names.begin(), names.end());
  return names;
}

Status Repository::RemoveStored(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) return NotStoredName(stored_name);
  ORDO_RETURN_IF_ERROR(store_->Remove(DataName(stored_name)));
  std::erase_if(known_, [&](const auto& entry) { return entry.second.stored_name == stored_name; });
  return Status::Ok();
}

Result<int64_t> Repository::StoredModifiedMicros(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) return NotStoredName(stored_name);
  return store_->ModifiedMicros(DataName(stored_name));
}

Status Repository::WriteArchivePiece(const ArchivePiece& piece) {
  if (!can_write_) return CannotWrite();
  if (!IsDatabaseIdHex(piece.database_id)) {
    return Status::InvalidArgument("archive piece: database id \"" + piece.database_id +
                                   "\" is not 32 lowercase hex digits");
  }
  for (const ManifestFile* file : {&piece.file, &piece.identity}) {
    if (!IsSha256Hex(file->stored_name)) {
      return Status::Corruption("archive piece " + piece.Name() + " lists \"" + file->stored_name +
                                "\", which is not a stored name");
    }
  }
  ORDO_RETURN_IF_ERROR(PinAndCheck({&piece.file, &piece.identity},
                                   "archive piece " + piece.database_id + "/" + piece.Name()));
  const std::string json = ArchivePieceToJson(piece);
  const std::string name = ArchivePieceName(piece);
  const std::string path = store_->Describe(name);
  ArchivePiece parsed;  // refuse to publish what a reader would reject
  const Status readable = ArchivePieceFromJson(json, path, &parsed);
  if (!readable.ok()) return Status::InvalidArgument(readable.message());
  bool published = false;
  ORDO_RETURN_IF_ERROR(PublishJson(
      name, json, path + " exists already with other contents: the archive is never rewritten",
      &published));
  if (published) last_piece_files_ = {piece.file.stored_name, piece.identity.stored_name};
  return Status::Ok();
}

Result<std::vector<std::string>> Repository::ListArchivedDatabases() {
  if (!store_->Exists(kArchiveDirectory)) return std::vector<std::string>{};
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, store_->List(kArchiveDirectory));
  std::erase_if(names, [](const std::string& name) { return !IsDatabaseIdHex(name); });
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<ArchivePiece>> Repository::ListArchivePieces(
    const std::string& database_id_hex) {
  if (!IsDatabaseIdHex(database_id_hex)) {
    return Status::InvalidArgument("database id \"" + database_id_hex +
                                   "\" is not 32 lowercase hex digits");
  }
  const std::string directory = ArchiveName(database_id_hex);
  if (!store_->Exists(directory)) return std::vector<ArchivePiece>{};
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, store_->List(directory));
  std::sort(names.begin(), names.end());
  std::vector<ArchivePiece> pieces;
  for (const std::string& name : names) {
    if (name.starts_with(".") || !name.ends_with(kJsonSuffix)) continue;
    const std::string piece_name = directory + "/" + name;
    const std::string path = store_->Describe(piece_name);
    ORDO_ASSIGN_OR_RETURN(const std::string text,
                          store_->ReadSmall(piece_name, kDescriptionBytesMax, "an archive piece"));
    ArchivePiece piece;
    ORDO_RETURN_IF_ERROR(ArchivePieceFromJson(text, path, &piece));
    if (piece.database_id != database_id_hex || piece.Name() + kJsonSuffix != name) {
      return Status::Corruption(path + ": describes piece " + piece.Name() + " of database " +
                                piece.database_id + ", not what its name says");
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

Status Repository::RemoveArchivePiece(const ArchivePiece& piece) {
  if (!IsDatabaseIdHex(piece.database_id)) {
    return Status::InvalidArgument("malformed database id \"" + piece.database_id + "\"");
  }
  return store_->Remove(ArchivePieceName(piece));
}

Result<std::string> Repository::LocateStored(const std::string& stored_name) {
  std::string name = StoredName(stored_name);
  if (name.empty()) {
    return Status::Corruption(store_->Describe(DataName(stored_name)) +
                              ": missing from the repository");
  }
  return name;
}

std::string Repository::StoredName(const std::string& stored_name) {
  if (store_->Exists(DataName(stored_name))) return DataName(stored_name);
  if (store_->Exists(TrashName(stored_name))) return TrashName(stored_name);
  return "";
}

Status Repository::PublishLease() {
  assert(lease_.has_value());
  lease_->refreshed_micros = WallMicros();
  // A lease is the one file a writer replaces: its own, by rename over the earlier version.
  const Status published = store_->Replace(LeaseName(lease_->id), LeaseToJson(*lease_));
  if (!published.ok()) {
    return published.WithContext("publishing lease " + store_->Describe(LeaseName(lease_->id)));
  }
  return Status::Ok();
}

Status Repository::RefreshLeaseIfDue() {
  if (!lease_.has_value()) return Status::Ok();
  if (WallMicros() - lease_->refreshed_micros < kLeaseRefreshSeconds * 1000000) {
    return Status::Ok();
  }
  return PublishLease();
}

Status Repository::BeginWrite(const std::string& writer, bool protect_new_files) {
  if (!can_write_) return CannotWrite();
  if (!lease_.has_value()) {
    Lease lease;
    lease.id = RandomHex(8);
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) lease.host = host;
    lease.pid = static_cast<int64_t>(getpid());
    lease.created_micros = WallMicros();
    lease_ = std::move(lease);
  }
  lease_->writer = writer;
  if (protect_new_files && lease_->protect_since_micros == 0) {
    lease_->protect_since_micros = WallMicros();
  }
  return PublishLease();
}

Status Repository::EndWrite() {
  if (!lease_.has_value()) return Status::Ok();
  const std::string id = lease_->id;
  lease_.reset();
  return RemoveLease(id);
}

Status Repository::PinAndCheck(const std::vector<const ManifestFile*>& files,
                               const std::string& what) {
  std::vector<std::string> reused;
  for (const ManifestFile* file : files) {
    const std::string& name = file->stored_name;
    if (!published_.contains(name) && !last_piece_files_.contains(name)) reused.push_back(name);
  }
  if (!reused.empty()) {
    if (!lease_.has_value()) ORDO_RETURN_IF_ERROR(BeginWrite("ordo writer", false));
    bool grew = false;
    for (const std::string& name : reused) {
      if (std::find(lease_->files.begin(), lease_->files.end(), name) == lease_->files.end()) {
        lease_->files.push_back(name);
        grew = true;
      }
    }
    // Republished when it grew, or when it is due: a writer idle for a day (an archiver of a
    // quiet database) may have had its lease removed as stale.
    ORDO_RETURN_IF_ERROR(grew ? PublishLease() : RefreshLeaseIfDue());
  }
  // After the lease is out: a prune that moves one of them to trash/ from now on sees the lease
  // when it re-reads, and puts it back.
  for (const ManifestFile* file : files) {
    if (store_->Exists(DataName(file->stored_name))) continue;
    // Taken by a concurrent prune (one of our own files only when prune runs with no grace
    // period beside a writer that does not protect its new files): the writer stores it again.
    known_.erase(PlainKey(file->plain_sha256, file->plain_bytes));
    published_.erase(file->stored_name);
    return Status::Busy(what + " names " + store_->Describe(DataName(file->stored_name)) +
                        ", which is no longer in the repository (a concurrent prune took it): "
                        "store it again");
  }
  return Status::Ok();
}

Result<std::vector<Lease>> Repository::ListLeases() {
  std::vector<Lease> leases;
  if (!store_->Exists(kLeaseDirectory)) return leases;
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, store_->List(kLeaseDirectory));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (name.starts_with(".") || !name.ends_with(kJsonSuffix)) continue;
    const std::string lease_name = std::string(kLeaseDirectory) + "/" + name;
    const std::string path = store_->Describe(lease_name);
    auto text = store_->ReadSmall(lease_name, kLeaseBytesMax, "a lease");
    if (!text.ok() && !store_->Exists(lease_name)) continue;  // its writer ended meanwhile
    ORDO_RETURN_IF_ERROR(text.status());
    Lease lease;
    ORDO_RETURN_IF_ERROR(LeaseFromJson(*text, path, &lease));
    if (lease.id + kJsonSuffix != name) {
      return Status::Corruption(path + ": holds lease " + lease.id + ", its name says otherwise");
    }
    leases.push_back(std::move(lease));
  }
  return leases;
}

Status Repository::RemoveLease(const std::string& id) {
  if (!store_->Exists(LeaseName(id))) return Status::Ok();
  return store_->Remove(LeaseName(id));
}

Status Repository::TrashStored(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) return NotStoredName(stored_name);
  // Durable in both directories: the file is in one of them after a crash, never in none.
  ORDO_RETURN_IF_ERROR(store_->Move(DataName(stored_name), TrashName(stored_name)));
  std::erase_if(known_, [&](const auto& entry) { return entry.second.stored_name == stored_name; });
  return Status::Ok();
}

Status Repository::RestoreTrashed(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) return NotStoredName(stored_name);
  if (!store_->Exists(TrashName(stored_name))) return Status::Ok();              // restored already
  if (store_->Exists(DataName(stored_name))) return RemoveTrashed(stored_name);  // stored again
  return store_->Move(TrashName(stored_name), DataName(stored_name));
}

Status Repository::RemoveTrashed(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) return NotStoredName(stored_name);
  if (!store_->Exists(TrashName(stored_name))) return Status::Ok();
  return store_->Remove(TrashName(stored_name));
}

Result<std::vector<std::string>> Repository::ListTrashed() {
  if (!store_->Exists(kTrashDirectory)) return std::vector<std::string>{};
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, store_->List(kTrashDirectory));
  std::erase_if(names, [](const std::string& name) { return !IsSha256Hex(name); });
  std::sort(names.begin(), names.end());
  return names;
}

std::string ArchivePiece::Name() const {
  char name[64];
  std::snprintf(name, sizeof(name), "%020llu-%020llu", static_cast<unsigned long long>(segment_id),
                static_cast<unsigned long long>(start_offset));
  return name;
}

bool ArchivePiece::IsFollowedBy(const ArchivePiece& next) const {
  const bool adjacent = sealed ? next.segment_id == segment_id + 1 && next.start_offset == 0
                               : next.segment_id == segment_id && next.start_offset == end_offset;
  return adjacent && next.first_lsn == last_lsn + 1;
}

Status Repository::Init(FileSystem* fs, const std::string& path, EncryptionMode mode,
                        const KeyMaterial& key, const std::string& public_key,
                        RepositoryInfo* info) {
  return Init(NewLocalStore(fs, path), mode, key, public_key, info);
}

Status Repository::Init(std::unique_ptr<Store> store, EncryptionMode mode, const KeyMaterial& key,
                        const std::string& public_key, RepositoryInfo* info) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  const std::string path = store->Describe("");
  RepositoryInfo made;
  made.repository_id = RandomHex(16);
  made.created = NowRfc3339();
  made.encryption = mode;
  if (mode == EncryptionMode::kKey) {
    if (key.secret_key.size() != kKeyBytes) {
      return Status::InvalidArgument(
          "encryption \"key\" needs a 32-byte symmetric key "
          "(ordo keygen --out PREFIX, then --key-file PREFIX.key)");
    }
    made.key_id = KeyId(key.secret_key);
  } else if (mode == EncryptionMode::kPublicKey) {
    if (public_key.size() != kKeyBytes) {
      return Status::InvalidArgument(
          "encryption \"public-key\" needs a 32-byte public key "
          "(ordo keygen --out PREFIX --public-key, then --public-key "
          "PREFIX.pub)");
    }
    made.public_key = Base64Encode(public_key);
  }
  if (store->Exists(kDescriptionName)) {
    return Status::InvalidArgument("a repository exists already at " + path);
  }
  if (store->Exists("")) {
    ORDO_ASSIGN_OR_RETURN(const std::vector<std::string> children, store->List(""));
    if (!children.empty()) {
      return Status::InvalidArgument(path + " is not empty and holds no repository");
    }
  } else {
    ORDO_RETURN_IF_ERROR(store->CreateRoot());
  }
  ORDO_RETURN_IF_ERROR(store->MakeDirectory(kDataDirectory));
  ORDO_RETURN_IF_ERROR(store->MakeDirectory(kManifestDirectory));
  // The description last: it is what makes the directory a repository.
  bool published = false;
  ORDO_RETURN_IF_ERROR(store->Put(kDescriptionName, RepositoryInfoToJson(made), &published));
  if (!published) return Status::InvalidArgument("a repository exists already at " + path);
  if (info != nullptr) *info = made;
  return Status::Ok();
}

Result<std::unique_ptr<Repository>> Repository::Open(FileSystem* fs, const std::string& path,
                                                     const KeyMaterial& key) {
  return Open(NewLocalStore(fs, path), key);
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<Store> store,
                                                     const KeyMaterial& key) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  const std::string path = store->Describe("");
  if (!store->Exists(kDescriptionName)) {
    return Status::NotFound("no repository at " + path + " (no " + kDescriptionName + ")");
  }
  const std::string description = store->Describe(kDescriptionName);
  ORDO_ASSIGN_OR_RETURN(
      const std::string text,
      store->ReadSmall(kDescriptionName, kDescriptionBytesMax, "a repository description"));
  RepositoryInfo info;
  ORDO_RETURN_IF_ERROR(RepositoryInfoFromJson(text, description, &info));
  for (const char* directory : {kDataDirectory, kManifestDirectory}) {
    if (!store->Exists(directory)) {
      return Status::Corruption("repository " + path + ": the " + directory +
                                "/ directory is missing");
    }
  }
  ContentKeys keys;
  bool can_read = false;
  bool can_write = false;
  ORDO_RETURN_IF_ERROR(MatchKey(path, info, key, &keys, &can_read, &can_write));
  return std::unique_ptr<Repository>(
      new Repository(std::move(store), std::move(info), std::move(keys), can_read, can_write));
}

}  // namespace ordo::repository
