// The local-directory repository. The stored form of content files is in content_codec.cc, the
// JSON forms in manifest_json.cc, key handling in keys.cc; this file is the directory: naming,
// publishing (temporary name, fsync, read-only, rename, directory fsync), listing and the caches.
#include "repository/repository.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "repository/content_codec.h"
#include "repository/keys.h"
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
constexpr char kTemporaryPrefix[] = ".tmp-";
constexpr char kManifestSuffix[] = ".json";
constexpr char kArchiveDirectory[] = "archive";
constexpr char kLeaseDirectory[] = "leases";
constexpr char kTrashDirectory[] = "trash";
constexpr uint64_t kLeaseBytesMax = 64 << 20;
// Small JSON files are read whole; anything larger is not one of ours.
constexpr uint64_t kDescriptionBytesMax = 64 << 10;
constexpr uint64_t kManifestBytesMax = 256 << 20;
constexpr size_t kHashBufferBytes = 1 << 20;

std::string ParentOf(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const size_t slash = trimmed.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : trimmed.substr(0, slash);
}

// Gives `temporary` (synced, closed) the name `final_path` unless that exists already (then the
// temporary is discarded: same name, same content). Either way the directory is fsynced before
// returning, so the final name is durable even if an earlier publisher's fsync failed.
// `published` says whether this call created the final name.
Status Publish(FileSystem* fs, const std::string& directory, const std::string& temporary,
               const std::string& final_path, bool* published) {
  *published = false;
  ORDO_RETURN_IF_ERROR(fs->SetReadOnly(temporary));
  if (fs->FileExists(final_path)) {
    // Never rename over a file: write-once storage may hold the repository.
    (void)fs->RemoveFile(temporary);
  } else {
    ORDO_RETURN_IF_ERROR(fs->RenameFile(temporary, final_path));
    *published = true;
  }
  return fs->SyncDir(directory);
}

// Writes `contents` to a new temporary file in `directory`, fsynced and closed.
Status WriteTemporary(FileSystem* fs, const std::string& directory, std::string_view contents,
                      std::string* temporary) {
  *temporary = directory + "/" + kTemporaryPrefix + RandomHex(8);
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(*temporary));
  ORDO_RETURN_IF_ERROR(file->Append(contents));
  ORDO_RETURN_IF_ERROR(file->SyncAll());
  return file->Close();
}

// Streams a stored file through SHA-256.
Status HashStoredFile(FileSystem* fs, const std::string& path, std::string* sha256_hex,
                      uint64_t* size) {
  ORDO_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
  ORDO_ASSIGN_OR_RETURN(*size, fs->GetFileSize(path));
  file->AdviseSequential();
  Sha256 hash;
  std::string buffer(static_cast<size_t>(std::min<uint64_t>(*size, kHashBufferBytes)), '\0');
  for (uint64_t offset = 0; offset < *size;) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(buffer.size(), *size - offset));
    size_t read_count = 0;
    ORDO_RETURN_IF_ERROR(file->Read(offset, count, buffer.data(), &read_count));
    if (read_count != count) {
      return Status::Corruption(path + " offset " + std::to_string(offset + read_count) +
                                ": short read: the file shrank while being read");
    }
    hash.Update(std::string_view(buffer.data(), count));
    offset += count;
  }
  *sha256_hex = hash.FinishHex();
  return Status::Ok();
}

Status HashMismatch(const std::string& path, const std::string& actual, const std::string& name) {
  return Status::Corruption(path + ": hash mismatch: stored bytes hash to " + actual +
                            ", name says " + name);
}

class LocalRepository final : public Repository {
 public:
  LocalRepository(FileSystem* fs, std::string path, RepositoryInfo info, ContentKeys keys,
                  bool can_read, bool can_write)
      : fs_(fs),
        path_(std::move(path)),
        info_(std::move(info)),
        keys_(std::move(keys)),
        can_read_(can_read),
        can_write_(can_write) {}
  ~LocalRepository() override { (void)EndWrite(); }

  const RepositoryInfo& info() const override { return info_; }
  bool CanRead() const override { return can_read_; }
  bool CanWrite() const override { return can_write_; }

