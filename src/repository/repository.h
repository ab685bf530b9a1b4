// A backup repository: a set of write-once files (docs/FORMAT.md, "Backup repository"), kept in
// a Store (store.h): today a local directory (local_store.h).
//
//   REPO/ordo-repository.json     description: id, format version, compression, encryption
//   REPO/data/<sha256>            content files, named by the SHA-256 of their stored bytes
//   REPO/manifests/<backup-id>.json  one per backup, written last: what the backup is
//
// Invariants: no file is ever modified, renamed over or rewritten once it has its final name
// (so write-once storage can hold the repository); every file is created read-only (0444);
// a file gets its final name only after its bytes are fsynced (temporary name ".tmp-*",
// fsync, rename, fsync of the directory), so a crash leaves at most unreferenced temporary or
// content files, which the next backup reuses or `ordo prune` removes. Prune is the only code
// that deletes.
//
// Stored form of a content file (src/repository/content_codec.h): the plain bytes in chunks of
// 1 MiB, each compressed with zstd and (unless the repository's encryption is "none")
// encrypted with libsodium's secretstream: "key" mode with a key derived from the repository's
// 32-byte secret key, "public-key" mode with a fresh file key sealed to the repository's public
// key, so a host holding only the public key can write backups but not read them. Every stored
// file can be checked against its name without any key.
//
// This class is the protocol (naming, write-once publishing, leases and trash, the caches); the
// Store is where the bytes live, so a second backend (object storage) needs no change here. All
// local I/O goes through the FileSystem seam. Not thread-safe; one writer at a time per
// repository (a second concurrent backup is not prevented in this version: documented).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ordo/db.h"
#include "ordo/file_system.h"
#include "repository/content_codec.h"
#include "repository/names.h"
#include "repository/store.h"

namespace ordo::repository {

struct RepositoryInfo {
  std::string repository_id;  // 32 hex digits
  int format_version = 1;
  std::string compression = "zstd";
  EncryptionMode encryption = EncryptionMode::kNone;
  std::string key_id;      // kKey: identifies the key (not secret), checked before use
  std::string public_key;  // kPublicKey: the public key, base64
  std::string created;     // RFC 3339
};

// Key material for opening a repository. Empty for "none"; the 32-byte secret key for "key";
// for "public-key", the public key is in the repository, and the secret key (to read) is
// needed only by restore and verify of contents.
struct KeyMaterial {
  std::string secret_key;  // raw bytes; empty when not given
  // Raw 32 bytes: the public half of a key pair (derived from a "secret-key" file, or read from
  // a PREFIX.pub file, which gives no secret_key). Empty for a symmetric key. Open() checks it
  // against the repository's public key when given.
  std::string public_key;
};

// Reads a key file written by `ordo keygen` (InvalidArgument naming the file if malformed):
// PREFIX.key of a symmetric key fills secret_key; PREFIX.key of a key pair fills secret_key and
// public_key; PREFIX.pub fills public_key only.
Status ReadKeyFile(FileSystem* fs, const std::string& path, KeyMaterial* key);
// Writes PREFIX.key (symmetric: 32 random bytes) or PREFIX.key + PREFIX.pub (key pair), mode
// 0600 for the secret; refuses to overwrite existing files.
Status GenerateKeyFiles(FileSystem* fs, const std::string& prefix, bool key_pair);

// One file of a backup, as the manifest lists it.
struct ManifestFile {
  std::string kind;           // "identity", "sealed-segment", "active-prefix", "checkpoint"
  std::string relative_path;  // where it goes in a restored data directory
  uint64_t plain_bytes = 0;
  std::string plain_sha256;  // hex, of the plain bytes
  std::string stored_name;   // hex SHA-256 of the stored bytes = its name under data/
  uint64_t stored_bytes = 0;
  uint64_t segment_id = 0;  // segments
  uint64_t first_lsn = 0;
  uint64_t last_lsn = 0;
  std::string segment_key;  // sealed segments: "<database id>:<segment id>:<footer checksum>"
};

struct Manifest {
  int format_version = 1;
  std::string backup_id;         // "<yyyymmddThhmmssZ>-<8 hex>": sorts by time
  std::string parent_backup_id;  // the previous backup in this repository, empty for the first
  std::string database_id;       // hex
  std::string started;           // RFC 3339
  std::string finished;
  uint64_t first_lsn = 0;
  uint64_t last_lsn = 0;
  int64_t first_commit_time_micros = 0;
  int64_t last_commit_time_micros = 0;
  StateDigest digest;  // at last_lsn
  uint64_t keys = 0;
  std::vector<ManifestFile> files;  // in restore order
  // Figures of the run that wrote it.
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t new_files = 0;
  double duration_seconds = 0;
};

// One piece of the continuous archive (docs/FORMAT.md, "Archive"): the bytes
// [start_offset, end_offset) of one log segment of one database, ending at a commit boundary
// (or, for the piece that completes a sealed segment, at the end of its seal footer). Stored as
// a content file like any other; described by a small write-once JSON file
// archive/<database id>/<segment id, 20 digits>-<start offset, 20 digits>.json, so the names
// sort in log order and a missing piece shows as a hole in the sequence.
struct ArchivePiece {
  int format_version = 1;
  std::string database_id;  // 32 hex digits
  uint64_t segment_id = 0;
  uint64_t start_offset = 0;  // 0: the piece starts with the segment header
  uint64_t end_offset = 0;    // > start_offset
  bool sealed = false;        // the piece ends with the seal footer: the segment is complete
  uint64_t first_lsn = 0;     // LSNs of the records that start in the piece; last < first
  uint64_t last_lsn = 0;      // when it holds none (a footer alone, a header alone)
  uint64_t records = 0;
  int64_t first_commit_time_micros = 0;
  int64_t last_commit_time_micros = 0;
  StateDigest digest;     // after the newest commit archived so far (last_lsn, or the
  uint64_t keys = 0;      // previous piece's when this one holds no record)
  std::string archived;   // RFC 3339 (microseconds) when the piece was published
  ManifestFile file;      // kind "archive-piece", relative_path "log/<segment>.seg"
  ManifestFile identity;  // kind "identity": the database's IDENTITY file

