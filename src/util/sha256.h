// SHA-256 (OpenSSL EVP). The backup repository names content files by the SHA-256 of their
// stored bytes, and manifests record the SHA-256 of the plain bytes (docs/FORMAT.md, "Backup
// repository").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ordo {

inline constexpr size_t kSha256Bytes = 32;
inline constexpr size_t kSha256HexBytes = 2 * kSha256Bytes;

// Streaming SHA-256; Finish() may be called once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // The 32 raw bytes of the digest.
  std::string Finish();
  // Lowercase hex of the digest (64 characters).
  std::string FinishHex();

 private:
  void* context_;  // EVP_MD_CTX, opaque here to keep OpenSSL out of every includer
  bool finished_ = false;
};

std::string Sha256Hex(std::string_view bytes);
std::string ToHex(std::string_view bytes);
// True for exactly 64 lowercase hex digits: a content file name.
bool IsSha256Hex(std::string_view text);
// True for exactly 32 lowercase hex digits: a database id as repositories name it.
bool IsDatabaseIdHex(std::string_view text);

}  // namespace ordo