  Status PutFile(const ReadChunk& source, ManifestFile* file, uint64_t* written) override;
  Status ReadFile(const ManifestFile& file, const WriteChunk& sink) override;
  Status CheckStored(const ManifestFile& file) override;
  std::optional<ManifestFile> FindSealedSegment(const std::string& segment_key) override;
  Status WriteManifest(const Manifest& manifest) override;
  Result<std::vector<Manifest>> ListManifests() override;
  Result<Manifest> ReadManifest(const std::string& backup_id) override;
  Status RemoveManifest(const std::string& backup_id) override;
  Result<std::vector<std::string>> ListStoredNames() override;
  Status RemoveStored(const std::string& stored_name) override;
  Result<int64_t> StoredModifiedMicros(const std::string& stored_name) override {
    if (!IsSha256Hex(stored_name)) {
      return Status::InvalidArgument("stored name \"" + stored_name + "\" is not a SHA-256");
    }
    return fs_->GetModificationTimeMicros(DataPath(stored_name));
  }
  Status WriteArchivePiece(const ArchivePiece& piece) override;
  Result<std::vector<std::string>> ListArchivedDatabases() override;
  Result<std::vector<ArchivePiece>> ListArchivePieces(const std::string& database_id_hex) override;
  Status RemoveArchivePiece(const ArchivePiece& piece) override;
  Status BeginWrite(const std::string& writer, bool protect_new_files) override;
  Status EndWrite() override;
  Result<std::vector<Lease>> ListLeases() override;
  Status RemoveLease(const std::string& id) override;
  Status TrashStored(const std::string& stored_name) override;
  Status RestoreTrashed(const std::string& stored_name) override;
  Status RemoveTrashed(const std::string& stored_name) override;
  Result<std::vector<std::string>> ListTrashed() override;

 private:
  using PlainKey = std::pair<std::string, uint64_t>;  // plain SHA-256, plain bytes

  std::string DataDirectory() const { return path_ + "/" + kDataDirectory; }
  std::string ManifestDirectory() const { return path_ + "/" + kManifestDirectory; }
  std::string DataPath(const std::string& name) const { return DataDirectory() + "/" + name; }
  std::string ManifestPath(const std::string& backup_id) const {
    return ManifestDirectory() + "/" + backup_id + kManifestSuffix;
  }
  std::string ArchiveDirectory() const { return path_ + "/" + kArchiveDirectory; }
  std::string ArchiveDirectory(const std::string& database_hex) const {
    return ArchiveDirectory() + "/" + database_hex;
  }
  std::string ArchivePiecePath(const ArchivePiece& piece) const {
    return ArchiveDirectory(piece.database_id) + "/" + piece.Name() + kManifestSuffix;
  }
  std::string LeaseDirectory() const { return path_ + "/" + kLeaseDirectory; }
  std::string LeasePath(const std::string& id) const {
    return LeaseDirectory() + "/" + id + kManifestSuffix;
  }
  std::string TrashDirectory() const { return path_ + "/" + kTrashDirectory; }
  std::string TrashPath(const std::string& name) const { return TrashDirectory() + "/" + name; }
  // Where a content file is: data/, or trash/ while a prune decides about it (readers read it
  // there), or "" if neither.
  std::string StoredPath(const std::string& name) const;
  // Creates REPO/`name`/ if missing, durably.
  Status EnsureDirectory(const std::string& name);
  // Publishes lease_ (replacing this writer's earlier version), refreshed now.
  Status PublishLease();
  // Republishes the lease once it is kLeaseRefreshSeconds old.
  Status RefreshLeaseIfDue();
  // The writer's side of the protocol (repository.h): leases the files `what` reuses, then
  // checks that every file it names is in data/. Busy naming a reused file that is gone (a
  // concurrent prune took it: store it again); Corruption for a file of this writer's own.
  Status PinAndCheck(const std::vector<const ManifestFile*>& files, const std::string& what);
  Status CannotWrite() const;
  Status CannotRead() const;
  // Lists the manifests once, for the caches; a failure leaves the caches partial (then a
  // duplicate is merely stored again).
  void EnsureListed();
  void Remember(const ManifestFile& file);
  void RebuildKnown();
  Status EncodeToTemporary(const ReadChunk& source, std::string* temporary,
                           ContentSummary* summary);
  Status CheckManifestFiles(const Manifest& manifest) const;

