// The stored form of a repository content file (docs/FORMAT.md, "Content file"): a header, then
// frames of at most kChunkPlainBytes plain bytes each, zstd-compressed one by one and, in an
// encrypted repository, sealed one by one with libsodium's crypto_secretstream_xchacha20poly1305,
// then an end frame that carries the plain size and SHA-256 (and, encrypted, the stream's
// TAG_FINAL, so a truncated file is detected without any outside information).
//
// Why chunks: memory stays bounded (a fixed number of chunk buffers) whatever the file's size,
// each encrypted chunk is authenticated before a byte of it is handed on, and chunks can be
// compressed on several cores at once (each data frame is an independent zstd frame).
//
//   header   16 bytes: "ORDOBLK1", version 1, encryption 0|1|2, compression 1 (zstd), 0,
//            chunk_plain_bytes u32
//   crypto   none: nothing; key: 24-byte stream header; public-key: 80-byte sealed file key
//            (crypto_box_seal to the repository's X25519 key) then the 24-byte stream header
//   frames   u32 stored_frame_bytes, then the frame (plain: kind byte + payload; encrypted: the
//            secretstream ciphertext of that, 17 bytes longer, with the 16 header bytes as
//            additional data); kind 1 = data (a zstd frame), kind 2 = end (u64 plain bytes,
//            32-byte plain SHA-256); nothing may follow the end frame.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ordo/file_system.h"

namespace ordo::repository {

inline constexpr char kContentMagic[] = "ORDOBLK1";  // 8 bytes, no NUL stored
inline constexpr uint8_t kContentVersion = 1;
inline constexpr uint8_t kCompressionZstd = 1;
inline constexpr size_t kContentHeaderBytes = 16;
// Plain bytes per data frame written; a reader accepts up to kChunkPlainBytesMax.
inline constexpr uint32_t kChunkPlainBytes = 1 << 20;
inline constexpr uint32_t kChunkPlainBytesMax = 8 << 20;
// Level 1: backup throughput should approach cp's; segments compress well even so.
inline constexpr int kZstdLevel = 1;
// Encoding compresses (decoding decompresses) chunks on up to this many threads at once (one per
// core by default).
inline constexpr size_t kCodecWorkersMax = 4;
// Chunks in flight beyond the ones being compressed: one being read, one being written. Each
// chunk in flight holds a plain buffer and a frame buffer (~2 MiB), so an encode holds at most
// (workers + 2) x 2 MiB + one sealed-frame buffer: ~9 MiB on two cores, ~13 MiB at most. A
// decode holds the same (more only for a file whose header names larger chunks, up to
// kChunkPlainBytesMax).
inline constexpr size_t kCodecSlotsBeyondWorkers = 2;

enum class FrameKind : uint8_t { kData = 1, kEnd = 2 };

// What encrypting or decrypting content needs, by mode.
enum class EncryptionMode { kNone, kKey, kPublicKey };

// The source of a file to store: fills `buffer` with up to `capacity` bytes and returns the count
// read, 0 at the end.
using ReadChunk = std::function<Result<size_t>(char* buffer, size_t capacity)>;
// Where a stored file's verified plain bytes go, chunk by chunk.
using WriteChunk = std::function<Status(std::string_view bytes)>;

struct ContentKeys {
  EncryptionMode mode = EncryptionMode::kNone;
  std::string content_key;  // kKey: ContentKeyFromRepositoryKey(repository key)
  std::string public_key;   // kPublicKey: to write (seal file keys)
  std::string secret_key;   // kPublicKey: to read (open sealed file keys); may be empty
};

// What encoding or decoding learned about a file.
struct ContentSummary {
  uint64_t plain_bytes = 0;
  std::string plain_sha256;  // hex
  uint64_t stored_bytes = 0;
  std::string stored_sha256;  // hex
};

// The number of (de)compression threads EncodeContent and DecodeContent use by default: one per
// core, at most kCodecWorkersMax.
size_t CodecWorkers();

// Encodes everything `source` yields into `file` (appended; not synced). Errors of `source` and
// of the file are returned as they are, the first in stream order (as a one-thread loop would).
// `source` is called on the calling thread only, in order; `file` is appended to on one helper
// thread, in order; `workers` (1 .. kCodecWorkersMax) threads compress. Every thread has ended
// when this returns. The bytes written do not depend on `workers`.
Status EncodeContent(const ContentKeys& keys, const ReadChunk& source, WritableFile* file,
                     ContentSummary* summary, size_t workers = CodecWorkers());

// Decodes the stored file `file` of `file_bytes` bytes, handing plain bytes to `sink` (which may
// be empty: then only checks). Verifies structure, every chunk's authentication and
// decompression, the end frame's size and SHA-256 against the bytes decoded, and that nothing
// follows it. Fills `summary` (stored_sha256 of every byte read) on success; the caller compares
// it with the file's name. Corruption naming file->path() and the offset on any failure;
// NotSupported for an unknown version or compression; the first error in the file's order, as a
// one-thread loop would find it. `sink` is called on the calling thread only, in order; `file` is
// read on one helper thread; `workers` threads decompress; all have ended when this returns.
Status DecodeContent(const ContentKeys& keys, const RandomAccessFile& file, uint64_t file_bytes,
                     const WriteChunk& sink, ContentSummary* summary,
                     size_t workers = CodecWorkers());

}  // namespace ordo::repository