  // "<segment id, 20 digits>-<start offset, 20 digits>": the file name without ".json".
  std::string Name() const;
  // True if `next` starts exactly where this piece ends (same segment at end_offset, or the
  // next segment at 0 once this one is sealed) and its LSNs follow.
  bool IsFollowedBy(const ArchivePiece& next) const;
};

// A writer's lease (docs/FORMAT.md, "Leases and trash"): the content files a running backup or
// archiver relies on without having written them itself, published before the manifest or
// piece that names them, so that a concurrent prune keeps them. Stored as
// leases/<id>.json; the only repository files that are replaced (a writer republishes its own).
struct Lease {
  std::string id;      // 16 lowercase hex digits, random per writer
  std::string writer;  // what holds it: "backup <backup id>", "archive <database id>"
  std::string host;    // where it runs, and its process id
  int64_t pid = 0;
  int64_t created_micros = 0;
  int64_t refreshed_micros = 0;  // a lease not refreshed for kLeaseLifetimeSeconds is stale
  // Content files modified at or after this time (Unix micros) are the writer's own, not yet
  // referenced: prune keeps them. 0: none (the archiver, whose files are referenced within a
  // round).
  int64_t protect_since_micros = 0;
  std::vector<std::string> files;  // stored names it relies on
};
// A lease its writer has not refreshed for this long belongs to a writer that crashed: prune
// ignores it and removes it. Writers refresh theirs far more often (kLeaseRefreshSeconds).
inline constexpr int64_t kLeaseLifetimeSeconds = 24 * 3600;
inline constexpr int64_t kLeaseRefreshSeconds = 3600;

class Repository final {
 public:
  // Creates a repository at `path` (a missing or empty directory; its parent must exist). For
  // kKey, `key` must hold the secret key; for kPublicKey, `public_key` the public key (raw 32
  // bytes). InvalidArgument if a repository or other files are there already, or a key is
  // missing or malformed. ordo-repository.json is published last: it makes the repository.
  static Status Init(FileSystem* fs, const std::string& path, EncryptionMode mode,
                     const KeyMaterial& key, const std::string& public_key, RepositoryInfo* info);
  // Opens an existing repository. NotFound ("no repository at PATH") if there is none at
  // `path`; Corruption or NotSupported if its description is damaged or of an unknown version;
  // InvalidArgument ("wrong key ...") if `key` is given and does not match. A key given to an
  // unencrypted repository is ignored.
  static Result<std::unique_ptr<Repository>> Open(FileSystem* fs, const std::string& path,
                                                  const KeyMaterial& key);
  // Opens the repository kept in `store` (same errors as above; `path` in messages is the
  // store's description of its root).
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<Store> store,
                                                  const KeyMaterial& key);
  static Status Init(std::unique_ptr<Store> store, EncryptionMode mode, const KeyMaterial& key,
                     const std::string& public_key, RepositoryInfo* info);
  // Ends this object's lease, if any, as best it can.
  ~Repository();
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  const RepositoryInfo& info() const;
  // True if this process can read contents (not a public-key repository opened without the
  // secret key).
  bool CanRead() const;
  // True if this process can write backups (a "key" repository needs the key).
  bool CanWrite() const;

