#include "cli/report_format.h"

#include "fmt/format.h"

namespace ordo::cli {

std::string FormatOpenReport(const std::string& directory, const OpenReport& report) {
  std::string text;
  text += fmt::format("data directory: {}\n", directory);
  text += fmt::format("keys: {}, segments: {}, log bytes: {}, last LSN: {}\n", report.keys,
                      report.segments, report.log_bytes, report.last_lsn);
  text += fmt::format("previous shutdown: {}; integrity level: {}\n",
                      report.created_database          ? "none (new database)"
                      : report.previous_shutdown_clean ? "clean"
                                                       : "not clean",
                      report.integrity_level);
  text += fmt::format("checkpoint: {}; records replayed: {}, verified: {}\n",
                      report.checkpoint.empty() ? "none" : report.checkpoint,
                      report.replayed_records, report.verified_records);
  if (report.torn_tail_bytes > 0) {
    text += fmt::format("torn tail: {} bytes\n", report.torn_tail_bytes);
  }
  for (const auto& action : report.actions) text += fmt::format("recovery: {}\n", action);
  text += fmt::format("time: {:.3f} s\n", static_cast<double>(report.duration_micros) / 1e6);
  return text;
}

}  // namespace ordo::cli
