// Tests of the content codec's pipeline (content_codec.h): the bytes it writes are the format of
// docs/FORMAT.md ("Content file") whatever the number of threads, and an error of the source or
// of the file, at any chunk while others are in flight, is returned as it is.
#include "repository/content_codec.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <zstd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "repository/keys.h"
#include "tests/backup_fixtures.h"
#include "util/coding.h"
#include "util/sha256.h"

namespace ordo::repository {
namespace {

constexpr size_t kChunk = kChunkPlainBytes;

using ordo::testing::TestBytes;

// A source over `bytes`, at most 300000 bytes a call, failing with `error` once `fail_at`
// bytes have been handed out (when set).
struct Source {
  explicit Source(const std::string* source_bytes) : bytes(source_bytes) {}

  const std::string* bytes;
  size_t offset = 0;
  std::optional<size_t> fail_at;
  Status error = Status::IOError("source: injected read error");

  ReadChunk Function() {
    return [this](char* buffer, size_t capacity) -> Result<size_t> {
      if (fail_at.has_value() && offset >= *fail_at) return error;
      const size_t count = std::min({capacity, bytes->size() - offset, size_t{300000}});
      std::memcpy(buffer, bytes->data() + offset, count);
      offset += count;
      return count;
    };
  }
};

// A WritableFile in memory; Append number `fail_append` (1-based) fails when set.
class MemoryFile final : public WritableFile {
 public:
  Status Append(std::string_view bytes) override {
    ++appends_;
    if (fail_append_ != 0 && appends_ == fail_append_) {
      return Status::NoSpace(path_ + ": injected append error");
    }
    contents_.append(bytes);
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status SyncAll() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  Status Preallocate(uint64_t) override { return Status::Ok(); }
  Status TrimPreallocation() override { return Status::Ok(); }
  uint64_t Size() const override { return contents_.size(); }
  const std::string& path() const override { return path_; }

  void FailAppend(uint64_t n) { fail_append_ = n; }
  uint64_t appends() const { return appends_; }
  const std::string& contents() const { return contents_; }

 private:
  std::string path_ = "memory/content";
  std::string contents_;
  uint64_t appends_ = 0;
  uint64_t fail_append_ = 0;
};

class StringFile final : public RandomAccessFile {
 public:
  explicit StringFile(std::string bytes) : bytes_(std::move(bytes)) {}
  Status Read(uint64_t offset, size_t count, char* scratch, size_t* read_count) const override {
    *read_count = offset >= bytes_.size() ? 0 : std::min<size_t>(count, bytes_.size() - offset);
    std::memcpy(scratch, bytes_.data() + offset, *read_count);
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }

