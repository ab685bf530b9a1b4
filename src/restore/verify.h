// Verifying a backup, from cheap to thorough:
//
//   1. the manifest: its fields are sane and its files form a restorable chain (identity first,
//      segments with consecutive ids and contiguous LSN ranges ending at the backup's LSN, at
//      most one checkpoint no newer than it, paths that stay inside a data directory);
//   2. every file as stored: it exists and its bytes hash to its name (no key needed, so a
//      host holding only the public key of a write-only repository can run it);
//   3. when the repository can be read (CanRead): every file's plain bytes (decrypted,
//      decompressed, plain SHA-256 and size checked by Repository::ReadFile), and every record
//      checksum of every segment, each segment streamed into a scratch file: a sealed one is
//      checked whole (log::VerifySealedSegment: records, LSNs, footer, segment checksum), the
//      active prefix must end exactly at a record boundary at the size the manifest names; the
//      record at the backup's LSN must carry the manifest's digest and key count, the segment
//      chain must link (previous-footer hashes), the identity must name the manifest's database;
//   4. with `drill`: a real restore into scratch space (timed: the recovery time objective),
//      ordo's level-3 check of the result, then a read-only open whose maintained and
//      recomputed digests, key count and last LSN must equal the manifest's. The backup's age
//      (now - its last commit time) is the recovery point it offers.
//
// Any mismatch returns Corruption naming the backup, the file (its path in the data directory
// and its stored name) and what differs. What could not be checked (no secret key) is listed
// in the report, not silently skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/file_system.h"
#include "repository/repository.h"
#include "repository/transfer.h"

namespace ordo::restore {

struct VerifyOptions {
  bool drill = false;
  // An existing directory for scratch files (one segment at a time, and the drill's restore,
  // in "<scratch>/drill-<backup id>"). The caller owns it and removes it afterwards.
  std::string scratch_directory;
  repository::ProgressCallback progress;  // optional
};

struct VerifyReport {
  std::string backup_id;
  uint64_t files = 0;
  uint64_t stored_checked = 0;    // files whose stored hash was checked
  uint64_t contents_checked = 0;  // files whose plain bytes were checked
  uint64_t segments_checked = 0;  // segments whose every record was checked
  uint64_t records_checked = 0;
  uint64_t bytes_checked = 0;  // plain bytes read
  bool contents_verified = false;
  std::vector<std::string> not_checked;  // what could not be checked, one sentence each
  // Drill.
  bool drilled = false;
  double restore_seconds = 0;  // restore into scratch space
  double open_seconds = 0;     // level-3 check and open of the restored copy
  double rto_seconds = 0;      // restore + open: time until the copy could serve
  double rpo_seconds = 0;      // age of the backup's last commit when verified
  StateDigest restored_digest;
  uint64_t restored_keys = 0;
  uint64_t restored_last_lsn = 0;
  double duration_seconds = 0;
};

// Checks the manifest alone (step 1). Corruption "manifests/<id>.json: ..." naming what is wrong.
Status CheckManifest(const repository::Manifest& manifest);

// Runs steps 1-4 as described above. With `options.drill` on a repository that cannot be read,
// returns InvalidArgument (a drill needs the secret key) after steps 1-2 passed.
Status VerifyBackup(FileSystem* fs, repository::Repository* repository,
                    const repository::Manifest& manifest, const VerifyOptions& options,
                    VerifyReport* report);

}  // namespace ordo::restore
