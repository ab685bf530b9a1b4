// ordo log (--data DIR | --repo REPO [--key-file F]) [--since T] [--until T] [--key K]
//          [--limit N | --last N] [--json]
// Lists commits in LSN order: LSN, commit time, number of ops, keys touched, live keys after,
// state digest. How an operator finds the FLUSHALL or mass overwrite to restore before.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <vector>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/log_cli.h"
#include "fmt/format.h"
#include "restore/log_walk.h"
#include "util/base64.h"
#include "util/time_format.h"

namespace ordo::cli {
namespace {

constexpr size_t kKeysShown = 5;
constexpr size_t kKeyTextBytes = 48;

// A key in the keys column: quoted when it would not read as one word.
std::string KeyText(std::string_view key) {
  std::string text = EscapeBytes(key, kKeyTextBytes);
  if (key.empty() || text.find_first_of(" ,\"") != std::string::npos) {
    return "\"" + text + "\"";
  }
  return text;
}

// A key and, outside database 0, its database: `a`, `a (db 3)`.
std::string KeyInDatabase(uint32_t db, std::string_view key) {
  return db == 0 ? KeyText(key) : fmt::format("{} (db {})", KeyText(key), db);
}

// "FLUSHALL (all keys)", "FLUSHDB 2", "a, b, c, d (db 3), e +3 more", "RESTORE POINT name",
// "RENAME a -> b (db 1)", "COPY a -> b". A key outside database 0 is followed by its database.
std::string KeysTouched(const log::DecodedRecord& record) {
  bool clear = false;
  std::string flushed;
  std::vector<std::string> keys;
  std::string points;
  for (const auto& op : record.ops) {
    if (op.type == log::OpType::kClear) {
      clear = true;
      continue;
    }
    if (op.type == log::OpType::kFlushDatabase) {
      flushed += (flushed.empty() ? "FLUSHDB " : ", ") + std::to_string(op.db);
      continue;
    }
    if (op.type == log::OpType::kRestorePoint) {
      points += (points.empty() ? "RESTORE POINT " : ", ") + KeyText(op.key);
      continue;
    }
    std::string key = KeyInDatabase(op.db, op.key);
    if (op.type == log::OpType::kRename || op.type == log::OpType::kCopy) {
      key = fmt::format("{} {} -> {}", op.type == log::OpType::kRename ? "RENAME" : "COPY", key,
                        KeyInDatabase(op.target_db, op.target_key));
    }
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  }
  std::string text;
  if (clear) text = "FLUSHALL (all keys)";
  if (!flushed.empty()) text += (text.empty() ? "" : ", ") + flushed;
  for (size_t i = 0; i < keys.size() && i < kKeysShown; ++i) {
    if (!text.empty()) text += ", ";
    text += keys[i];
  }
  if (keys.size() > kKeysShown) text += fmt::format(" +{} more", keys.size() - kKeysShown);
  if (!points.empty()) text += (text.empty() ? "" : "; ") + points;
  return text;
}

nlohmann::json CommitJson(const restore::LogCommit& commit) {
  const log::DecodedRecord& record = *commit.record;
  nlohmann::json ops = nlohmann::json::array();
  bool clear = false;
  for (const auto& op : record.ops) {
    nlohmann::json entry = {{"op", restore::OpTypeName(op.type)}};
    if (op.type == log::OpType::kClear) {
      clear = true;
    } else if (op.type == log::OpType::kFlushDatabase) {
      entry["db"] = op.db;
    } else if (op.type == log::OpType::kRestorePoint) {
      AddBytesField(&entry, "key", op.key);
    } else {
      entry["db"] = op.db;
      AddBytesField(&entry, "key", op.key);
    }
    if (op.type == log::OpType::kPut) {
      entry["value_bytes"] = op.value.size();
      if (op.expire_at_ms != 0) entry["expire_at_ms"] = op.expire_at_ms;
    }
    if (op.type == log::OpType::kSetExpiry) entry["expire_at_ms"] = op.expire_at_ms;  // 0: none
    if (op.type == log::OpType::kRename || op.type == log::OpType::kCopy) {
      entry["target_db"] = op.target_db;
      AddBytesField(&entry, "target_key", op.target_key);
    }
    ops.push_back(std::move(entry));
  }
  return {{"lsn", record.lsn},
          {"time", FormatRfc3339Millis(record.commit_time_micros)},
          {"commit_time_micros", record.commit_time_micros},
          {"op_count", record.ops.size()},
          {"clear", clear},
          {"live_keys", record.live_keys},
          {"digest", record.digest.ToHex()},
          {"segment_id", commit.segment_id},
          {"offset", commit.offset},
          {"ops", std::move(ops)}};
}

}  // namespace

// ---- Shared with history_command.cc (log_cli.h).

void AddLogSourceOptions(CLI::App* command, LogSourceArguments* arguments) {
  auto* data = command->add_option("--data", arguments->data,
                                   "data directory (live or stopped; read without the lock)");
  auto* repo = command->add_option(
      "--repo", arguments->repo,
      "backup repository: the log its newest backup holds and the continuous archive after it "
      "(the whole archive when there is no backup)");
  data->excludes(repo);
  repo->excludes(data);
  command->add_option("--key-file", arguments->key_file, "key file of an encrypted repository")
      ->needs(repo);
  command
      ->add_option("--backup", arguments->backup,
                   "with --repo: the backup whose log to read (default: the newest)")
      ->needs(repo);
  command
      ->add_option("--database", arguments->database,
                   "with --repo: the database (hex id) when the repository holds several")
      ->needs(repo);
  command->add_flag("--json", arguments->json, "JSON lines on stdout: one object per line");
}

std::string LogSourceName(const LogSourceArguments& arguments,
                          const restore::LogWalkSummary& summary) {
  if (!arguments.data.empty()) return arguments.data;
  if (summary.backup_id.empty()) return "the archive";
  if (!arguments.backup.empty()) return "backup " + summary.backup_id;
  return "backup " + summary.backup_id + " with the archive after it";
}

Status WalkLogSource(const LogSourceArguments& arguments, const restore::LogWalkOptions& options,
                     const restore::LogVisitor& visitor, restore::LogWalkSummary* summary) {
  if (arguments.data.empty() == arguments.repo.empty()) {
    return Status::InvalidArgument("give the log to read: --data DIR or --repo REPO");
  }
  FileSystem* fs = FileSystem::Default();
  if (!arguments.data.empty()) {
    if (!fs->FileExists(arguments.data)) {
      return Status::NotFound(arguments.data + ": no such directory");
    }
    return restore::WalkDataDirectory(fs, arguments.data, options, visitor, summary);
  }
  ORDO_ASSIGN_OR_RETURN(auto repository, OpenRepository(arguments.repo, arguments.key_file));
  restore::LogWalkOptions with_backup = options;
  with_backup.backup_id = arguments.backup;
  with_backup.database_id_hex = arguments.database;
  return restore::WalkRepository(fs, repository.get(), with_backup, visitor, summary)
      .WithContext(arguments.repo);
}

std::string EscapeBytes(std::string_view bytes, size_t max_bytes) {
  std::string text;
  const size_t shown = std::min(bytes.size(), max_bytes);
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\' || c == '"') {
      text += '\\';
      text += static_cast<char>(c);
    } else if (c == '\n') {
      text += "\\n";
    } else if (c == '\t') {
      text += "\\t";
    } else if (c == '\r') {
      text += "\\r";
    } else if (c >= 0x20 && c < 0x7f) {
      text += static_cast<char>(c);
    } else {
      text += fmt::format("\\x{:02x}", c);
    }
  }
  if (bytes.size() > max_bytes) text += "...";
  return text;
}

