// Record codec. Payload layout (docs/FORMAT.md, "Record"), format 2:
//     lsn u64 | durable_lsn u64 | commit_time_micros i64 | digest_low u64 | digest_high u64 |
//     live_keys u64 | op_count u32 | op*
// Format 1 is the same without durable_lsn.
// op: type u8, then by type
//     kPut:    key_length varint | key | value_length varint | value | expire_at_ms i64
//     kDelete, kExpire: key_length varint | key
//     kRestorePoint: name_length varint | name
//     kClear:  nothing
//     kFlushDatabase: db varint
//     6, 7, 8 (kPut, kDelete, kExpire in a database other than 0): db varint | as above
//     kSetExpiry: db varint | key_length varint | key | expire_at_ms i64
//     kRename, kCopy: db varint | key_length varint | key | target_db varint |
//                     target_key_length varint | target_key
//     kHashSet: db varint | key_length varint | key | count varint |
//               (field_length varint | field | value_length varint | value) x count
//     kHashDelete, kSetAdd, kSetRemove: db varint | key_length varint | key | count varint |
//               (element_length varint | element) x count
#include <algorithm>

#include "fmt/format.h"
#include "log/format.h"
#include "log/write_batch_internal.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace ordo::log {
namespace {

// Whether `op` goes into the log with its database's number (kWire*InDatabase types).
bool HasDatabaseField(const WriteBatchInternal::Op& op) {
  return op.db != 0 &&
         (op.type == OpType::kPut || op.type == OpType::kDelete || op.type == OpType::kExpire);
}

uint64_t VarintBytes(uint64_t value) {
  uint64_t bytes = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++bytes;
  }
  return bytes;
}

bool NamesTarget(OpType type) { return type == OpType::kRename || type == OpType::kCopy; }

// The other side of ValidateBatch: a record holds only ops that passed it, so an op beyond its
// limits was not written by ordo (the key would not fit the index, which keeps key lengths in
// 4 bytes and values' in 4 too).
Status CheckDecodedOp(const RecordOp& op, uint32_t i) {
  if (op.key.size() > kKeyBytesMax) {
    return Status::Corruption(fmt::format("record op {}: key of {} bytes exceeds the limit of {}",
                                          i, op.key.size(), kKeyBytesMax));
  }
  if (op.value.size() > kValueBytesMax) {
    return Status::Corruption(fmt::format("record op {}: value of {} bytes exceeds the limit of {}",
                                          i, op.value.size(), kValueBytesMax));
  }
  if (op.type == OpType::kRestorePoint &&
      (op.key.empty() || op.key.size() > kRestorePointNameBytesMax)) {
    return Status::Corruption(
        fmt::format("record op {}: restore point name of {} bytes (1 to {} allowed)", i,
                    op.key.size(), kRestorePointNameBytesMax));
  }
  if (op.expire_at_ms < 0) {
    return Status::Corruption(
        fmt::format("record op {}: negative expiry time {}", i, op.expire_at_ms));
  }
  if (op.db >= kDatabasesMax || op.target_db >= kDatabasesMax) {
    return Status::Corruption(fmt::format("record op {}: database {} beyond the last, {}", i,
                                          std::max(op.db, op.target_db), kDatabasesMax - 1));
  }
  if (op.target_key.size() > kKeyBytesMax) {
    return Status::Corruption(
        fmt::format("record op {}: target key of {} bytes exceeds the limit of {}", i,
                    op.target_key.size(), kKeyBytesMax));
  }
  if (NamesTarget(op.type) && op.db == op.target_db && op.key == op.target_key) {
    return Status::Corruption(fmt::format("record op {}: a {} of a key onto itself", i,
                                          op.type == OpType::kRename ? "rename" : "copy"));
  }
  return Status::Ok();
}

}  // namespace

