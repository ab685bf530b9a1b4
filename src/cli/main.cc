// The `ordo` binary: one subcommand per file (commands.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "ordo/options.h"

namespace ordo::cli {
int exit_code = 0;

void AddSegmentSizeOption(CLI::App* command, uint64_t* segment_bytes, const std::string& help) {
  command->add_option("--segment-size", *segment_bytes, help)
      ->check(CLI::Range(kSegmentBytesMin, kSegmentBytesMax))
      ->capture_default_str();
}
}  // namespace ordo::cli

int main(int argc, char** argv) {
  CLI::App app{"ordo: a durable key-value database whose log is the database"};
  app.set_version_flag("--version", std::string("ordo ") + ORDO_VERSION);
  app.require_subcommand(1);
  ordo::cli::AddServeCommand(app);
  ordo::cli::AddCheckCommand(app);
  ordo::cli::AddDumpCommand(app);
  ordo::cli::AddRepoCommand(app);
  ordo::cli::AddKeygenCommand(app);
  ordo::cli::AddBackupCommand(app);
  ordo::cli::AddBackupsCommand(app);
  ordo::cli::AddVerifyCommand(app);
  ordo::cli::AddRestoreCommand(app);
  ordo::cli::AddPruneCommand(app);
  ordo::cli::AddLogCommand(app);
  ordo::cli::AddHistoryCommand(app);
  ordo::cli::AddArchiveCommand(app);
  CLI11_PARSE(app, argc, argv);
  return ordo::cli::exit_code;
}