  // Stores the bytes read from `source` (called repeatedly with a buffer to fill; it returns
  // the count read, 0 at the end) as a content file, streaming with bounded memory (a few chunk
  // buffers, ~9 MiB on two cores, whatever the file's size; content_codec.h). `source` is
  // called on the calling thread only; chunks are compressed on helper threads, all ended when
  // this returns. Fills plain_bytes (the count read), plain_sha256,
  // stored_name and stored_bytes of `file`; leaves its other fields alone. The file is durable
  // under its final name when this returns OK. If the repository already holds the same plain
  // content (a file of this session or of any manifest, same plain SHA-256 and size), or a file
  // with the same stored name, that file is used and nothing new is published (encrypted
  // stored bytes differ on every write, so the plain hash is what finds the duplicate).
  // `written` (optional) gets the stored bytes newly published: 0 for a duplicate.
  // InvalidArgument if this process cannot write (CanWrite() false).
  using ReadChunk = repository::ReadChunk;
  Status PutFile(const ReadChunk& source, ManifestFile* file, uint64_t* written);

  // Streams a content file's plain bytes to `sink`, verifying the stored SHA-256 (its name),
  // the authentication of every encrypted chunk, and the plain SHA-256 and size the manifest
  // names. Corruption naming the file (and what differs) on any mismatch; InvalidArgument if
  // this process cannot read (CanRead() false: the secret key is missing). Bytes are handed to
  // `sink` as they are verified chunk by chunk; the whole-file hashes are checked at the end,
  // so on any error the caller must discard what `sink` received.
  using WriteChunk = repository::WriteChunk;
  Status ReadFile(const ManifestFile& file, const WriteChunk& sink);
  // Checks a content file without decrypting: it exists, its size is file.stored_bytes (when
  // not 0), and its bytes hash to its name. Corruption naming the file otherwise (a missing
  // file is Corruption too: the manifest says the repository holds it).
  Status CheckStored(const ManifestFile& file);

  // Finds a sealed segment already stored, by its segment_key, in any manifest (listed once and
  // cached; nullopt also when the listing fails or the stored file is gone, so that the caller
  // copies the segment again).
  std::optional<ManifestFile> FindSealedSegment(const std::string& segment_key);

  // Publishes a manifest (temporary name, fsync, rename, directory fsync). The manifest is
  // the backup: before this returns, the backup does not exist. InvalidArgument for a
  // malformed backup_id or one already used by a different manifest (an identical one is OK);
  // Busy, publishing nothing, if a file it lists is not in data/ once the files it reuses are
  // leased (a concurrent prune took it: the writer stores it again; see below).
  Status WriteManifest(const Manifest& manifest);
  // Every manifest, oldest first (by backup_id). Temporary files (".tmp-*") are ignored. A
  // manifest that does not parse or fails its checksum is reported as Corruption naming it.
  // NotFound from ReadManifest for an unknown id.
  Result<std::vector<Manifest>> ListManifests();
  Result<Manifest> ReadManifest(const std::string& backup_id);