  FileSystem* const fs_;
  const std::string path_;
  const RepositoryInfo info_;
  const ContentKeys keys_;
  const bool can_read_;
  const bool can_write_;
  bool listed_ = false;
  std::map<std::string, Manifest> manifests_;  // by backup id, once listed
  std::map<PlainKey, ManifestFile> known_;     // content this repository holds, by plain hash
  // Content files this object published (not reuses: kept by the lease's protect_since or by
  // prune's grace until a manifest or piece names them).
  std::set<std::string> published_;
  // The files of the last archive piece this object published: the newest piece, which prune
  // always keeps, so reusing them needs no lease.
  std::set<std::string> last_piece_files_;
  std::optional<Lease> lease_;  // published at leases/<id>.json while set
};

Status LocalRepository::CannotWrite() const {
  return Status::InvalidArgument("repository " + path_ +
                                 " is encrypted with a symmetric key: writing needs its key "
                                 "(--key-file)");
}

Status LocalRepository::CannotRead() const {
  if (info_.encryption == EncryptionMode::kPublicKey) {
    return Status::InvalidArgument(
        "repository " + path_ +
        " is encrypted to a public key and this host has only the "
        "public key: reading its contents needs the secret key (--key-file PREFIX.key)");
  }
  return Status::InvalidArgument("repository " + path_ +
                                 " is encrypted with a symmetric key: reading needs its key "
                                 "(--key-file)");
}

void LocalRepository::EnsureListed() {
  if (listed_) return;
  (void)ListManifests();
}

void LocalRepository::Remember(const ManifestFile& file) {
  known_.try_emplace(PlainKey(file.plain_sha256, file.plain_bytes), file);
}

void LocalRepository::RebuildKnown() {
  known_.clear();
  for (const auto& [id, manifest] : manifests_) {
    for (const ManifestFile& file : manifest.files) Remember(file);
  }
}

Status LocalRepository::EncodeToTemporary(const ReadChunk& source, std::string* temporary,
                                          ContentSummary* summary) {
  *temporary = DataPath(std::string(kTemporaryPrefix) + RandomHex(8));
  ORDO_ASSIGN_OR_RETURN(auto file, fs_->NewWritableFile(*temporary));
  Status status = EncodeContent(keys_, source, file.get(), summary);
  if (status.ok()) status = file->SyncAll();
  const Status closed = file->Close();
  if (status.ok()) status = closed;
  return status;
}

Status LocalRepository::PutFile(const ReadChunk& source, ManifestFile* file, uint64_t* written) {
  if (written != nullptr) *written = 0;
  if (!can_write_) return CannotWrite();
  EnsureListed();
  std::string temporary;
  ContentSummary summary;
  Status status = EncodeToTemporary(source, &temporary, &summary);
  if (!status.ok()) {
    // Our own temporary: removing it is housekeeping, not pruning. If the disk is gone, prune
    // removes it later.
    (void)fs_->RemoveFile(temporary);
    return status;
  }
  file->plain_bytes = summary.plain_bytes;
  file->plain_sha256 = summary.plain_sha256;
  const auto known = known_.find(PlainKey(summary.plain_sha256, summary.plain_bytes));
  if (known != known_.end() && fs_->FileExists(DataPath(known->second.stored_name))) {
    (void)fs_->RemoveFile(temporary);
    file->stored_name = known->second.stored_name;
    file->stored_bytes = known->second.stored_bytes;
    return Status::Ok();
  }
  bool published = false;
  ORDO_RETURN_IF_ERROR(
      Publish(fs_, DataDirectory(), temporary, DataPath(summary.stored_sha256), &published));
  file->stored_name = summary.stored_sha256;
  file->stored_bytes = summary.stored_bytes;
  if (written != nullptr && published) *written = summary.stored_bytes;
  if (published) published_.insert(summary.stored_sha256);
  Remember(*file);
  return RefreshLeaseIfDue();
}

