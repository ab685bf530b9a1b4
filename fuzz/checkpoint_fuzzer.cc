// Fuzz harness for index checkpoints (src/index/checkpoint.cc) and for how recovery uses them
// (src/db/recovery.cc). A checkpoint is derived data: one that is damaged, or that does not
// fit the log, must be ignored and the index rebuilt from the log. So, beside "LoadCheckpoint
// never crashes", the harness checks the stronger property: with an intact log, recovery
// succeeds whatever the checkpoint holds, and at integrity level 3 (which checks a checkpoint
// against the whole log) it ends with exactly the log's state, or refuses a checkpoint that
// verifies on its own but contradicts the log.
//
// The log is a fixed two-segment fixture (one sealed, one active) built with the real
// encoders. Input: byte 0 holds flags, then
//   * mode "patch" (flag 2): byte 1 picks a true checkpoint of the fixture (at one of its LSNs,
//     written by WriteCheckpoint), the rest is a list of 3-byte patches (u16 offset, xor byte);
//   * otherwise the rest is the checkpoint file itself.
// With flag 1 the harness then repairs what random bytes never get right: the header's magic,
// version, database id, entry count, digest and checksum, and the trailer, over the entries
// that decode. Bits 2-3 of byte 0 are the integrity level of the recovery.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "db/recovery.h"
#include "fuzz/fuzz_check.h"
#include "index/checkpoint.h"
#include "index/index.h"
#include "io/memory_file_system.h"
#include "log/format.h"
#include "log/write_batch_internal.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace {

using namespace ordo;

constexpr uint8_t kRepair = 1;
constexpr uint8_t kPatchTrueCheckpoint = 2;
const std::string kDirectory = "db";
const std::string kDatabaseId(log::kDatabaseIdBytes, 'D');
constexpr uint64_t kEntryFixedBytes = 4 + 4 + 4 + 8 + 8;

// Where each record of the fixture starts, and the state after it.
struct FixtureRecord {
  uint64_t segment_id = 0;
  uint64_t offset = 0;
  uint64_t lsn = 0;
};

struct Fixture {
  MemoryFileSystem fs{MemoryFileSystem::Repairs::kRefuse};
  std::vector<FixtureRecord> records;
  std::map<uint64_t, std::string> true_checkpoints;  // by LSN, 0 .. last
  StateDigest final_digest;
  size_t final_keys = 0;
};

std::string SegmentPath(uint64_t segment_id) {
  return kDirectory + "/log/" + log::SegmentFileName(segment_id);
}

// Encodes `batch` as the record with `lsn` at the end of `segment`, applies it to `state`, and
// records the state's digest in the record as the writer does.
void AppendRecord(uint64_t segment_id, uint64_t lsn, const WriteBatch& batch, std::string* segment,
                  index::Index* state, Fixture* fixture) {
  const uint64_t offset = segment->size();
  std::string scratch;
  std::vector<uint32_t> value_offsets;
  log::RecordMeta meta;
  meta.lsn = lsn;
  log::EncodeRecord(meta, batch, &scratch, &value_offsets);
  log::DecodedRecord decoded;
  FUZZ_CHECK(log::DecodeRecordPayload(std::string_view(scratch).substr(log::kRecordHeaderBytes),
                                      log::kFormatVersion, &decoded)
                 .ok());
  FUZZ_CHECK(db::ApplyRecord(decoded, segment_id, offset, state).ok());
  meta.digest = state->digest();
  meta.live_keys = state->size();
  log::EncodeRecord(meta, batch, segment, &value_offsets);
  // Every earlier record durable, as when each commit is synced before the next.
  log::StampRecords(std::span<char>(segment->data() + offset, segment->size() - offset), lsn - 1);
  fixture->records.push_back(FixtureRecord{segment_id, offset, lsn});
}

