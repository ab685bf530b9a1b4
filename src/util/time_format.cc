#include "util/time_format.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "fmt/format.h"

namespace ordo {
namespace {

// `unix_seconds` in UTC through strftime `pattern`.
std::string FormatUtc(int64_t unix_seconds, const char* pattern) {
  const std::time_t seconds = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const size_t length = std::strftime(text, sizeof(text), pattern, &utc);
  return std::string(text, length);
}

// Splits Unix microseconds into whole seconds (rounded down) and the microseconds after them.
void SplitMicros(int64_t unix_micros, int64_t* seconds, int64_t* micros) {
  *seconds = unix_micros / 1000000;
  *micros = unix_micros % 1000000;
  if (*micros < 0) {
    *micros += 1000000;
    --*seconds;
  }
}

}  // namespace

std::string FormatRfc3339(int64_t unix_seconds) {
  return FormatUtc(unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

std::string FormatRfc3339Millis(int64_t unix_micros) {
  int64_t seconds = 0;
  int64_t micros = 0;
  SplitMicros(unix_micros, &seconds, &micros);
  return fmt::format("{}.{:03d}Z", FormatUtc(seconds, "%Y-%m-%dT%H:%M:%S"), micros / 1000);
}

std::string FormatRfc3339Micros(int64_t unix_micros) {
  int64_t seconds = 0;
  int64_t micros = 0;
  SplitMicros(unix_micros, &seconds, &micros);
  return fmt::format("{}.{:06d}Z", FormatUtc(seconds, "%Y-%m-%dT%H:%M:%S"), micros);
}

std::string FormatCompactUtc(int64_t unix_seconds) {
  return FormatUtc(unix_seconds, "%Y%m%dT%H%M%SZ");
}

std::string NowRfc3339() { return FormatRfc3339(static_cast<int64_t>(std::time(nullptr))); }

bool ParseRfc3339(const std::string& text, int64_t* unix_micros) {
  std::tm utc{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed) != 6) {
    return false;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  int64_t fraction_micros = 0;
  size_t position = static_cast<size_t>(consumed);
  if (position < text.size() && text[position] == '.') {
    int64_t scale = 100000;
    for (++position; position < text.size() && std::isdigit(text[position]); ++position) {
      fraction_micros += (text[position] - '0') * scale;
      scale /= 10;
    }
  }
  if (position + 1 != text.size() || (text[position] != 'Z' && text[position] != 'z')) {
    return false;
  }
  *unix_micros = static_cast<int64_t>(timegm(&utc)) * 1000000 + fraction_micros;
  return true;
}

}  // namespace ordo
