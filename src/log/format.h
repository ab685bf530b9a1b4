// The log formats: segment header, record, seal footer. docs/FORMAT.md is the specification;
// this file is its code. All integers are little-endian.
//
// A segment file is
//     header (64 bytes) | record* | [footer (48 bytes), once sealed]
// A record is
//     checksum u64 | magic u32 | payload_length u32 | payload
// where checksum = XXH3-64 of the 8 + payload_length bytes that follow it. A record never spans
// two segments. Bytes that are all zero where a record header would start mark the end of
// written data (a pre-zeroed or extended file); anything else that fails to decode is damage,
// which recovery classifies as a torn tail (cut) or corruption (stop), see segment_reader.h.
//
// Versions. The segment header's format_version says how its records' payloads are laid out:
// version 2 (written by this build) carries each record's durable LSN, version 1 (read, never
// written) does not. A segment holds records of its own version only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ordo/db.h"
#include "ordo/file_system.h"
#include "ordo/options.h"
#include "ordo/status.h"

namespace ordo::log {

inline constexpr char kSegmentMagic[8] = {'O', 'R', 'D', 'O', 'S', 'E', 'G', '1'};
inline constexpr char kFooterMagic[8] = {'O', 'R', 'D', 'O', 'E', 'N', 'D', '1'};
// The segment format this build writes, and the oldest it reads.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kFormatVersionOldest = 1;
inline constexpr uint32_t kSegmentHeaderBytes = 64;
inline constexpr uint32_t kSegmentFooterBytes = 48;
inline constexpr uint32_t kRecordHeaderBytes = 16;
// Version 2: lsn, durable lsn, commit time, digest, live keys, op count.
inline constexpr uint32_t kRecordFixedPayloadBytes = 8 + 8 + 8 + 16 + 8 + 4;
// Version 1: as version 2 without the durable lsn.
inline constexpr uint32_t kRecordFixedPayloadBytesVersion1 = kRecordFixedPayloadBytes - 8;
// Where a version 2 record's durable LSN sits, from the record's start (header included).
inline constexpr uint32_t kRecordDurableLsnOffset = kRecordHeaderBytes + 8;
inline constexpr uint32_t kRecordMagic = 0x52445230;  // bytes "0RDR" on disk
// A record's payload is at most this long: the largest value plus room for a batch of keys.
// ValidateBatch refuses a larger batch and EncodeRecord asserts it; SegmentReader refuses a
// record header claiming more (Corruption).
inline constexpr uint64_t kRecordPayloadBytesMax = 1024ull * 1024 * 1024;
// The smallest whole record of any format: header and the fixed fields of a format 1 payload.
inline constexpr uint64_t kRecordBytesMin = kRecordHeaderBytes + kRecordFixedPayloadBytesVersion1;
inline constexpr size_t kDatabaseIdBytes = 16;

// Limits of the on-disk integers that the index keeps narrower than the log does.
//
// Segment ids are u64 in the segment header and its file name, but 4 bytes in the index
// (IndexEntry) and in a checkpoint entry: the last id is this. SegmentWriter::Create and the
// database's rotation refuse to go past it (NotSupported); EncodeSegmentHeader asserts it;
// DecodeSegmentHeader and the checkpoint decoder refuse a larger id (Corruption).
inline constexpr uint64_t kSegmentIdMax = 0xffffffffull;
// The largest a segment file can be: a segment is sealed once the next record would take it past
// the configured size (<= kSegmentBytesMax), but a record always fits in an empty segment, so
// the last record may start just before that size. Value offsets are 4 bytes in the index and
// in a checkpoint entry, so every byte of a segment must have an offset below 2^32. The writer
// asserts it; SegmentReader::Open refuses a larger segment and the checkpoint decoder a value
// past it (Corruption).
inline constexpr uint64_t kSegmentFileBytesMax = kSegmentHeaderBytes + kSegmentBytesMax +
                                                 kRecordHeaderBytes + kRecordPayloadBytesMax +
                                                 kSegmentFooterBytes;

static_assert(kRecordPayloadBytesMax > kValueBytesMax + kKeyBytesMax);
static_assert(kRecordPayloadBytesMax < (1ull << 32));
static_assert(kSegmentIdMax == UINT32_MAX && kSegmentFileBytesMax <= UINT32_MAX);

using DatabaseId = std::string;  // exactly kDatabaseIdBytes bytes (a random UUID)

struct SegmentHeader {
  uint32_t format_version = kFormatVersion;
  DatabaseId database_id;
  uint64_t segment_id = 0;
  uint64_t first_lsn = 0;             // the LSN the first record of this segment has or will have
  uint64_t previous_footer_hash = 0;  // footer checksum of segment_id - 1; 0 for the first
};

struct SegmentFooter {
  uint64_t last_lsn = 0;  // LSN of the last record; first_lsn - 1 when there is none
  uint64_t record_count = 0;
  uint64_t records_end = 0;       // offset of the footer = end of the last record
  uint64_t segment_checksum = 0;  // XXH3-64 of bytes [0, records_end)
  uint64_t footer_checksum = 0;   // XXH3-64 of the footer's first 40 bytes; the chain hash
};

std::string EncodeSegmentHeader(const SegmentHeader& header);
// `where` names the file for error messages.
Status DecodeSegmentHeader(std::string_view bytes, const std::string& where, SegmentHeader* header);

// Fills footer_checksum and returns the 48 bytes.
std::string EncodeSegmentFooter(SegmentFooter* footer);
// Returns Corruption unless `bytes` is a footer with a valid checksum.
Status DecodeSegmentFooter(std::string_view bytes, const std::string& where, SegmentFooter* footer);

// "log/00000000000000000042.seg" style names: the id in 20 decimal digits so names sort.
std::string SegmentFileName(uint64_t segment_id);
// Parses a segment file name; false for other names (temporary files included).
bool ParseSegmentFileName(std::string_view name, uint64_t* segment_id);

// The ids of the segment files in `log_directory`, ascending (other files ignored).
Result<std::vector<uint64_t>> ListSegmentIds(FileSystem* fs, const std::string& log_directory);

// ---- Records.

// An op's type byte in a record (docs/FORMAT.md, "Record"): on-disk values, never renumbered.
enum class OpType : uint8_t {
  kPut = 1,            // key, value, expire_at_ms (0 = never)
  kDelete = 2,         // key
  kClear = 3,          // removes every key (FLUSHDB, FLUSHALL)
  kExpire = 4,         // key: a delete because the key's time ran out (logged so the log decides)
  kRestorePoint = 5,   // key holds a name: marks this commit for `ordo restore --point`; no
                       // change to the state
  kFlushDatabase = 9,  // db: removes every key of one database (FLUSHDB)
  // Metadata-only ops: they change a key's entry without writing its value again (the value
  // stays where the log holds it). Each names its databases, 0 included.
  kSetExpiry = 10,  // db, key, expire_at_ms (0 = persist): a new expiry for a key
  kRename = 11,     // db, key, target_db, target_key: the key's entry moves to the target
  kCopy = 12,       // db, key, target_db, target_key: the target gets the key's entry too
  // Collections (docs/FORMAT.md, "Collections"): effects on a hash's fields or a set's
  // members, each naming its database; the elements are read with ForEachElement.
  kHashSet = 13,     // db, key, count, (field, value) x count
  kHashDelete = 14,  // db, key, count, field x count
  kSetAdd = 15,      // db, key, count, member x count
  kSetRemove = 16,   // db, key, count, member x count
};
inline bool IsCollectionOp(OpType type) {
  return type == OpType::kHashSet || type == OpType::kHashDelete || type == OpType::kSetAdd ||
         type == OpType::kSetRemove;
}
// kPut, kDelete and kExpire of a key in a database other than 0 go into the log under these
// types, with the database's number before the key (FORMAT.md, "Record"); in database 0 under
// their own, so a log that uses only database 0 reads as before.
inline constexpr uint8_t kWirePutInDatabase = 6;
inline constexpr uint8_t kWireDeleteInDatabase = 7;
inline constexpr uint8_t kWireExpireInDatabase = 8;
// Databases are numbered 0 to kDatabasesMax - 1 (the index keeps the number in 2 bytes).
inline constexpr uint32_t kDatabasesMax = 65536;
// A restore point's name has 1 to this many bytes (ValidateBatch).
inline constexpr uint64_t kRestorePointNameBytesMax = 256;

struct RecordOp {
  OpType type;
  std::string_view key;
  std::string_view value;
  int64_t expire_at_ms = 0;   // kPut, kSetExpiry
  uint32_t value_offset = 0;  // offset of the value bytes from the start of the record
  uint32_t db = 0;            // the database of the key, or the one flushed
  // kRename, kCopy: where the key's entry goes. Never the key itself (same database and key).
  std::string_view target_key = {};
  uint32_t target_db = 0;
  // Collection ops: how many elements, their encoded bytes (checked by the decoder), and where
  // those bytes start from the start of the record (so a hash value's place in the segment is
  // known). Read with ForEachElement.
  uint32_t element_count = 0;
  std::string_view elements = {};
  uint32_t elements_offset = 0;
};

// Calls visit(element, value, value_offset) for each element of a collection op, in order:
// for kHashSet the field, its value and the value's offset from the start of the record; for
// the others the field or member, an empty value and 0.
void ForEachElement(const RecordOp& op,
                    const std::function<void(std::string_view, std::string_view, uint32_t)>& visit);

// What a record says about its commit besides the ops.
struct RecordMeta {
  uint64_t lsn = 0;
  int64_t commit_time_micros = 0;
  // The state digest after this commit: the whole state's digest, computed when the batch was
  // sequenced. Lets a reader of the log alone (a backup, a point-in-time restore) know the
  // digest the state must have at any commit, and lets recovery check its replay.
  StateDigest digest;
  uint64_t live_keys = 0;  // keys in the state after this commit (as the digest, from the log)
};

struct DecodedRecord {
  uint64_t lsn = 0;
  // Every record with an LSN up to this one had been made durable (fdatasync) before this record
  // was written: what recovery uses to tell a torn unsynced write from damage to durable data
  // (docs/FORMAT.md, "End of records"). Format 2; 0 in a format 1 record, which lacks it.
  uint64_t durable_lsn = 0;
  int64_t commit_time_micros = 0;
  StateDigest digest;
  uint64_t live_keys = 0;
  std::vector<RecordOp> ops;  // views into the record bytes
};

// Appends one record (header and payload, format kFormatVersion) for `batch` to `target` and,
// for each op, the offset of its value bytes from the start of the record (0 for ops without a
// value). The batch must be validated (ValidateBatch) first. The record is not valid until
// StampRecords() fills in its durable LSN and checksum, which only the log writer knows: the
// durable LSN at the moment the record is written, not when it was encoded.
void EncodeRecord(const RecordMeta& meta, const WriteBatch& batch, std::string* target,
                  std::vector<uint32_t>* value_offsets);

// Stamps every record of `records` (whole records from EncodeRecord, back to back): writes
// `durable_lsn` into each and then its checksum. Returns the number of records.
uint64_t StampRecords(std::span<char> records, uint64_t durable_lsn);

// Size EncodeRecord would produce, to place the record before encoding it.
uint64_t EncodedRecordBytes(const WriteBatch& batch);

// InvalidArgument naming the op and limit when a key, value or the whole batch is too large.
Status ValidateBatch(const WriteBatch& batch);

// Decodes a payload (the bytes after the 16-byte header, already checksum-verified) of a record
// in a segment of `format_version` (the header's).
Status DecodeRecordPayload(std::string_view payload, uint32_t format_version,
                           DecodedRecord* record);

}  // namespace ordo::log
