// Key material of encrypted repositories (libsodium), and the key files `ordo keygen` writes.
//
// Key file (docs/FORMAT.md, "Key files"): two text lines,
//   "ordo-key-v1 <type>\n<base64 of 32 bytes>\n"
// where <type> is "symmetric" (a repository key for "key" mode), "secret-key" (the X25519 secret
// half of a key pair, for reading a "public-key" repository) or "public-key" (its public half,
// enough to write backups). Files holding a secret are created with mode 0600.
#pragma once

#include <string>
#include <string_view>

#include "ordo/file_system.h"
#include "ordo/status.h"

namespace ordo::repository {

inline constexpr size_t kKeyBytes = 32;  // every key ordo stores: symmetric, X25519 secret, public
inline constexpr char kKeyFileMagic[] = "ordo-key-v1";

// sodium_init(), once per process; Failed if libsodium cannot start (no entropy source).
Status InitSodium();

// `count` random bytes from libsodium's CSPRNG, as lowercase hex (2 * count characters).
std::string RandomHex(size_t count);

// Identifies a symmetric key without revealing it: the first 16 hex digits of SHA-256(key).
std::string KeyId(std::string_view secret_key);
// The X25519 public key of a secret key (crypto_scalarmult_base).
std::string PublicKeyFromSecret(std::string_view secret_key);
// The key content files are encrypted with in "key" mode: crypto_kdf subkey 1, context
// "ordo-blk", of the repository key, so the key itself is used for nothing but derivation.
std::string ContentKeyFromRepositoryKey(std::string_view secret_key);

// Publishes a key file atomically (temporary name, fsync, rename, directory fsync); refuses with
// InvalidArgument if `path` exists. `secret` files get mode 0600 before any byte is written.
Status WriteKeyFile(FileSystem* fs, const std::string& path, const std::string& type,
                    std::string_view key, bool secret);

}  // namespace ordo::repository
