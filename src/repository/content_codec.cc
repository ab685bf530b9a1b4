#include "repository/content_codec.h"

#include <sodium.h>
#include <zstd.h>

#include <cassert>
#include <cstring>
#include <memory>
#include <vector>

#include "repository/keys.h"
#include "util/coding.h"
#include "util/ordered_pipeline.h"
#include "util/sha256.h"

namespace ordo::repository {
namespace {

using SecretStream = crypto_secretstream_xchacha20poly1305_state;
constexpr size_t kStreamHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kStreamOverheadBytes = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr size_t kSealedKeyBytes = crypto_box_SEALBYTES + kKeyBytes;
constexpr size_t kEndPayloadBytes = 8 + kSha256Bytes;
constexpr size_t kFramePrefixBytes = 4;  // u32 stored_frame_bytes before every frame
static_assert(kStreamHeaderBytes == 24 && kStreamOverheadBytes == 17 && kSealedKeyBytes == 80);
static_assert(sizeof(kContentMagic) - 1 == 8);

// The largest stored frame a reader accepts for a given chunk size: bounds every allocation.
size_t FrameBytesMax(uint32_t chunk_plain_bytes) {
  return 1 + ZSTD_compressBound(chunk_plain_bytes) + kStreamOverheadBytes;
}

struct ZstdCompressor {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};
struct ZstdDecompressor {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

uint8_t ModeByte(EncryptionMode mode) {
  switch (mode) {
    case EncryptionMode::kNone:
      return 0;
    case EncryptionMode::kKey:
      return 1;
    case EncryptionMode::kPublicKey:
      return 2;
  }
  return 0xff;
}

std::string FixedHeader(EncryptionMode mode) {
  std::string header(kContentMagic, 8);
  header.push_back(static_cast<char>(kContentVersion));
  header.push_back(static_cast<char>(ModeByte(mode)));
  header.push_back(static_cast<char>(kCompressionZstd));
  header.push_back('\0');
  PutFixed32(&header, kChunkPlainBytes);
  assert(header.size() == kContentHeaderBytes);
  return header;
}

unsigned char* Bytes(std::string& text) { return reinterpret_cast<unsigned char*>(text.data()); }
const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Writes frames: kind byte + payload, sealed when encrypted, length-prefixed, hashed as stored.
// Used by one thread at a time (the pipeline's consumer, in frame order).
class FrameWriter {
 public:
  FrameWriter(WritableFile* file, bool encrypted, std::string fixed_header)
      : file_(file), encrypted_(encrypted), fixed_header_(std::move(fixed_header)) {}

  SecretStream* stream() { return &stream_; }

  Status WriteRaw(std::string_view bytes) {
    stored_hash_.Update(bytes);
    stored_bytes_ += bytes.size();
    return file_->Append(bytes);
  }

  // `prefixed` holds kFramePrefixBytes of room for the length, then the plain frame of
  // `frame_bytes` bytes (kind byte and payload). Unencrypted, the frame is written from there
  // without a copy.
  Status WriteFrame(char* prefixed, size_t frame_bytes, bool final) {
    const std::string_view frame(prefixed + kFramePrefixBytes, frame_bytes);
    if (!encrypted_) {
      EncodeFixed32(prefixed, static_cast<uint32_t>(frame_bytes));
      return WriteRaw(std::string_view(prefixed, kFramePrefixBytes + frame_bytes));
    }
    const size_t stored = frame_bytes + kStreamOverheadBytes;
    if (output_.size() < kFramePrefixBytes + stored) output_.resize(kFramePrefixBytes + stored);
    EncodeFixed32(output_.data(), static_cast<uint32_t>(stored));
    const unsigned char tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                    : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    unsigned long long length = 0;
    crypto_secretstream_xchacha20poly1305_push(&stream_, Bytes(output_) + kFramePrefixBytes,
                                               &length, Bytes(frame), frame.size(),
                                               Bytes(fixed_header_), fixed_header_.size(), tag);
    assert(length == stored);
    return WriteRaw(std::string_view(output_.data(), kFramePrefixBytes + stored));
  }

