// ordo check --data DIR [--level 0..3]: verifies a data directory without changing it.
#include <cstdio>

#include "cli/commands.h"
#include "cli/report_format.h"
#include "fmt/format.h"
#include "ordo/db.h"
#include "ordo/file_system.h"

namespace ordo::cli {

void AddCheckCommand(CLI::App& app) {
  auto* command =
      app.add_subcommand("check", "Verify a data directory (read-only; safe on a live one)");
  auto data = std::make_shared<std::string>("./data");
  auto level = std::make_shared<int>(2);
  auto segment_bytes = std::make_shared<uint64_t>(kSegmentBytesDefault);
  AddSegmentSizeOption(command, segment_bytes.get(),
                       "segment size in bytes (as for serve; reading does not depend on it)");
  command->add_option("--data", *data, "data directory")->capture_default_str();
  command
      ->add_option("--level", *level,
                   "0 headers; 1-2 also every record of the active segment and those after "
                   "the checkpoint; 3 every record, seal and value, and the checkpoint "
                   "against the whole log")
      ->check(CLI::Range(0, 3))
      ->capture_default_str();
  command->callback([data, level] {
    OpenReport report;
    const Status status = CheckDatabase(*data, *level, FileSystem::Default(), &report);
    std::printf("%s", FormatOpenReport(*data, report).c_str());
    if (!status.ok()) {
      std::printf("check: DAMAGED: %s\n", status.ToString().c_str());
      std::printf(
          "check: nothing was changed. See docs/OPERATIONS.md, \"ordo check reports "
          "damage\".\n");
      exit_code = 1;
      return;
    }
    std::printf("check: OK at level %d\n", *level);
  });
}

}  // namespace ordo::cli