void AddTrueCheckpoint(const index::Index& state, uint64_t lsn, uint64_t segment_id,
                       uint64_t offset, Fixture* fixture) {
  MemoryFileSystem scratch{MemoryFileSystem::Repairs::kRefuse};
  index::CheckpointInfo info;
  info.database_id = kDatabaseId;
  info.lsn = lsn;
  info.replay_segment_id = segment_id;
  info.replay_offset = offset;
  info.created_time_ms = 1;
  FUZZ_CHECK(index::WriteCheckpoint(&scratch, "index", state, info).ok());
  auto bytes = ReadFileToString(&scratch, "index/" + index::CheckpointFileName(lsn));
  FUZZ_CHECK(bytes.ok());
  fixture->true_checkpoints[lsn] = *bytes;
}

Fixture* BuildFixture() {
  auto* fixture = new Fixture;
  index::Index state;
  log::SegmentHeader header;
  header.database_id = kDatabaseId;
  header.segment_id = 1;
  header.first_lsn = 1;
  std::string sealed = log::EncodeSegmentHeader(header);
  AddTrueCheckpoint(state, 0, 1, sealed.size(), fixture);
  WriteBatch batches[5];
  batches[0].Put("alpha", "one");
  batches[1].Put("beta", "two", 4102444800000);  // expires in 2100
  batches[1].Put("gamma", "three");
  batches[2].Put("a-key-longer-than-nineteen-bytes", "four");
  batches[3].Delete("beta");
  WriteBatchInternal::RestorePoint(&batches[3], "before-delta");
  batches[4].Put("delta", std::string(300, 'x'));
  for (uint64_t lsn = 1; lsn <= 3; ++lsn) {
    AppendRecord(1, lsn, batches[lsn - 1], &sealed, &state, fixture);
    AddTrueCheckpoint(state, lsn, 1, sealed.size(), fixture);
  }
  log::SegmentFooter footer;
  footer.last_lsn = 3;
  footer.record_count = 3;
  footer.records_end = sealed.size();
  footer.segment_checksum = Checksum64(sealed);
  sealed += log::EncodeSegmentFooter(&footer);

  header.segment_id = 2;
  header.first_lsn = 4;
  header.previous_footer_hash = footer.footer_checksum;
  std::string active = log::EncodeSegmentHeader(header);
  // The checkpoint at LSN 3 names where LSN 4 starts: the start of segment 2.
  fixture->true_checkpoints.erase(3);
  AddTrueCheckpoint(state, 3, 2, active.size(), fixture);
  for (uint64_t lsn = 4; lsn <= 5; ++lsn) {
    AppendRecord(2, lsn, batches[lsn - 1], &active, &state, fixture);
    AddTrueCheckpoint(state, lsn, 2, active.size(), fixture);
  }
  fixture->final_digest = state.digest();
  fixture->final_keys = state.size();
  fixture->fs.SetFile(SegmentPath(1), std::move(sealed));
  fixture->fs.SetFile(SegmentPath(2), std::move(active));
  return fixture;
}