  uint64_t stored_bytes() const { return stored_bytes_; }
  std::string FinishHash() { return stored_hash_.FinishHex(); }

 private:
  WritableFile* const file_;
  const bool encrypted_;
  const std::string fixed_header_;
  SecretStream stream_{};
  Sha256 stored_hash_;
  uint64_t stored_bytes_ = 0;
  std::string output_;  // encrypted frames only: the sealed frame, grown once to its largest
};

// Writes the fixed header and the crypto header, and starts the stream.
Status WriteHeaders(const ContentKeys& keys, FrameWriter* writer) {
  std::string headers = FixedHeader(keys.mode);
  if (keys.mode == EncryptionMode::kNone) return writer->WriteRaw(headers);
  std::string stream_key = keys.content_key;
  if (keys.mode == EncryptionMode::kPublicKey) {
    if (keys.public_key.size() != crypto_box_PUBLICKEYBYTES) {
      return Status::InvalidArgument("public key missing or malformed");
    }
    // A fresh key per file: the writer keeps nothing that could read the file afterwards.
    stream_key.assign(kKeyBytes, '\0');
    crypto_secretstream_xchacha20poly1305_keygen(Bytes(stream_key));
    std::string sealed(kSealedKeyBytes, '\0');
    crypto_box_seal(Bytes(sealed), Bytes(stream_key), stream_key.size(), Bytes(keys.public_key));
    headers += sealed;
  }
  if (stream_key.size() != kKeyBytes) return Status::InvalidArgument("content key missing");
  std::string stream_header(kStreamHeaderBytes, '\0');
  crypto_secretstream_xchacha20poly1305_init_push(writer->stream(), Bytes(stream_header),
                                                  Bytes(stream_key));
  sodium_memzero(stream_key.data(), stream_key.size());
  headers += stream_header;
  return writer->WriteRaw(headers);
}

// Fills `buffer` (of `capacity` bytes) from `source` until it is full or the source ends.
Result<size_t> FillChunk(const ReadChunk& source, char* buffer, size_t capacity) {
  size_t filled = 0;
  while (filled < capacity) {
    ORDO_ASSIGN_OR_RETURN(const size_t count, source(buffer + filled, capacity - filled));
    assert(count <= capacity - filled);
    if (count == 0) break;
    filled += count;
  }
  return filled;
}

// One chunk in flight through the encoding pipeline. Buffers are allocated on the slot's first
// use and never zero-filled, so a small file touches only the memory it uses.
struct EncodeSlot {
  std::unique_ptr<char[]> plain;  // kChunkPlainBytes
  size_t plain_bytes = 0;
  // kFramePrefixBytes of room for the length, the kind byte, then the zstd frame.
  std::unique_ptr<char[]> frame;
  size_t frame_bytes = 0;  // kind byte + zstd frame
};

const size_t kFrameBufferBytes = kFramePrefixBytes + 1 + ZSTD_compressBound(kChunkPlainBytes);

using Compressor = std::unique_ptr<ZSTD_CCtx, ZstdCompressor>;

Compressor NewCompressor() {
  Compressor compressor(ZSTD_createCCtx());
  assert(compressor != nullptr);
  ZSTD_CCtx_setParameter(compressor.get(), ZSTD_c_compressionLevel, kZstdLevel);
  ZSTD_CCtx_setParameter(compressor.get(), ZSTD_c_checksumFlag, 1);
  return compressor;
}

}  // namespace

size_t CodecWorkers() { return OrderedPipeline::DefaultWorkers(kCodecWorkersMax); }

// The frames are the same bytes a one-thread loop would write (read a chunk, hash it, compress
// it, seal it, hash and write the result): each chunk is its own zstd frame, compressed with
// the same parameters whichever thread does it, and everything whose result depends on the
// order runs in chunk order on a single thread: this thread reads and hashes the plain bytes,
// `workers` threads compress, and one thread seals (the secretstream), hashes the stored bytes
// and appends them.
Status EncodeContent(const ContentKeys& keys, const ReadChunk& source, WritableFile* file,
                     ContentSummary* summary, size_t workers) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  assert(workers >= 1 && workers <= kCodecWorkersMax);
  FrameWriter writer(file, keys.mode != EncryptionMode::kNone, FixedHeader(keys.mode));
  ORDO_RETURN_IF_ERROR(WriteHeaders(keys, &writer));
  std::vector<Compressor> compressors;
  for (size_t worker = 0; worker < workers; ++worker) compressors.push_back(NewCompressor());
  std::vector<EncodeSlot> slots(workers + kCodecSlotsBeyondWorkers);
  Sha256 plain_hash;  // the producer's
  uint64_t plain_bytes = 0;