Status LocalRepository::ReadFile(const ManifestFile& file, const WriteChunk& sink) {
  if (!can_read_) return CannotRead();
  if (!IsSha256Hex(file.stored_name)) {
    return Status::InvalidArgument("stored name \"" + file.stored_name + "\" is not a SHA-256");
  }
  const std::string path = StoredPath(file.stored_name);
  if (path.empty()) {
    return Status::Corruption(DataPath(file.stored_name) + ": missing from the repository");
  }
  ORDO_ASSIGN_OR_RETURN(auto stored, fs_->NewRandomAccessFile(path));
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(path));
  stored->AdviseSequential();
  ContentSummary summary;
  const Status decoded = DecodeContent(keys_, *stored, size, sink, &summary);
  if (decoded.IsCorruption() || decoded.code() == Status::Code::kNotSupported) {
    // The root cause of a decoding failure is most often damage; the name says so for sure.
    std::string actual;
    uint64_t hashed_bytes = 0;
    if (HashStoredFile(fs_, path, &actual, &hashed_bytes).ok() && actual != file.stored_name) {
      return Status::Corruption(HashMismatch(path, actual, file.stored_name).message() +
                                " (decoding stopped at: " + decoded.message() + ")");
    }
  }
  if (!decoded.ok()) return decoded;
  if (summary.stored_sha256 != file.stored_name) {
    return HashMismatch(path, summary.stored_sha256, file.stored_name);
  }
  if (file.stored_bytes != 0 && file.stored_bytes != size) {
    return Status::Corruption(path + ": " + std::to_string(size) + " stored bytes, manifest says " +
                              std::to_string(file.stored_bytes));
  }
  if (!file.plain_sha256.empty() &&
      (summary.plain_sha256 != file.plain_sha256 || summary.plain_bytes != file.plain_bytes)) {
    return Status::Corruption(path + ": plain content is " + std::to_string(summary.plain_bytes) +
                              " bytes with SHA-256 " + summary.plain_sha256 + ", manifest says " +
                              std::to_string(file.plain_bytes) + " bytes " + file.plain_sha256);
  }
  return Status::Ok();
}

Status LocalRepository::CheckStored(const ManifestFile& file) {
  if (!IsSha256Hex(file.stored_name)) {
    return Status::InvalidArgument("stored name \"" + file.stored_name + "\" is not a SHA-256");
  }
  const std::string path = StoredPath(file.stored_name);
  if (path.empty()) {
    return Status::Corruption(DataPath(file.stored_name) + ": missing from the repository");
  }
  std::string actual;
  uint64_t size = 0;
  ORDO_RETURN_IF_ERROR(HashStoredFile(fs_, path, &actual, &size));
  if (actual != file.stored_name) return HashMismatch(path, actual, file.stored_name);
  if (file.stored_bytes != 0 && file.stored_bytes != size) {
    return Status::Corruption(path + ": " + std::to_string(size) + " stored bytes, manifest says " +
                              std::to_string(file.stored_bytes));
  }
  return Status::Ok();
}

std::optional<ManifestFile> LocalRepository::FindSealedSegment(const std::string& segment_key) {
  if (segment_key.empty()) return std::nullopt;
  EnsureListed();
  // Newest manifest first: the likeliest to hold a recent segment.
  for (auto manifest = manifests_.rbegin(); manifest != manifests_.rend(); ++manifest) {
    for (const ManifestFile& file : manifest->second.files) {
      if (file.segment_key != segment_key) continue;
      if (!fs_->FileExists(DataPath(file.stored_name))) return std::nullopt;
      return file;
    }
  }
  return std::nullopt;
}

Status LocalRepository::CheckManifestFiles(const Manifest& manifest) const {
  for (const ManifestFile& file : manifest.files) {
    if (!IsSha256Hex(file.stored_name)) {
      return Status::InvalidArgument("manifest " + manifest.backup_id + ": stored name \"" +
                                     file.stored_name + "\" is not a SHA-256");
    }
  }
  return Status::Ok();  // that each is in data/ is PinAndCheck's, once the lease is out
}