void AddBytesField(nlohmann::json* object, const std::string& name, std::string_view bytes) {
  // nlohmann's dump() throws on bytes that are not valid UTF-8 (as in dump_command.cc).
  try {
    nlohmann::json text = std::string(bytes);
    (void)text.dump();
    (*object)[name] = std::move(text);
  } catch (const nlohmann::json::type_error&) {
    (*object)[name + "_base64"] = Base64Encode(bytes);
  }
}

void AddLogCommand(CLI::App& app) {
  auto* command = app.add_subcommand(
      "log",
      "List the commits of a log, oldest first: LSN, time, ops, keys touched, live keys after, "
      "state digest. This is how to find the FLUSHALL or mass overwrite to restore before: "
      "`ordo log --data DIR --key K` or `--since T`, then restore to the LSN before it");
  auto arguments = std::make_shared<LogSourceArguments>();
  AddLogSourceOptions(command, arguments.get());
  auto since = std::make_shared<std::string>();
  auto until = std::make_shared<std::string>();
  auto key = std::make_shared<std::string>();
  auto key_given = std::make_shared<bool>(false);
  auto limit = std::make_shared<uint64_t>(0);
  auto last = std::make_shared<uint64_t>(0);
  command->add_option("--since", *since,
                      "only commits at or after this time: RFC 3339 (2024-05-01T12:00:00Z) or "
                      "Unix seconds");
  command->add_option("--until", *until, "only commits at or before this time (same forms)");
  command
      ->add_option("--key", *key, "only commits that touch this key (a FLUSHALL touches every key)")
      ->each([key_given](const std::string&) { *key_given = true; });
  auto* limit_option =
      command->add_option("--limit", *limit, "print at most N commits, the oldest (0: all)");
  command
      ->add_option("--last", *last,
                   "print only the newest N matching commits (the whole log is still read; "
                   "memory holds N lines)")
      ->excludes(limit_option);
  command->footer(
      "Output: one line per commit (with --json one JSON object per line; binary keys as "
      "key_base64). A FLUSHALL/FLUSHDB shows as \"FLUSHALL (all keys)\". The data directory "
      "is read up to its last whole commit when the command starts; a repository shows the "
      "log its newest backup holds and the continuous archive after it (--backup ID: that "
      "backup alone).");
  command->callback([arguments, since, until, key, key_given, limit, last] {
    restore::LogWalkOptions options;
    int64_t micros = 0;
    if (!since->empty()) {
      if (!restore::ParseTimeArgument(*since, &micros)) {
        return ReportFailure(
            "log", Status::InvalidArgument("--since " + *since + ": not RFC 3339 or Unix seconds"),
            arguments->json);
      }
      options.filter.since_micros = micros;
    }
    if (!until->empty()) {
      if (!restore::ParseTimeArgument(*until, &micros)) {
        return ReportFailure(
            "log", Status::InvalidArgument("--until " + *until + ": not RFC 3339 or Unix seconds"),
            arguments->json);
      }
      options.filter.until_micros = micros;
    }
    if (*key_given) options.filter.key = *key;
    uint64_t printed = 0;
    bool header = false;
    const bool json = arguments->json;
    std::deque<std::string> newest;  // --last: the newest lines, printed at the end
    auto emit = [&](const std::string& line) {
      if (!json && !header) {
        std::printf("%-10s %-24s %6s %10s %-12s %s\n", "LSN", "TIME", "OPS", "LIVE_KEYS", "DIGEST",
                    "KEYS");
        header = true;
      }
      std::printf("%s\n", line.c_str());
      ++printed;
    };
    auto visitor = [&](const restore::LogCommit& commit) {
      const log::DecodedRecord& record = *commit.record;
      std::string line =
          json ? CommitJson(commit).dump()
               : fmt::format("{:<10} {:<24} {:>6} {:>10} {:<12} {}", record.lsn,
                             FormatRfc3339Millis(record.commit_time_micros), record.ops.size(),
                             record.live_keys, record.digest.ToHex().substr(0, 12),
                             KeysTouched(record));
      if (*last != 0) {
        newest.push_back(std::move(line));
        if (newest.size() > *last) newest.pop_front();
        return true;
      }
      emit(line);
      return *limit == 0 || printed < *limit;
    };
    restore::LogWalkSummary summary;
    const Status walked = WalkLogSource(*arguments, options, visitor, &summary);
    if (walked.ok()) {
      for (const auto& line : newest) emit(line);
    }
    std::fflush(stdout);
    if (!walked.ok()) return ReportFailure("log", walked, json);
    if (!json) {
      const std::string source = LogSourceName(*arguments, summary);
      std::printf("%llu commits shown; %s holds LSN %llu..%llu%s\n",
                  static_cast<unsigned long long>(printed), source.c_str(),
                  static_cast<unsigned long long>(summary.first_lsn),
                  static_cast<unsigned long long>(summary.last_lsn),
                  summary.stopped ? " (stopped at --limit)" : "");
    }
  });
}

}  // namespace ordo::cli