  OrderedPipeline::Stages stages;
  stages.produce = [&](size_t index) -> Result<OrderedPipeline::Produced> {
    EncodeSlot& slot = slots[index];
    if (slot.plain == nullptr) {
      slot.plain = std::make_unique_for_overwrite<char[]>(kChunkPlainBytes);
      slot.frame = std::make_unique_for_overwrite<char[]>(kFrameBufferBytes);
    }
    ORDO_ASSIGN_OR_RETURN(slot.plain_bytes, FillChunk(source, slot.plain.get(), kChunkPlainBytes));
    if (slot.plain_bytes == 0) return OrderedPipeline::Produced::kEnd;
    plain_hash.Update(std::string_view(slot.plain.get(), slot.plain_bytes));
    plain_bytes += slot.plain_bytes;
    return slot.plain_bytes < kChunkPlainBytes ? OrderedPipeline::Produced::kLastItem
                                               : OrderedPipeline::Produced::kItem;
  };
  stages.transform = [&](size_t index, size_t worker) -> Status {
    EncodeSlot& slot = slots[index];
    char* const frame = slot.frame.get() + kFramePrefixBytes;
    frame[0] = static_cast<char>(FrameKind::kData);
    const size_t capacity = kFrameBufferBytes - kFramePrefixBytes - 1;
    const size_t compressed = ZSTD_compress2(compressors[worker].get(), frame + 1, capacity,
                                             slot.plain.get(), slot.plain_bytes);
    if (ZSTD_isError(compressed)) {
      return Status::IOError(file->path() +
                             ": zstd compression failed: " + ZSTD_getErrorName(compressed));
    }
    slot.frame_bytes = 1 + compressed;
    return Status::Ok();
  };
  stages.consume = [&](size_t index) -> Status {
    EncodeSlot& slot = slots[index];
    return writer.WriteFrame(slot.frame.get(), slot.frame_bytes, false);
  };
  ORDO_RETURN_IF_ERROR(
      OrderedPipeline::Run(slots.size(), workers, OrderedPipeline::CallerRuns::kProduce, stages));

  const std::string plain_digest = plain_hash.Finish();
  std::string end(kFramePrefixBytes, '\0');
  end.push_back(static_cast<char>(FrameKind::kEnd));
  PutFixed64(&end, plain_bytes);
  end += plain_digest;
  ORDO_RETURN_IF_ERROR(writer.WriteFrame(end.data(), end.size() - kFramePrefixBytes, true));
  summary->plain_bytes = plain_bytes;
  summary->plain_sha256 = ToHex(plain_digest);
  summary->stored_bytes = writer.stored_bytes();
  summary->stored_sha256 = writer.FinishHash();
  return Status::Ok();
}

namespace {

// Sequential reads of a stored file, hashing every byte read.
class StoredReader {
 public:
  StoredReader(const RandomAccessFile& file, uint64_t size) : file_(file), size_(size) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }
  const std::string& path() const { return file_.path(); }

