#include "restore/log_walk.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>

#include "backup/backup_source.h"
#include "db/identity.h"
#include "fmt/format.h"
#include "log/segment_reader.h"
#include "restore/archive_plan.h"
#include "util/time_format.h"

namespace ordo::restore {
namespace {

bool Matches(const LogWalkFilter& filter, const log::DecodedRecord& record) {
  if (filter.since_micros && record.commit_time_micros < *filter.since_micros) return false;
  if (filter.until_micros && record.commit_time_micros > *filter.until_micros) return false;
  if (filter.key && !RecordTouchesKey(record, *filter.key)) return false;
  return true;
}

// Reads the records of one segment file up to `limit`, checks that they continue the LSN
// sequence (`next_lsn`, 0 when any first LSN is fine) and end at `last_lsn`, and hands the
// matching ones to the visitor. `where` names the file in errors. Returns false in `*go_on`
// when the visitor stopped the walk.
Status WalkSegment(FileSystem* fs, const std::string& path, const std::string& where,
                   uint64_t segment_id, uint64_t limit, uint64_t last_lsn,
                   const LogWalkOptions& options, const LogVisitor& visitor, uint64_t* next_lsn,
                   LogWalkSummary* summary, bool* go_on) {
  auto opened = log::SegmentReader::Open(fs, path, limit);
  if (!opened.ok()) return opened.status().WithContext(where);
  log::SegmentReader& reader = **opened;
  if (reader.header().segment_id != segment_id) {
    return Status::Corruption(fmt::format("{}: header names segment {} where {} was expected",
                                          where, reader.header().segment_id, segment_id));
  }
  uint64_t expected = reader.header().first_lsn;
  if (*next_lsn != 0 && expected != *next_lsn) {
    return Status::Corruption(fmt::format("{}: segment starts at LSN {} where {} was expected",
                                          where, expected, *next_lsn));
  }
  ++summary->segments;
  std::string_view payload;
  uint64_t record_offset = 0;
  Status error;
  log::DecodedRecord record;
  for (;;) {
    const auto outcome = reader.Next(&payload, &record_offset, &error);
    if (outcome == log::SegmentReader::Outcome::kEnd) break;
    if (outcome == log::SegmentReader::Outcome::kBad) {
      // The limit is the end of whole records (a seal footer's records_end, or the prefix
      // found valid when the walk started): anything that does not decode before it is damage.
      return Status::Corruption(
          fmt::format("{} offset {}: {}", where, reader.offset(), error.ToString()));
    }
    ORDO_RETURN_IF_ERROR(log::DecodeRecordPayload(payload, reader.header().format_version, &record)
                             .WithContext(fmt::format("{} offset {}", where, record_offset)));
    if (record.lsn != expected) {
      return Status::Corruption(fmt::format("{} offset {}: LSN {} where {} was expected", where,
                                            record_offset, record.lsn, expected));
    }
    ++expected;
    ++summary->records_read;
    if (!Matches(options.filter, record)) continue;
    ++summary->records_matched;
    LogCommit commit;
    commit.record = &record;
    commit.segment_id = segment_id;
    commit.offset = record_offset;
    if (!visitor(commit)) {
      summary->stopped = true;
      *go_on = false;
      *next_lsn = expected;
      return Status::Ok();
    }
  }
  if (expected - 1 != last_lsn) {
    return Status::Corruption(fmt::format("{}: records end at LSN {} where {} was expected", where,
                                          expected - 1, last_lsn));
  }
  *next_lsn = expected;
  *go_on = true;
  return Status::Ok();
}

// A scratch directory that removes itself (and what is left in it).
class ScratchSpace {
 public:
  ~ScratchSpace() {
    if (!owned_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(owned_, ignored);
    }
  }
  Status Make(FileSystem* fs, const std::string& parent) {
    std::string base = parent;
    if (base.empty()) {
      std::error_code failed;
      base = std::filesystem::temp_directory_path(failed).string();
      if (failed) base = "/tmp";
    }
    if (!fs->FileExists(base)) {
      return Status::NotFound(base + ": scratch directory does not exist");
    }
    std::string pattern = base + "/ordo-log-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IOError(
          fmt::format("{}: cannot create a scratch directory: {}", base, std::strerror(errno)));
    }
    owned_ = pattern;
    return Status::Ok();
  }
  const std::string& path() const { return owned_; }

