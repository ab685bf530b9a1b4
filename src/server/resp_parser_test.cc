#include "server/resp_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ordo::server {
namespace {

using Args = std::vector<std::string>;
using Outcome = RespParser::Outcome;

// Parses every command in `input` at once; returns the commands, and the final outcome.
Outcome ParseAll(RespParser* parser, std::string_view input, std::vector<Args>* commands,
                 size_t* position_out = nullptr) {
  size_t position = 0;
  while (true) {
    Args args;
    Outcome outcome = parser->Parse(input, &position, &args);
    if (outcome != Outcome::kCommand) {
      if (position_out != nullptr) *position_out = position;
      return outcome;
    }
    commands->push_back(args);
  }
}

std::string ErrorOf(std::string_view input, RespLimits limits = RespLimits()) {
  RespParser parser(limits);
  std::vector<Args> commands;
  EXPECT_EQ(ParseAll(&parser, input, &commands), Outcome::kError) << input;
  return parser.error();
}

TEST(RespParserTest, MultibulkCommand) {
  RespParser parser;
  std::vector<Args> commands;
  EXPECT_EQ(ParseAll(&parser, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &commands), Outcome::kNeedMore);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0], (Args{"GET", "k"}));
  EXPECT_FALSE(parser.InCommand());
}

TEST(RespParserTest, PipelinedMixOfMultibulkAndInline) {
  RespParser parser;
  std::vector<Args> commands;
  EXPECT_EQ(ParseAll(&parser, "PING\r\n*1\r\n$4\r\nPING\r\nSET a \"b c\"\n", &commands),
            Outcome::kNeedMore);
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0], (Args{"PING"}));
  EXPECT_EQ(commands[1], (Args{"PING"}));
  EXPECT_EQ(commands[2], (Args{"SET", "a", "b c"}));
}

TEST(RespParserTest, BinarySafeBulk) {
  RespParser parser;
  std::vector<Args> commands;
  std::string value("a\r\n\0b", 5);
  std::string input = "*1\r\n$5\r\n" + value + "\r\n";
  ParseAll(&parser, input, &commands);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0][0], value);
}

TEST(RespParserTest, EveryByteSplitGivesTheSameCommands) {
  std::string input = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nPING x\r\n*0\r\n";
  // Feed one byte at a time, keeping unconsumed bytes like a connection does.
  RespParser parser;
  std::string buffer;
  std::vector<Args> commands;
  for (char c : input) {
    buffer.push_back(c);
    size_t position = 0;
    while (true) {
      Args args;
      Outcome outcome = parser.Parse(buffer, &position, &args);
      ASSERT_NE(outcome, Outcome::kError) << parser.error();
      if (outcome == Outcome::kNeedMore) break;
      commands.push_back(args);
    }
    buffer.erase(0, position);
  }
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0], (Args{"SET", "key", "value"}));
  EXPECT_EQ(commands[1], (Args{"PING", "x"}));
  EXPECT_TRUE(commands[2].empty());  // "*0" is an empty request
  EXPECT_TRUE(buffer.empty());
}

TEST(RespParserTest, EmptyAndNegativeMultibulkAreEmptyRequests) {
  RespParser parser;
  std::vector<Args> commands;
  ParseAll(&parser, "*0\r\n*-1\r\n\r\n", &commands);
  ASSERT_EQ(commands.size(), 3u);
  for (const Args& args : commands) EXPECT_TRUE(args.empty());
}

