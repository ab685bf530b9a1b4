// The reply encoders, byte for byte, in both protocols. The RESP3 bytes are what Redis 7.0.15
// sends for the same call (DEBUG PROTOCOL, ZSCORE, CLIENT INFO after HELLO 3).
#include "server/reply.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace ordo::server {
namespace {

constexpr Protocol kResp2 = Protocol::kResp2;
constexpr Protocol kResp3 = Protocol::kResp3;

template <typename Encoder>
std::string Encode(Encoder encoder) {
  std::string out;
  encoder(&out);
  return out;
}

TEST(ReplyTest, SharedTypesAreTheSameInBothProtocols) {
  EXPECT_EQ(Encode([](std::string* out) { AppendSimpleString(out, "PONG"); }), "+PONG\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendError(out, "ERR a\r\nb"); }), "-ERR a  b\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendInteger(out, INT64_MIN); }),
            ":-9223372036854775808\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendBulk(out, std::string("a\0b", 3)); }),
            std::string("$3\r\na\0b\r\n", 9));
  EXPECT_EQ(Encode([](std::string* out) {
              AppendBulkArray(out, {"x", ""});
            }),
            "*2\r\n$1\r\nx\r\n$0\r\n\r\n");
}

TEST(ReplyTest, NullIsBulkOrArrayInResp2AndUnderscoreInResp3) {
  EXPECT_EQ(Encode([](std::string* out) { AppendNull(out, kResp2); }), "$-1\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendNull(out, kResp3); }), "_\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendNullArray(out, kResp2); }), "*-1\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendNullArray(out, kResp3); }), "_\r\n");
}

TEST(ReplyTest, MapIsAFlatArrayOfPairsInResp2) {
  EXPECT_EQ(Encode([](std::string* out) { AppendMapHeader(out, 7, kResp2); }), "*14\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendMapHeader(out, 7, kResp3); }), "%7\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendMapHeader(out, 0, kResp2); }), "*0\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendMapHeader(out, 0, kResp3); }), "%0\r\n");
}

TEST(ReplyTest, SetAndPushAreArraysInResp2) {
  EXPECT_EQ(Encode([](std::string* out) { AppendSetHeader(out, 3, kResp2); }), "*3\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendSetHeader(out, 3, kResp3); }), "~3\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendPushHeader(out, 3, kResp2); }), "*3\r\n");
  // DEBUG PROTOCOL push: ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n" and then the reply.
  std::string push = Encode([](std::string* out) {
    AppendPushHeader(out, 2, kResp3);
    AppendBulk(out, "server-cpu-usage");
    AppendInteger(out, 42);
  });
  EXPECT_EQ(push, ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n");
}

TEST(ReplyTest, DoubleIsPercentSeventeenGAsRedis70) {
  auto resp2 = [](double value) {
    return Encode([value](std::string* out) { AppendDouble(out, value, kResp2); });
  };
  auto resp3 = [](double value) {
    return Encode([value](std::string* out) { AppendDouble(out, value, kResp3); });
  };
  EXPECT_EQ(resp2(3.141), "$5\r\n3.141\r\n");
  EXPECT_EQ(resp3(3.141), ",3.141\r\n");
  EXPECT_EQ(resp3(0.1), ",0.10000000000000001\r\n");
  EXPECT_EQ(resp3(1), ",1\r\n");
  EXPECT_EQ(resp3(1e300), ",1.0000000000000001e+300\r\n");
  EXPECT_EQ(resp3(-std::numeric_limits<double>::max()), ",-1.7976931348623157e+308\r\n");
  EXPECT_EQ(resp2(INFINITY), "$3\r\ninf\r\n");
  EXPECT_EQ(resp2(-INFINITY), "$4\r\n-inf\r\n");
  EXPECT_EQ(resp3(INFINITY), ",inf\r\n");
  EXPECT_EQ(resp3(-INFINITY), ",-inf\r\n");
}

TEST(ReplyTest, BoolIsAnIntegerInResp2) {
  EXPECT_EQ(Encode([](std::string* out) { AppendBool(out, true, kResp2); }), ":1\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendBool(out, false, kResp2); }), ":0\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendBool(out, true, kResp3); }), "#t\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendBool(out, false, kResp3); }), "#f\r\n");
}

TEST(ReplyTest, VerbatimCountsItsFormatPrefix) {
  const std::string text = "This is a verbatim\nstring";
  EXPECT_EQ(Encode([&](std::string* out) { AppendVerbatimText(out, text, kResp2); }),
            "$25\r\nThis is a verbatim\nstring\r\n");
  EXPECT_EQ(Encode([&](std::string* out) { AppendVerbatimText(out, text, kResp3); }),
            "=29\r\ntxt:This is a verbatim\nstring\r\n");
  EXPECT_EQ(Encode([](std::string* out) { AppendVerbatimText(out, "", kResp3); }),
            "=4\r\ntxt:\r\n");
}

}  // namespace
}  // namespace ordo::server
