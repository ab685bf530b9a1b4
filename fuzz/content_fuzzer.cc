// Fuzz harness for the content-file decoder (src/backup/content_codec.cc, DecodeContent). A
// repository's content file is checked against its name (a SHA-256) only after it has been
// decoded, so the decoder sees untrusted bytes: lengths, chunk sizes, zstd frames, sealed keys
// and encrypted frames must give Corruption or NotSupported, never a crash, an out-of-bounds
// access or an allocation sized by a field of the file.
//
// Input: byte 0 picks the repository's encryption mode (bits 0-1: none, key, public-key) and
// the number of decoding threads (bit 2: 1 or 2); the rest is the stored file. With bit 3 the
// rest is instead plain bytes that the harness encodes with EncodeContent and then damages
// with the input's last bytes as xor patches, so the fuzzer starts from valid files of every
// mode. Fixed keys: a fuzzer cannot forge an authenticated frame, so encrypted inputs mostly
// exercise the header and framing checks before authentication.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <sodium.h>

#include "backup/content_codec.h"
#include "backup/keys.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/memory_file_system.h"

namespace {

using namespace ordo;

constexpr uint8_t kTwoWorkers = 4;
constexpr uint8_t kEncodeFirst = 8;
const std::string kPath = "repo/data/fuzz";

backup::ContentKeys KeysFor(uint8_t flags) {
  static const std::string secret_key(backup::kKeyBytes, 'k');
  static const std::string box_public_key = [] {
    std::string public_key(crypto_box_PUBLICKEYBYTES, '\0');
    FUZZ_CHECK(crypto_scalarmult_base(reinterpret_cast<unsigned char*>(public_key.data()),
                                      reinterpret_cast<const unsigned char*>(secret_key.data())) == 0);
    return public_key;
  }();
  backup::ContentKeys keys;
  switch (flags & 3) {
    case 1:
      keys.mode = backup::EncryptionMode::kKey;
      keys.content_key = backup::ContentKeyFromRepositoryKey(secret_key);
      break;
    case 2:
      keys.mode = backup::EncryptionMode::kPublicKey;
      keys.public_key = box_public_key;
      keys.secret_key = secret_key;
      break;
    default:
      keys.mode = backup::EncryptionMode::kNone;
      break;
  }
  return keys;
}

// Encodes `plain` as a content file, then xors `patches` (3 bytes each: u16 offset, xor byte).
std::string EncodeAndDamage(const backup::ContentKeys& keys, std::string_view plain,
                            std::string_view patches) {
  fuzz::MemoryFileSystem fs;
  auto file = fs.NewWritableFile(kPath);
  FUZZ_CHECK(file.ok());
  size_t offset = 0;
  const backup::Repository::ReadChunk source = [&](char* buffer, size_t capacity) -> Result<size_t> {
    const size_t count = std::min(capacity, plain.size() - offset);
    std::memcpy(buffer, plain.data() + offset, count);
    offset += count;
    return count;
  };
  backup::ContentSummary summary;
  FUZZ_CHECK(backup::EncodeContent(keys, source, file->get(), &summary, 1).ok());
  auto stored = ReadFileToString(&fs, kPath);
  FUZZ_CHECK(stored.ok());
  std::string bytes = *stored;
  for (size_t at = 0; at + 3 <= patches.size(); at += 3) {
    const size_t where = (static_cast<uint8_t>(patches[at]) |
                          static_cast<uint8_t>(patches[at + 1]) << 8) % bytes.size();
    bytes[where] = static_cast<char>(bytes[where] ^ patches[at + 2]);
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const backup::ContentKeys keys = KeysFor(flags);
  std::string stored(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (flags & kEncodeFirst) {
    // Byte 1 says how many of the input's last bytes are patches (a multiple of 3).
    const size_t patch_bytes = std::min<size_t>(3 * (data[1] % 8), size - 2);
    const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    stored = EncodeAndDamage(keys, rest.substr(0, rest.size() - patch_bytes),
                             rest.substr(rest.size() - patch_bytes));
  }
  fuzz::MemoryFileSystem fs;
  fs.SetFile(kPath, stored);
  auto file = fs.NewRandomAccessFile(kPath);
  FUZZ_CHECK(file.ok());
  uint64_t sunk = 0;
  const backup::Repository::WriteChunk sink = [&](std::string_view bytes) {
    sunk += bytes.size();
    return Status::Ok();
  };
  backup::ContentSummary summary;
  const size_t workers = (flags & kTwoWorkers) ? 2 : 1;
  const Status status =
      backup::DecodeContent(keys, **file, stored.size(), sink, &summary, workers);
  if (status.ok()) {
    FUZZ_CHECK(summary.plain_bytes == sunk);
    FUZZ_CHECK(summary.stored_bytes == stored.size());
  }
  return 0;
}