 private:
  std::string owned_;
};

}  // namespace

bool RecordTouchesKey(const log::DecodedRecord& record, std::string_view key) {
  for (const auto& op : record.ops) {
    if (op.type == log::OpType::kRestorePoint) continue;  // a name, not a key
    // A flush may remove the key (FLUSHDB: if it is in that database; the caller knows).
    if (op.type == log::OpType::kClear || op.type == log::OpType::kFlushDatabase) return true;
    if (op.key == key) return true;
    if ((op.type == log::OpType::kRename || op.type == log::OpType::kCopy) &&
        op.target_key == key) {
      return true;
    }
  }
  return false;
}

Status WalkDataDirectory(FileSystem* fs, const std::string& data_directory,
                         const LogWalkOptions& options, const LogVisitor& visitor,
                         LogWalkSummary* summary) {
  *summary = LogWalkSummary{};
  backup::BackupSource source;
  ORDO_RETURN_IF_ERROR(backup::CaptureBackupSource(fs, data_directory, &source));
  summary->database_id_hex = db::DatabaseIdHex(source.database_id);
  summary->first_lsn = source.first_lsn;
  summary->last_lsn = source.last_lsn;
  uint64_t next_lsn = 0;
  for (const backup::SourceFile& file : source.files) {
    if (file.kind != backup::SourceKind::kSealedSegment &&
        file.kind != backup::SourceKind::kActivePrefix) {
      continue;
    }
    uint64_t limit = file.bytes;
    if (file.kind == backup::SourceKind::kSealedSegment) {
      ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail, log::ReadSegmentTail(fs, file.path, file.bytes));
      if (!tail.sealed) return Status::Corruption(file.path + ": seal footer is gone");
      limit = tail.footer.records_end;
    }
    bool go_on = true;
    ORDO_RETURN_IF_ERROR(WalkSegment(fs, file.path, file.path, file.segment_id, limit,
                                     file.last_lsn, options, visitor, &next_lsn, summary, &go_on));
    if (!go_on) break;
  }
  return Status::Ok();
}

namespace {

// One segment of a repository's log as a restore would assemble it: the backup's copy (if any)
// and the archive pieces that continue it.
struct SegmentParts {
  uint64_t segment_id = 0;
  const repository::ManifestFile* backup_file = nullptr;
  std::vector<std::pair<const repository::ArchivePiece*, uint64_t>> pieces;  // with bytes to skip
  bool sealed = false;
  uint64_t last_lsn = 0;
};

Result<std::vector<SegmentParts>> GroupSegments(const RestorePlan& plan) {
  std::vector<SegmentParts> segments;
  if (plan.backup.has_value()) {
    for (const repository::ManifestFile& file : plan.backup->files) {
      if (file.kind != "sealed-segment" && file.kind != "active-prefix") continue;
      segments.push_back(
          SegmentParts{file.segment_id, &file, {}, file.kind == "sealed-segment", file.last_lsn});
    }
    std::sort(segments.begin(), segments.end(), [](const SegmentParts& a, const SegmentParts& b) {
      return a.segment_id < b.segment_id;
    });
  }
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const repository::ArchivePiece& piece = plan.pieces[i];
    const uint64_t skip = i == 0 ? plan.skip_bytes : 0;
    if (segments.empty() || segments.back().segment_id != piece.segment_id) {
      if (piece.start_offset != 0) {
        return Status::Corruption(
            fmt::format("archive piece {}: starts inside segment {}, "
                        "whose beginning is in no backup or piece",
                        piece.Name(), piece.segment_id));
      }
      segments.push_back(SegmentParts{piece.segment_id, nullptr, {}, false, 0});
    }
    segments.back().pieces.emplace_back(&piece, skip);
    segments.back().sealed = piece.sealed;
    segments.back().last_lsn = piece.last_lsn;
  }
  for (size_t i = 1; i < segments.size(); ++i) {
    if (segments[i].segment_id != segments[i - 1].segment_id + 1) {
      return Status::Corruption(
          fmt::format("the log lacks segment {}", segments[i - 1].segment_id + 1));
    }
  }
  return segments;
}