Status LocalRepository::WriteManifest(const Manifest& manifest) {
  if (!can_write_) return CannotWrite();
  if (!IsValidBackupId(manifest.backup_id)) {
    return Status::InvalidArgument("malformed backup id \"" + manifest.backup_id +
                                   "\" (expected yyyymmddThhmmssZ-8hex)");
  }
  ORDO_RETURN_IF_ERROR(CheckManifestFiles(manifest));
  std::vector<const ManifestFile*> files;
  for (const ManifestFile& file : manifest.files) files.push_back(&file);
  ORDO_RETURN_IF_ERROR(PinAndCheck(files, "backup " + manifest.backup_id));
  const std::string json = ManifestToJson(manifest);
  const std::string final_path = ManifestPath(manifest.backup_id);
  Manifest parsed;  // what a reader will see: refuse to publish what it would reject
  const Status readable = ManifestFromJson(json, final_path, &parsed);
  if (!readable.ok()) return Status::InvalidArgument(readable.message());
  if (fs_->FileExists(final_path)) {
    ORDO_ASSIGN_OR_RETURN(const std::string existing, ReadFileToString(fs_, final_path));
    if (existing != json) {
      return Status::InvalidArgument(final_path + ": backup id " + manifest.backup_id +
                                     " exists already with other contents");
    }
    return fs_->SyncDir(ManifestDirectory());
  }
  std::string temporary;
  Status status = WriteTemporary(fs_, ManifestDirectory(), json, &temporary);
  bool published = false;
  if (status.ok()) status = Publish(fs_, ManifestDirectory(), temporary, final_path, &published);
  if (!status.ok()) {
    if (!temporary.empty() && !published) (void)fs_->RemoveFile(temporary);
    return status;
  }
  if (listed_) manifests_[manifest.backup_id] = parsed;
  for (const ManifestFile& file : parsed.files) Remember(file);
  return Status::Ok();
}

Result<std::vector<Manifest>> LocalRepository::ListManifests() {
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(ManifestDirectory()));
  std::sort(names.begin(), names.end());
  std::map<std::string, Manifest> manifests;
  for (const std::string& name : names) {
    // Temporary files (".tmp-*") and anything else starting with a dot are not manifests.
    if (name.starts_with(".") || !name.ends_with(kManifestSuffix)) continue;
    const std::string backup_id = name.substr(0, name.size() - (sizeof(kManifestSuffix) - 1));
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

Result<Manifest> LocalRepository::ReadManifest(const std::string& backup_id) {
  const std::string path = ManifestPath(backup_id);
  if (!IsValidBackupId(backup_id)) {
    if (fs_->FileExists(path)) return Status::Corruption(path + ": not a backup id file name");
    return Status::InvalidArgument("malformed backup id \"" + backup_id + "\"");
  }
  if (!fs_->FileExists(path)) {
    return Status::NotFound("no backup " + backup_id + " in repository " + path_);
  }
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(path));
  if (size > kManifestBytesMax) return Status::Corruption(path + ": too large for a manifest");
  ORDO_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(fs_, path));
  Manifest manifest;
  ORDO_RETURN_IF_ERROR(ManifestFromJson(text, path, &manifest));
  if (manifest.backup_id != backup_id) {
    return Status::Corruption(path + ": holds backup_id \"" + manifest.backup_id +
                              "\", its name says " + backup_id);
  }
  return manifest;
}

Status LocalRepository::RemoveManifest(const std::string& backup_id) {
  if (!IsValidBackupId(backup_id)) {
    return Status::InvalidArgument("malformed backup id \"" + backup_id + "\"");
  }
  ORDO_RETURN_IF_ERROR(fs_->RemoveFile(ManifestPath(backup_id)));
  ORDO_RETURN_IF_ERROR(fs_->SyncDir(ManifestDirectory()));
  if (manifests_.erase(backup_id) > 0) RebuildKnown();
  return Status::Ok();
}

Result<std::vector<std::string>> LocalRepository::ListStoredNames() {
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(DataDirectory()));
  std::erase_if(names, [](const std::string& name) { return !IsSha256Hex(name); });
  std::sort(names.begin(), names.end());
  return names;
}

Status LocalRepository::RemoveStored(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) {
    return Status::InvalidArgument("stored name \"" + stored_name + "\" is not a SHA-256");
  }
  ORDO_RETURN_IF_ERROR(fs_->RemoveFile(DataPath(stored_name)));
  ORDO_RETURN_IF_ERROR(fs_->SyncDir(DataDirectory()));
  std::erase_if(known_, [&](const auto& entry) { return entry.second.stored_name == stored_name; });
  return Status::Ok();
}

