// Pieces shared by the backup subcommands (backup, backups, verify, restore, prune): opening a
// repository with an optional key file, choosing a backup, reporting failures (one JSON object
// on stdout with --json, a sentence on stderr, exit code 1), durations like "7d".
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "ordo/status.h"
#include "repository/repository.h"

namespace ordo::cli {

// Reads `key_file` (if not empty) and opens the repository at `path`.
Result<std::unique_ptr<repository::Repository>> OpenRepository(const std::string& path,
                                                               const std::string& key_file);

// Opens the repository at `path`, creating a plain one when there is none (saying so on stderr,
// prefixed with `command`). With a key file given, a missing repository is an error: an
// encrypted one is made with `ordo repo init`.
Result<std::unique_ptr<repository::Repository>> OpenOrCreateRepository(const char* command,
                                                                       const std::string& path,
                                                                       const std::string& key_file,
                                                                       bool* created);

// "latest" (or empty) is the newest backup; otherwise the id. NotFound naming the repository
// when there is none.
Result<repository::Manifest> ChooseBackup(repository::Repository* repository,
                                          const std::string& path, const std::string& backup_id);

// Sets exit_code to 1 and reports `status`: on stderr as "<command>: error: ...", and with
// `json` also as {"ok": false, "command": ..., "error": ..., "code": ...} on stdout.
void ReportFailure(const char* command, const Status& status, bool json);

// Prints `object` (with "ok": true added) as the one JSON line of the command.
void PrintJson(nlohmann::json object);

// The summary of a backup that `backups` lists and the other commands repeat.
nlohmann::json ManifestSummary(const repository::Manifest& manifest);

// "90s", "30m", "12h", "7d", "2w" (or a bare number of seconds) to seconds; false if malformed.
bool ParseDurationSeconds(const std::string& text, int64_t* seconds);

// "250ms", "1s", "2m", "1h" (or a bare number of seconds) to milliseconds; false if malformed.
bool ParseDurationMillis(const std::string& text, int64_t* milliseconds);

const char* EncryptionModeName(repository::EncryptionMode mode);

}  // namespace ordo::cli