// Rebuilds `checkpoint` with everything random bytes never get right made right: header
// fields and checksum, and a trailer over the entries that decode (bytes after them dropped).
void Repair(std::string* checkpoint) {
  if (checkpoint->size() < index::kCheckpointHeaderBytes) {
    checkpoint->resize(index::kCheckpointHeaderBytes, '\0');
  }
  std::memcpy(checkpoint->data(), "ORDOIDX1", 8);
  // Both versions the loader reads: 2 (index keys) when the input says 2, else 1 (bare keys).
  const uint32_t version = DecodeFixed32(checkpoint->data() + 8) == 2 ? 2 : 1;
  EncodeFixed32(checkpoint->data() + 8, version);
  EncodeFixed32(checkpoint->data() + 12, index::kCheckpointHeaderBytes);
  std::memcpy(checkpoint->data() + 16, kDatabaseId.data(), kDatabaseId.size());
  Decoder decoder(std::string_view(*checkpoint).substr(index::kCheckpointHeaderBytes));
  index::Index entries;
  uint64_t count = 0;
  size_t entries_bytes = 0;
  while (true) {
    std::string_view key;
    std::string_view fixed;
    if (!decoder.GetLengthPrefixed(&key) || !decoder.GetBytes(kEntryFixedBytes, &fixed)) break;
    index::IndexEntry entry;
    entry.segment_id = 1;  // a string's entry (0 marks a collection, which Put refuses)
    entry.value_hash = DecodeFixed64(fixed.data() + 20);
    entry.expire_at_ms = static_cast<int64_t>(DecodeFixed64(fixed.data() + 12));
    // The digest depends on the key, the value hash and the expiry alone.
    if (version == 1) {
      if (key.size() > kKeyBytesMax) break;  // a key of database 0
      entries.Put(index::IndexKey(0, key), entry);
    } else {
      if (key.size() < index::kDatabasePrefixBytes || key.size() > index::kIndexKeyBytesMax) break;
      entries.Put(key, entry);
    }
    ++count;
    entries_bytes = checkpoint->size() - index::kCheckpointHeaderBytes - decoder.remaining();
  }
  checkpoint->resize(index::kCheckpointHeaderBytes + entries_bytes);
  EncodeFixed64(checkpoint->data() + 56, count);
  EncodeFixed64(checkpoint->data() + 64, entries.digest().low);
  EncodeFixed64(checkpoint->data() + 72, entries.digest().high);
  EncodeFixed64(checkpoint->data() + 88, Checksum64(std::string_view(*checkpoint).substr(0, 88)));
  const uint64_t entries_checksum =
      Checksum64(std::string_view(*checkpoint).substr(index::kCheckpointHeaderBytes));
  PutFixed64(checkpoint, count);
  PutFixed64(checkpoint, entries_checksum);
  checkpoint->append("ORDOIDXE", 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* const fixture = BuildFixture();
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  std::string checkpoint;
  if (flags & kPatchTrueCheckpoint) {
    const auto& truths = fixture->true_checkpoints;
    auto chosen = truths.begin();
    std::advance(chosen, data[1] % truths.size());
    checkpoint = chosen->second;
    for (size_t at = 2; at + 3 <= size; at += 3) {
      const size_t offset = (data[at] | data[at + 1] << 8) % checkpoint.size();
      checkpoint[offset] = static_cast<char>(checkpoint[offset] ^ data[at + 2]);
    }
  } else {
    checkpoint.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  }
  if (flags & kRepair) Repair(&checkpoint);

  // The loader alone.
  MemoryFileSystem fs = fixture->fs;
  const uint64_t name_lsn = checkpoint.size() >= 40 ? DecodeFixed64(checkpoint.data() + 32) : 0;
  const std::string path = kDirectory + "/index/" + index::CheckpointFileName(name_lsn);
  fs.SetFile(path, checkpoint);
  {
    index::Index loaded;
    index::CheckpointInfo info;
    const Status status = index::LoadCheckpoint(&fs, path, kDatabaseId, &loaded, &info);
    if (!status.ok()) FUZZ_CHECK(loaded.size() == 0);
  }

  // Recovery with it: the log is intact, so it must succeed whatever the checkpoint says.
  db::RecoveryOptions options;
  options.read_only = true;
  options.integrity_level = (flags >> 2) & 3;
  index::Index recovered;
  db::RecoveredLog log;
  OpenReport report;
  const Status status =
      db::RecoverLog(&fs, kDirectory, kDatabaseId, options, &recovered, &log, &report);
  // The one refusal allowed: level 3 finds that a checkpoint which verifies on its own (a
  // checkpoint writer's bug, or a forged file) contradicts the log, and says so loudly rather
  // than rebuilding over it, as a drill must.
  const bool contradiction_found =
      options.integrity_level >= 3 &&
      status.message().find("checkpoint plus log gives") != std::string::npos;
  if (contradiction_found) return 0;
  if (!status.ok()) {
    std::fprintf(stderr, "recovery failed with an intact log: %s\n", status.ToString().c_str());
  }
  FUZZ_CHECK(status.ok());
  FUZZ_CHECK(log.last_lsn == fixture->records.back().lsn);
  if (options.integrity_level >= 3 || report.checkpoint.empty()) {
    FUZZ_CHECK(recovered.digest() == fixture->final_digest);
    FUZZ_CHECK(recovered.size() == fixture->final_keys);
  }
  return 0;
}
