#include "index/checkpoint.h"

#include <cstring>
#include <functional>

#include "fmt/format.h"
#include "index/collection.h"
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
// key). Version 1 (before databases) has the bare key, of database 0; it still loads. Version
// 3 adds a type byte to every entry, and collections (docs/FORMAT.md); it is written only for
// an index holding a collection, so a database of strings keeps checkpoints that a build
// before collections reads.
constexpr uint32_t kCheckpointVersionCollections = 3;
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
  assert(info.version == kCheckpointVersion || info.version == kCheckpointVersionCollections);
  std::string bytes(kHeaderMagic, sizeof(kHeaderMagic));
  PutFixed32(&bytes, info.version);
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
  if (info->version != kCheckpointVersion && info->version != kCheckpointVersionBareKeys &&
      info->version != kCheckpointVersionCollections) {
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
  if (entry.expire_at_ms < 0) return "negative expiry";
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

// A string's entry; version 3 has its type byte between the key and the fixed fields.
void EncodeEntry(std::string_view key, const IndexEntry& entry, uint64_t replay_segment_id,
                 bool with_type, std::string* target) {
  // LoadCheckpoint refuses what does not fit; the index never holds it.
  assert(EntryOutOfRange(key, entry, replay_segment_id).empty());
  PutLengthPrefixed(target, key);
  if (with_type) target->push_back(static_cast<char>(KeyType::kString));
  PutFixed32(target, entry.segment_id);
  PutFixed32(target, entry.value_offset);
  PutFixed32(target, entry.value_bytes);
  PutFixed64(target, static_cast<uint64_t>(entry.expire_at_ms));
  PutFixed64(target, entry.value_hash);
}

// Version 3's collection entry (docs/FORMAT.md). `flush` is called between elements, so a
// collection of millions of elements is written in chunks, not built whole in memory.
Status EncodeCollection(std::string_view key, const Collection& collection, int64_t expire_at_ms,
                        std::string* target, const std::function<Status()>& flush) {
  PutLengthPrefixed(target, key);
  target->push_back(static_cast<char>(collection.type()));
  target->push_back(collection.big_encoding() ? 1 : 0);
  PutFixed64(target, static_cast<uint64_t>(expire_at_ms));
  PutVarint64(target, collection.size());
  PutFixed64(target, collection.content_digest().low);
  PutFixed64(target, collection.content_digest().high);
  if (collection.type() == KeyType::kSet) {
    for (const CompactKey& member : collection.members()) {
      PutLengthPrefixed(target, member.view());
      ORDO_RETURN_IF_ERROR(flush());
    }
    return Status::Ok();
  }
  for (const auto& [field, value] : collection.fields()) {
    PutLengthPrefixed(target, field.view());
    if (value.is_inline()) {
      PutFixed32(target, 0);
      target->push_back(static_cast<char>(value.inline_value().size()));
      target->append(value.inline_value());
    } else {
      PutFixed32(target, value.segment_id());
      PutFixed32(target, value.offset());
      PutFixed32(target, value.value_bytes());
      PutFixed64(target, value.value_hash());
    }
    ORDO_RETURN_IF_ERROR(flush());
  }
  return Status::Ok();
}

// Decodes a collection entry (after its type byte) into a new Collection; empty on success,
// else what is wrong. Elements must be strictly increasing and their digest the stated one.
std::string DecodeCollection(Decoder* decoder, KeyType type, uint64_t replay_segment_id,
                             std::unique_ptr<Collection>* out, int64_t* expire_at_ms) {
  std::string_view fixed;
  uint64_t count = 0;
  if (!decoder->GetBytes(1 + 8, &fixed) || !decoder->GetVarint64(&count)) return "truncated";
  const uint8_t flags = static_cast<uint8_t>(fixed[0]);
  if (flags > 1) return fmt::format("unknown collection flags {}", flags);
  *expire_at_ms = static_cast<int64_t>(DecodeFixed64(fixed.data() + 1));
  if (*expire_at_ms < 0) return "negative expiry";
  std::string_view digest_bytes;
  if (!decoder->GetBytes(16, &digest_bytes)) return "truncated";
  const StateDigest stated{DecodeFixed64(digest_bytes.data()),
                           DecodeFixed64(digest_bytes.data() + 8)};
  if (count == 0) return "a collection with no element";
  auto collection = std::make_unique<Collection>(type);
  std::string_view previous;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view element;
    if (!decoder->GetLengthPrefixed(&element)) return fmt::format("element {} truncated", i);
    if (element.size() > kElementBytesMax) {
      return fmt::format("element {} of {} bytes exceeds the limit of {}", i, element.size(),
                         kElementBytesMax);
    }
    if (i > 0 && element <= previous) return fmt::format("element {} out of order", i);
    previous = element;
    if (type == KeyType::kSet) {
      collection->AddMember(element);
      continue;
    }
    std::string_view segment;
    if (!decoder->GetBytes(4, &segment)) return fmt::format("element {} truncated", i);
    const uint32_t segment_id = DecodeFixed32(segment.data());
    if (segment_id == 0) {
      std::string_view length;
      std::string_view value;
      if (!decoder->GetBytes(1, &length) ||
          static_cast<uint8_t>(length[0]) > ElemRef::kInlineBytesMax ||
          !decoder->GetBytes(static_cast<uint8_t>(length[0]), &value)) {
        return fmt::format("element {}: bad inline value", i);
      }
      collection->SetField(element, ElemRef::Inline(value));
      continue;
    }
    std::string_view rest;
    if (!decoder->GetBytes(4 + 4 + 8, &rest)) return fmt::format("element {} truncated", i);
    IndexEntry where;  // checked as a string's value is
    where.segment_id = segment_id;
    where.value_offset = DecodeFixed32(rest.data());
    where.value_bytes = DecodeFixed32(rest.data() + 4);
    const std::string out_of_range = EntryOutOfRange(IndexKey(0, ""), where, replay_segment_id);
    if (!out_of_range.empty()) return fmt::format("element {}: {}", i, out_of_range);
    collection->SetField(element, ElemRef::InLog(segment_id, where.value_offset, where.value_bytes,
                                                 DecodeFixed64(rest.data() + 8)));
  }
  if (!(collection->content_digest() == stated)) {
    return "collection digest does not match its elements";
  }
  // The flag can only say the big encoding where the elements do not force it: a small one
  // they cannot have (a set of words as "intset") is a lie no writer tells.
  if (!(flags & 1) && collection->big_encoding()) {
    return "collection flags claim a small encoding its elements cannot have";
  }
  collection->set_big_encoding(flags & 1);
  *out = std::move(collection);
  return {};
}

}  // namespace

