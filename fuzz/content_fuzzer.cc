// Fuzz harness for the content-file decoder (src/repository/content_codec.cc, DecodeContent). A
// repository's content file is checked against its name (a SHA-256) only after it has been
// decoded, so the decoder sees untrusted bytes: lengths, chunk sizes, zstd frames, sealed keys
// and encrypted frames must give Corruption or NotSupported, never a crash, an out-of-bounds
// access or an allocation sized by a field of the file.
//
// Input: byte 0 picks the repository's encryption mode (bits 0-1: none, key, public-key) and
// the number of decoding threads (bit 2: 1 or 2); the rest is the stored file. With bit 3 the
// rest is instead plain bytes that the harness encodes with EncodeContent and then damages
// with the input's last bytes as xor patches, so the fuzzer starts from valid files of every
// mode. Fixed keys: a fuzzer cannot forge an authenticated frame, so raw encrypted inputs
// mostly exercise the header and framing checks before authentication.
//
// With bit 4 (and an encrypted mode) the harness forges a file with the fixed keys, which
// reaches the checks after authentication: tags in the wrong place, frames after the final tag,
// bad end frames, zstd data that only decrypts. Input after byte 0: one byte choosing
// chunk_plain_bytes (0 keeps the writer's), then frame specs, each [op][length][length bytes]:
// op bits 0-1 the stream tag (MESSAGE, PUSH, REKEY, FINAL); bits 2-3 what the plain frame is:
// 0 the bytes as they are, 1 a data frame holding the bytes zstd-compressed, 2 an end frame with
// the right total and SHA-256 of the data frames' bytes so far, 3 an end frame claiming one
// byte more. Bit 4 of op appends the spec's bytes raw after the frames (trailing garbage).
// A forged file that is well formed (data frames of 1 .. chunk_plain_bytes bytes with
// TAG_MESSAGE, then one true end frame with TAG_FINAL, then nothing) must decode, to its bytes;
// one that is certainly not (a data frame without TAG_MESSAGE, an end frame without TAG_FINAL or
// with a false total, anything after an end frame, an empty or oversized data frame, no end
// frame at all) must not decode.
#include <sodium.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "io/memory_file_system.h"
#include "repository/content_codec.h"
#include "repository/keys.h"
#include "util/coding.h"
#include "util/sha256.h"