 private:
  std::string bytes_;
  std::string path_ = "memory/stored";
};

// The unencrypted content file of `plain`, written from docs/FORMAT.md alone, one chunk at a
// time: what every version of the encoder must keep writing.
std::string ReferenceEncoding(const std::string& plain) {
  std::string out(kContentMagic, 8);
  out += std::string{'\x01', '\x00', '\x01', '\x00'};
  PutFixed32(&out, kChunkPlainBytes);
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
  std::string compressed(ZSTD_compressBound(kChunk), '\0');
  for (size_t offset = 0; offset < plain.size(); offset += kChunk) {
    const size_t size = std::min(kChunk, plain.size() - offset);
    const size_t bytes =
        ZSTD_compress2(context, compressed.data(), compressed.size(), plain.data() + offset, size);
    EXPECT_FALSE(ZSTD_isError(bytes));
    PutFixed32(&out, static_cast<uint32_t>(1 + bytes));
    out.push_back('\x01');
    out.append(compressed.data(), bytes);
  }
  ZSTD_freeCCtx(context);
  PutFixed32(&out, 1 + 8 + 32);
  out.push_back('\x02');
  PutFixed64(&out, plain.size());
  Sha256 hash;
  hash.Update(plain);
  out += hash.Finish();
  return out;
}

ContentKeys KeysFor(EncryptionMode mode) {
  EXPECT_EQ(sodium_init() < 0, false);
  ContentKeys keys;
  keys.mode = mode;
  if (mode == EncryptionMode::kKey) {
    std::string secret(kKeyBytes, '\0');
    randombytes_buf(secret.data(), secret.size());
    keys.content_key = ContentKeyFromRepositoryKey(secret);
  } else if (mode == EncryptionMode::kPublicKey) {
    keys.public_key.assign(kKeyBytes, '\0');
    keys.secret_key.assign(kKeyBytes, '\0');
    crypto_box_keypair(reinterpret_cast<unsigned char*>(keys.public_key.data()),
                       reinterpret_cast<unsigned char*>(keys.secret_key.data()));
  }
  return keys;
}

const size_t kSizes[] = {0, 1, kChunk - 1, kChunk, kChunk + 1, 9 * kChunk + 4321};

TEST(ContentCodecTest, BytesAreTheFormatsWhateverTheThreadCount) {
  for (const size_t size : kSizes) {
    const std::string plain = TestBytes(size, size + 3);
    const std::string expected = ReferenceEncoding(plain);
    for (size_t workers = 1; workers <= kCodecWorkersMax; ++workers) {
      SCOPED_TRACE(std::to_string(size) + " bytes, " + std::to_string(workers) + " workers");
      Source source(&plain);
      MemoryFile file;
      ContentSummary summary;
      const Status status = EncodeContent(KeysFor(EncryptionMode::kNone), source.Function(), &file,
                                          &summary, workers);
      ASSERT_OK(status);
      EXPECT_TRUE(file.contents() == expected) << "the stored bytes differ from the format's";
      EXPECT_EQ(summary.plain_bytes, size);
      EXPECT_EQ(summary.plain_sha256, Sha256Hex(plain));
      EXPECT_EQ(summary.stored_bytes, expected.size());
      EXPECT_EQ(summary.stored_sha256, Sha256Hex(expected));
    }
  }
}

TEST(ContentCodecTest, EncryptedFilesDecodeWhateverTheThreadCount) {
  for (const EncryptionMode mode : {EncryptionMode::kKey, EncryptionMode::kPublicKey}) {
    const ContentKeys keys = KeysFor(mode);
    for (const size_t size : kSizes) {
      const std::string plain = TestBytes(size, size + 7);
      for (size_t workers = 1; workers <= kCodecWorkersMax; ++workers) {
        SCOPED_TRACE(std::to_string(static_cast<int>(mode)) + ": " + std::to_string(size) +
                     " bytes, " + std::to_string(workers) + " workers");
        Source source(&plain);
        MemoryFile file;
        ContentSummary written;
        ASSERT_OK(EncodeContent(keys, source.Function(), &file, &written, workers));
        EXPECT_EQ(written.stored_sha256, Sha256Hex(file.contents()));
        std::string decoded;
        ContentSummary read;
        const Status status = DecodeContent(
            keys, StringFile(file.contents()), file.contents().size(),
            [&decoded](std::string_view bytes) {
              decoded.append(bytes);
              return Status::Ok();
            },
            &read);
        ASSERT_OK(status);
        EXPECT_TRUE(decoded == plain);
        EXPECT_EQ(read.plain_sha256, written.plain_sha256);
        EXPECT_EQ(read.stored_sha256, written.stored_sha256);
      }
    }
  }
}

// The source fails at every chunk boundary and inside a chunk, while other chunks are being
// compressed and written: its own Status comes back, and nothing is written after the chunk
// before it.
TEST(ContentCodecTest, SourceErrorWhileChunksAreInFlightIsReturned) {
  const std::string plain = TestBytes(8 * kChunk + 100, 1);
  for (const EncryptionMode mode : {EncryptionMode::kNone, EncryptionMode::kKey}) {
    const ContentKeys keys = KeysFor(mode);
    for (const size_t fail_at : {size_t{0}, kChunk / 2, 3 * kChunk, 7 * kChunk + 1, 8 * kChunk}) {
      SCOPED_TRACE("source fails at byte " + std::to_string(fail_at));
      Source source(&plain);
      source.fail_at = fail_at;
      MemoryFile file;
      ContentSummary summary;
      const Status status =
          EncodeContent(keys, source.Function(), &file, &summary, kCodecWorkersMax);
      EXPECT_TRUE(status.IsIOError()) << status.ToString();
      EXPECT_EQ(status.message(), "source: injected read error");
      // The header, then one frame per chunk read in full before the failing one.
      EXPECT_EQ(file.appends(), 1 + fail_at / kChunk);
    }
  }
}

TEST(ContentCodecTest, FileErrorWhileChunksAreInFlightIsReturned) {
  const std::string plain = TestBytes(8 * kChunk + 100, 2);
  for (const EncryptionMode mode : {EncryptionMode::kNone, EncryptionMode::kPublicKey}) {
    const ContentKeys keys = KeysFor(mode);
    // Append 1 is the header, 2 .. 10 the data frames, 11 the end frame.
    for (uint64_t fail_append = 1; fail_append <= 11; ++fail_append) {
      SCOPED_TRACE("append " + std::to_string(fail_append) + " fails");
      Source source(&plain);
      MemoryFile file;
      file.FailAppend(fail_append);
      ContentSummary summary;
      const Status status =
          EncodeContent(keys, source.Function(), &file, &summary, kCodecWorkersMax);
      EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
      EXPECT_EQ(file.appends(), fail_append) << "nothing is appended after a failed append";
      // The source is not read far beyond the failure: the ring holds a bounded number.
      EXPECT_LE(source.offset,
                (fail_append + kCodecWorkersMax + kCodecSlotsBeyondWorkers) * kChunk);
    }
  }
}

// Decoding a damaged file gives the same Status, and hands `sink` the same bytes first, whatever
// the number of threads: errors come in the file's order.
TEST(ContentCodecTest, DecodeErrorsAreTheSameWhateverTheThreadCount) {
  const std::string plain = TestBytes(6 * kChunk + 5, 4);
  for (const EncryptionMode mode : {EncryptionMode::kNone, EncryptionMode::kKey}) {
    const ContentKeys keys = KeysFor(mode);
    Source source(&plain);
    MemoryFile file;
    ContentSummary summary;
    ASSERT_OK(EncodeContent(keys, source.Function(), &file, &summary, 1));
    const std::string& original = file.contents();
    for (const size_t offset : {size_t{3}, size_t{70}, original.size() / 3, original.size() / 2,
                                original.size() - 30, original.size() - 1}) {
      std::string damaged = original;
      damaged[offset] = static_cast<char>(damaged[offset] ^ 0x21);
      std::string first_status;
      size_t first_received = 0;
      for (size_t workers = 1; workers <= kCodecWorkersMax; ++workers) {
        SCOPED_TRACE("byte " + std::to_string(offset) + ", " + std::to_string(workers) +
                     " workers");
        size_t received = 0;
        ContentSummary read;
        const Status status = DecodeContent(
            keys, StringFile(damaged), damaged.size(),
            [&received](std::string_view bytes) {
              received += bytes.size();
              return Status::Ok();
            },
            &read, workers);
        EXPECT_TRUE(status.IsCorruption() || status.code() == Status::Code::kNotSupported)
            << status.ToString();
        if (workers == 1) {
          first_status = status.ToString();
          first_received = received;
        }
        EXPECT_EQ(status.ToString(), first_status);
        EXPECT_EQ(received, first_received);
      }
    }
  }
}

TEST(ContentCodecTest, SinkErrorStopsTheDecode) {
  const std::string plain = TestBytes(8 * kChunk, 6);
  Source source(&plain);
  MemoryFile file;
  ContentSummary summary;
  const ContentKeys keys = KeysFor(EncryptionMode::kKey);
  ASSERT_OK(EncodeContent(keys, source.Function(), &file, &summary));
  for (size_t fail_at = 0; fail_at < 8; ++fail_at) {
    size_t calls = 0;
    ContentSummary read;
    const Status status = DecodeContent(
        keys, StringFile(file.contents()), file.contents().size(),
        [&](std::string_view) {
          return calls++ == fail_at ? Status::IOError("sink: injected write error") : Status::Ok();
        },
        &read, kCodecWorkersMax);
    EXPECT_EQ(status.message(), "sink: injected write error");
    EXPECT_EQ(calls, fail_at + 1) << "the sink is not called after its error";
  }
}

}  // namespace
}  // namespace ordo::repository
