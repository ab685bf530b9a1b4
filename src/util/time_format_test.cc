#include "util/time_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>

namespace ordo {
namespace {

constexpr int64_t kSeconds = 1735787045;  // 2025-01-02T03:04:05Z

TEST(TimeFormatTest, KnownVectors) {
  EXPECT_EQ(FormatRfc3339(kSeconds), "2025-01-02T03:04:05Z");
  EXPECT_EQ(FormatCompactUtc(kSeconds), "20250102T030405Z");
  EXPECT_EQ(FormatRfc3339Micros(kSeconds * 1000000 + 123456), "2025-01-02T03:04:05.123456Z");
  EXPECT_EQ(FormatRfc3339Micros(kSeconds * 1000000 + 7), "2025-01-02T03:04:05.000007Z");
  EXPECT_EQ(FormatRfc3339Millis(1700000000LL * 1000000 + 123456), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(TimeFormatTest, NowIsRfc3339Seconds) {
  const std::string now = NowRfc3339();
  ASSERT_EQ(now.size(), 20u) << now;
  int64_t micros = 0;
  ASSERT_TRUE(ParseRfc3339(now, &micros)) << now;
  EXPECT_LE(micros / 1000000, static_cast<int64_t>(std::time(nullptr)));
  EXPECT_GE(micros / 1000000, static_cast<int64_t>(std::time(nullptr)) - 5);
}

TEST(TimeFormatTest, ParseRoundTrip) {
  for (int64_t micros :
       {int64_t{0}, kSeconds * 1000000, kSeconds * 1000000 + 123456, int64_t{4102444799999999}}) {
    int64_t parsed = -1;
    ASSERT_TRUE(ParseRfc3339(FormatRfc3339Micros(micros), &parsed)) << micros;
    EXPECT_EQ(parsed, micros);
  }
  int64_t parsed = -1;
  ASSERT_TRUE(ParseRfc3339(FormatRfc3339(kSeconds), &parsed));
  EXPECT_EQ(parsed, kSeconds * 1000000);
  ASSERT_TRUE(ParseRfc3339("2025-01-02T03:04:05.5z", &parsed));
  EXPECT_EQ(parsed, kSeconds * 1000000 + 500000);
}

TEST(TimeFormatTest, ParseRejectsMalformed) {
  int64_t parsed = 0;
  for (const char* text : {"", "2025-01-02", "2025-01-02T03:04:05", "2025-01-02T03:04:05ZZ",
                           "2025-01-02 03:04:05Z", "2025-01-02T03:04:05+01:00", "yesterday"}) {
    EXPECT_FALSE(ParseRfc3339(text, &parsed)) << text;
  }
}

}  // namespace
}  // namespace ordo
