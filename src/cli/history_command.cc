// ordo history (--data DIR | --repo REPO [--key-file F]) KEY [--json]
// Every version of one key the log holds, oldest first: LSN, time, operation (set, delete,
// expire, clear, set-expiry, rename, copy), value size, a short escaped preview of the value,
// expiry. With --json one
// object per version holding the whole value (as "value", or "value_base64" when it is not
// UTF-8), so a value overwritten by mistake can be read back by hand.
//
// A CLEAR (FLUSHALL/FLUSHDB) is listed only when the key existed just before it (as far as
// the log shows: set and not deleted, expired or cleared since).
#include <cstdio>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/log_cli.h"
#include "fmt/format.h"
#include "restore/log_walk.h"
#include "util/time_format.h"

namespace ordo::cli {
namespace {

constexpr size_t kPreviewBytes = 40;

}  // namespace

void AddHistoryCommand(CLI::App& app) {
  auto* command = app.add_subcommand(
      "history",
      "Every version of one key the log holds, oldest first: LSN, time, operation "
      "(set/delete/expire/clear), value size, value preview, expiry");
  auto arguments = std::make_shared<LogSourceArguments>();
  AddLogSourceOptions(command, arguments.get());
  auto key = std::make_shared<std::string>();
  command->add_option("KEY", *key, "the key")->required();
  auto db = std::make_shared<uint32_t>(0);
  command->add_option("--db", *db, "the key's database (SELECT's number)")
      ->check(CLI::Range(0u, log::kDatabasesMax - 1))
      ->capture_default_str();
  command->footer(
      "--json prints one JSON object per version with the whole value (\"value\", or "
      "\"value_base64\" when not UTF-8). A FLUSHALL shows as op \"clear\" when the key existed "
      "before it. A repository shows the log its newest backup holds and the continuous "
      "archive after it.");
  command->callback([arguments, key, db] {
    restore::LogWalkOptions options;
    options.filter.key = *key;
    const bool json = arguments->json;
    bool present = false;  // the key holds a value after the versions seen so far
    uint64_t versions = 0;
    auto print = [&](const log::DecodedRecord& record, const log::RecordOp& op) {
      ++versions;
      const std::string time = FormatRfc3339Millis(record.commit_time_micros);
      const char* name = restore::OpTypeName(op.type);
      if (json) {
        nlohmann::json line = {{"lsn", record.lsn},
                               {"time", time},
                               {"commit_time_micros", record.commit_time_micros},
                               {"op", name},
                               {"db", *db}};
        AddBytesField(&line, "key", *key);
        if (op.type == log::OpType::kPut) {
          line["value_bytes"] = op.value.size();
          AddBytesField(&line, "value", op.value);
        }
        if ((op.type == log::OpType::kPut || op.type == log::OpType::kSetExpiry) &&
            op.expire_at_ms != 0) {
          line["expire_at_ms"] = op.expire_at_ms;
          line["expire_at"] = FormatRfc3339Millis(op.expire_at_ms * 1000);
        }
        if (op.type == log::OpType::kSetExpiry && op.expire_at_ms == 0) {
          line["expire_at_ms"] = 0;  // PERSIST: the expiry removed
        }
        if (op.type == log::OpType::kRename || op.type == log::OpType::kCopy) {
          // The key is the op's source or its target (a key renamed or copied onto itself is
          // never logged).
          const bool source = op.db == *db && op.key == *key;
          line[source ? "to_db" : "from_db"] = source ? op.target_db : op.db;
          AddBytesField(&line, source ? "to_key" : "from_key", source ? op.target_key : op.key);
        }
        std::printf("%s\n", line.dump().c_str());
        return;
      }
      if (versions == 1) {
        std::printf("%-10s %-24s %-7s %10s %-24s %s\n", "LSN", "TIME", "OP", "SIZE", "EXPIRES",
                    "VALUE");
      }
      const bool put = op.type == log::OpType::kPut;
      const bool new_expiry = put || op.type == log::OpType::kSetExpiry;
      const std::string size = put ? std::to_string(op.value.size()) : "-";
      const std::string expires =
          new_expiry && op.expire_at_ms != 0 ? FormatRfc3339Millis(op.expire_at_ms * 1000) : "-";
      std::string preview =
          put ? "\"" + EscapeBytes(op.value, kPreviewBytes) + "\""
              : (op.type == log::OpType::kClear           ? "(FLUSHALL: all keys removed)"
                 : op.type == log::OpType::kFlushDatabase ? "(FLUSHDB: the database emptied)"
                 : op.type == log::OpType::kSetExpiry
                     ? (op.expire_at_ms == 0 ? "(expiry removed; value unchanged)"
                                             : "(new expiry; value unchanged)")
                     : "-");
      if (op.type == log::OpType::kRename || op.type == log::OpType::kCopy) {
        const bool source = op.db == *db && op.key == *key;
        const uint32_t other_db = source ? op.target_db : op.db;
        const std::string_view other_key = source ? op.target_key : op.key;
        preview = fmt::format("({} {} \"{}\"{}{})",
                              op.type == log::OpType::kRename ? "renamed" : "copied",
                              source ? "to" : "from", EscapeBytes(other_key, kPreviewBytes),
                              other_db != *db ? fmt::format(" in db {}", other_db) : "",
                              source ? "" : ", with its value and expiry");
      }
      std::printf("%-10llu %-24s %-7s %10s %-24s %s\n", static_cast<unsigned long long>(record.lsn),
                  time.c_str(), name, size.c_str(), expires.c_str(), preview.c_str());
    };
    auto visitor = [&](const restore::LogCommit& commit) {
      const log::DecodedRecord& record = *commit.record;
      for (const auto& op : record.ops) {
        if (op.type == log::OpType::kRestorePoint) continue;  // names, not keys
        if (op.type == log::OpType::kClear ||
            (op.type == log::OpType::kFlushDatabase && op.db == *db)) {
          if (present) print(record, op);
          present = false;
        } else if (op.type == log::OpType::kRename || op.type == log::OpType::kCopy) {
          const bool source = op.db == *db && op.key == *key;
          const bool target = op.target_db == *db && op.target_key == *key;
          if (!source && !target) continue;
          print(record, op);
          if (target) present = true;
          if (source && op.type == log::OpType::kRename) present = false;
        } else if (op.type == log::OpType::kFlushDatabase || op.db != *db) {
          continue;  // another database's
        } else if (op.key == *key) {
          print(record, op);
          if (op.type != log::OpType::kSetExpiry) present = op.type == log::OpType::kPut;
        }
      }
      return true;
    };
    restore::LogWalkSummary summary;
    const Status walked = WalkLogSource(*arguments, options, visitor, &summary);
    std::fflush(stdout);
    if (!walked.ok()) return ReportFailure("history", walked, json);
    if (!json) {
      const std::string source = LogSourceName(*arguments, summary);
      std::printf("%llu versions of \"%s\" in %s (LSN %llu..%llu)\n",
                  static_cast<unsigned long long>(versions), EscapeBytes(*key, 64).c_str(),
                  source.c_str(), static_cast<unsigned long long>(summary.first_lsn),
                  static_cast<unsigned long long>(summary.last_lsn));
    }
  });
}

}  // namespace ordo::cli
