#include "repository/keys.h"

#include <sodium.h>

#include <cassert>

#include "io/atomic_file.h"
#include "repository/repository.h"
#include "util/base64.h"
#include "util/sha256.h"

namespace ordo::repository {
namespace {

// Splits "line1\nline2\n" into its two trimmed lines; false if it is not exactly two lines.
bool SplitKeyFile(std::string_view text, std::string* header, std::string* body) {
  const auto trim = [](std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    return std::string(line);
  };
  const size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return false;
  *header = trim(text.substr(0, newline));
  std::string_view rest = text.substr(newline + 1);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
  if (rest.find('\n') != std::string_view::npos) return false;
  *body = trim(rest);
  return true;
}

}  // namespace

Status InitSodium() {
  static const int result = sodium_init();
  if (result < 0) return Status::Failed("libsodium failed to initialize (sodium_init)");
  return Status::Ok();
}

std::string RandomHex(size_t count) {
  const Status started = InitSodium();
  assert(started.ok());
  (void)started;
  std::string bytes(count, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return ToHex(bytes);
}

std::string KeyId(std::string_view secret_key) { return Sha256Hex(secret_key).substr(0, 16); }

std::string PublicKeyFromSecret(std::string_view secret_key) {
  assert(secret_key.size() == crypto_scalarmult_SCALARBYTES);
  std::string public_key(crypto_scalarmult_BYTES, '\0');
  const int done =
      crypto_scalarmult_base(reinterpret_cast<unsigned char*>(public_key.data()),
                             reinterpret_cast<const unsigned char*>(secret_key.data()));
  assert(done == 0);
  (void)done;
  return public_key;
}

std::string ContentKeyFromRepositoryKey(std::string_view secret_key) {
  static_assert(crypto_kdf_KEYBYTES == kKeyBytes);
  static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == kKeyBytes);
  assert(secret_key.size() == kKeyBytes);
  std::string content_key(kKeyBytes, '\0');
  const int done = crypto_kdf_derive_from_key(
      reinterpret_cast<unsigned char*>(content_key.data()), content_key.size(), 1, "ordo-blk",
      reinterpret_cast<const unsigned char*>(secret_key.data()));
  assert(done == 0);
  (void)done;
  return content_key;
}

Status WriteKeyFile(FileSystem* fs, const std::string& path, const std::string& type,
                    std::string_view key, bool secret) {
  if (fs->FileExists(path)) {
    return Status::InvalidArgument(path + ": exists already; refusing to overwrite a key file");
  }
  // The secret is owner-only before its first byte is written.
  ORDO_ASSIGN_OR_RETURN(
      auto file, AtomicFile::Create(fs, path + ".tmp-" + RandomHex(8),
                                    {.overwrite = Overwrite::kKeepExisting, .owner_only = secret}));
  ORDO_RETURN_IF_ERROR(file->file()->Append(std::string(kKeyFileMagic) + " " + type + "\n" +
                                            Base64Encode(key) + "\n"));
  bool published = false;
  ORDO_RETURN_IF_ERROR(file->Commit(path, &published));
  if (!published) {
    return Status::InvalidArgument(path + ": exists already; refusing to overwrite a key file");
  }
  return Status::Ok();
}

Status ReadKeyFile(FileSystem* fs, const std::string& path, KeyMaterial* key) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  *key = KeyMaterial();
  ORDO_ASSIGN_OR_RETURN(const uint64_t size, fs->GetFileSize(path));
  if (size > 4096) return Status::InvalidArgument(path + ": not an ordo key file (too large)");
  ORDO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, path));
  std::string header;
  std::string body;
  const std::string prefix = std::string(kKeyFileMagic) + " ";
  if (!SplitKeyFile(text, &header, &body) || !header.starts_with(prefix)) {
    sodium_memzero(text.data(), text.size());
    return Status::InvalidArgument(path + ": not an ordo key file (expected a first line \"" +
                                   prefix + "symmetric|secret-key|public-key\" and a base64 line)");
  }
  sodium_memzero(text.data(), text.size());
  const std::string type = header.substr(prefix.size());
  Result<std::string> bytes = Base64Decode(body);
  sodium_memzero(body.data(), body.size());
  if (!bytes.ok() || bytes->size() != kKeyBytes) {
    return Status::InvalidArgument(path + ": malformed key: expected base64 of " +
                                   std::to_string(kKeyBytes) + " bytes");
  }
  if (type == "symmetric") {
    key->secret_key = std::move(*bytes);
  } else if (type == "secret-key") {
    key->public_key = PublicKeyFromSecret(*bytes);
    key->secret_key = std::move(*bytes);
  } else if (type == "public-key") {
    key->public_key = std::move(*bytes);
  } else {
    return Status::InvalidArgument(path + ": unknown key type \"" + type +
                                   "\" (expected symmetric, secret-key or public-key)");
  }
  return Status::Ok();
}

Status GenerateKeyFiles(FileSystem* fs, const std::string& prefix, bool key_pair) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  const std::string secret_path = prefix + ".key";
  const std::string public_path = prefix + ".pub";
  // Check both names first, so a refusal leaves nothing half-written.
  for (const std::string& path : {secret_path, public_path}) {
    if ((key_pair || path == secret_path) && fs->FileExists(path)) {
      return Status::InvalidArgument(path + ": exists already; refusing to overwrite a key file");
    }
  }
  std::string secret_key(kKeyBytes, '\0');
  if (!key_pair) {
    randombytes_buf(secret_key.data(), secret_key.size());
    Status status = WriteKeyFile(fs, secret_path, "symmetric", secret_key, true);
    sodium_memzero(secret_key.data(), secret_key.size());
    return status;
  }
  std::string public_key(crypto_box_PUBLICKEYBYTES, '\0');
  static_assert(crypto_box_SECRETKEYBYTES == kKeyBytes && crypto_box_PUBLICKEYBYTES == kKeyBytes);
  crypto_box_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                     reinterpret_cast<unsigned char*>(secret_key.data()));
  // The secret first: a public key whose secret was never saved would make unreadable backups.
  Status status = WriteKeyFile(fs, secret_path, "secret-key", secret_key, true);
  sodium_memzero(secret_key.data(), secret_key.size());
  ORDO_RETURN_IF_ERROR(status);
  return WriteKeyFile(fs, public_path, "public-key", public_key, false);
}

}  // namespace ordo::repository