namespace {

using namespace ordo;

constexpr uint8_t kTwoWorkers = 4;
constexpr uint8_t kEncodeFirst = 8;
constexpr uint8_t kForgeFrames = 16;
const std::string kPath = "repo/data/fuzz";

repository::ContentKeys KeysFor(uint8_t flags) {
  static const std::string secret_key(repository::kKeyBytes, 'k');
  static const std::string box_public_key = [] {
    std::string public_key(crypto_box_PUBLICKEYBYTES, '\0');
    FUZZ_CHECK(crypto_scalarmult_base(reinterpret_cast<unsigned char*>(public_key.data()),
                                      reinterpret_cast<const unsigned char*>(secret_key.data())) ==
               0);
    return public_key;
  }();
  repository::ContentKeys keys;
  switch (flags & 3) {
    case 1:
      keys.mode = repository::EncryptionMode::kKey;
      keys.content_key = repository::ContentKeyFromRepositoryKey(secret_key);
      break;
    case 2:
      keys.mode = repository::EncryptionMode::kPublicKey;
      keys.public_key = box_public_key;
      keys.secret_key = secret_key;
      break;
    default:
      keys.mode = repository::EncryptionMode::kNone;
      break;
  }
  return keys;
}

// Encodes `plain` as a content file, then xors `patches` (3 bytes each: u16 offset, xor byte).
std::string EncodeAndDamage(const repository::ContentKeys& keys, std::string_view plain,
                            std::string_view patches) {
  MemoryFileSystem fs{MemoryFileSystem::Repairs::kRefuse};
  auto file = fs.NewWritableFile(kPath);
  FUZZ_CHECK(file.ok());
  size_t offset = 0;
  const repository::ReadChunk source = [&](char* buffer, size_t capacity) -> Result<size_t> {
    const size_t count = std::min(capacity, plain.size() - offset);
    std::memcpy(buffer, plain.data() + offset, count);
    offset += count;
    return count;
  };
  repository::ContentSummary summary;
  FUZZ_CHECK(repository::EncodeContent(keys, source, file->get(), &summary, 1).ok());
  auto stored = ReadFileToString(&fs, kPath);
  FUZZ_CHECK(stored.ok());
  std::string bytes = *stored;
  for (size_t at = 0; at + 3 <= patches.size(); at += 3) {
    const size_t where =
        (static_cast<uint8_t>(patches[at]) | static_cast<uint8_t>(patches[at + 1]) << 8) %
        bytes.size();
    bytes[where] = static_cast<char>(bytes[where] ^ patches[at + 2]);
  }
  return bytes;
}

struct Forged {
  std::string stored;
  bool well_formed = false;  // so it must decode
  bool malformed = false;    // so it must not
  uint64_t plain_bytes = 0;  // of its data frames
};

// The stored file the spec in `input` describes (see the top of this file), encrypted under the
// fixed keys of `keys.mode` (kKey or kPublicKey) as a writer holding them would.
Forged ForgeEncrypted(const repository::ContentKeys& keys, std::string_view input) {
  const auto byte_at = [&](size_t at) { return static_cast<uint8_t>(input[at]); };
  if (input.empty()) return Forged{};
  const uint32_t chunk_plain_bytes =
      byte_at(0) == 0 ? repository::kChunkPlainBytes : byte_at(0) * 97u;
  std::string header(repository::kContentMagic, 8);
  header.push_back(static_cast<char>(repository::kContentVersion));
  header.push_back(static_cast<char>(keys.mode == repository::EncryptionMode::kKey ? 1 : 2));
  header.push_back(static_cast<char>(repository::kCompressionZstd));
  header.push_back('\0');
  PutFixed32(&header, chunk_plain_bytes);
  std::string stored = header;
  std::string stream_key = keys.content_key;
  if (keys.mode == repository::EncryptionMode::kPublicKey) {
    stream_key.assign(repository::kKeyBytes, '\x5a');
    std::string sealed(crypto_box_SEALBYTES + repository::kKeyBytes, '\0');
    FUZZ_CHECK(crypto_box_seal(
                   reinterpret_cast<unsigned char*>(sealed.data()),
                   reinterpret_cast<const unsigned char*>(stream_key.data()), stream_key.size(),
                   reinterpret_cast<const unsigned char*>(keys.public_key.data())) == 0);
    stored += sealed;
  }
  crypto_secretstream_xchacha20poly1305_state stream;
  std::string stream_header(crypto_secretstream_xchacha20poly1305_HEADERBYTES, '\0');
  crypto_secretstream_xchacha20poly1305_init_push(
      &stream, reinterpret_cast<unsigned char*>(stream_header.data()),
      reinterpret_cast<const unsigned char*>(stream_key.data()));
  stored += stream_header;

  static const unsigned char kTags[] = {crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
                                        crypto_secretstream_xchacha20poly1305_TAG_PUSH,
                                        crypto_secretstream_xchacha20poly1305_TAG_REKEY,
                                        crypto_secretstream_xchacha20poly1305_TAG_FINAL};
  std::string plain;  // every data frame's bytes so far (inputs are small)
  std::string trailing;
  bool well_formed_so_far = true;  // only true data frames, no end frame yet
  bool ended_well = false;         // ... and then one true end frame
  bool malformed = false;
  bool saw_end = false;  // an end frame (true or false) was forged
  bool saw_raw = false;  // a raw frame may be anything, an end frame too
  size_t at = 1;
  while (at + 2 <= input.size()) {
    const uint8_t op = byte_at(at);
    const std::string_view bytes =
        input.substr(at + 2, std::min<size_t>(byte_at(at + 1), input.size() - at - 2));
    at += 2 + bytes.size();
    std::string frame;
    const unsigned char tag = kTags[op & 3];
    const bool was_ended_well = ended_well;
    ended_well = false;
    const bool after_end = saw_end;
    switch ((op >> 2) & 3) {
      case 0:
        frame.assign(bytes);
        well_formed_so_far = false;
        saw_raw = true;
        break;
      case 1: {
        frame.assign(1, '\1');  // data
        std::string compressed(ZSTD_compressBound(bytes.size()), '\0');
        const size_t size =
            ZSTD_compress(compressed.data(), compressed.size(), bytes.data(), bytes.size(), 1);
        FUZZ_CHECK(!ZSTD_isError(size));
        frame.append(compressed, 0, size);
        plain.append(bytes);
        const bool good = !bytes.empty() && bytes.size() <= chunk_plain_bytes &&
                          tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        well_formed_so_far = well_formed_so_far && !was_ended_well && good;
        malformed = malformed || !good;
        break;
      }
      default: {
        frame.assign(1, '\2');  // end
        PutFixed64(&frame, plain.size() + ((op >> 2) & 3) - 2);
        Sha256 plain_hash;
        plain_hash.Update(plain);
        frame += plain_hash.Finish();
        const bool good =
            ((op >> 2) & 3) == 2 && tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
        ended_well = well_formed_so_far && !was_ended_well && good;
        well_formed_so_far = false;
        malformed = malformed || !good;
        saw_end = true;
        break;
      }
    }
    if (frame.empty()) continue;  // the encrypted frame's minimum: a kind byte
    if (after_end) malformed = true;
    std::string sealed(frame.size() + crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
    FUZZ_CHECK(crypto_secretstream_xchacha20poly1305_push(
                   &stream, reinterpret_cast<unsigned char*>(sealed.data()), nullptr,
                   reinterpret_cast<const unsigned char*>(frame.data()), frame.size(),
                   reinterpret_cast<const unsigned char*>(header.data()), header.size(), tag) == 0);
    PutFixed32(&stored, static_cast<uint32_t>(sealed.size()));
    stored += sealed;
    if (op & 16) trailing.append(bytes);
  }
  const bool well_formed = ended_well && trailing.empty();
  malformed = malformed || (saw_end && !trailing.empty()) || (!saw_end && !saw_raw);
  return Forged{stored + trailing, well_formed, malformed, plain.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const repository::ContentKeys keys = KeysFor(flags);
  std::string stored(reinterpret_cast<const char*>(data) + 1, size - 1);
  Forged forged;
  if ((flags & kForgeFrames) && keys.mode != repository::EncryptionMode::kNone) {
    forged =
        ForgeEncrypted(keys, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    stored = forged.stored;
  } else if (flags & kEncodeFirst) {
    // Byte 1 says how many of the input's last bytes are patches (a multiple of 3).
    const size_t patch_bytes = std::min<size_t>(3 * (data[1] % 8), size - 2);
    const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    stored = EncodeAndDamage(keys, rest.substr(0, rest.size() - patch_bytes),
                             rest.substr(rest.size() - patch_bytes));
  }
  MemoryFileSystem fs{MemoryFileSystem::Repairs::kRefuse};
  fs.SetFile(kPath, stored);
  auto file = fs.NewRandomAccessFile(kPath);
  FUZZ_CHECK(file.ok());
  uint64_t sunk = 0;
  const repository::WriteChunk sink = [&](std::string_view bytes) {
    sunk += bytes.size();
    return Status::Ok();
  };
  repository::ContentSummary summary;
  const size_t workers = (flags & kTwoWorkers) ? 2 : 1;
  const Status status =
      repository::DecodeContent(keys, **file, stored.size(), sink, &summary, workers);
  if (forged.well_formed) {
    FUZZ_CHECK(status.ok());
    FUZZ_CHECK(sunk == forged.plain_bytes);
  }
  if (forged.malformed) FUZZ_CHECK(!status.ok());
  if (status.ok()) {
    FUZZ_CHECK(summary.plain_bytes == sunk);
    FUZZ_CHECK(summary.stored_bytes == stored.size());
  }
  return 0;
}