Status LocalRepository::WriteArchivePiece(const ArchivePiece& piece) {
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
  const std::string final_path = ArchivePiecePath(piece);
  ArchivePiece parsed;  // refuse to publish what a reader would reject
  const Status readable = ArchivePieceFromJson(json, final_path, &parsed);
  if (!readable.ok()) return Status::InvalidArgument(readable.message());
  // The directories appear once; each is made durable in its parent before a piece lands.
  const std::string directory = ArchiveDirectory(piece.database_id);
  if (!fs_->FileExists(directory)) {
    if (!fs_->FileExists(ArchiveDirectory())) {
      ORDO_RETURN_IF_ERROR(fs_->CreateDir(ArchiveDirectory()));
      ORDO_RETURN_IF_ERROR(fs_->SyncDir(path_));
    }
    ORDO_RETURN_IF_ERROR(fs_->CreateDir(directory));
    ORDO_RETURN_IF_ERROR(fs_->SyncDir(ArchiveDirectory()));
  }
  if (fs_->FileExists(final_path)) {
    ORDO_ASSIGN_OR_RETURN(const std::string existing, ReadFileToString(fs_, final_path));
    if (existing != json) {
      return Status::InvalidArgument(final_path +
                                     " exists already with other contents: the "
                                     "archive is never rewritten");
    }
    return fs_->SyncDir(directory);
  }
  std::string temporary;
  Status status = WriteTemporary(fs_, directory, json, &temporary);
  bool published = false;
  if (status.ok()) status = Publish(fs_, directory, temporary, final_path, &published);
  if (!status.ok() && !temporary.empty() && !published) (void)fs_->RemoveFile(temporary);
  if (status.ok()) last_piece_files_ = {piece.file.stored_name, piece.identity.stored_name};
  return status;
}