  Status Corruption(const std::string& what) const {
    return Status::Corruption(path() + " offset " + std::to_string(offset_) + ": " + what);
  }

  // Reads exactly `count` bytes into `out`; Corruption ("truncated") if the file ends first.
  Status ReadExact(size_t count, std::string* out, const char* what) {
    if (count > remaining()) {
      return Corruption(std::string("truncated: the file ends ") + std::to_string(remaining()) +
                        " bytes into the " + what + " of " + std::to_string(count) + " bytes");
    }
    out->resize(count);
    size_t read_count = 0;
    ORDO_RETURN_IF_ERROR(file_.Read(offset_, count, out->data(), &read_count));
    if (read_count != count) return Corruption("short read: the file shrank while being read");
    hash_.Update(*out);
    offset_ += count;
    return Status::Ok();
  }

  std::string FinishHash() { return hash_.FinishHex(); }

 private:
  const RandomAccessFile& file_;
  const uint64_t size_;
  uint64_t offset_ = 0;
  Sha256 hash_;
};

struct DecodeState {
  std::string fixed_header;
  uint32_t chunk_plain_bytes = 0;
  bool encrypted = false;
  SecretStream stream{};
};

Status ReadHeaders(const ContentKeys& keys, StoredReader& reader, DecodeState* state) {
  std::string& header = state->fixed_header;
  ORDO_RETURN_IF_ERROR(reader.ReadExact(kContentHeaderBytes, &header, "header"));
  if (header.compare(0, 8, kContentMagic) != 0) {
    return Status::Corruption(reader.path() + ": not an ordo content file (bad magic)");
  }
  const auto version = static_cast<uint8_t>(header[8]);
  const auto mode = static_cast<uint8_t>(header[9]);
  const auto compression = static_cast<uint8_t>(header[10]);
  state->chunk_plain_bytes = DecodeFixed32(header.data() + 12);
  if (version != kContentVersion) {
    return Status::NotSupported(reader.path() + ": content file version " +
                                std::to_string(version) + " (this build reads 1)");
  }
  if (compression != kCompressionZstd) {
    return Status::NotSupported(reader.path() + ": unknown compression " +
                                std::to_string(compression));
  }
  if (mode != ModeByte(keys.mode)) {
    return Status::Corruption(reader.path() + ": encryption byte " + std::to_string(mode) +
                              " does not match the repository's (" +
                              std::to_string(ModeByte(keys.mode)) + ")");
  }
  if (header[11] != 0 || state->chunk_plain_bytes == 0 ||
      state->chunk_plain_bytes > kChunkPlainBytesMax) {
    return Status::Corruption(reader.path() + ": malformed header (reserved byte or chunk size " +
                              std::to_string(state->chunk_plain_bytes) + ")");
  }
  state->encrypted = keys.mode != EncryptionMode::kNone;
  if (!state->encrypted) return Status::Ok();
  std::string stream_key = keys.content_key;
  if (keys.mode == EncryptionMode::kPublicKey) {
    std::string sealed;
    ORDO_RETURN_IF_ERROR(reader.ReadExact(kSealedKeyBytes, &sealed, "sealed file key"));
    stream_key.assign(kKeyBytes, '\0');
    if (keys.secret_key.size() != kKeyBytes || keys.public_key.size() != kKeyBytes ||
        crypto_box_seal_open(Bytes(stream_key), Bytes(sealed), sealed.size(),
                             Bytes(keys.public_key), Bytes(keys.secret_key)) != 0) {
      return reader.Corruption(
          "authentication failed: the sealed file key does not open with "
          "this secret key (wrong key or tampered file)");
    }
  }
  std::string stream_header;
  ORDO_RETURN_IF_ERROR(reader.ReadExact(kStreamHeaderBytes, &stream_header, "stream header"));
  const int started = crypto_secretstream_xchacha20poly1305_init_pull(
      &state->stream, Bytes(stream_header), Bytes(stream_key));
  sodium_memzero(stream_key.data(), stream_key.size());
  if (started != 0) return reader.Corruption("malformed encryption stream header");
  return Status::Ok();
}

// The stream tag a frame was sealed with; a plain file's frames have none.
enum class FrameTag { kPlain, kMessage, kFinal, kOther };

// Reads one frame into `frame` (kind byte + payload, decrypted) and its stream tag into `tag`.
Status ReadFrame(StoredReader& reader, DecodeState* state, std::string* stored, std::string* frame,
                 FrameTag* frame_tag) {
  std::string length_bytes;
  if (reader.remaining() == 0) return reader.Corruption("truncated: the end frame is missing");
  ORDO_RETURN_IF_ERROR(reader.ReadExact(4, &length_bytes, "frame length"));
  const uint32_t length = DecodeFixed32(length_bytes.data());
  const size_t minimum = 1 + (state->encrypted ? kStreamOverheadBytes : 0);
  if (length < minimum || length > FrameBytesMax(state->chunk_plain_bytes)) {
    return reader.Corruption("frame length " + std::to_string(length) + " out of range");
  }
  const uint64_t frame_offset = reader.offset();
  ORDO_RETURN_IF_ERROR(reader.ReadExact(length, stored, "frame"));
  if (!state->encrypted) {
    frame->swap(*stored);
    *frame_tag = FrameTag::kPlain;
    return Status::Ok();
  }
  frame->resize(length - kStreamOverheadBytes);
  unsigned char tag = 0;
  unsigned long long frame_length = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          &state->stream, Bytes(*frame), &frame_length, &tag, Bytes(*stored), stored->size(),
          Bytes(state->fixed_header), state->fixed_header.size()) != 0) {
    return Status::Corruption(reader.path() + " offset " + std::to_string(frame_offset) +
                              ": authentication failed: the encrypted chunk was altered (or the "
                              "key is wrong)");
  }
  assert(frame_length == frame->size());
  *frame_tag = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL     ? FrameTag::kFinal
               : tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ? FrameTag::kMessage
                                                                          : FrameTag::kOther;
  return Status::Ok();
}

}  // namespace