// Writes one segment's parts into `staged`, each verified by the repository as it streams.
Status StageSegment(FileSystem* fs, repository::Repository* repository, const SegmentParts& parts,
                    const std::string& staged) {
  ORDO_ASSIGN_OR_RETURN(auto out, fs->NewWritableFile(staged));
  if (parts.backup_file != nullptr) {
    ORDO_RETURN_IF_ERROR(repository->ReadFile(
        *parts.backup_file, [&](std::string_view bytes) { return out->Append(bytes); }));
  }
  for (const auto& [piece, skip] : parts.pieces) {
    uint64_t to_skip = skip;
    ORDO_RETURN_IF_ERROR(repository
                             ->ReadFile(piece->file,
                                        [&](std::string_view bytes) {
                                          const size_t dropped = static_cast<size_t>(
                                              std::min<uint64_t>(to_skip, bytes.size()));
                                          to_skip -= dropped;
                                          bytes.remove_prefix(dropped);
                                          return bytes.empty() ? Status::Ok() : out->Append(bytes);
                                        })
                             .WithContext("archive piece " + piece->Name()));
  }
  return out->Close();
}

}  // namespace

Status WalkRepository(FileSystem* fs, repository::Repository* repository,
                      const LogWalkOptions& options, const LogVisitor& visitor,
                      LogWalkSummary* summary) {
  *summary = LogWalkSummary{};
  if (!repository->CanRead()) {
    return Status::InvalidArgument(
        repository->info().encryption == repository::EncryptionMode::kPublicKey
            ? "the repository is encrypted to a public key: reading its log needs the secret "
              "key (--key-file)"
            : "the repository is encrypted with a key: reading its log needs the key "
              "(--key-file)");
  }
  RestorePlan plan;
  if (!options.backup_id.empty() && options.backup_id != "latest") {
    ORDO_ASSIGN_OR_RETURN(repository::Manifest manifest,
                          repository->ReadManifest(options.backup_id));
    plan.database_id_hex = manifest.database_id;
    plan.last_lsn = manifest.last_lsn;
    plan.backup = std::move(manifest);
  } else {
    // The newest backup and the archive after it: everything the repository holds.
    ORDO_ASSIGN_OR_RETURN(plan, PlanRestore(repository, PointTarget{}, options.database_id_hex));
  }
  summary->database_id_hex = plan.database_id_hex;
  summary->backup_id = plan.backup.has_value() ? plan.backup->backup_id : "";
  summary->first_lsn = plan.backup.has_value() ? plan.backup->first_lsn : 1;
  summary->last_lsn = plan.last_lsn;
  ORDO_ASSIGN_OR_RETURN(const std::vector<SegmentParts> segments, GroupSegments(plan));
  if (segments.empty()) return Status::Ok();

  ScratchSpace scratch;
  ORDO_RETURN_IF_ERROR(scratch.Make(fs, options.scratch_directory));
  const std::string staged = scratch.path() + "/segment";
  uint64_t next_lsn = 0;
  for (const SegmentParts& parts : segments) {
    const std::string where = fmt::format(
        "segment {} of {}", parts.segment_id,
        summary->backup_id.empty()
            ? std::string("the archive")
            : "backup " + summary->backup_id + (parts.pieces.empty() ? "" : " + archive"));
    ORDO_RETURN_IF_ERROR(StageSegment(fs, repository, parts, staged).WithContext(where));
    ORDO_ASSIGN_OR_RETURN(uint64_t limit, fs->GetFileSize(staged));
    if (parts.sealed) {
      ORDO_ASSIGN_OR_RETURN(log::SegmentTail tail, log::ReadSegmentTail(fs, staged, limit));
      if (!tail.sealed) return Status::Corruption(where + ": a sealed segment without a seal");
      limit = tail.footer.records_end;
    }
    bool go_on = true;
    ORDO_RETURN_IF_ERROR(WalkSegment(fs, staged, where, parts.segment_id, limit, parts.last_lsn,
                                     options, visitor, &next_lsn, summary, &go_on));
    ORDO_RETURN_IF_ERROR(fs->RemoveFile(staged));
    if (!go_on) break;
  }
  return Status::Ok();
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ReadDigits(const std::string& text, size_t* position, size_t count, int* value) {
  if (*position + count > text.size()) return false;
  int result = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[*position + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    result = result * 10 + (c - '0');
  }
  *position += count;
  *value = result;
  return true;
}

bool Expect(const std::string& text, size_t* position, char c) {
  if (*position >= text.size() || text[*position] != c) return false;
  ++*position;
  return true;
}

bool ParseUnixSeconds(const std::string& text, int64_t* unix_micros) {
  size_t position = 0;
  bool negative = false;
  if (position < text.size() && text[position] == '-') {
    negative = true;
    ++position;
  }
  int64_t seconds = 0;
  size_t digits = 0;
  for (; position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]));
       ++position, ++digits) {
    if (seconds > std::numeric_limits<int64_t>::max() / 10 / 1000000) return false;
    seconds = seconds * 10 + (text[position] - '0');
  }
  if (digits == 0) return false;
  int64_t fraction = 0;
  if (position < text.size() && text[position] == '.') {
    int64_t scale = 100000;
    ++position;
    for (; position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]));
         ++position) {
      fraction += (text[position] - '0') * scale;
      scale /= 10;
    }
  }
  if (position != text.size()) return false;
  const int64_t micros = seconds * 1000000 + fraction;
  *unix_micros = negative ? -micros : micros;
  return true;
}

}  // namespace