TEST(RespParserTest, MalformedMultibulkCount) {
  EXPECT_EQ(ErrorOf("*abc\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*+1\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*01\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*1\rX"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*99999999999999999999999\r\n"), "Protocol error: invalid multibulk length");
}

TEST(RespParserTest, MultibulkCountLimitBothSides) {
  RespLimits limits;
  limits.multibulk_args_max = 4;
  RespParser parser(limits);
  std::vector<Args> commands;
  EXPECT_EQ(ParseAll(&parser, "*4\r\n", &commands), Outcome::kNeedMore);
  EXPECT_EQ(ErrorOf("*5\r\n", limits), "Protocol error: invalid multibulk length");
  // The default limit: 1 Mi arguments accepted as a count, one more refused.
  RespParser defaults;
  EXPECT_EQ(ParseAll(&defaults, "*1048576\r\n", &commands), Outcome::kNeedMore);
  EXPECT_EQ(ErrorOf("*1048577\r\n"), "Protocol error: invalid multibulk length");
}

TEST(RespParserTest, MalformedBulk) {
  EXPECT_EQ(ErrorOf("*1\r\nGET\r\n"), "Protocol error: expected '$', got 'G'");
  EXPECT_EQ(ErrorOf("*1\r\n$x\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$3\rx"), "Protocol error: invalid bulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$3\r\nabcde"), "Protocol error: expected '\\r\\n' after bulk data");
}

TEST(RespParserTest, OversizedBulkRefusedBeforeItsBytes) {
  // Only the header arrives: the refusal cannot depend on the bytes.
  EXPECT_EQ(ErrorOf("*2\r\n$3\r\nSET\r\n$536870913\r\n"), "Protocol error: invalid bulk length");
  RespParser parser;
  std::vector<Args> commands;
  EXPECT_EQ(ParseAll(&parser, "*2\r\n$3\r\nSET\r\n$536870912\r\n", &commands), Outcome::kNeedMore);
  EXPECT_TRUE(parser.InCommand());
  RespLimits limits;
  limits.bulk_bytes_max = 3;
  EXPECT_EQ(ErrorOf("*1\r\n$4\r\n", limits), "Protocol error: invalid bulk length");
  RespParser small(limits);
  commands.clear();
  ParseAll(&small, "*1\r\n$3\r\nabc\r\n", &commands);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0][0], "abc");
}

TEST(RespParserTest, LineLengthLimitsBothSides) {
  RespLimits limits;
  limits.inline_bytes_max = 8;
  RespParser parser(limits);
  std::vector<Args> commands;
  // Exactly the limit without a newline yet: wait.
  EXPECT_EQ(ParseAll(&parser, "PING 123", &commands), Outcome::kNeedMore);
  EXPECT_EQ(ErrorOf("PING 1234", limits), "Protocol error: too big inline request");
  EXPECT_EQ(ErrorOf("PING 123456\r\n", limits), "Protocol error: too big inline request");
  EXPECT_EQ(ErrorOf("*111111111", limits), "Protocol error: too big mbulk count string");
  EXPECT_EQ(ErrorOf("*1\r\n$111111111", limits), "Protocol error: too big bulk count string");
  RespParser ok(limits);
  commands.clear();
  EXPECT_EQ(ParseAll(&ok, "PING 12\r\n", &commands), Outcome::kNeedMore);
  ASSERT_EQ(commands.size(), 1u);
}

TEST(RespParserTest, InlineQuotes) {
  Args args;
  EXPECT_TRUE(SplitInlineArguments("set \"a\\x41\\n\" 'it\\'s' plain", &args));
  EXPECT_EQ(args, (Args{"set", "aA\n", "it's", "plain"}));
  EXPECT_FALSE(SplitInlineArguments("set \"abc", &args));
  EXPECT_FALSE(SplitInlineArguments("set 'abc", &args));
  EXPECT_FALSE(SplitInlineArguments("set \"abc\"def", &args));
  EXPECT_EQ(ErrorOf("SET \"a\r\n"), "Protocol error: unbalanced quotes in request");
}

TEST(RespParserTest, ErrorIsSticky) {
  RespParser parser;
  std::vector<Args> commands;
  EXPECT_EQ(ParseAll(&parser, "*x\r\n", &commands), Outcome::kError);
  EXPECT_EQ(ParseAll(&parser, "PING\r\n", &commands), Outcome::kError);
  EXPECT_TRUE(commands.empty());
}

TEST(ParseInt64Test, RedisStrictness) {
  int64_t value = 0;
  EXPECT_TRUE(ParseInt64("0", &value));
  EXPECT_EQ(value, 0);
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &value));
  EXPECT_EQ(value, INT64_MIN);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &value));
  EXPECT_EQ(value, INT64_MAX);
  EXPECT_FALSE(ParseInt64("9223372036854775808", &value));
  EXPECT_FALSE(ParseInt64("-9223372036854775809", &value));
  EXPECT_FALSE(ParseInt64("", &value));
  EXPECT_FALSE(ParseInt64("-", &value));
  EXPECT_FALSE(ParseInt64("-0", &value));
  EXPECT_FALSE(ParseInt64("01", &value));
  EXPECT_FALSE(ParseInt64("+1", &value));
  EXPECT_FALSE(ParseInt64(" 1", &value));
  EXPECT_FALSE(ParseInt64("1 ", &value));
  EXPECT_FALSE(ParseInt64("1.5", &value));
}

}  // namespace
}  // namespace ordo::server
