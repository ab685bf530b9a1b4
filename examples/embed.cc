// Embedding ordo through its public headers alone (include/ordo/): open a database, write,
// read, scan, write a batch atomically, close, reopen and find everything there.
//
//   example_embed DIRECTORY      (a new or empty directory; exits 0 when every step held)
//
// Built and run by the tests (ctest: example.embed) with only include/ on its include path.
#include <cstdio>
#include <memory>
#include <string>

#include "ordo/db.h"

namespace {

int Fail(const char* step, const ordo::Status& status) {
  std::fprintf(stderr, "example_embed: %s: %s\n", step, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: example_embed DIRECTORY\n");
    return 2;
  }
  const std::string directory = argv[1];
  ordo::Options options;  // sync_mode kAlways: a write returns once it is on disk
  // The caller owns the DB; destroying it closes it (Close() reports what closing found).
  ordo::Result<std::unique_ptr<ordo::DB>> opened = ordo::DB::Open(options, directory);
  if (!opened.ok()) return Fail("open", opened.status());
  std::unique_ptr<ordo::DB> db = std::move(*opened);

  ordo::Status status;
  if (status = db->Put("fruit:apple", "red"); !status.ok()) return Fail("put", status);
  ordo::WriteBatch batch;  // all or nothing, in one log record
  batch.Put("fruit:banana", "yellow");
  batch.Put("fruit:cherry", "dark red");
  batch.Delete("fruit:apple");
  if (status = db->Write(batch); !status.ok()) return Fail("write", status);

  std::string value;
  if (status = db->Get("fruit:banana", &value); !status.ok()) return Fail("get", status);
  if (value != "yellow") return Fail("get", ordo::Status::Corruption("banana is " + value));
  if (!db->Get("fruit:apple", &value).IsNotFound()) {
    return Fail("get", ordo::Status::Corruption("apple was deleted"));
  }

  std::string keys;
  status = db->ForEach("fruit:", "fruit;",
                       [&](std::string_view key, std::string_view, const ordo::ReadInfo&) {
                         keys.append(key).append(" ");
                         return true;
                       });
  if (!status.ok()) return Fail("for each", status);
  if (keys != "fruit:banana fruit:cherry ") return Fail("for each", ordo::Status::Corruption(keys));

  const ordo::StateDigest digest = db->Digest();
  if (status = db->Close(); !status.ok()) return Fail("close", status);
  db.reset();

  opened = ordo::DB::Open(options, directory);
  if (!opened.ok()) return Fail("reopen", opened.status());
  db = std::move(*opened);
  if (!(db->Digest() == digest) || db->CountKeys() != 2) {
    return Fail("reopen", ordo::Status::Corruption("the state after reopening differs"));
  }
  std::printf("example_embed: %llu keys, digest %s\n",
              static_cast<unsigned long long>(db->CountKeys()), db->Digest().ToHex().c_str());
  return 0;
}
