// UTC time as text: the one place ordo turns Unix time into the RFC 3339 and compact stamps
// it writes (identity files, manifests, repository files, CLI output) and parses them back.
// All reentrant (gmtime_r, timegm). Times before 1970 round down to the whole second, so the
// fraction is never negative.
#pragma once

#include <cstdint>
#include <string>

namespace ordo {

// RFC 3339 UTC to the second: "2026-12-03T08:00:00Z".
std::string FormatRfc3339(int64_t unix_seconds);
// RFC 3339 UTC with milliseconds: "2026-12-03T08:00:00.123Z".
std::string FormatRfc3339Millis(int64_t unix_micros);
// RFC 3339 UTC with microseconds: "2026-12-03T08:00:00.123456Z" (sorts as text).
std::string FormatRfc3339Micros(int64_t unix_micros);
// Compact ISO 8601 basic UTC to the second: "20261203T080000Z" (a safe file-name prefix).
std::string FormatCompactUtc(int64_t unix_seconds);
// The current wall time to the second, as FormatRfc3339 writes it.
std::string NowRfc3339();

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (what FormatRfc3339 and FormatRfc3339Micros write;
// 'z' is accepted too, fraction digits past the sixth are ignored) into Unix microseconds;
// false if malformed.
bool ParseRfc3339(const std::string& text, int64_t* unix_micros);

}  // namespace ordo