uint64_t EncodedRecordBytes(const WriteBatch& batch) {
  uint64_t bytes = kRecordHeaderBytes + kRecordFixedPayloadBytes;
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    bytes += 1;
    if (op.type == OpType::kClear) continue;
    if (op.type == OpType::kFlushDatabase) {
      bytes += VarintBytes(op.db);
      continue;
    }
    if (HasDatabaseField(op) || op.type == OpType::kSetExpiry || NamesTarget(op.type) ||
        IsCollectionOp(op.type)) {
      bytes += VarintBytes(op.db);
    }
    if (IsCollectionOp(op.type)) {
      const uint64_t count =
          op.type == OpType::kHashSet ? op.elements.size() / 2 : op.elements.size();
      bytes += VarintBytes(count);
      for (const std::string& element : op.elements) {
        bytes += VarintBytes(element.size()) + element.size();
      }
    }
    bytes += VarintBytes(op.key.size()) + op.key.size();
    if (op.type == OpType::kPut) {
      bytes += VarintBytes(op.value.size()) + op.value.size() + 8;
    }
    if (op.type == OpType::kSetExpiry) bytes += 8;
    if (NamesTarget(op.type)) {
      bytes += VarintBytes(op.target_db) + VarintBytes(op.target_key.size()) + op.target_key.size();
    }
  }
  return bytes;
}

Status ValidateBatch(const WriteBatch& batch) {
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    if (op.key.size() > kKeyBytesMax) {
      return Status::InvalidArgument(fmt::format("key of {} bytes exceeds the limit of {} bytes",
                                                 op.key.size(), kKeyBytesMax));
    }
    if (op.value.size() > kValueBytesMax) {
      return Status::InvalidArgument(fmt::format("value of {} bytes exceeds the limit of {} bytes",
                                                 op.value.size(), kValueBytesMax));
    }
    if (op.type == OpType::kRestorePoint &&
        (op.key.empty() || op.key.size() > kRestorePointNameBytesMax)) {
      return Status::InvalidArgument(
          fmt::format("restore point name of {} bytes: it must have 1 to {} bytes", op.key.size(),
                      kRestorePointNameBytesMax));
    }
    if (op.expire_at_ms < 0) {
      return Status::InvalidArgument(fmt::format("negative expiry time {}", op.expire_at_ms));
    }
    if (op.db >= kDatabasesMax || op.target_db >= kDatabasesMax) {
      return Status::InvalidArgument(fmt::format("database {} beyond the last, {}",
                                                 std::max(op.db, op.target_db), kDatabasesMax - 1));
    }
    if (op.target_key.size() > kKeyBytesMax) {
      return Status::InvalidArgument(fmt::format("key of {} bytes exceeds the limit of {} bytes",
                                                 op.target_key.size(), kKeyBytesMax));
    }
    if (NamesTarget(op.type) && op.db == op.target_db && op.key == op.target_key) {
      return Status::InvalidArgument("a rename or copy of a key onto itself");
    }
    if (IsCollectionOp(op.type)) {
      if (op.elements.empty() || (op.type == OpType::kHashSet && op.elements.size() % 2 != 0)) {
        return Status::InvalidArgument(
            "a collection op without elements, or a field without value");
      }
      for (size_t i = 0; i < op.elements.size(); ++i) {
        const bool is_value = op.type == OpType::kHashSet && i % 2 == 1;
        const uint64_t limit = is_value ? kValueBytesMax : kKeyBytesMax;
        if (op.elements[i].size() > limit) {
          return Status::InvalidArgument(fmt::format("{} of {} bytes exceeds the limit of {} bytes",
                                                     is_value ? "value" : "field or member",
                                                     op.elements[i].size(), limit));
        }
      }
    }
  }
  const uint64_t payload_bytes = EncodedRecordBytes(batch) - kRecordHeaderBytes;
  if (payload_bytes > kRecordPayloadBytesMax) {
    return Status::InvalidArgument(
        fmt::format("write batch of {} bytes exceeds the limit of {} bytes", payload_bytes,
                    kRecordPayloadBytesMax));
  }
  return Status::Ok();
}

