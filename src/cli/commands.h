// Each subcommand of the `ordo` binary registers itself on the CLI11 app and returns the exit
// code through the callback it installs. One file per subcommand.
#pragma once

#include <CLI/CLI.hpp>

namespace ordo::cli {

// Set by the subcommand that ran; main() returns it.
extern int exit_code;

// Adds --segment-size (bytes, checked against the engine's limits) to `command`.
void AddSegmentSizeOption(CLI::App* command, uint64_t* segment_bytes, const std::string& help);

void AddServeCommand(CLI::App& app);    // serve_command.cc
void AddCheckCommand(CLI::App& app);    // check_command.cc
void AddDumpCommand(CLI::App& app);     // dump_command.cc
void AddRepoCommand(CLI::App& app);     // repo_command.cc
void AddKeygenCommand(CLI::App& app);   // keygen_command.cc
void AddBackupCommand(CLI::App& app);   // backup_command.cc
void AddBackupsCommand(CLI::App& app);  // backups_command.cc
void AddVerifyCommand(CLI::App& app);   // verify_command.cc
void AddRestoreCommand(CLI::App& app);  // restore_command.cc
void AddPruneCommand(CLI::App& app);    // prune_command.cc
void AddLogCommand(CLI::App& app);      // log_command.cc
void AddHistoryCommand(CLI::App& app);  // history_command.cc
void AddArchiveCommand(CLI::App& app);  // archive_command.cc

}  // namespace ordo::cli