Result<std::vector<std::string>> LocalRepository::ListArchivedDatabases() {
  if (!fs_->FileExists(ArchiveDirectory())) return std::vector<std::string>{};
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(ArchiveDirectory()));
  std::erase_if(names, [](const std::string& name) { return !IsDatabaseIdHex(name); });
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<ArchivePiece>> LocalRepository::ListArchivePieces(
    const std::string& database_id_hex) {
  if (!IsDatabaseIdHex(database_id_hex)) {
    return Status::InvalidArgument("database id \"" + database_id_hex +
                                   "\" is not 32 lowercase hex digits");
  }
  const std::string directory = ArchiveDirectory(database_id_hex);
  if (!fs_->FileExists(directory)) return std::vector<ArchivePiece>{};
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(directory));
  std::sort(names.begin(), names.end());
  std::vector<ArchivePiece> pieces;
  for (const std::string& name : names) {
    if (name.starts_with(".") || !name.ends_with(kManifestSuffix)) continue;
    const std::string path = directory + "/" + name;
    ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(path));
    if (size > kDescriptionBytesMax)
      return Status::Corruption(path + ": too large for an archive piece");
    ORDO_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(fs_, path));
    ArchivePiece piece;
    ORDO_RETURN_IF_ERROR(ArchivePieceFromJson(text, path, &piece));
    if (piece.database_id != database_id_hex || piece.Name() + kManifestSuffix != name) {
      return Status::Corruption(path + ": describes piece " + piece.Name() + " of database " +
                                piece.database_id + ", not what its name says");
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

Status LocalRepository::RemoveArchivePiece(const ArchivePiece& piece) {
  if (!IsDatabaseIdHex(piece.database_id)) {
    return Status::InvalidArgument("malformed database id \"" + piece.database_id + "\"");
  }
  ORDO_RETURN_IF_ERROR(fs_->RemoveFile(ArchivePiecePath(piece)));
  return fs_->SyncDir(ArchiveDirectory(piece.database_id));
}

std::string LocalRepository::StoredPath(const std::string& name) const {
  if (fs_->FileExists(DataPath(name))) return DataPath(name);
  if (fs_->FileExists(TrashPath(name))) return TrashPath(name);
  return "";
}

Status LocalRepository::EnsureDirectory(const std::string& name) {
  const std::string directory = path_ + "/" + name;
  if (fs_->FileExists(directory)) return Status::Ok();
  ORDO_RETURN_IF_ERROR(fs_->CreateDir(directory));
  return fs_->SyncDir(path_);
}

Status LocalRepository::PublishLease() {
  assert(lease_.has_value());
  ORDO_RETURN_IF_ERROR(EnsureDirectory(kLeaseDirectory));
  lease_->refreshed_micros = WallMicros();
  std::string temporary;
  Status status = WriteTemporary(fs_, LeaseDirectory(), LeaseToJson(*lease_), &temporary);
  // A lease is the one file a writer replaces: its own, by rename over the earlier version.
  if (status.ok()) status = fs_->RenameFile(temporary, LeasePath(lease_->id));
  if (!status.ok()) {
    if (!temporary.empty()) (void)fs_->RemoveFile(temporary);
    return status.WithContext("publishing lease " + LeasePath(lease_->id));
  }
  return fs_->SyncDir(LeaseDirectory());
}

Status LocalRepository::RefreshLeaseIfDue() {
  if (!lease_.has_value()) return Status::Ok();
  if (WallMicros() - lease_->refreshed_micros < kLeaseRefreshSeconds * 1000000) {
    return Status::Ok();
  }
  return PublishLease();
}

Status LocalRepository::BeginWrite(const std::string& writer, bool protect_new_files) {
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

Status LocalRepository::EndWrite() {
  if (!lease_.has_value()) return Status::Ok();
  const std::string id = lease_->id;
  lease_.reset();
  return RemoveLease(id);
}

Status LocalRepository::PinAndCheck(const std::vector<const ManifestFile*>& files,
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
    if (fs_->FileExists(DataPath(file->stored_name))) continue;
    // Taken by a concurrent prune (one of our own files only when prune runs with no grace
    // period beside a writer that does not protect its new files): the writer stores it again.
    known_.erase(PlainKey(file->plain_sha256, file->plain_bytes));
    published_.erase(file->stored_name);
    return Status::Busy(what + " names " + DataPath(file->stored_name) +
                        ", which is no longer in the repository (a concurrent prune took it): "
                        "store it again");
  }
  return Status::Ok();
}

Result<std::vector<Lease>> LocalRepository::ListLeases() {
  std::vector<Lease> leases;
  if (!fs_->FileExists(LeaseDirectory())) return leases;
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(LeaseDirectory()));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (name.starts_with(".") || !name.ends_with(kManifestSuffix)) continue;
    const std::string path = LeaseDirectory() + "/" + name;
    ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(path));
    if (size > kLeaseBytesMax) return Status::Corruption(path + ": too large for a lease");
    auto text = ReadFileToString(fs_, path);
    if (!text.ok() && !fs_->FileExists(path)) continue;  // its writer ended meanwhile
    ORDO_RETURN_IF_ERROR(text.status());
    Lease lease;
    ORDO_RETURN_IF_ERROR(LeaseFromJson(*text, path, &lease));
    if (lease.id + kManifestSuffix != name) {
      return Status::Corruption(path + ": holds lease " + lease.id + ", its name says otherwise");
    }
    leases.push_back(std::move(lease));
  }
  return leases;
}

Status LocalRepository::RemoveLease(const std::string& id) {
  const std::string path = LeasePath(id);
  if (!fs_->FileExists(path)) return Status::Ok();
  ORDO_RETURN_IF_ERROR(fs_->RemoveFile(path));
  return fs_->SyncDir(LeaseDirectory());
}

Status LocalRepository::TrashStored(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) {
    return Status::InvalidArgument("stored name \"" + stored_name + "\" is not a SHA-256");
  }
  ORDO_RETURN_IF_ERROR(EnsureDirectory(kTrashDirectory));
  ORDO_RETURN_IF_ERROR(fs_->RenameFile(DataPath(stored_name), TrashPath(stored_name)));
  // Both directories: the file is in one of them after a crash, never in none or two.
  ORDO_RETURN_IF_ERROR(fs_->SyncDir(TrashDirectory()));
  ORDO_RETURN_IF_ERROR(fs_->SyncDir(DataDirectory()));
  std::erase_if(known_, [&](const auto& entry) { return entry.second.stored_name == stored_name; });
  return Status::Ok();
}