void EncodeRecord(const RecordMeta& meta, const WriteBatch& batch, std::string* target,
                  std::vector<uint32_t>* value_offsets) {
  const size_t record_start = target->size();
  const uint64_t expected_bytes = EncodedRecordBytes(batch);
  target->reserve(record_start + expected_bytes);
  // The checksum and the durable LSN are StampRecords'; the magic and length are set below.
  target->append(kRecordHeaderBytes, '\0');
  PutFixed64(target, meta.lsn);
  PutFixed64(target, 0);  // durable_lsn
  PutFixed64(target, static_cast<uint64_t>(meta.commit_time_micros));
  PutFixed64(target, meta.digest.low);
  PutFixed64(target, meta.digest.high);
  PutFixed64(target, meta.live_keys);
  // ValidateBatch bounds the whole payload, and with it every count and offset below.
  assert(expected_bytes - kRecordHeaderBytes <= kRecordPayloadBytesMax);
  PutFixed32(target, static_cast<uint32_t>(batch.size()));
  value_offsets->clear();
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    // The limits DecodeRecordPayload refuses beyond.
    assert(op.key.size() <= kKeyBytesMax && op.value.size() <= kValueBytesMax);
    assert(op.db < kDatabasesMax);  // ValidateBatch
    uint32_t value_offset = 0;
    if (op.type == OpType::kFlushDatabase) {
      target->push_back(static_cast<char>(op.type));
      PutVarint64(target, op.db);
      value_offsets->push_back(value_offset);
      continue;
    }
    if (op.type == OpType::kSetExpiry || NamesTarget(op.type)) {
      assert(op.expire_at_ms >= 0 && op.target_db < kDatabasesMax);  // ValidateBatch
      target->push_back(static_cast<char>(op.type));
      PutVarint64(target, op.db);
      PutLengthPrefixed(target, op.key);
      if (op.type == OpType::kSetExpiry) {
        PutFixed64(target, static_cast<uint64_t>(op.expire_at_ms));
      } else {
        PutVarint64(target, op.target_db);
        PutLengthPrefixed(target, op.target_key);
      }
      value_offsets->push_back(value_offset);
      continue;
    }
    if (IsCollectionOp(op.type)) {
      target->push_back(static_cast<char>(op.type));
      PutVarint64(target, op.db);
      PutLengthPrefixed(target, op.key);
      PutVarint64(target,
                  op.type == OpType::kHashSet ? op.elements.size() / 2 : op.elements.size());
      // The DB finds each value's place with ForEachElement from the block's start.
      value_offsets->push_back(static_cast<uint32_t>(target->size() - record_start));
      for (const std::string& element : op.elements) PutLengthPrefixed(target, element);
      continue;
    }
    if (HasDatabaseField(op)) {
      target->push_back(static_cast<char>(op.type == OpType::kPut      ? kWirePutInDatabase
                                          : op.type == OpType::kDelete ? kWireDeleteInDatabase
                                                                       : kWireExpireInDatabase));
      PutVarint64(target, op.db);
    } else {
      target->push_back(static_cast<char>(op.type));
    }
    if (op.type != OpType::kClear) PutLengthPrefixed(target, op.key);
    if (op.type == OpType::kPut) {
      assert(op.expire_at_ms >= 0);
      PutVarint64(target, op.value.size());
      value_offset = static_cast<uint32_t>(target->size() - record_start);
      target->append(op.value);
      PutFixed64(target, static_cast<uint64_t>(op.expire_at_ms));
    }
    value_offsets->push_back(value_offset);
  }
  const uint64_t payload_bytes = target->size() - record_start - kRecordHeaderBytes;
  assert(target->size() - record_start == expected_bytes);
  assert(payload_bytes <= kRecordPayloadBytesMax);
  char* header = target->data() + record_start;
  EncodeFixed32(header + 8, kRecordMagic);
  EncodeFixed32(header + 12, static_cast<uint32_t>(payload_bytes));
}

uint64_t StampRecords(std::span<char> records, uint64_t durable_lsn) {
  uint64_t count = 0;
  for (size_t at = 0; at < records.size(); ++count) {
    char* record = records.data() + at;
    assert(records.size() - at >= kRecordHeaderBytes + kRecordFixedPayloadBytes);
    assert(DecodeFixed32(record + 8) == kRecordMagic);
    const uint32_t payload_bytes = DecodeFixed32(record + 12);
    // What SegmentReader::Next refuses on the other side.
    assert(payload_bytes <= kRecordPayloadBytesMax);
    assert(records.size() - at >= kRecordHeaderBytes + payload_bytes);
    // A record is written after every record up to durable_lsn was synced, never before its own.
    assert(durable_lsn < DecodeFixed64(record + kRecordHeaderBytes));
    EncodeFixed64(record + kRecordDurableLsnOffset, durable_lsn);
    EncodeFixed64(record, Checksum64(std::string_view(record + 8, 8 + payload_bytes)));
    at += kRecordHeaderBytes + payload_bytes;
  }
  return count;
}