std::string CheckpointFileName(uint64_t lsn) { return NumberedFileName(lsn, ".idx"); }

bool ParseCheckpointFileName(std::string_view name, uint64_t* lsn) {
  return ParseNumberedFileName(name, ".idx", lsn);
}

Status WriteCheckpoint(FileSystem* fs, const std::string& index_directory, const Index& index,
                       CheckpointInfo info) {
  info.version = index.collections() > 0 ? kCheckpointVersionCollections : kCheckpointVersion;
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
  // Hands full chunks to the file (and the checksum) as the entries are encoded.
  auto flush = [&]() -> Status {
    if (chunk.size() < kWriteChunkBytes) return Status::Ok();
    checksum.Update(chunk);
    ORDO_RETURN_IF_ERROR(file->Append(chunk));
    chunk.clear();
    return Status::Ok();
  };
  const bool with_types = info.version == kCheckpointVersionCollections;
  for (const auto& [key, entry] : index) {
    if (IsCollection(entry)) {
      assert(with_types);
      const int64_t expire_at_ms = entry.expire_at_ms;
      ORDO_RETURN_IF_ERROR(
          EncodeCollection(key.view(), *Index::CollectionIn(entry), expire_at_ms, &chunk, flush));
    } else {
      EncodeEntry(key.view(), entry, info.replay_segment_id, with_types, &chunk);
    }
    ORDO_RETURN_IF_ERROR(flush());
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
    if (!decoder.GetLengthPrefixed(&key)) {
      return fail(Status::Corruption(fmt::format("{}: entry {} truncated", path, i)));
    }
    if (i > 0 && key <= previous_key) {
      return fail(Status::Corruption(fmt::format("{}: entry {} out of key order", path, i)));
    }
    previous_key = key;
    if (info->version == kCheckpointVersionCollections) {
      std::string_view type;
      if (!decoder.GetBytes(1, &type) || static_cast<uint8_t>(type[0]) > 2) {
        return fail(Status::Corruption(
            fmt::format("{} offset {}: entry {}: truncated or unknown type", path, entry_at, i)));
      }
      if (type[0] != static_cast<char>(KeyType::kString)) {
        if (key.size() < kDatabasePrefixBytes || key.size() > kIndexKeyBytesMax) {
          return fail(Status::Corruption(fmt::format(
              "{} offset {}: entry {}: index key of {} bytes", path, entry_at, i, key.size())));
        }
        std::unique_ptr<Collection> collection;
        int64_t expire_at_ms = 0;
        const std::string wrong =
            DecodeCollection(&decoder, static_cast<KeyType>(type[0]), info->replay_segment_id,
                             &collection, &expire_at_ms);
        if (!wrong.empty()) {
          return fail(Status::Corruption(
              fmt::format("{} offset {}: entry {}: {}", path, entry_at, i, wrong)));
        }
        index->PutCollection(key, std::move(collection), expire_at_ms);
        continue;
      }
    }
    if (!decoder.GetBytes(kEntryFixedBytes, &fixed)) {
      return fail(Status::Corruption(fmt::format("{}: entry {} truncated", path, i)));
    }
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
