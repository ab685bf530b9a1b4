// ordo history (--data DIR | --repo REPO [--key-file F]) KEY [--json]
// Every version of one key the log holds, oldest first: LSN, time, operation (set, delete,
// expire, clear), value size, a short escaped preview of the value, expiry. With --json one
// object per version holding the whole value (as "value", or "value_base64" when it is not
// UTF-8), so a value overwritten by mistake can be read back by hand.
//
// A CLEAR (FLUSHALL/FLUSHDB) is listed only when the key existed just before it (as far as
// the log shows: set and not deleted, expired or cleared since).
#include <cstdio>

#include "cli/backup_cli.h"
#include "cli/commands.h"
#include "cli/log_cli.h"
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
          if (op.expire_at_ms != 0) {
            line["expire_at_ms"] = op.expire_at_ms;
            line["expire_at"] = FormatRfc3339Millis(op.expire_at_ms * 1000);
          }
        }
        std::printf("%s\n", line.dump().c_str());
        return;
      }
      if (versions == 1) {
        std::printf("%-10s %-24s %-7s %10s %-24s %s\n", "LSN", "TIME", "OP", "SIZE", "EXPIRES",
                    "VALUE");
      }
      const bool put = op.type == log::OpType::kPut;
      const std::string size = put ? std::to_string(op.value.size()) : "-";
      const std::string expires =
          put && op.expire_at_ms != 0 ? FormatRfc3339Millis(op.expire_at_ms * 1000) : "-";
      const std::string preview =
          put ? "\"" + EscapeBytes(op.value, kPreviewBytes) + "\""
              : (op.type == log::OpType::kClear           ? "(FLUSHALL: all keys removed)"
                 : op.type == log::OpType::kFlushDatabase ? "(FLUSHDB: the database emptied)"
                                                          : "-");
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
        } else if (op.type == log::OpType::kFlushDatabase || op.db != *db) {
          continue;  // another database's
        } else if (op.key == *key) {
          print(record, op);
          present = op.type == log::OpType::kPut;
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