bool ParseTimeArgument(const std::string& text, int64_t* unix_micros) {
  if (text.empty()) return false;
  if (text.find('-', 1) == std::string::npos && text.find(':') == std::string::npos) {
    return ParseUnixSeconds(text, unix_micros);
  }
  size_t position = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &position, 4, &year) || !Expect(text, &position, '-') ||
      !ReadDigits(text, &position, 2, &month) || !Expect(text, &position, '-') ||
      !ReadDigits(text, &position, 2, &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  int64_t fraction = 0;
  int64_t offset_seconds = 0;
  if (position < text.size()) {
    const char separator = text[position];
    if (separator != 'T' && separator != 't' && separator != ' ') return false;
    ++position;
    if (!ReadDigits(text, &position, 2, &hour) || !Expect(text, &position, ':') ||
        !ReadDigits(text, &position, 2, &minute) || !Expect(text, &position, ':') ||
        !ReadDigits(text, &position, 2, &second)) {
      return false;
    }
    if (hour > 23 || minute > 59 || second > 60) return false;
    if (position < text.size() && text[position] == '.') {
      ++position;
      int64_t scale = 100000;
      size_t digits = 0;
      for (; position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]));
           ++position, ++digits) {
        fraction += (text[position] - '0') * scale;
        scale /= 10;
      }
      if (digits == 0) return false;
    }
    if (position >= text.size()) return false;  // a time needs its zone
    const char zone = text[position];
    if (zone == 'Z' || zone == 'z') {
      ++position;
    } else if (zone == '+' || zone == '-') {
      ++position;
      int zone_hours = 0, zone_minutes = 0;
      if (!ReadDigits(text, &position, 2, &zone_hours) || !Expect(text, &position, ':') ||
          !ReadDigits(text, &position, 2, &zone_minutes) || zone_hours > 23 || zone_minutes > 59) {
        return false;
      }
      offset_seconds = (zone_hours * 3600 + zone_minutes * 60) * (zone == '+' ? 1 : -1);
    } else {
      return false;
    }
    if (position != text.size()) return false;
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  *unix_micros = seconds * 1000000 + fraction;
  return true;
}

const char* OpTypeName(log::OpType type) {
  switch (type) {
    case log::OpType::kPut:
      return "set";
    case log::OpType::kDelete:
      return "delete";
    case log::OpType::kClear:
      return "clear";
    case log::OpType::kExpire:
      return "expire";
    case log::OpType::kRestorePoint:
      return "restore-point";
    case log::OpType::kFlushDatabase:
      return "flushdb";
    case log::OpType::kSetExpiry:
      return "set-expiry";
    case log::OpType::kRename:
      return "rename";
    case log::OpType::kCopy:
      return "copy";
    case log::OpType::kHashSet:
      return "hset";
    case log::OpType::kHashDelete:
      return "hdel";
    case log::OpType::kSetAdd:
      return "sadd";
    case log::OpType::kSetRemove:
      return "srem";
  }
  return "unknown";
}

}  // namespace ordo::restore