Status DecodeRecordPayload(std::string_view payload, uint32_t format_version,
                           DecodedRecord* record) {
  // No ops survive from an earlier call, even when this one fails before decoding any: their
  // views point into another record's bytes, which may be gone.
  record->ops.clear();
  assert(format_version >= kFormatVersionOldest && format_version <= kFormatVersion);
  // The reader refuses a longer record (SegmentReader::Next): value offsets below fit 4 bytes.
  assert(payload.size() <= kRecordPayloadBytesMax);
  Decoder decoder(payload);
  uint64_t commit_time = 0;
  uint32_t op_count = 0;
  record->durable_lsn = 0;
  if (!decoder.GetFixed64(&record->lsn)) {
    return Status::Corruption("record payload shorter than its fixed fields");
  }
  if (format_version >= 2 && !decoder.GetFixed64(&record->durable_lsn)) {
    return Status::Corruption("record payload shorter than its fixed fields");
  }
  if (!decoder.GetFixed64(&commit_time) || !decoder.GetFixed64(&record->digest.low) ||
      !decoder.GetFixed64(&record->digest.high) || !decoder.GetFixed64(&record->live_keys) ||
      !decoder.GetFixed32(&op_count)) {
    return Status::Corruption("record payload shorter than its fixed fields");
  }
  record->commit_time_micros = static_cast<int64_t>(commit_time);
  if (op_count > payload.size()) return Status::Corruption("record op count exceeds its size");
  // Written after every LSN up to it was durable, so never after its own record.
  if (record->durable_lsn >= record->lsn && format_version >= 2) {
    return Status::Corruption(
        fmt::format("record of LSN {} names durable LSN {}, not below its own", record->lsn,
                    record->durable_lsn));
  }
  record->ops.reserve(op_count);
  for (uint32_t i = 0; i < op_count; ++i) {
    uint8_t type = 0;
    if (!decoder.GetByte(&type)) return Status::Corruption(fmt::format("record op {} missing", i));
    RecordOp op{static_cast<OpType>(type), {}, {}, 0, 0, 0, {}, 0};
    if (type == kWirePutInDatabase || type == kWireDeleteInDatabase ||
        type == kWireExpireInDatabase || type == static_cast<uint8_t>(OpType::kFlushDatabase)) {
      uint64_t db = 0;
      if (!decoder.GetVarint64(&db)) {
        return Status::Corruption(fmt::format("record op {}: database truncated", i));
      }
      // In database 0 these keys are written under their own types.
      if (db >= kDatabasesMax ||
          (db == 0 && type != static_cast<uint8_t>(OpType::kFlushDatabase))) {
        return Status::Corruption(
            fmt::format("record op {}: database {} for type {}", i, db, type));
      }
      op.db = static_cast<uint32_t>(db);
      op.type = type == kWirePutInDatabase      ? OpType::kPut
                : type == kWireDeleteInDatabase ? OpType::kDelete
                : type == kWireExpireInDatabase ? OpType::kExpire
                                                : OpType::kFlushDatabase;
    }
    switch (op.type) {
      case OpType::kClear:
      case OpType::kFlushDatabase:
        break;
      case OpType::kDelete:
      case OpType::kExpire:
      case OpType::kRestorePoint:
        if (!decoder.GetLengthPrefixed(&op.key)) {
          return Status::Corruption(fmt::format("record op {}: key truncated", i));
        }
        break;
      case OpType::kSetExpiry:
      case OpType::kRename:
      case OpType::kCopy: {
        uint64_t db = 0;
        if (!decoder.GetVarint64(&db) || !decoder.GetLengthPrefixed(&op.key)) {
          return Status::Corruption(fmt::format("record op {}: key truncated", i));
        }
        // Kept in 32 bits below; CheckDecodedOp refuses what is past the last database.
        op.db = static_cast<uint32_t>(std::min<uint64_t>(db, kDatabasesMax));
        if (op.type == OpType::kSetExpiry) {
          uint64_t expire = 0;
          if (!decoder.GetFixed64(&expire)) {
            return Status::Corruption(fmt::format("record op {}: expiry truncated", i));
          }
          op.expire_at_ms = static_cast<int64_t>(expire);
          break;
        }
        uint64_t target_db = 0;
        if (!decoder.GetVarint64(&target_db) || !decoder.GetLengthPrefixed(&op.target_key)) {
          return Status::Corruption(fmt::format("record op {}: target key truncated", i));
        }
        op.target_db = static_cast<uint32_t>(std::min<uint64_t>(target_db, kDatabasesMax));
        break;
      }
      case OpType::kHashSet:
      case OpType::kHashDelete:
      case OpType::kSetAdd:
      case OpType::kSetRemove: {
        uint64_t db = 0;
        uint64_t count = 0;
        if (!decoder.GetVarint64(&db) || !decoder.GetLengthPrefixed(&op.key) ||
            !decoder.GetVarint64(&count)) {
          return Status::Corruption(fmt::format("record op {}: key truncated", i));
        }
        op.db = static_cast<uint32_t>(std::min<uint64_t>(db, kDatabasesMax));
        // Each element takes a byte at least: a count past the bytes left is no record's.
        if (count == 0 || count > decoder.remaining()) {
          return Status::Corruption(fmt::format("record op {}: {} elements", i, count));
        }
        const size_t start = payload.size() - decoder.remaining();
        const bool pairs = op.type == OpType::kHashSet;
        for (uint64_t e = 0; e < count; ++e) {
          std::string_view element;
          std::string_view value;
          if (!decoder.GetLengthPrefixed(&element) ||
              (pairs && !decoder.GetLengthPrefixed(&value))) {
            return Status::Corruption(fmt::format("record op {}: element {} truncated", i, e));
          }
          if (element.size() > kKeyBytesMax || value.size() > kValueBytesMax) {
            return Status::Corruption(
                fmt::format("record op {}: element {} beyond the limits", i, e));
          }
        }
        op.element_count = static_cast<uint32_t>(count);
        op.elements = payload.substr(start, payload.size() - decoder.remaining() - start);
        op.elements_offset = static_cast<uint32_t>(start + kRecordHeaderBytes);
        break;
      }
      case OpType::kPut: {
        uint64_t expire = 0;
        if (!decoder.GetLengthPrefixed(&op.key) || !decoder.GetLengthPrefixed(&op.value) ||
            !decoder.GetFixed64(&expire)) {
          return Status::Corruption(fmt::format("record op {}: put truncated", i));
        }
        op.expire_at_ms = static_cast<int64_t>(expire);
        op.value_offset =
            static_cast<uint32_t>(op.value.data() - payload.data() + kRecordHeaderBytes);
        break;
      }
      default:
        return Status::Corruption(fmt::format("record op {}: unknown type {}", i, type));
    }
    ORDO_RETURN_IF_ERROR(CheckDecodedOp(op, i));
    record->ops.push_back(op);
  }
  if (!decoder.empty()) {
    return Status::Corruption(
        fmt::format("record has {} bytes after its last op", decoder.remaining()));
  }
  return Status::Ok();
}

void ForEachElement(
    const RecordOp& op,
    const std::function<void(std::string_view, std::string_view, uint32_t)>& visit) {
  assert(IsCollectionOp(op.type));
  Decoder decoder(op.elements);
  const bool pairs = op.type == OpType::kHashSet;
  for (uint32_t e = 0; e < op.element_count; ++e) {
    std::string_view element;
    std::string_view value;
    // The decoder checked the block: every element is there.
    const bool read =
        decoder.GetLengthPrefixed(&element) && (!pairs || decoder.GetLengthPrefixed(&value));
    assert(read);
    (void)read;
    const uint32_t value_offset =
        pairs ? op.elements_offset + static_cast<uint32_t>(value.data() - op.elements.data()) : 0;
    visit(element, value, value_offset);
  }
  assert(decoder.empty());
}

}  // namespace ordo::log
