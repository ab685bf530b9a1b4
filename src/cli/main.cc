// The `ordo` binary: one subcommand per file (commands.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace ordo::cli {
int exit_code = 0;
}

int main(int argc, char** argv) {
  CLI::App app{"ordo: a durable key-value database whose log is the database"};
  app.set_version_flag("--version", std::string("ordo ") + ORDO_VERSION);
  app.require_subcommand(1);
  ordo::cli::AddServeCommand(app);
  ordo::cli::AddCheckCommand(app);
  ordo::cli::AddDumpCommand(app);
  CLI11_PARSE(app, argc, argv);
  return ordo::cli::exit_code;
}
