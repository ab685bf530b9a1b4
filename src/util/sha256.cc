#include "util/sha256.h"

#include <openssl/evp.h>

#include <cassert>

namespace ordo {

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  // Allocation failure of a 200-byte context is not a condition ordo can report usefully.
  assert(context_ != nullptr);
  const int initialized =
      EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), EVP_sha256(), nullptr);
  assert(initialized == 1);
  (void)initialized;
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Sha256::Update(std::string_view bytes) {
  assert(!finished_);
  if (bytes.empty()) return;
  const int updated =
      EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), bytes.data(), bytes.size());
  assert(updated == 1);
  (void)updated;
}

std::string Sha256::Finish() {
  assert(!finished_);
  finished_ = true;
  std::string digest(kSha256Bytes, '\0');
  unsigned int length = 0;
  const int done = EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_),
                                      reinterpret_cast<unsigned char*>(digest.data()), &length);
  assert(done == 1 && length == kSha256Bytes);
  (void)done;
  return digest;
}

std::string Sha256::FinishHex() { return ToHex(Finish()); }

std::string Sha256Hex(std::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes);
  return hash.FinishHex();
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    hex.push_back(kDigits[value >> 4]);
    hex.push_back(kDigits[value & 0x0f]);
  }
  return hex;
}

namespace {
bool IsLowerHex(std::string_view text, size_t size) {
  if (text.size() != size) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

bool IsSha256Hex(std::string_view text) { return IsLowerHex(text, kSha256HexBytes); }

bool IsDatabaseIdHex(std::string_view text) { return IsLowerHex(text, 32); }

}  // namespace ordo
