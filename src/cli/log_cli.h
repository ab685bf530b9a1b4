// Pieces shared by `ordo log` and `ordo history` (log_command.cc, history_command.cc): where the
// log comes from (--data or --repo), walking it, and printing keys and values.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "restore/log_walk.h"

namespace ordo::cli {

struct LogSourceArguments {
  std::string data;      // --data DIR
  std::string repo;      // --repo REPO
  std::string key_file;  // --key-file F
  std::string backup;    // --backup ID
  std::string database;  // --database HEX
  bool json = false;
};

// Adds --data, --repo, --key-file, --backup, --database and --json to `command`.
void AddLogSourceOptions(CLI::App* command, LogSourceArguments* arguments);

// Where the walked commits came from, for a closing line: the data directory, "the archive"
// (a repository with no backup), "backup ID" (--backup), or "backup ID with the archive after
// it".
std::string LogSourceName(const LogSourceArguments& arguments,
                          const restore::LogWalkSummary& summary);

// Walks the log the arguments name. InvalidArgument unless exactly one of --data and --repo.
Status WalkLogSource(const LogSourceArguments& arguments, const restore::LogWalkOptions& options,
                     const restore::LogVisitor& visitor, restore::LogWalkSummary* summary);

// Printable text for bytes: printable ASCII as is, backslash and quote escaped, the rest as
// \xNN; longer than `max_bytes` cut there with "..." appended.
std::string EscapeBytes(std::string_view bytes, size_t max_bytes);

// (*object)[name] = bytes as a string when valid UTF-8, else [name + "_base64"] = base64.
void AddBytesField(nlohmann::json* object, const std::string& name, std::string_view bytes);

}  // namespace ordo::cli
