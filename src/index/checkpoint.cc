#include "index/checkpoint.h"

#include <cstring>

#include "fmt/format.h"
#include "io/atomic_file.h"
#include "log/format.h"
#include "util/checksum.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/numbered_file_name.h"

namespace ordo::index {
namespace {

constexpr char kHeaderMagic[8] = {'O', 'R', 'D', 'O', 'I', 'D', 'X', '1'};
constexpr char kTrailerMagic[8] = {'O', 'R', 'D', 'O', 'I', 'D', 'X', 'E'};
// Version 2: each entry's key is the index key (the database's number in 2 bytes, then the
// key). Version 1 (before databases) has the bare key, of database 0; it still loads.
constexpr uint32_t kCheckpointVersion = 2;
constexpr uint32_t kCheckpointVersionBareKeys = 1;
constexpr uint64_t kEntryFixedBytes = 4 + 4 + 4 + 8 + 8;
constexpr size_t kWriteChunkBytes = 4 << 20;

Status DecodeHeader(std::string_view bytes, const std::string& path, CheckpointInfo* info);

bool SameInfo(const CheckpointInfo& a, const CheckpointInfo& b) {
  return a.version == b.version && a.database_id == b.database_id && a.lsn == b.lsn &&
         a.replay_segment_id == b.replay_segment_id && a.replay_offset == b.replay_offset &&
         a.entry_count == b.entry_count && a.digest == b.digest &&
         a.created_time_ms == b.created_time_ms;
}

std::string EncodeHeader(const CheckpointInfo& info) {
  // The replay position is the writer's: a segment that exists, an offset inside it.
  assert(info.database_id.size() == log::kDatabaseIdBytes);
  assert(info.replay_segment_id >= 1 && info.replay_segment_id <= log::kSegmentIdMax);
  assert(info.replay_offset >= log::kSegmentHeaderBytes &&
         info.replay_offset <= log::kSegmentFileBytesMax);
  assert(info.version == kCheckpointVersion);
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
  CheckpointInfo decoded;  // the reader's view of it (96 bytes: cheap)
  assert(DecodeHeader(bytes, "encoded checkpoint header", &decoded).ok() &&
         SameInfo(decoded, info));
  (void)decoded;
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
  info->version = DecodeFixed32(bytes.data() + 8);
  if (info->version != kCheckpointVersion && info->version != kCheckpointVersionBareKeys) {
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
  // Entries name segments up to this one in 4 bytes (EncodeHeader asserts the range).
  if (info->replay_segment_id == 0 || info->replay_segment_id > log::kSegmentIdMax) {
    return Status::Corruption(fmt::format("{} offset 40: replay segment id {} outside [1, {}]",
                                          path, info->replay_segment_id, log::kSegmentIdMax));
  }
  if (info->replay_offset > log::kSegmentFileBytesMax) {
    return Status::Corruption(
        fmt::format("{} offset 48: replay offset {} past the largest segment ({} bytes)", path,
                    info->replay_offset, log::kSegmentFileBytesMax));
  }
  return Status::Ok();
}

// What a checkpoint entry may hold: an index key (a database prefix and a key within
// kKeyBytesMax), a value within kValueBytesMax
// lying after a segment header and inside the largest segment, in a segment from 1 up to the
// replay position's (every value indexed was written before it). Empty when it fits; otherwise
// what does not.
std::string EntryOutOfRange(std::string_view key, const IndexEntry& entry,
                            uint64_t replay_segment_id) {
  const uint64_t segment_id = entry.segment_id;
  const uint64_t value_offset = entry.value_offset;
  const uint64_t value_bytes = entry.value_bytes;
  if (key.size() < kDatabasePrefixBytes || key.size() > kIndexKeyBytesMax) {
    return fmt::format("index key of {} bytes outside [{}, {}]", key.size(), kDatabasePrefixBytes,
                       kIndexKeyBytesMax);
  }
  if (segment_id == 0 || segment_id > replay_segment_id) {
    return fmt::format("segment id {} outside [1, {}] (the replay segment)", segment_id,
                       replay_segment_id);
  }
  if (value_bytes > kValueBytesMax) {
    return fmt::format("value of {} bytes exceeds the limit of {}", value_bytes, kValueBytesMax);
  }
  if (value_offset < log::kSegmentHeaderBytes ||
      value_offset + value_bytes > log::kSegmentFileBytesMax) {
    return fmt::format("value at offset {} ({} bytes) is outside a segment's records", value_offset,
                       value_bytes);
  }
  return {};
}

void EncodeEntry(std::string_view key, const IndexEntry& entry, uint64_t replay_segment_id,
                 std::string* target) {
  // LoadCheckpoint refuses what does not fit; the index never holds it.
  assert(EntryOutOfRange(key, entry, replay_segment_id).empty());
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
  info.version = kCheckpointVersion;
  info.entry_count = index.size();
  info.digest = index.digest();
  if (info.created_time_ms == 0) info.created_time_ms = WallMillis();
  const std::string path = index_directory + "/" + CheckpointFileName(info.lsn);
  ORDO_ASSIGN_OR_RETURN(auto atomic, AtomicFile::Create(fs, path + ".tmp", {}));
  WritableFile* file = atomic->file();
  ORDO_RETURN_IF_ERROR(file->Append(EncodeHeader(info)));
  StreamingChecksum checksum;
  std::string chunk;
  chunk.reserve(kWriteChunkBytes + kIndexKeyBytesMax + 64);
  for (const auto& [key, entry] : index) {
    EncodeEntry(key.view(), entry, info.replay_segment_id, &chunk);
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
    const uint64_t entry_at = kCheckpointHeaderBytes + entries.size() - decoder.remaining();
    std::string_view key;
    std::string_view fixed;
    if (!decoder.GetLengthPrefixed(&key) || !decoder.GetBytes(kEntryFixedBytes, &fixed)) {
      return fail(Status::Corruption(fmt::format("{}: entry {} truncated", path, i)));
    }
    if (i > 0 && key <= previous_key) {
      return fail(Status::Corruption(fmt::format("{}: entry {} out of key order", path, i)));
    }
    previous_key = key;
    std::string prefixed;  // a version-1 entry's key is database 0's
    if (info->version == kCheckpointVersionBareKeys) {
      if (key.size() > kKeyBytesMax) {
        return fail(Status::Corruption(
            fmt::format("{} offset {}: entry {}: key of {} bytes exceeds the limit of {}", path,
                        entry_at, i, key.size(), kKeyBytesMax)));
      }
      prefixed = IndexKey(0, key);
      key = prefixed;
    }
    IndexEntry entry;
    entry.segment_id = DecodeFixed32(fixed.data());
    entry.value_offset = DecodeFixed32(fixed.data() + 4);
    entry.value_bytes = DecodeFixed32(fixed.data() + 8);
    entry.expire_at_ms = static_cast<int64_t>(DecodeFixed64(fixed.data() + 12));
    entry.value_hash = DecodeFixed64(fixed.data() + 20);
    const std::string out_of_range = EntryOutOfRange(key, entry, info->replay_segment_id);
    if (!out_of_range.empty()) {
      return fail(Status::Corruption(
          fmt::format("{} offset {}: entry {}: {}", path, entry_at, i, out_of_range)));
    }
    index->PutLast(key, entry);
  }
  if (!decoder.empty()) return fail(Status::Corruption(path + ": bytes after the last entry"));
  // Keys strictly increasing (checked above), so each entry added one key: the trailer's count.
  assert(index->size() == info->entry_count);
  if (!(index->digest() == info->digest)) {
    return fail(Status::Corruption(path + ": checkpoint digest does not match its entries"));
  }
  return Status::Ok();
}

}  // namespace ordo::index
