// Verifying the continuous archive of one database, from cheap to thorough:
//
//   1. the layout: every piece description parses and passes its checksum, and the pieces
//      line up without a gap (archive_plan.h); a gap names the missing piece;
//   2. every piece's content file (and the identity it names) as stored: it exists and hashes
//      to its name (no key needed);
//   3. when the repository can be read: every piece's plain bytes (decrypted, decompressed,
//      plain SHA-256 and size checked);
//   4. with `drill`: a restore to the newest archived commit into scratch space (base backup +
//      pieces, as `ordo restore` plans it), a level-3 check and open of the result, whose
//      digest, key count and last LSN must equal what the newest piece records.
//
// Problems are collected, not stopped at: VerifyArchive returns Corruption naming the first and
// counting the rest, with every one in the report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/file_system.h"
#include "repository/repository.h"
#include "repository/transfer.h"

namespace ordo::restore {

struct ArchiveVerifyOptions {
  bool drill = false;
  std::string scratch_directory;          // existing; the drill restores into "<it>/drill-archive"
  repository::ProgressCallback progress;  // optional
};

struct ArchiveVerifyReport {
  std::string database_id_hex;
  uint64_t pieces = 0;
  uint64_t runs = 0;
  uint64_t first_lsn = 0;  // of the first run
  uint64_t last_lsn = 0;   // of the last run
  int64_t first_commit_time_micros = 0;
  int64_t last_commit_time_micros = 0;
  uint64_t stored_checked = 0;
  uint64_t contents_checked = 0;
  uint64_t bytes_checked = 0;
  bool contents_verified = false;
  std::vector<std::string> problems;     // gaps and damaged files, one sentence each
  std::vector<std::string> not_checked;  // what could not be checked, one sentence each
  bool drilled = false;
  double restore_seconds = 0;
  double open_seconds = 0;
  StateDigest restored_digest;
  uint64_t restored_keys = 0;
  uint64_t restored_last_lsn = 0;
};

// Verifies the archive of `database_id_hex`. NotFound if it has no piece.
Status VerifyArchive(FileSystem* fs, repository::Repository* repository,
                     const std::string& database_id_hex, const ArchiveVerifyOptions& options,
                     ArchiveVerifyReport* report);

}  // namespace ordo::restore
