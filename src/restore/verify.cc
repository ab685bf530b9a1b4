#include "restore/verify.h"

#include <set>

#include "db/identity.h"
#include "fmt/format.h"
#include "index/checkpoint.h"
#include "log/segment_reader.h"
#include "log/segment_verifier.h"
#include "restore/restore.h"
#include "util/clock.h"

namespace ordo::restore {
namespace {

bool IsHex(const std::string& text, size_t digits) {
  if (text.size() != digits) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsSegment(const repository::ManifestFile& file) {
  return file.kind == "sealed-segment" || file.kind == "active-prefix";
}

// Names a file of a backup in error messages: where it restores to and where it is stored.
std::string Describe(const repository::Manifest& manifest, const repository::ManifestFile& file) {
  return fmt::format("backup {}: {} (data/{})", manifest.backup_id, file.relative_path,
                     file.stored_name);
}

Status CheckManifestFile(const std::string& where, const repository::ManifestFile& file) {
  if (!IsRestorablePath(file.relative_path)) {
    return Status::Corruption(fmt::format("{}: bad file path \"{}\"", where, file.relative_path));
  }
  if (!IsHex(file.stored_name, 64) || !IsHex(file.plain_sha256, 64)) {
    return Status::Corruption(
        fmt::format("{}: {} has a malformed hash (stored name \"{}\", "
                    "plain sha256 \"{}\")",
                    where, file.relative_path, file.stored_name, file.plain_sha256));
  }
  if (file.kind == "identity" && file.relative_path != "IDENTITY") {
    return Status::Corruption(where + ": the identity is listed as " + file.relative_path);
  }
  if (IsSegment(file) && file.relative_path != "log/" + log::SegmentFileName(file.segment_id)) {
    return Status::Corruption(
        fmt::format("{}: segment {} is listed as {}", where, file.segment_id, file.relative_path));
  }
  if (file.kind == "checkpoint" &&
      file.relative_path != "index/" + index::CheckpointFileName(file.last_lsn)) {
    return Status::Corruption(fmt::format("{}: checkpoint at LSN {} is listed as {}", where,
                                          file.last_lsn, file.relative_path));
  }
  if (file.kind != "identity" && !IsSegment(file) && file.kind != "checkpoint") {
    return Status::Corruption(
        fmt::format("{}: {} has unknown kind \"{}\"", where, file.relative_path, file.kind));
  }
  return Status::Ok();
}

// Segments: consecutive ids, contiguous LSNs from first_lsn to last_lsn, the active prefix last.
Status CheckSegmentChain(const std::string& where, const repository::Manifest& manifest) {
  const repository::ManifestFile* previous = nullptr;
  for (const repository::ManifestFile& file : manifest.files) {
    if (!IsSegment(file)) continue;
    if (previous == nullptr && file.first_lsn != manifest.first_lsn) {
      return Status::Corruption(fmt::format("{}: first segment starts at LSN {}, the backup at {}",
                                            where, file.first_lsn, manifest.first_lsn));
    }
    if (previous != nullptr) {
      if (previous->kind == "active-prefix") {
        return Status::Corruption(where + ": a segment follows the active prefix " +
                                  previous->relative_path);
      }
      if (file.segment_id != previous->segment_id + 1 || file.first_lsn != previous->last_lsn + 1) {
        return Status::Corruption(
            fmt::format("{}: {} does not follow {} (segment {} LSN {}, "
                        "expected segment {} LSN {})",
                        where, file.relative_path, previous->relative_path, file.segment_id,
                        file.first_lsn, previous->segment_id + 1, previous->last_lsn + 1));
      }
    }
    if (file.last_lsn + 1 < file.first_lsn) {
      return Status::Corruption(fmt::format("{}: {} has LSN range {}..{}", where,
                                            file.relative_path, file.first_lsn, file.last_lsn));
    }
    if (file.kind == "sealed-segment" && !file.segment_key.starts_with(fmt::format(
                                             "{}:{}:", manifest.database_id, file.segment_id))) {
      return Status::Corruption(fmt::format("{}: {} has segment key \"{}\" of another segment",
                                            where, file.relative_path, file.segment_key));
    }
    previous = &file;
  }
  const uint64_t end_lsn = previous != nullptr ? previous->last_lsn : 0;
  if (end_lsn != manifest.last_lsn) {
    return Status::Corruption(fmt::format("{}: the segments end at LSN {}, the backup at {}", where,
                                          end_lsn, manifest.last_lsn));
  }
  return Status::Ok();
}

}  // namespace

Status CheckManifest(const repository::Manifest& manifest) {
  const std::string where = "manifests/" + manifest.backup_id + ".json";
  if (manifest.format_version != 1) {
    return Status::NotSupported(
        fmt::format("{}: format version {} (this build reads 1)", where, manifest.format_version));
  }
  if (manifest.backup_id.empty() || !IsHex(manifest.database_id, 32)) {
    return Status::Corruption(where + ": missing backup id or malformed database id \"" +
                              manifest.database_id + "\"");
  }
  if (manifest.files.empty() || manifest.files.front().kind != "identity") {
    return Status::Corruption(where + ": the first file is not the identity");
  }
  std::set<std::string> paths;
  size_t checkpoints = 0;
  for (size_t i = 0; i < manifest.files.size(); ++i) {
    const repository::ManifestFile& file = manifest.files[i];
    ORDO_RETURN_IF_ERROR(CheckManifestFile(where, file));
    if (!paths.insert(file.relative_path).second) {
      return Status::Corruption(where + ": " + file.relative_path + " is listed twice");
    }
    if (i > 0 && file.kind == "identity") {
      return Status::Corruption(where + ": a second identity");
    }
    if (file.kind == "checkpoint") {
      ++checkpoints;
      if (i + 1 != manifest.files.size() || file.last_lsn > manifest.last_lsn) {
        return Status::Corruption(
            fmt::format("{}: checkpoint {} is not last or is newer than "
                        "the backup's LSN {}",
                        where, file.relative_path, manifest.last_lsn));
      }
    }
  }
  if (checkpoints > 1) return Status::Corruption(where + ": more than one checkpoint");
  return CheckSegmentChain(where, manifest);
}

namespace {

struct VerifyState {
  FileSystem* fs;
  repository::Repository* repository;
  const repository::Manifest* manifest;
  const VerifyOptions* options;
  VerifyReport* report;
  repository::TransferProgress progress;
  uint64_t previous_footer_checksum = 0;
  bool has_previous_footer = false;
};

void ReportProgress(VerifyState& state) {
  if (state.options->progress) state.options->progress(state.progress);
}

// Streams a file's plain bytes (checked by the repository) into `scratch_path`.
Status CopyToScratch(VerifyState& state, const repository::ManifestFile& file,
                     const std::string& scratch_path) {
  state.progress.current_file = file.relative_path;
  ReportProgress(state);
  ORDO_ASSIGN_OR_RETURN(auto output, state.fs->NewWritableFile(scratch_path));
  uint64_t bytes = 0;
  const repository::WriteChunk sink = [&](std::string_view chunk) -> Status {
    ORDO_RETURN_IF_ERROR(output->Append(chunk));
    bytes += chunk.size();
    state.progress.bytes_done += chunk.size();
    ReportProgress(state);
    return Status::Ok();
  };
  ORDO_RETURN_IF_ERROR(
      state.repository->ReadFile(file, sink).WithContext(Describe(*state.manifest, file)));
  ORDO_RETURN_IF_ERROR(output->Close());
  if (bytes != file.plain_bytes) {
    return Status::Corruption(fmt::format("{}: {} plain bytes, the manifest says {}",
                                          Describe(*state.manifest, file), bytes,
                                          file.plain_bytes));
  }
  state.report->bytes_checked += bytes;
  ++state.report->contents_checked;
  return Status::Ok();
}

// Reads every record of [header, limit) of a scratch copy: LSNs continuous from the header's,
// records ending exactly at `limit`. Fills the last record's meta.
Status ScanRecords(VerifyState& state, const repository::ManifestFile& file,
                   const std::string& path, uint64_t limit, log::DecodedRecord* last,
                   bool* has_last) {
  const std::string where = Describe(*state.manifest, file);
  auto opened = log::SegmentReader::Open(state.fs, path, limit);
  if (!opened.ok()) return opened.status().WithContext(where);
  log::SegmentReader& reader = **opened;
  uint64_t expected_lsn = reader.header().first_lsn;
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  *has_last = false;
  for (;;) {
    const auto outcome = reader.Next(&payload, &record_offset, &error);
    if (outcome == log::SegmentReader::Outcome::kEnd) break;
    if (outcome == log::SegmentReader::Outcome::kBad) return error.WithContext(where);
    ORDO_RETURN_IF_ERROR(log::DecodeRecordPayload(payload, reader.header().format_version, last)
                             .WithContext(fmt::format("{} offset {}", where, record_offset)));
    if (last->lsn != expected_lsn) {
      return Status::Corruption(fmt::format("{} offset {}: LSN {} where {} was expected", where,
                                            record_offset, last->lsn, expected_lsn));
    }
    last->ops.clear();
    ++expected_lsn;
    ++state.report->records_checked;
    *has_last = true;
  }
  if (reader.offset() != limit) {
    return Status::Corruption(
        fmt::format("{} offset {}: records end here, the manifest says "
                    "{}",
                    where, reader.offset(), limit));
  }
  return Status::Ok();
}

// Checks a segment's scratch copy against the manifest and the chain.
Status CheckSegment(VerifyState& state, const repository::ManifestFile& file,
                    const std::string& path) {
  const repository::Manifest& manifest = *state.manifest;
  const std::string where = Describe(manifest, file);
  uint64_t records_end = file.plain_bytes;
  log::SegmentHeader header;
  if (file.kind == "sealed-segment") {
    log::SegmentSummary summary;
    ORDO_RETURN_IF_ERROR(log::VerifySealedSegment(state.fs, path, &summary).WithContext(where));
    const std::string key = fmt::format("{}:{}:{:016x}", manifest.database_id, file.segment_id,
                                        summary.footer.footer_checksum);
    if (summary.footer.last_lsn != file.last_lsn || key != file.segment_key) {
      return Status::Corruption(
          fmt::format("{}: footer says last LSN {} and key {}, the "
                      "manifest {} and {}",
                      where, summary.footer.last_lsn, key, file.last_lsn, file.segment_key));
    }
    records_end = summary.footer.records_end;
    state.report->records_checked += summary.records;
  }
  log::DecodedRecord last;
  bool has_last = false;
  // A sealed segment's records were checked above; it is scanned again only when it holds the
  // backup's last commit, whose digest is compared below.
  const bool holds_last = file.last_lsn == manifest.last_lsn && manifest.last_lsn != 0;
  if (file.kind == "active-prefix" || holds_last) {
    const uint64_t before = state.report->records_checked;
    ORDO_RETURN_IF_ERROR(ScanRecords(state, file, path, records_end, &last, &has_last));
    if (file.kind == "sealed-segment") state.report->records_checked = before;
  }
  {
    auto reader = log::SegmentReader::Open(state.fs, path, records_end);
    if (!reader.ok()) return reader.status().WithContext(where);
    header = (*reader)->header();
  }
  if (db::DatabaseIdHex(header.database_id) != manifest.database_id ||
      header.segment_id != file.segment_id || header.first_lsn != file.first_lsn) {
    return Status::Corruption(
        fmt::format("{}: header says database {} segment {} first LSN {}, "
                    "the manifest {} {} {}",
                    where, db::DatabaseIdHex(header.database_id), header.segment_id,
                    header.first_lsn, manifest.database_id, file.segment_id, file.first_lsn));
  }
  if (state.has_previous_footer && header.previous_footer_hash != state.previous_footer_checksum) {
    return Status::Corruption(where + " offset 48: does not follow the previous segment");
  }
  if (file.kind == "sealed-segment") {
    ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail,
                          log::ReadSegmentTail(state.fs, path, file.plain_bytes));
    state.previous_footer_checksum = tail.footer.footer_checksum;
    state.has_previous_footer = true;
  }
  if (holds_last && has_last &&
      (last.lsn != manifest.last_lsn || last.digest != manifest.digest ||
       last.live_keys != manifest.keys)) {
    return Status::Corruption(
        fmt::format("{}: the record at LSN {} has digest {} and {} keys, "
                    "the manifest says digest {} and {} keys at LSN {}",
                    where, last.lsn, last.digest.ToHex(), last.live_keys, manifest.digest.ToHex(),
                    manifest.keys, manifest.last_lsn));
  }
  ++state.report->segments_checked;
  return Status::Ok();
}

Status CheckContents(VerifyState& state) {
  const repository::Manifest& manifest = *state.manifest;
  const std::string scratch_path =
      state.options->scratch_directory + "/verify-" + manifest.backup_id + ".scratch";
  for (const repository::ManifestFile& file : manifest.files) {
    Status status = CopyToScratch(state, file, scratch_path);
    if (status.ok() && IsSegment(file)) status = CheckSegment(state, file, scratch_path);
    if (status.ok() && file.kind == "identity") {
      db::Identity identity;
      status =
          db::ReadIdentity(state.fs, scratch_path, &identity).WithContext(Describe(manifest, file));
      if (status.ok() && db::DatabaseIdHex(identity.database_id) != manifest.database_id) {
        status = Status::Corruption(Describe(manifest, file) + ": names database " +
                                    db::DatabaseIdHex(identity.database_id) + ", the manifest " +
                                    manifest.database_id);
      }
    }
    Status removed = state.fs->RemoveFile(scratch_path);
    ORDO_RETURN_IF_ERROR(status);
    ORDO_RETURN_IF_ERROR(removed);
  }
  state.report->contents_verified = true;
  return Status::Ok();
}

Status Drill(VerifyState& state) {
  const repository::Manifest& manifest = *state.manifest;
  VerifyReport* report = state.report;
  const std::string target = state.options->scratch_directory + "/drill-" + manifest.backup_id;
  const uint64_t base = state.progress.bytes_done;
  const repository::ProgressCallback progress = [&](const repository::TransferProgress& restored) {
    state.progress.bytes_done = base + restored.bytes_done;
    state.progress.current_file = "drill: " + restored.current_file;
    ReportProgress(state);
  };
  RestoreReport restore_report;
  ORDO_RETURN_IF_ERROR(
      RestoreBackup(state.fs, state.repository, manifest, target, progress, &restore_report)
          .WithContext("drill"));
  report->restore_seconds = restore_report.duration_seconds;
  const int64_t open_start_micros = MonotonicMicros();
  OpenReport check_report;
  ORDO_RETURN_IF_ERROR(CheckDatabase(target, 3, state.fs, &check_report)
                           .WithContext("drill: the restored copy of backup " + manifest.backup_id +
                                        " fails the level-3 check"));
  Options options;
  options.file_system = state.fs;
  options.read_only = true;
  options.create_if_missing = false;
  options.integrity_level = 1;
  auto opened = DB::Open(options, target);
  if (!opened.ok())
    return opened.status().WithContext("drill: opening the restored copy " + target);
  std::unique_ptr<DB> db = std::move(*opened);
  report->open_seconds = static_cast<double>(MonotonicMicros() - open_start_micros) / 1e6;
  report->rto_seconds = report->restore_seconds + report->open_seconds;
  report->restored_digest = db->Digest();
  report->restored_keys = db->CountKeys();
  report->restored_last_lsn = db->GetStatistics().last_lsn;
  ORDO_ASSIGN_OR_RETURN(StateDigest computed, db->ComputeDigest());
  if (report->restored_digest != manifest.digest || computed != manifest.digest ||
      report->restored_keys != manifest.keys || report->restored_last_lsn != manifest.last_lsn) {
    return Status::Corruption(fmt::format(
        "drill: backup {} restored to digest {} (recomputed {}), {} keys at LSN {}; the "
        "manifest says digest {}, {} keys at LSN {}",
        manifest.backup_id, report->restored_digest.ToHex(), computed.ToHex(),
        report->restored_keys, report->restored_last_lsn, manifest.digest.ToHex(), manifest.keys,
        manifest.last_lsn));
  }
  if (manifest.last_commit_time_micros > 0) {
    report->rpo_seconds =
        static_cast<double>(WallMicros() - manifest.last_commit_time_micros) / 1e6;
  }
  report->drilled = true;
  return Status::Ok();
}

}  // namespace

Status VerifyBackup(FileSystem* fs, repository::Repository* repository,
                    const repository::Manifest& manifest, const VerifyOptions& options,
                    VerifyReport* report) {
  *report = VerifyReport{};
  report->backup_id = manifest.backup_id;
  report->files = manifest.files.size();
  const int64_t start_micros = MonotonicMicros();
  ORDO_RETURN_IF_ERROR(CheckManifest(manifest));
  for (const repository::ManifestFile& file : manifest.files) {
    ORDO_RETURN_IF_ERROR(repository->CheckStored(file).WithContext(Describe(manifest, file)));
    ++report->stored_checked;
  }
  VerifyState state{fs, repository, &manifest, &options, report, {}};
  for (const repository::ManifestFile& file : manifest.files) {
    state.progress.bytes_total += file.plain_bytes * (options.drill ? 2 : 1);
  }
  if (!repository->CanRead()) {
    report->not_checked.push_back(
        "file contents (decryption, plain hashes) and record checksums: the repository is "
        "encrypted for a public key and the secret key was not given");
    if (options.drill) {
      report->not_checked.push_back("the restore drill: it needs the secret key");
      return Status::InvalidArgument("drill of backup " + manifest.backup_id +
                                     " needs the secret key of this public-key repository "
                                     "(--key-file); the stored hashes and the manifest are OK");
    }
  } else {
    ORDO_RETURN_IF_ERROR(CheckContents(state));
    if (options.drill) ORDO_RETURN_IF_ERROR(Drill(state));
  }
  report->duration_seconds = static_cast<double>(MonotonicMicros() - start_micros) / 1e6;
  return Status::Ok();
}

}  // namespace ordo::restore
