// Continuous archiving: ships a data directory's log into a repository's archive, piece by
// piece, as it grows (DESIGN.md "Point-in-time recovery", docs/FORMAT.md "Archive").
//
// What is shipped, and when it is safe to ship it:
//   * A piece is a byte range [start, end) of one segment, from where the previous piece ended
//     to the end of the last whole valid record now in the file, or, once the segment is
//     sealed, to the end of its footer (a "sealing" piece: the segment is complete).
//   * Only durable bytes are shipped. Before shipping a prefix of the active segment the
//     archiver fdatasyncs that file itself, so a power loss cannot take from the data directory
//     a commit the archive already holds (which would let the database write a different
//     commit under the same LSN). A sealed segment is shipped as sealed only once the next
//     segment exists: the database creates it after the seal's fsync.
//   * Each piece is stored as a content file (Repository::PutFile: compressed, encrypted as the
//     repository is, durable before it returns) and then described by a write-once JSON file
//     archive/<database id>/<segment id>-<start offset>.json. The description is the marker:
//     a crash before it leaves only an unreferenced content file (prune removes it), and the
//     next run ships the same range again.
//
// Resuming: Open() lists the archive and continues after its newest piece, after checking that
// the data directory still holds exactly those bytes (same SHA-256). If it does not (the data
// directory was restored to an earlier point, or replaced), the archive and the log have
// diverged: Open() fails with Status::Failed and says so, instead of writing a second history
// into the same archive. With an empty archive it starts at the oldest segment's first byte, so
// the archive alone can restore the database.
//
// The archiver reads the data directory without a lock and without pausing the database: it
// works beside a running server (inside it, or as `ordo archive` in another process) or on a
// stopped directory. Not thread-safe: one thread drives it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ordo/file_system.h"
#include "repository/repository.h"

namespace ordo::backup {

// What one ArchiveAvailable() call shipped.
struct ArchiveStep {
  uint64_t pieces = 0;
  uint64_t bytes_read = 0;     // from the data directory
  uint64_t bytes_written = 0;  // new stored bytes in the repository
  uint64_t records = 0;        // commits newly archived
  // For every commit newly archived: the time from its commit to the moment its piece's
  // description was published (the archive lag of that commit), in microseconds.
  std::vector<int64_t> commit_lags_micros;
};

class Archiver {
 public:
  // `repository` must be writable and outlive the archiver.
  Archiver(FileSystem* fs, std::string data_directory, repository::Repository* repository);
  ~Archiver();
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  // Reads the identity, stores it in the repository (once: it is deduplicated), lists the
  // archive and finds where to resume. NotFound if `data_directory` is not a data directory;
  // Failed if the data directory does not continue the archive (see above); Corruption for a
  // damaged archive description; IOError/NoSpace from either side.
  Status Open();

  // Ships every piece that is complete now: each sealed segment not yet (fully) archived, and
  // then one piece of the active segment: its durable prefix up to the last whole record it
  // holds when the piece is cut. Records appended while that piece is stored are left for the
  // next call, so a call under a steady write load ends (one active piece per call). On an
  // error the pieces shipped before it stay (they are durable and described); a later call
  // retries from the first piece not shipped.
  Status ArchiveAvailable(ArchiveStep* step);

  // True when the segment the next piece comes from has been sealed since (the database has
  // created the one after it): the next ArchiveAvailable() ships it whole. One stat call; false
  // before Open().
  bool SealedSegmentWaiting();

  const std::string& database_id_hex() const { return database_hex_; }
  // The newest commit in the archive (0: none yet) and its commit time.
  uint64_t archived_lsn() const { return last_lsn_; }
  int64_t archived_commit_time_micros() const { return last_commit_time_micros_; }
  // Where the next piece starts.
  uint64_t next_segment_id() const { return next_segment_; }
  uint64_t next_offset() const { return next_offset_; }

 private:
  struct Scan;
  // Ships the next piece, if any; `sealed`: it completed a sealed segment.
  Status ShipSegment(bool* progressed, bool* sealed, ArchiveStep* step);
  Status ScanRecords(const std::string& path, uint64_t start, uint64_t limit, Scan* scan);
  // Stores the data directory's IDENTITY (or finds it stored) into identity_.
  Status StoreIdentity();
  Status StoreRange(const std::string& path, uint64_t start, uint64_t end,
                    repository::ManifestFile* file, uint64_t* written);
  Status CheckResumePoint(const repository::ArchivePiece& last);
  std::string SegmentPath(uint64_t segment_id) const;

  FileSystem* const fs_;
  const std::string directory_;
  repository::Repository* const repository_;
  bool open_ = false;
  std::string database_id_;  // raw 16 bytes
  std::string database_hex_;
  repository::ManifestFile identity_;
  uint64_t next_segment_ = 0;
  uint64_t next_offset_ = 0;
  uint64_t last_lsn_ = 0;
  int64_t last_commit_time_micros_ = 0;
  StateDigest digest_;
  uint64_t keys_ = 0;
};

}  // namespace ordo::backup
