#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "fmt/format.h"
#include "util/clock.h"

namespace ordo::cli {
namespace {

constexpr int64_t kRedrawMicros = 100 * 1000;
constexpr size_t kBarCells = 24;
constexpr size_t kFileNameCharsMax = 32;

std::string FormatDuration(double seconds) {
  const auto total = static_cast<int64_t>(std::max(0.0, seconds) + 0.5);
  if (total >= 3600)
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_micros_(MonotonicMicros()) {}

ProgressBar::~ProgressBar() { Finish(); }

repository::ProgressCallback ProgressBar::Callback() {
  if (!enabled_) return {};
  return [this](const repository::TransferProgress& progress) { Update(progress); };
}

void ProgressBar::Update(const repository::TransferProgress& progress) {
  if (!enabled_ || finished_) return;
  last_ = progress;
  const int64_t now_micros = MonotonicMicros();
  if (drawn_ && now_micros - last_draw_micros_ < kRedrawMicros) return;
  last_draw_micros_ = now_micros;
  Draw(false);
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (!drawn_) return;  // nothing was ever shown: leave the terminal alone
  Draw(true);
  std::fputc('\n', stderr);
}

void ProgressBar::Draw(bool final_draw) {
  drawn_ = true;
  const double elapsed_seconds = static_cast<double>(MonotonicMicros() - start_micros_) / 1e6;
  const double fraction = last_.bytes_total == 0
                              ? 1.0
                              : std::min(1.0, static_cast<double>(last_.bytes_done) /
                                                  static_cast<double>(last_.bytes_total));
  const double rate =
      elapsed_seconds > 0 ? static_cast<double>(last_.bytes_done) / elapsed_seconds : 0;
  std::string bar(kBarCells, ' ');
  std::fill_n(bar.begin(), static_cast<size_t>(fraction * kBarCells), '#');
  std::string left = "--:--";
  if (final_draw) {
    left = FormatDuration(elapsed_seconds);
  } else if (rate > 0) {
    left = FormatDuration(
        static_cast<double>(last_.bytes_total - std::min(last_.bytes_total, last_.bytes_done)) /
        rate);
  }
  std::string file = last_.current_file;
  if (file.size() > kFileNameCharsMax)
    file = "..." + file.substr(file.size() - kFileNameCharsMax + 3);
  // \r and "erase to end of line" redraw in place.
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %s / %s  %s/s  %s %s  %s\x1b[K", label_.c_str(),
               bar.c_str(), fraction * 100, FormatBytes(last_.bytes_done).c_str(),
               FormatBytes(last_.bytes_total).c_str(),
               FormatBytes(static_cast<uint64_t>(rate)).c_str(), final_draw ? "took" : "left",
               left.c_str(), file.c_str());
  std::fflush(stderr);
}

}  // namespace ordo::cli
