#include "restore/archive_verify.h"

#include <set>

#include "fmt/format.h"
#include "restore/archive_plan.h"
#include "restore/restore.h"
#include "util/clock.h"

namespace ordo::restore {
namespace {

std::string Describe(const repository::ArchivePiece& piece, const repository::ManifestFile& file) {
  return fmt::format("archive piece {}/{} ({} data/{})", piece.database_id, piece.Name(), file.kind,
                     file.stored_name);
}

// Restores the newest archived commit into scratch space and checks the copy against the
// newest piece's record of the state.
Status Drill(FileSystem* fs, repository::Repository* repository,
             const ArchiveVerifyOptions& options, ArchiveVerifyReport* report) {
  ORDO_ASSIGN_OR_RETURN(const RestorePlan plan,
                        PlanRestore(repository, PointTarget{}, report->database_id_hex));
  const std::string target = options.scratch_directory + "/drill-archive";
  RestoreReport restored;
  ORDO_RETURN_IF_ERROR(
      RestoreFrom(fs, repository, plan.Sources(), target, options.progress, &restored)
          .WithContext("drill"));
  report->restore_seconds = restored.duration_seconds;
  const int64_t open_start_micros = MonotonicMicros();
  OpenReport check;
  ORDO_RETURN_IF_ERROR(
      CheckDatabase(target, 3, fs, &check)
          .WithContext("drill: the archive restored to its newest commit fails the level-3 check"));
  Options open;
  open.file_system = fs;
  open.read_only = true;
  open.create_if_missing = false;
  auto opened = DB::Open(open, target);
  if (!opened.ok()) return opened.status().WithContext("drill: opening " + target);
  std::unique_ptr<DB> db = std::move(*opened);
  report->open_seconds = static_cast<double>(MonotonicMicros() - open_start_micros) / 1e6;
  report->restored_digest = db->Digest();
  report->restored_keys = db->CountKeys();
  report->restored_last_lsn = db->GetStatistics().last_lsn;
  ORDO_ASSIGN_OR_RETURN(const StateDigest computed, db->ComputeDigest());
  if (report->restored_digest != restored.digest || computed != restored.digest ||
      report->restored_keys != restored.keys || report->restored_last_lsn != restored.lsn) {
    return Status::Corruption(fmt::format(
        "drill: the archive restored to digest {} (recomputed {}), {} keys at LSN {}; its "
        "newest piece says digest {}, {} keys at LSN {}",
        report->restored_digest.ToHex(), computed.ToHex(), report->restored_keys,
        report->restored_last_lsn, restored.digest.ToHex(), restored.keys, restored.lsn));
  }
  report->drilled = true;
  return Status::Ok();
}

}  // namespace

Status VerifyArchive(FileSystem* fs, repository::Repository* repository,
                     const std::string& database_id_hex, const ArchiveVerifyOptions& options,
                     ArchiveVerifyReport* report) {
  *report = ArchiveVerifyReport{};
  report->database_id_hex = database_id_hex;
  ORDO_ASSIGN_OR_RETURN(const std::vector<repository::ArchivePiece> pieces,
                        repository->ListArchivePieces(database_id_hex));
  if (pieces.empty()) return Status::NotFound("no archive of database " + database_id_hex);
  const ArchiveLayout layout = LayOutArchive(database_id_hex, pieces);
  report->pieces = layout.pieces;
  report->runs = layout.runs.size();
  report->first_lsn = layout.runs.front().first_lsn();
  report->last_lsn = layout.runs.back().last_lsn();
  report->first_commit_time_micros = layout.runs.front().pieces.front().first_commit_time_micros;
  report->last_commit_time_micros = layout.runs.back().pieces.back().last_commit_time_micros;
  for (const std::string& gap : layout.gaps) report->problems.push_back("gap: " + gap);

  report->contents_verified = repository->CanRead();
  if (!report->contents_verified) {
    report->not_checked.push_back(
        "the plain contents of the archive pieces (the repository is encrypted to a public key "
        "and no secret key was given): only their stored hashes were checked");
  }
  repository::TransferProgress progress;
  for (const repository::ArchivePiece& piece : pieces)
    progress.bytes_total += piece.file.plain_bytes;
  std::set<std::string> checked;
  for (const repository::ArchivePiece& piece : pieces) {
    for (const repository::ManifestFile* file : {&piece.identity, &piece.file}) {
      if (!checked.insert(file->stored_name).second) continue;
      const Status stored = repository->CheckStored(*file);
      if (!stored.ok()) {
        report->problems.push_back(Describe(piece, *file) + ": " + stored.message());
        continue;
      }
      ++report->stored_checked;
      if (!report->contents_verified) continue;
      progress.current_file = piece.Name();
      uint64_t bytes = 0;
      const Status read = repository->ReadFile(*file, [&](std::string_view chunk) {
        bytes += chunk.size();
        progress.bytes_done += file == &piece.file ? chunk.size() : 0;
        if (options.progress) options.progress(progress);
        return Status::Ok();
      });
      if (!read.ok()) {
        report->problems.push_back(Describe(piece, *file) + ": " + read.message());
        continue;
      }
      ++report->contents_checked;
      report->bytes_checked += bytes;
    }
  }
  if (!report->problems.empty()) {
    return Status::Corruption(
        fmt::format("the archive of database {} has {} problem(s); the "
                    "first: {}",
                    database_id_hex, report->problems.size(), report->problems.front()));
  }
  if (options.drill) {
    if (!repository->CanRead()) {
      return Status::InvalidArgument(
          "a drill restores the archive and needs the secret key "
          "(--key-file)");
    }
    ORDO_RETURN_IF_ERROR(Drill(fs, repository, options, report));
  }
  return Status::Ok();
}

}  // namespace ordo::restore