Status LocalRepository::RestoreTrashed(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) {
    return Status::InvalidArgument("stored name \"" + stored_name + "\" is not a SHA-256");
  }
  if (!fs_->FileExists(TrashPath(stored_name))) return Status::Ok();  // restored already
  if (fs_->FileExists(DataPath(stored_name))) return RemoveTrashed(stored_name);  // stored again
  ORDO_RETURN_IF_ERROR(fs_->RenameFile(TrashPath(stored_name), DataPath(stored_name)));
  ORDO_RETURN_IF_ERROR(fs_->SyncDir(DataDirectory()));
  return fs_->SyncDir(TrashDirectory());
}

Status LocalRepository::RemoveTrashed(const std::string& stored_name) {
  if (!IsSha256Hex(stored_name)) {
    return Status::InvalidArgument("stored name \"" + stored_name + "\" is not a SHA-256");
  }
  if (!fs_->FileExists(TrashPath(stored_name))) return Status::Ok();
  ORDO_RETURN_IF_ERROR(fs_->RemoveFile(TrashPath(stored_name)));
  return fs_->SyncDir(TrashDirectory());
}

Result<std::vector<std::string>> LocalRepository::ListTrashed() {
  if (!fs_->FileExists(TrashDirectory())) return std::vector<std::string>{};
  ORDO_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(TrashDirectory()));
  std::erase_if(names, [](const std::string& name) { return !IsSha256Hex(name); });
  std::sort(names.begin(), names.end());
  return names;
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
  ORDO_RETURN_IF_ERROR(InitSodium());
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
  const std::string description = path + "/" + kDescriptionName;
  if (fs->FileExists(description)) {
    return Status::InvalidArgument("a repository exists already at " + path);
  }
  if (fs->FileExists(path)) {
    ORDO_ASSIGN_OR_RETURN(const std::vector<std::string> children, fs->GetChildren(path));
    if (!children.empty()) {
      return Status::InvalidArgument(path + " is not empty and holds no repository");
    }
  } else {
    ORDO_RETURN_IF_ERROR(fs->CreateDir(path));
    ORDO_RETURN_IF_ERROR(fs->SyncDir(ParentOf(path)));
  }
  ORDO_RETURN_IF_ERROR(fs->CreateDir(path + "/" + kDataDirectory));
  ORDO_RETURN_IF_ERROR(fs->CreateDir(path + "/" + kManifestDirectory));
  ORDO_RETURN_IF_ERROR(fs->SyncDir(path));
  // The description last: it is what makes the directory a repository.
  std::string temporary;
  ORDO_RETURN_IF_ERROR(WriteTemporary(fs, path, RepositoryInfoToJson(made), &temporary));
  bool published = false;
  ORDO_RETURN_IF_ERROR(Publish(fs, path, temporary, description, &published));
  if (!published) return Status::InvalidArgument("a repository exists already at " + path);
  if (info != nullptr) *info = made;
  return Status::Ok();
}

Result<std::unique_ptr<Repository>> Repository::Open(FileSystem* fs, const std::string& path,
                                                     const KeyMaterial& key) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  const std::string description = path + "/" + kDescriptionName;
  if (!fs->FileExists(description)) {
    return Status::NotFound("no repository at " + path + " (no " + kDescriptionName + ")");
  }
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs->GetFileSize(description));
  if (size > kDescriptionBytesMax) return Status::Corruption(description + ": too large");
  ORDO_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(fs, description));
  RepositoryInfo info;
  ORDO_RETURN_IF_ERROR(RepositoryInfoFromJson(text, description, &info));
  for (const char* directory : {kDataDirectory, kManifestDirectory}) {
    if (!fs->FileExists(path + "/" + directory)) {
      return Status::Corruption("repository " + path + ": the " + directory +
                                "/ directory is missing");
    }
  }
  ContentKeys keys;
  bool can_read = false;
  bool can_write = false;
  ORDO_RETURN_IF_ERROR(MatchKey(path, info, key, &keys, &can_read, &can_write));
  return std::unique_ptr<Repository>(
      new LocalRepository(fs, path, std::move(info), std::move(keys), can_read, can_write));
}

}  // namespace ordo::repository
