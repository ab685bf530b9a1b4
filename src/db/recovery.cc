#include "db/recovery.h"

#include <algorithm>

#include "fmt/format.h"
#include "index/checkpoint.h"
#include "index/collection_ops.h"
#include "log/segment_reader.h"
#include "log/segment_verifier.h"
#include "util/coding.h"

namespace ordo::db {
namespace {

using log::SegmentReader;

// A checkpoint that does not fit the log: recovery drops it and tries an older one.
struct CheckpointMismatch {
  std::string reason;
};

Status ListSegments(FileSystem* fs, const std::string& log_directory, bool read_only,
                    std::vector<SegmentState>* segments, OpenReport* report) {
  ORDO_ASSIGN_OR_RETURN(const std::vector<uint64_t> ids, log::ListSegmentIds(fs, log_directory));
  for (size_t i = 0; i < ids.size(); ++i) {
    SegmentState state;
    state.id = ids[i];
    state.path = log_directory + "/" + log::SegmentFileName(ids[i]);
    if (i > 0 && ids[i] != ids[i - 1] + 1) {
      return Status::Corruption(
          fmt::format("{}: segment {} is missing: the log jumps from "
                      "segment {} to {}",
                      log_directory, ids[i - 1] + 1, ids[i - 1], ids[i]));
    }
    ORDO_ASSIGN_OR_RETURN(state.file_size, fs->GetFileSize(state.path));
    const bool newest = i + 1 == ids.size();
    if (newest && state.file_size <= log::kSegmentHeaderBytes) {
      // Created but its header never became durable: a crash during rotation. It holds no
      // records, so it is removed and created again.
      auto reader = SegmentReader::Open(fs, state.path, state.file_size);
      if (!reader.ok()) {
        report->actions.push_back(
            fmt::format("removed incomplete new segment {} ({} bytes, "
                        "crash during rotation)",
                        state.path, state.file_size));
        if (!read_only) {
          ORDO_RETURN_IF_ERROR(fs->RemoveFile(state.path));
          ORDO_RETURN_IF_ERROR(fs->SyncDir(log_directory));
        }
        if (!segments->empty()) segments->back().seal_durable = true;
        break;
      }
    }
    segments->push_back(std::move(state));
  }
  return Status::Ok();
}

Status CheckInventory(FileSystem* fs, const std::string& database_id,
                      std::vector<SegmentState>* segments) {
  for (size_t i = 0; i < segments->size(); ++i) {
    SegmentState& state = (*segments)[i];
    ORDO_ASSIGN_OR_RETURN(auto reader, SegmentReader::Open(fs, state.path, state.file_size));
    state.header = reader->header();
    if (state.header.database_id != database_id) {
      return Status::Corruption(state.path + " offset 16: segment belongs to another database");
    }
    if (state.header.segment_id != state.id) {
      return Status::Corruption(fmt::format("{} offset 32: header says segment {}, name says {}",
                                            state.path, state.header.segment_id, state.id));
    }
    ORDO_ASSIGN_OR_RETURN(auto tail, log::ReadSegmentTail(fs, state.path, state.file_size));
    state.sealed = tail.sealed;
    state.footer = tail.footer;
    const bool newest = i + 1 == segments->size();
    if (!newest && !state.sealed) {
      return Status::Corruption(
          fmt::format("{} offset {}: segment is not sealed (no valid "
                      "footer) but segment {} follows it",
                      state.path, state.file_size, state.id + 1));
    }
    if (i > 0) {
      const SegmentState& previous = (*segments)[i - 1];
      if (state.header.previous_footer_hash != previous.footer.footer_checksum) {
        return Status::Corruption(
            fmt::format("{} offset 48: header names previous footer "
                        "{:016x}, but {} has footer {:016x}",
                        state.path, state.header.previous_footer_hash, previous.path,
                        previous.footer.footer_checksum));
      }
      if (state.header.first_lsn != previous.footer.last_lsn + 1) {
        return Status::Corruption(
            fmt::format("{} offset 40: first LSN {} does not follow the "
                        "previous segment's last LSN {}",
                        state.path, state.header.first_lsn, previous.footer.last_lsn));
      }
    }
  }
  return Status::Ok();
}

uint64_t RecordLimit(const SegmentState& state) {
  return state.sealed ? state.footer.records_end : state.file_size;
}

// Level 3: every record of a sealed segment, checked against its footer.
Status VerifySealed(FileSystem* fs, const SegmentState& state, OpenReport* report) {
  log::SegmentSummary summary;
  ORDO_RETURN_IF_ERROR(log::VerifySealedSegment(fs, state.path, &summary));
  report->verified_records += summary.records;
  return Status::Ok();
}

// Adds a line to the startup summary once: recovery may replay the newest segment more than
// once (a checkpoint tried, then the whole log), and in read-only mode finds the same tail again.
void AddAction(OpenReport* report, std::string action) {
  for (const auto& existing : report->actions) {
    if (existing == action) return;
  }
  report->actions.push_back(std::move(action));
}

// What recovery does with bytes at the end of the newest segment that are not whole records.
struct TailCut {
  bool torn = false;         // cut them: they never became durable
  uint64_t from_lsn = 0;     // the LSN expected where the cut starts
  uint64_t through_lsn = 0;  // the highest LSN of a whole record found after it (0: none)
  uint64_t durable_lsn = 0;  // the highest durable LSN those records name
};

// The newest segment stops at `error` (at the reader's offset, where LSN `expected_lsn` should
// start). A torn tail (OK, `cut` filled) or damage (Corruption naming file and offset):
//   * no whole valid record follows: the remains of a write interrupted by the crash;
//   * format 2: every whole record after it names a durable LSN below `expected_lsn`, so
//     nothing from there on had been synced when any of them was written: a write that reached
//     the disk out of order (pages persist in any order), never durable, never acknowledged
//     in sync mode always;
//   * otherwise (a record written after `expected_lsn` was durable follows; or, in format 1,
//     any valid record does, since format 1 cannot tell): durable bytes changed.
Status ClassifyBadTail(SegmentReader* reader, uint64_t expected_lsn, const Status& error,
                       TailCut* cut) {
  ORDO_ASSIGN_OR_RETURN(const log::RecordsAfter after,
                        reader->FindRecordsAfter(reader->offset(), expected_lsn));
  const uint32_t version = reader->header().format_version;
  if (after.count > 0 && version < 2) {
    return error.WithContext(
        "damage inside the active segment (valid records follow it, so it "
        "is not a torn tail)");
  }
  if (after.count > 0 && after.highest_durable_lsn >= expected_lsn) {
    // The file and offset first, as every damage message has them.
    return Status::Corruption(fmt::format(
        "{}: damage to durable data, not a torn write: the record at offset {} (LSN {}) was "
        "written after every LSN up to {} had been made durable, and LSN {} was expected here; "
        "cutting here would lose LSNs {} to {} or more, of which {} to {} were durable",
        error.message(), after.highest_durable_offset, after.highest_durable_record_lsn,
        after.highest_durable_lsn, expected_lsn, expected_lsn, after.highest_lsn, expected_lsn,
        std::min(after.highest_durable_lsn, after.highest_lsn)));
  }
  cut->torn = true;
  cut->from_lsn = expected_lsn;
  cut->through_lsn = after.count > 0 ? after.highest_lsn : 0;
  cut->durable_lsn = after.highest_durable_lsn;
  return Status::Ok();
}

struct ReplayStart {
  uint64_t segment_id = 0;  // 0: from the beginning of the log
  uint64_t offset = 0;
  uint64_t lsn = 0;  // records up to this LSN are already in the index
};

// Replays one segment into `index`; returns the valid end through `valid_end`. The newest
// segment (`tail`), sealed or not, is read from its start (every record verified, and counted,
// and checksummed into `checksum`), whatever the checkpoint says, and may end in bytes that
// never became durable (a torn write or a torn seal): `cut` says whether they are to be cut
// (ClassifyBadTail). Reading it whole means a bad position is always one the log has, never
// one a checkpoint claims.
Status ReplaySegment(FileSystem* fs, const SegmentState& state, bool tail, bool active,
                     const ReplayStart& start, StreamingChecksum* checksum, uint64_t* expected_lsn,
                     index::Index* index, uint64_t* valid_end, uint64_t* record_count, TailCut* cut,
                     OpenReport* report, CheckpointMismatch* mismatch) {
  ORDO_ASSIGN_OR_RETURN(auto reader, SegmentReader::Open(fs, state.path, RecordLimit(state)));
  const bool checkpoint_here = start.segment_id == state.id;
  if (checkpoint_here && !tail) {
    // The position is the checkpoint's claim, checked before the reader is moved there: one
    // outside the segment's records is a checkpoint that does not fit the log.
    if (start.offset < log::kSegmentHeaderBytes || start.offset > reader->limit()) {
      mismatch->reason = fmt::format(
          "its position {}:{} is outside the segment's records "
          "(offsets {} to {})",
          state.id, start.offset, log::kSegmentHeaderBytes, reader->limit());
      return Status::Corruption(mismatch->reason);
    }
    reader->Seek(start.offset);
  }
  if (checksum != nullptr) reader->EnableChecksum(checksum);  // the tail: read whole, once
  bool boundary_seen = !checkpoint_here || start.offset == log::kSegmentHeaderBytes;
  if (tail && checkpoint_here) *expected_lsn = state.header.first_lsn;
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  log::DecodedRecord record;
  *cut = TailCut{};
  for (;;) {
    if (reader->offset() == start.offset && checkpoint_here) boundary_seen = true;
    auto outcome = reader->Next(&payload, &record_offset, &error);
    if (outcome == SegmentReader::Outcome::kEnd && tail && !active &&
        reader->offset() < reader->limit()) {
      // Zeros before the seal footer where records should be: a footer that persisted while
      // records written before it did not (a torn seal), or damage. Decided as for bad bytes.
      error =
          Status::Corruption(fmt::format("{} offset {}: zero bytes where records should be "
                                         "(the seal footer says they end at {})",
                                         state.path, reader->offset(), reader->limit()));
      outcome = SegmentReader::Outcome::kBad;
    }
    if (outcome == SegmentReader::Outcome::kEnd) break;
    if (outcome == SegmentReader::Outcome::kBad) {
      if (!tail && checkpoint_here && reader->offset() == start.offset) {
        // Nothing valid at the checkpoint's position: most likely it is not a record boundary.
        // The checkpoint is not trusted for it; if the log itself is damaged there, the
        // replay of the whole log that follows finds it and says so.
        mismatch->reason = fmt::format("its position {}:{} does not hold a valid record ({})",
                                       state.id, start.offset, error.message());
        return Status::Corruption(mismatch->reason);
      }
      if (!tail || state.seal_durable) return error;
      ORDO_RETURN_IF_ERROR(ClassifyBadTail(reader.get(), *expected_lsn, error, cut));
      break;
    }
    ORDO_RETURN_IF_ERROR(log::DecodeRecordPayload(payload, reader->header().format_version, &record)
                             .WithContext(fmt::format("{} offset {}", state.path, record_offset)));
    if (record.lsn != *expected_lsn) {
      if (checkpoint_here && record_offset == start.offset) {
        mismatch->reason = fmt::format("its position {}:{} holds LSN {}, not {}", state.id,
                                       start.offset, record.lsn, *expected_lsn);
        return Status::Corruption(mismatch->reason);
      }
      return Status::Corruption(fmt::format("{} offset {}: LSN {} where {} was expected",
                                            state.path, record_offset, record.lsn, *expected_lsn));
    }
    ++*expected_lsn;
    ++*record_count;
    ++report->verified_records;
    if (record.lsn < start.lsn) continue;  // in the checkpoint already
    if (record.lsn > start.lsn) {
      const Status applied = ApplyRecord(record, state.id, record_offset, index);
      if (!applied.ok()) {
        return Status::Corruption(fmt::format("{} offset {}: LSN {}: {}", state.path, record_offset,
                                              record.lsn, applied.message()));
      }
      ++report->replayed_records;
    }
    // Every record from the checkpoint's own on must find the state it records. The checkpoint's
    // own record (read when it is in the active segment, as after a clean shutdown) checks the
    // checkpoint itself: without it, one with no record after it would be trusted unchecked
    // below level 3, and a key it lost would read as absent.
    if (!(index->digest() == record.digest) || index->size() != record.live_keys) {
      const std::string why = fmt::format(
          "{} offset {}: the state at LSN {} has digest {} with {} keys, the record says {} "
          "with {} keys",
          state.path, record_offset, record.lsn, index->digest().ToHex(), index->size(),
          record.digest.ToHex(), record.live_keys);
      // On top of a checkpoint, the record (checksum verified) is more credible than the state
      // the checkpoint started from: the checkpoint is ignored, and the replay of the whole
      // log that follows reports the log if the fault is really there.
      if (start.segment_id != 0) mismatch->reason = "its entries do not fit the log: " + why;
      return Status::Corruption(why);
    }
  }
  if (checkpoint_here && reader->offset() == start.offset) boundary_seen = true;
  if (!boundary_seen) {
    mismatch->reason = fmt::format("its position {}:{} is not a record boundary of the log",
                                   state.id, start.offset);
    return Status::Corruption(mismatch->reason);
  }
  if (!active && !cut->torn && *expected_lsn - 1 != state.footer.last_lsn) {
    if (checkpoint_here) {
      mismatch->reason = fmt::format("it covers LSN {} but segment {} ends at LSN {}", start.lsn,
                                     state.id, state.footer.last_lsn);
    }
    return Status::Corruption(fmt::format("{}: footer's last LSN {} but records end at {}",
                                          state.path, state.footer.last_lsn, *expected_lsn - 1));
  }
  *valid_end = reader->offset();
  return Status::Ok();
}

// Cuts the newest segment back to `valid_end` (durably) and records its new size in `state`.
// `torn_seal`: its footer persisted, so the file may have been made read-only.
Status CutTornTail(FileSystem* fs, SegmentState* state, uint64_t valid_end, bool torn_seal) {
  if (torn_seal) ORDO_RETURN_IF_ERROR(fs->SetWritable(state->path));
  ORDO_RETURN_IF_ERROR(fs->Truncate(state->path, valid_end));
  state->file_size = valid_end;
  ORDO_ASSIGN_OR_RETURN(auto file, fs->ReopenWritableFile(state->path));
  ORDO_RETURN_IF_ERROR(file->SyncAll());
  return file->Close();
}

// Replays the whole log from `start` into `index`. Fills the active-segment part of `log`.
Status Replay(FileSystem* fs, const RecoveryOptions& options, const ReplayStart& start,
              index::Index* index, RecoveredLog* log, OpenReport* report,
              CheckpointMismatch* mismatch) {
  uint64_t expected_lsn = start.lsn + 1;
  if (start.segment_id == 0 && !log->segments.empty()) {
    expected_lsn = log->segments.front().header.first_lsn;
  }
  log->last_lsn = expected_lsn - 1;
  for (size_t i = 0; i < log->segments.size(); ++i) {
    SegmentState& state = log->segments[i];
    const bool tail = i + 1 == log->segments.size();
    const bool active = !state.sealed && tail;
    if (!tail && state.id < start.segment_id) continue;
    uint64_t valid_end = 0;
    uint64_t record_count = 0;
    TailCut cut;
    if (tail) log->active_checksum.Reset();
    ORDO_RETURN_IF_ERROR(ReplaySegment(fs, state, tail, active, start,
                                       tail ? &log->active_checksum : nullptr, &expected_lsn, index,
                                       &valid_end, &record_count, &cut, report, mismatch));
    const bool torn_seal = cut.torn && !active;
    if (torn_seal) {
      // A torn seal: its footer persisted, records before it did not. The cut takes the footer
      // too, and the segment is the active one again (its records counted and checksummed by
      // the replay, which read it whole).
      AddAction(report, fmt::format("{} the seal of {}: records before its footer never became "
                                    "durable (a crash while sealing)",
                                    options.read_only ? "ignored" : "undid", state.path));
      state.sealed = false;
      state.footer = log::SegmentFooter{};
    }
    if (!state.sealed && tail) {
      if (cut.torn) {
        report->torn_tail_bytes = state.file_size - valid_end;
        report->cut_from_lsn = cut.from_lsn;
        report->cut_through_lsn = cut.through_lsn;
        const std::string records_cut =
            cut.through_lsn == 0
                ? fmt::format("from LSN {} on, no whole record", cut.from_lsn)
                : fmt::format(
                      "LSNs {} to {}; the whole records after the cut were written when "
                      "only LSNs up to {} were durable",
                      cut.from_lsn, cut.through_lsn, cut.durable_lsn);
        AddAction(
            report,
            fmt::format(
                "{} {} bytes of torn tail at the end of {} (offset {} to {}; {}): the remains of "
                "writes that never became durable, so never acknowledged in sync mode always",
                options.read_only ? "ignored" : "cut", report->torn_tail_bytes, state.path,
                valid_end, state.file_size, records_cut));
        if (!options.read_only) {
          ORDO_RETURN_IF_ERROR(CutTornTail(fs, &state, valid_end, torn_seal));
        }
      } else if (valid_end < state.file_size && !options.read_only) {
        // Zeros preallocated ahead of the last record (a crash before the clean close trimmed
        // them): not data, cut so the segment ends at its last record again.
        ORDO_RETURN_IF_ERROR(CutTornTail(fs, &state, valid_end, /*torn_seal=*/false));
      }
      if (start.segment_id > state.id ||
          (start.segment_id == state.id && valid_end < start.offset)) {
        mismatch->reason = "it is newer than the end of the log";
        return Status::Corruption(mismatch->reason);
      }
      log->has_active = true;
      log->active_size = valid_end;
      log->active_records = record_count;
    }
    log->last_lsn = expected_lsn - 1;
  }
  if (start.segment_id != 0 && log->last_lsn < start.lsn) {
    mismatch->reason =
        fmt::format("it covers LSN {} but the log ends at LSN {}", start.lsn, log->last_lsn);
    return Status::Corruption(mismatch->reason);
  }
  return Status::Ok();
}

std::vector<uint64_t> ListCheckpoints(FileSystem* fs, const std::string& index_directory) {
  std::vector<uint64_t> lsns;
  auto names = fs->GetChildren(index_directory);
  if (!names.ok()) return lsns;
  for (const auto& name : *names) {
    uint64_t lsn = 0;
    if (index::ParseCheckpointFileName(name, &lsn)) lsns.push_back(lsn);
  }
  std::sort(lsns.rbegin(), lsns.rend());
  return lsns;
}

}  // namespace

Status ApplyRecord(const log::DecodedRecord& record, uint64_t segment_id, uint64_t record_offset,
                   index::Index* index) {
  // The narrowing below is safe because the readers refused what does not fit: a segment id
  // past kSegmentIdMax (DecodeSegmentHeader), a segment past kSegmentFileBytesMax
  // (SegmentReader::Open), a value past kValueBytesMax (DecodeRecordPayload).
  assert(segment_id >= 1 && segment_id <= log::kSegmentIdMax);
  assert(record_offset >= log::kSegmentHeaderBytes && record_offset < log::kSegmentFileBytesMax);
  for (const auto& op : record.ops) {
    switch (op.type) {
      case log::OpType::kPut: {
        assert(op.value.size() <= kValueBytesMax);
        assert(record_offset + op.value_offset + op.value.size() <= log::kSegmentFileBytesMax);
        index::IndexEntry entry;
        entry.segment_id = static_cast<uint32_t>(segment_id);
        entry.value_offset = static_cast<uint32_t>(record_offset + op.value_offset);
        entry.value_bytes = static_cast<uint32_t>(op.value.size());
        entry.expire_at_ms = op.expire_at_ms;
        entry.value_hash = Checksum64(op.value);
        index->Put(index::IndexKey(op.db, op.key), entry);
        break;
      }
      case log::OpType::kDelete:
      case log::OpType::kExpire:
        index->Erase(index::IndexKey(op.db, op.key));
        break;
      case log::OpType::kClear:
        index->Clear();
        break;
      case log::OpType::kFlushDatabase:
        index->ClearDatabase(op.db);
        break;
      case log::OpType::kSetExpiry:
        index->SetExpiry(index::IndexKey(op.db, op.key), op.expire_at_ms);
        break;
      case log::OpType::kRename:
        index->Rename(index::IndexKey(op.db, op.key), index::IndexKey(op.target_db, op.target_key));
        break;
      case log::OpType::kCopy:
        index->Copy(index::IndexKey(op.db, op.key), index::IndexKey(op.target_db, op.target_key));
        break;
      case log::OpType::kHashSet:
      case log::OpType::kHashDelete:
      case log::OpType::kSetAdd:
      case log::OpType::kSetRemove:
        ORDO_RETURN_IF_ERROR(index::ApplyCollectionOp(op, segment_id, record_offset, index));
        break;
      case log::OpType::kRestorePoint:
        break;
    }
  }
  return Status::Ok();
}

bool ShutdownWasClean(FileSystem* fs, const std::string& directory) {
  const auto lsns = ListCheckpoints(fs, directory + "/index");
  if (lsns.empty()) return false;
  // Only the header: the checkpoint itself can be hundreds of MB.
  auto file = fs->NewRandomAccessFile(directory + "/index/" + index::CheckpointFileName(lsns[0]));
  if (!file.ok()) return false;
  std::string header(index::kCheckpointHeaderBytes, '\0');
  size_t read_count = 0;
  if (!(*file)->Read(0, header.size(), header.data(), &read_count).ok() ||
      read_count != header.size()) {
    return false;
  }
  const uint64_t segment_id = DecodeFixed64(header.data() + 40);
  const uint64_t offset = DecodeFixed64(header.data() + 48);
  auto names = fs->GetChildren(directory + "/log");
  if (!names.ok()) return false;
  uint64_t newest = 0;
  for (const auto& name : *names) {
    uint64_t id = 0;
    if (log::ParseSegmentFileName(name, &id)) newest = std::max(newest, id);
  }
  if (newest != segment_id) return false;
  auto size = fs->GetFileSize(directory + "/log/" + log::SegmentFileName(newest));
  return size.ok() && *size == offset;
}

Status RecoverLog(FileSystem* fs, const std::string& directory, const std::string& database_id,
                  const RecoveryOptions& options, index::Index* index, RecoveredLog* log,
                  OpenReport* report) {
  const std::string log_directory = directory + "/log";
  ORDO_RETURN_IF_ERROR(ListSegments(fs, log_directory, options.read_only, &log->segments, report));
  ORDO_RETURN_IF_ERROR(CheckInventory(fs, database_id, &log->segments));
  // Level 3 verifies every seal first; the newest segment's, unless known durable, only once the
  // replay has decided it is not a torn seal (which the replay undoes: verifying it first would
  // call a crash while sealing damage).
  const auto verify_seals = [&](bool newest) -> Status {
    if (options.integrity_level < 3) return Status::Ok();
    for (size_t i = 0; i < log->segments.size(); ++i) {
      const SegmentState& state = log->segments[i];
      const bool undecided = i + 1 == log->segments.size() && !state.seal_durable;
      if (state.sealed && undecided == newest)
        ORDO_RETURN_IF_ERROR(VerifySealed(fs, state, report));
    }
    return Status::Ok();
  };
  ORDO_RETURN_IF_ERROR(verify_seals(/*newest=*/false));
  for (uint64_t lsn : ListCheckpoints(fs, directory + "/index")) {
    const std::string path = directory + "/index/" + index::CheckpointFileName(lsn);
    index::CheckpointInfo info;
    Status loaded = index::LoadCheckpoint(fs, path, database_id, index, &info);
    if (loaded.ok() && info.lsn != lsn)
      loaded = Status::Corruption(path + ": LSN differs from name");
    if (!loaded.ok()) {
      index->Clear();
      report->actions.push_back("ignored checkpoint " + path + " (" + loaded.ToString() + ")");
      continue;
    }
    CheckpointMismatch mismatch;
    const ReplayStart start{info.replay_segment_id, info.replay_offset, info.lsn};
    Status replayed = Replay(fs, options, start, index, log, report, &mismatch);
    if (replayed.ok()) {
      report->checkpoint = path;
      log->checkpoint_lsn = info.lsn;
      if (options.integrity_level >= 3) {
        index::Index rebuilt;
        RecoveredLog again;
        again.segments = log->segments;
        OpenReport scratch;
        ORDO_RETURN_IF_ERROR(
            Replay(fs, options, ReplayStart{}, &rebuilt, &again, &scratch, &mismatch));
        if (!(rebuilt.digest() == index->digest()) || rebuilt.size() != index->size()) {
          return Status::Corruption(fmt::format(
              "{}: checkpoint plus log gives {} keys (digest {}), the whole log gives {} keys "
              "(digest {}); the log is authoritative: move this checkpoint away to open from "
              "the log alone",
              path, index->size(), index->digest().ToHex(), rebuilt.size(),
              rebuilt.digest().ToHex()));
        }
        report->actions.push_back("checked checkpoint " + path + " against the whole log");
      }
      return verify_seals(/*newest=*/true);
    }
    if (mismatch.reason.empty()) {
      // A failure not traced to the checkpoint: damage in the log, or a checkpoint that
      // verifies but made the replay expect what the log does not hold (an LSN past the
      // log's, a position in a segment that does not exist yet). The checkpoint is derived
      // data and must not make an intact log unopenable, so it is ignored either way: the
      // replay of the whole log below succeeds if only the checkpoint was wrong, and returns
      // the log's damage if there is any.
      mismatch.reason = "replaying the log on top of it failed: " + replayed.ToString();
    }
    index->Clear();
    report->actions.push_back("ignored checkpoint " + path + ": " + mismatch.reason);
    report->verified_records = 0;
    report->replayed_records = 0;
    log->has_active = false;
  }
  if (!log->segments.empty()) {
    report->actions.push_back("rebuilt the index from the whole log (no usable checkpoint)");
  }
  CheckpointMismatch mismatch;
  ORDO_RETURN_IF_ERROR(Replay(fs, options, ReplayStart{}, index, log, report, &mismatch));
  return verify_seals(/*newest=*/true);
}

}  // namespace ordo::db