  // The continuous archive. Publishes `piece`'s description (same protocol as a manifest,
  // Busy included: the content file it names must be durable already; an identical
  // description under the same name is OK, a different one is refused: the archive is never
  // rewritten).
  Status WriteArchivePiece(const ArchivePiece& piece);
  // The database ids (hex) that have an archive directory, sorted.
  Result<std::vector<std::string>> ListArchivedDatabases();
  // Every piece of `database_id_hex`'s archive, in log order (by name). A description that does
  // not parse or fails its checksum is Corruption naming it. An absent archive: empty.
  Result<std::vector<ArchivePiece>> ListArchivePieces(const std::string& database_id_hex);

  // ---- Writers and prune (docs/FORMAT.md, "Leases and trash").
  //
  // A writer publishes a lease naming every file its manifest or piece reuses (lists without
  // having written it through this object), then checks that each is still in data/, then
  // publishes the manifest or piece, so prune, which moves files to trash/ before it re-reads
  // what references them, either sees the lease or has moved the file before the check (then
  // WriteManifest / WriteArchivePiece return Busy naming it, and the writer stores it again).
  // WriteManifest and WriteArchivePiece do this themselves; a backup also calls BeginWrite at
  // its start, so the files it stores stay kept until its manifest names them, however long it
  // runs, and EndWrite at its end.

  // Publishes this object's lease for `writer`; with `protect_new_files`, every content file
  // stored from now on is kept by prune while the lease lives.
  Status BeginWrite(const std::string& writer, bool protect_new_files);
  // Removes this object's lease, if any (also done by the destructor, as best it can).
  Status EndWrite();
  // Every lease, stale ones included (the caller decides by refreshed_micros). A lease that
  // does not parse is Corruption naming it.
  Result<std::vector<Lease>> ListLeases();

  // Deletion, for prune only.
  Status RemoveArchivePiece(const ArchivePiece& piece);
  Status RemoveManifest(const std::string& backup_id);
  Result<std::vector<std::string>> ListStoredNames();  // data/ content files
  Status RemoveStored(const std::string& stored_name);
  // When a content file was last modified (written), Unix microseconds.
  Result<int64_t> StoredModifiedMicros(const std::string& stored_name);
  Status RemoveLease(const std::string& id);
  // Prune's two-phase removal: a content file moves from data/ to trash/ (readers still find
  // it there), then, once prune has re-read everything that references files, it is restored
  // to data/ or removed for good.
  Status TrashStored(const std::string& stored_name);
  // Back to data/; OK if it is there already (a writer stored it again) or gone.
  Status RestoreTrashed(const std::string& stored_name);
  Status RemoveTrashed(const std::string& stored_name);
  Result<std::vector<std::string>> ListTrashed();

 private:
  using PlainKey = std::pair<std::string, uint64_t>;  // plain SHA-256, plain bytes

  Repository(std::unique_ptr<Store> store, RepositoryInfo info, ContentKeys keys, bool can_read,
             bool can_write);

  // Where a content file is: data/, or trash/ while a prune decides about it (readers read it
  // there), or "" if neither.
  std::string StoredName(const std::string& stored_name);
  // StoredName, or Corruption naming data/<stored_name> as missing (a manifest names it).
  Result<std::string> LocateStored(const std::string& stored_name);
  // Publishes lease_ (replacing this writer's earlier version), refreshed now.
  Status PublishLease();
  // Republishes the lease once it is kLeaseRefreshSeconds old.
  Status RefreshLeaseIfDue();
  // The writer's side of the protocol (above): leases the files `what` reuses, then checks that
  // every file it names is in data/. Busy naming a reused file that is gone (a concurrent prune
  // took it: store it again); Corruption for a file of this writer's own.
  Status PinAndCheck(const std::vector<const ManifestFile*>& files, const std::string& what);
  // Publishes a small JSON file write-once: OK if the same bytes are there already (then
  // `published` is false), InvalidArgument (`conflict`) if other bytes are.
  Status PublishJson(const std::string& name, const std::string& json, const std::string& conflict,
                     bool* published);
  Status CannotWrite() const;
  Status CannotRead() const;
  // Lists the manifests once, for the caches; a failure leaves the caches partial (then a
  // duplicate is merely stored again).
  void EnsureListed();
  void Remember(const ManifestFile& file);
  void RebuildKnown();
  // Streams a stored file through SHA-256.
  Status HashStored(const std::string& name, std::string* sha256_hex, uint64_t* size);

  const std::unique_ptr<Store> store_;
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

}  // namespace ordo::repository