namespace {

// One frame in flight through the decoding pipeline; buffers allocated on first use.
struct DecodeSlot {
  std::string frame;              // kind byte + payload, decrypted
  uint64_t offset = 0;            // of the frame's length field in the stored file
  std::unique_ptr<char[]> plain;  // chunk_plain_bytes: the decompressed data frame
  size_t plain_bytes = 0;
};

using Decompressor = std::unique_ptr<ZSTD_DCtx, ZstdDecompressor>;

std::string Where(const RandomAccessFile& file, uint64_t offset) {
  return file.path() + " offset " + std::to_string(offset) + ": ";
}

}  // namespace

// As in EncodeContent, what depends on the order runs in frame order on one thread each: a
// helper thread reads frames (hashing the stored bytes) and opens them (the secretstream),
// `workers` threads decompress, and this thread hashes the plain bytes and calls `sink`. The
// checks and their messages are a one-thread loop's: an error at frame n is returned after
// frames before n reached `sink`, and none after it did.
Status DecodeContent(const ContentKeys& keys, const RandomAccessFile& file, uint64_t file_bytes,
                     const WriteChunk& sink, ContentSummary* summary, size_t workers) {
  ORDO_RETURN_IF_ERROR(InitSodium());
  assert(workers >= 1 && workers <= kCodecWorkersMax);
  StoredReader reader(file, file_bytes);
  DecodeState state;
  ORDO_RETURN_IF_ERROR(ReadHeaders(keys, reader, &state));
  std::vector<Decompressor> decompressors;
  for (size_t worker = 0; worker < workers; ++worker) {
    decompressors.emplace_back(ZSTD_createDCtx());
    assert(decompressors.back() != nullptr);
  }
  std::vector<DecodeSlot> slots(workers + kCodecSlotsBeyondWorkers);
  std::string stored;  // the producer's
  Sha256 plain_hash;   // the consumer's
  uint64_t plain_bytes = 0;

  OrderedPipeline::Stages stages;
  stages.produce = [&](size_t index) -> Result<OrderedPipeline::Produced> {
    DecodeSlot& slot = slots[index];
    slot.offset = reader.offset();
    FrameTag tag = FrameTag::kPlain;
    ORDO_RETURN_IF_ERROR(ReadFrame(reader, &state, &stored, &slot.frame, &tag));
    // Tags as FORMAT.md says: TAG_FINAL on the end frame, TAG_MESSAGE on every data frame (the
    // stream's other tags, PUSH and REKEY, are never written, so a file carrying one is not ours).
    const auto kind = static_cast<FrameKind>(slot.frame[0]);
    if (kind == FrameKind::kEnd) {
      if ((tag != FrameTag::kPlain && tag != FrameTag::kFinal) ||
          slot.frame.size() != 1 + kEndPayloadBytes) {
        return Status::Corruption(Where(file, slot.offset) + "malformed end frame");
      }
      return OrderedPipeline::Produced::kLastItem;
    }
    if (kind != FrameKind::kData || (tag != FrameTag::kPlain && tag != FrameTag::kMessage)) {
      return Status::Corruption(Where(file, slot.offset) +
                                "unknown frame kind or a data frame without the message tag");
    }
    return OrderedPipeline::Produced::kItem;
  };
  stages.transform = [&](size_t index, size_t worker) -> Status {
    DecodeSlot& slot = slots[index];
    if (static_cast<FrameKind>(slot.frame[0]) != FrameKind::kData) return Status::Ok();
    if (slot.plain == nullptr) {
      slot.plain = std::make_unique_for_overwrite<char[]>(state.chunk_plain_bytes);
    }
    const size_t size =
        ZSTD_decompressDCtx(decompressors[worker].get(), slot.plain.get(), state.chunk_plain_bytes,
                            slot.frame.data() + 1, slot.frame.size() - 1);
    if (ZSTD_isError(size) || size == 0) {
      return Status::Corruption(Where(file, slot.offset) + "zstd frame does not decompress: " +
                                (ZSTD_isError(size) ? ZSTD_getErrorName(size) : "empty chunk"));
    }
    slot.plain_bytes = size;
    return Status::Ok();
  };
  stages.consume = [&](size_t index) -> Status {
    DecodeSlot& slot = slots[index];
    if (static_cast<FrameKind>(slot.frame[0]) == FrameKind::kData) {
      const std::string_view chunk(slot.plain.get(), slot.plain_bytes);
      plain_hash.Update(chunk);
      plain_bytes += chunk.size();
      return sink ? sink(chunk) : Status::Ok();
    }
    // The end frame, the last item: the producer has stopped, `reader` is still.
    const std::string plain_digest = plain_hash.Finish();
    if (DecodeFixed64(slot.frame.data() + 1) != plain_bytes ||
        slot.frame.compare(9, kSha256Bytes, plain_digest) != 0) {
      return Status::Corruption(Where(file, slot.offset) +
                                "the end frame's size or SHA-256 differs from the " +
                                std::to_string(plain_bytes) + " plain bytes decoded");
    }
    if (reader.remaining() != 0) {
      return reader.Corruption(std::to_string(reader.remaining()) +
                               " unexpected bytes after the end frame");
    }
    summary->plain_sha256 = ToHex(plain_digest);
    return Status::Ok();
  };
  ORDO_RETURN_IF_ERROR(
      OrderedPipeline::Run(slots.size(), workers, OrderedPipeline::CallerRuns::kConsume, stages));
  summary->plain_bytes = plain_bytes;
  summary->stored_bytes = file_bytes;
  summary->stored_sha256 = reader.FinishHash();
  return Status::Ok();
}

}  // namespace ordo::repository
