// Two things a script sees that Redis 7.0 adds to Lua: the shebang line's flags and the
// server's random-number sequence (script_random.h). Texts and numbers are Redis 7.0.15's
// (tests/e2e/test_scripting.py compares the same cases with a real redis-server).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/script_lua.h"
#include "server/script_random.h"

namespace ordo::server {
namespace {

class NoHost : public ScriptHost {
 public:
  void Call(const std::vector<std::string>&, int, std::string* reply) override {
    *reply += "-ERR no commands here\r\n";
  }
  bool Interrupted() override { return false; }
  bool KnowsCommand(std::string_view) override { return false; }
  void Log(ScriptLogLevel, std::string_view) override {}
};

std::string Eval(ScriptEngine& engine, const std::string& body) {
  std::string sha;
  std::string error;
  if (!engine.Load(body, &sha, &error)) return "-" + error;
  NoHost host;
  std::string reply;
  engine.Run(sha, {}, {}, 2, host, &reply);
  return reply;
}

TEST(ScriptRandomTest, StartsWhereRedisStartsAndSeedsAsSrand48) {
  ScriptRandom random;
  // lrand48's first values from its default state (Redis: math.random(1000) gives 397, 841).
  EXPECT_EQ(random.Next(), 851401618);
  EXPECT_EQ(random.Next(), 1804928587);
  random.Seed(-42);
  const int32_t first = random.Next();
  random.Seed(-42);
  EXPECT_EQ(random.Next(), first);
  for (int i = 0; i < 1000; ++i) {
    const int32_t value = random.Next();
    ASSERT_GE(value, 0);
  }
}

TEST(ScriptRandomTest, TheSequenceIsTheServersAndOutlivesScriptFlush) {
  ScriptEngine engine;
  EXPECT_EQ(Eval(engine, "return math.random(1000)"), ":397\r\n");
  engine.Flush();
  EXPECT_EQ(Eval(engine, "return math.random(1000)"), ":841\r\n");
  EXPECT_EQ(Eval(engine, "math.randomseed(-42) return math.random(1000)"), ":598\r\n");
  EXPECT_EQ(Eval(engine, "return math.random(0)").substr(0, 76),
            "-ERR user_script:1: bad argument #1 to 'random' (interval is empty) script: ");
}

TEST(ScriptShebangTest, FlagsAreParsedAndTheLineIsNotCompiled) {
  ScriptEngine engine;
  std::string sha;
  std::string error;
  ASSERT_TRUE(engine.Load("return 1", &sha, &error));
  EXPECT_FALSE(engine.Flags(sha).shebang);
  ASSERT_TRUE(engine.Load("#!lua\nreturn 1", &sha, &error));
  EXPECT_TRUE(engine.Flags(sha).shebang);
  EXPECT_FALSE(engine.Flags(sha).no_writes);
  ASSERT_TRUE(engine.Load("#!lua flags=allow-oom,no-writes\nreturn 1", &sha, &error));
  EXPECT_TRUE(engine.Flags(sha).no_writes);
  ASSERT_TRUE(engine.Load("#!lua \"flags=no-writes\"\nreturn 1", &sha, &error));
  EXPECT_TRUE(engine.Flags(sha).no_writes);
  // The line feed stays, so an error names the user's line.
  EXPECT_EQ(Eval(engine, "#!lua\nerror('two')").substr(0, 23), "-ERR user_script:2: two");
}

TEST(ScriptShebangTest, BadShebangsAreRefusedWithRedisTexts) {
  ScriptEngine engine;
  const std::pair<std::string, std::string> cases[] = {
      {"#!lua", "ERR Invalid script shebang"},
      {"#!lua 'open\nreturn 1", "ERR Invalid engine in script shebang"},
      {"#!\nreturn 1", "ERR Unexpected engine in script shebang: #!"},
      {"#!py\nreturn 1", "ERR Unexpected engine in script shebang: #!py"},
      {"#!lua name=x\nreturn 1", "ERR Unknown lua shebang option: name=x"},
      {"#!lua flags=no-writes,fast\nreturn 1", "ERR Unexpected flag in script shebang: fast"},
      {"#!lua flags=no-writes,\nreturn 1", "ERR Unexpected flag in script shebang: "},
  };
  for (const auto& [body, expected] : cases) {
    std::string sha;
    std::string error;
    EXPECT_FALSE(engine.Load(body, &sha, &error)) << body;
    EXPECT_EQ(error, expected) << body;
    EXPECT_FALSE(engine.Exists(sha)) << body;
  }
  std::string sha;
  std::string error;
  EXPECT_TRUE(engine.Load("#!lua flags=\nreturn 1", &sha, &error)) << error;
}

}  // namespace
}  // namespace ordo::server
