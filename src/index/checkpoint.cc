#include "index/checkpoint.h"

#include <cstring>

#include "fmt/format.h"
#include "io/atomic_file.h"
#include "util/checksum.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/numbered_file_name.h"

namespace ordo::index {
namespace {

constexpr char kHeaderMagic[8] = {'O', 'R', 'D', 'O', 'I', 'D', 'X', '1'};
constexpr char kTrailerMagic[8] = {'O', 'R', 'D', 'O', 'I', 'D', 'X', 'E'};
constexpr uint32_t kCheckpointVersion = 1;
constexpr uint64_t kEntryFixedBytes = 4 + 4 + 4 + 8 + 8;
constexpr size_t kWriteChunkBytes = 4 << 20;

std::string EncodeHeader(const CheckpointInfo& info) {
  std::string bytes(kHeaderMagic, sizeof(kHeaderMagic));
  PutFixed32(&bytes, kCheckpointVersion);
  PutFixed32(&bytes, kCheckpointHeaderBytes);
  bytes.append(info.database_id);
  PutFixed64(&bytes, info.lsn);
  PutFixed64(&bytes, info.replay_segment_id);
  PutFixed64(&bytes, info.replay_offset);
  PutFixed64(&bytes, info.entry_count);
  PutFixed64(&bytes, info.digest.low);
  PutFixed64(&bytes, info.digest.high);
  PutFixed64(&bytes, static_cast<uint64_t>(info.created_time_ms));
  PutFixed64(&bytes, Checksum64(bytes));
  assert(bytes.size() == kCheckpointHeaderBytes);
  return bytes;
}

Status DecodeHeader(std::string_view bytes, const std::string& path, CheckpointInfo* info) {
  if (bytes.size() < kCheckpointHeaderBytes ||
      std::memcmp(bytes.data(), kHeaderMagic, sizeof(kHeaderMagic)) != 0) {
    return Status::Corruption(path + " offset 0: not an ordo index checkpoint");
  }
  if (DecodeFixed64(bytes.data() + 88) != Checksum64(bytes.substr(0, 88))) {
    return Status::Corruption(path + " offset 88: checkpoint header checksum mismatch");
  }
  if (DecodeFixed32(bytes.data() + 8) != kCheckpointVersion) {
    return Status::NotSupported(path + " offset 8: unknown checkpoint version");
  }
  info->database_id.assign(bytes.data() + 16, 16);
  info->lsn = DecodeFixed64(bytes.data() + 32);
  info->replay_segment_id = DecodeFixed64(bytes.data() + 40);
  info->replay_offset = DecodeFixed64(bytes.data() + 48);
  info->entry_count = DecodeFixed64(bytes.data() + 56);
  info->digest.low = DecodeFixed64(bytes.data() + 64);
  info->digest.high = DecodeFixed64(bytes.data() + 72);
  info->created_time_ms = static_cast<int64_t>(DecodeFixed64(bytes.data() + 80));
  return Status::Ok();
}

void EncodeEntry(std::string_view key, const IndexEntry& entry, std::string* target) {
  PutLengthPrefixed(target, key);
  PutFixed32(target, entry.segment_id);
  PutFixed32(target, entry.value_offset);
  PutFixed32(target, entry.value_bytes);
  PutFixed64(target, static_cast<uint64_t>(entry.expire_at_ms));
  PutFixed64(target, entry.value_hash);
}

}  // namespace

std::string CheckpointFileName(uint64_t lsn) { return NumberedFileName(lsn, ".idx"); }

bool ParseCheckpointFileName(std::string_view name, uint64_t* lsn) {
  return ParseNumberedFileName(name, ".idx", lsn);
}

Status WriteCheckpoint(FileSystem* fs, const std::string& index_directory, const Index& index,
                       CheckpointInfo info) {
  info.entry_count = index.size();
  info.digest = index.digest();
  if (info.created_time_ms == 0) info.created_time_ms = WallMillis();
  const std::string path = index_directory + "/" + CheckpointFileName(info.lsn);
  ORDO_ASSIGN_OR_RETURN(auto atomic, AtomicFile::Create(fs, path + ".tmp", {}));
  WritableFile* file = atomic->file();
  ORDO_RETURN_IF_ERROR(file->Append(EncodeHeader(info)));
  StreamingChecksum checksum;
  std::string chunk;
  chunk.reserve(kWriteChunkBytes + kKeyBytesMax + 64);
  for (const auto& [key, entry] : index) {
    EncodeEntry(key.view(), entry, &chunk);
    if (chunk.size() >= kWriteChunkBytes) {
      checksum.Update(chunk);
      ORDO_RETURN_IF_ERROR(file->Append(chunk));
      chunk.clear();
    }
  }
  checksum.Update(chunk);
  PutFixed64(&chunk, info.entry_count);
  PutFixed64(&chunk, checksum.Digest());
  chunk.append(kTrailerMagic, sizeof(kTrailerMagic));
  ORDO_RETURN_IF_ERROR(file->Append(chunk));
  return atomic->Commit(path);
}

Status LoadCheckpoint(FileSystem* fs, const std::string& path, const std::string& database_id,
                      Index* index, CheckpointInfo* info) {
  assert(index->size() == 0);
  auto fail = [&](Status status) {
    index->Clear();
    return status;
  };
  ORDO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(fs, path));
  ORDO_RETURN_IF_ERROR(DecodeHeader(bytes, path, info));
  if (info->database_id != database_id) {
    return Status::Corruption(path + ": checkpoint belongs to another database");
  }
  if (bytes.size() < kCheckpointHeaderBytes + kCheckpointTrailerBytes) {
    return Status::Corruption(fmt::format("{}: truncated at {} bytes", path, bytes.size()));
  }
  const size_t trailer_at = bytes.size() - kCheckpointTrailerBytes;
  const std::string_view trailer = std::string_view(bytes).substr(trailer_at);
  if (std::memcmp(trailer.data() + 16, kTrailerMagic, sizeof(kTrailerMagic)) != 0 ||
      DecodeFixed64(trailer.data()) != info->entry_count) {
    return Status::Corruption(
        fmt::format("{} offset {}: bad checkpoint trailer", path, trailer_at));
  }
  const std::string_view entries =
      std::string_view(bytes).substr(kCheckpointHeaderBytes, trailer_at - kCheckpointHeaderBytes);
  if (Checksum64(entries) != DecodeFixed64(trailer.data() + 8)) {
    return Status::Corruption(fmt::format("{} offset {}: checkpoint entries checksum mismatch",
                                          path, kCheckpointHeaderBytes));
  }
  Decoder decoder(entries);
  std::string_view previous_key;  // points into `bytes`, which outlives the loop
  for (uint64_t i = 0; i < info->entry_count; ++i) {
    std::string_view key;
    std::string_view fixed;
    if (!decoder.GetLengthPrefixed(&key) || !decoder.GetBytes(kEntryFixedBytes, &fixed)) {
      return fail(Status::Corruption(fmt::format("{}: entry {} truncated", path, i)));
    }
    if (i > 0 && key <= previous_key) {
      return fail(Status::Corruption(fmt::format("{}: entry {} out of key order", path, i)));
    }
    IndexEntry entry;
    entry.segment_id = DecodeFixed32(fixed.data());
    entry.value_offset = DecodeFixed32(fixed.data() + 4);
    entry.value_bytes = DecodeFixed32(fixed.data() + 8);
    entry.expire_at_ms = static_cast<int64_t>(DecodeFixed64(fixed.data() + 12));
    entry.value_hash = DecodeFixed64(fixed.data() + 20);
    index->PutLast(key, entry);
    previous_key = key;
  }
  if (!decoder.empty()) return fail(Status::Corruption(path + ": bytes after the last entry"));
  if (!(index->digest() == info->digest)) {
    return fail(Status::Corruption(path + ": checkpoint digest does not match its entries"));
  }
  return Status::Ok();
}

}  // namespace ordo::index
