// A one-line progress bar on stderr for long copies (backup, restore, verify): bytes done of
// the total, rate, time left and the current file. Drawn only when stderr is a terminal
// (isatty), at most ten times a second; when it is not a terminal nothing is printed, so logs
// and pipes stay clean.
#pragma once

#include <cstdint>
#include <string>

#include "repository/transfer.h"

namespace ordo::cli {

class ProgressBar {
 public:
  // `label` starts the line ("backup", "restore", "verify").
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }
  void Update(const repository::TransferProgress& progress);
  // Draws the final state and ends the line (also done by the destructor).
  void Finish();
  // A callback for the backup library that updates this bar; empty when disabled.
  repository::ProgressCallback Callback();

 private:
  void Draw(bool final_draw);

  const std::string label_;
  const bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  int64_t start_micros_ = 0;
  int64_t last_draw_micros_ = 0;
  repository::TransferProgress last_;
};

// "12.3 MiB", "1.0 GiB", "512 B".
std::string FormatBytes(uint64_t bytes);

}  // namespace ordo::cli
