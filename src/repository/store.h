// Where a repository's files live: the backend interface. A repository (repository.h) is a
// protocol over a handful of operations on named files; a Store provides them, today for a
// local directory (local_store.h), later for an object-storage bucket.
//
// Names are relative, '/'-separated paths: "ordo-repository.json", "data/<sha256>",
// "manifests/<backup id>.json", "archive/<database id>/<piece>.json", "leases/<id>.json",
// "trash/<sha256>". A store never interprets them.
//
// What a store must guarantee (the repository's invariants rest on these):
// - Put and NewFile+Commit are write-once: an existing name is never overwritten (the new bytes
//   are discarded and `published` is false); a name appears only with all its bytes, durable.
// - Replace is the one overwrite (leases only), atomic: a reader sees the old or the new bytes.
// - Remove and Move are durable when they return; after a crash during Move the file is under
//   one of the two names, never none or both-missing.
// - Listing a directory that does not exist is NotFound (the caller decides whether that is an
//   empty archive or a damaged repository).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/file_system.h"
#include "ordo/status.h"

namespace ordo::repository {

class Store {
 public:
  // A file being written: bytes go to file(), then Commit publishes them under a name chosen
  // when they are all written (a content file is named by the hash of its bytes). Destroying
  // it uncommitted discards the bytes.
  class NewFile {
   public:
    virtual ~NewFile() = default;
    virtual WritableFile* file() = 0;
    // Publishes under `name` (write-once, see above), durable on return; `published` says
    // whether this call created it. Commit once.
    virtual Status Commit(const std::string& name, bool* published) = 0;
  };

  virtual ~Store() = default;

  // `name` as an operator should read it in a message: "/backups/repo/data/ab12...".
  virtual std::string Describe(const std::string& name) const = 0;

  // Creates the store's root if missing, durably (OK if it exists).
  virtual Status CreateRoot() = 0;
  // Creates `directory` if missing, durably. (A bucket has no directories: nothing to do.)
  virtual Status MakeDirectory(const std::string& directory) = 0;

  // A new file that Commit will name within `directory`.
  virtual Result<std::unique_ptr<NewFile>> Create(const std::string& directory) = 0;
  // Replaces `name` with `contents` atomically (leases only).
  virtual Status Replace(const std::string& name, std::string_view contents) = 0;

  // False also when it cannot be told (the caller's next read fails with the real error).
  virtual bool Exists(const std::string& name) = 0;
  virtual Result<uint64_t> Size(const std::string& name) = 0;
  // When the file was last written, Unix microseconds.
  virtual Result<int64_t> ModifiedMicros(const std::string& name) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& name) = 0;
  // The names directly under `directory` ("" is the root), in no particular order, without the
  // store's own temporaries.
  virtual Result<std::vector<std::string>> List(const std::string& directory) = 0;

  virtual Status Remove(const std::string& name) = 0;
  virtual Status Move(const std::string& from, const std::string& to) = 0;

  // Write-once publish of a small file: Create + Append + Commit.
  Status Put(const std::string& name, std::string_view contents, bool* published);
  // The whole of a small file; Corruption ("PATH: N bytes, too large for <what>") if it is
  // larger than `max_bytes`: not one of ours.
  Result<std::string> ReadSmall(const std::string& name, uint64_t max_bytes, std::string_view what);
};

// "a/b" -> "a"; "b" -> "".
std::string ParentName(const std::string& name);

}  // namespace ordo::repository
