// The Lua engine alone, with a fake host: Redis 7.0's conversions both ways, the sandbox's
// refusals, errors and their positions, the memory limit and the kill hook. The texts are Redis
// 7.0.15's (tests/e2e/test_scripting.py compares the same cases with a real redis-server).
#include "server/script_lua.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ordo::server {
namespace {

// Answers a few commands with fixed replies and records what the script called.
class FakeHost : public ScriptHost {
 public:
  void Call(const std::vector<std::string>& args, int resp, std::string* reply) override {
    calls.push_back(args);
    last_resp = resp;
    auto found = replies.find(args[0]);
    *reply += found == replies.end() ? "-ERR Unknown Redis command called from script\r\n"
                                     : found->second;
  }
  bool Interrupted() override {
    interruptions += 1;
    return interruptions >= kill_after;
  }
  bool KnowsCommand(std::string_view name) override { return replies.count(std::string(name)); }
  void Log(ScriptLogLevel level, std::string_view message) override {
    logged.emplace_back(static_cast<int>(level), std::string(message));
  }

  std::map<std::string, std::string> replies = {
      {"int", ":42\r\n"},
      {"bulk", "$3\r\nabc\r\n"},
      {"null", "$-1\r\n"},
      {"nullarray", "*-1\r\n"},
      {"status", "+OK\r\n"},
      {"error", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {"array", "*3\r\n:1\r\n$1\r\nx\r\n*1\r\n$-1\r\n"},
      {"map3", "%1\r\n$1\r\na\r\n:1\r\n"},
      {"double3", ",3.5\r\n"},
      {"bool3", "#t\r\n"},
      {"null3", "_\r\n"},
  };
  std::vector<std::vector<std::string>> calls;
  std::vector<std::pair<int, std::string>> logged;
  int last_resp = 0;
  int interruptions = 0;
  int kill_after = 1 << 30;
};

class ScriptLuaTest : public ::testing::Test {
 protected:
  // Runs `body` with KEYS and ARGV and returns the reply bytes.
  std::string Eval(const std::string& body, const std::vector<std::string>& keys = {},
                   const std::vector<std::string>& argv = {}, int caller_resp = 2) {
    std::string sha;
    std::string error;
    if (!engine_.Load(body, &sha, &error)) return "-" + error + "\r\n";
    std::string reply;
    engine_.Run(sha, keys, argv, caller_resp, host_, &reply);
    return reply;
  }
  // The error reply a script raising at line 1 gets.
  static std::string RaisedAt1(const std::string& body, const std::string& message) {
    return "-" + message + " script: " + ScriptEngine::Sha1Hex(body) + ", on @user_script:1.\r\n";
  }

  ScriptEngine engine_;
  FakeHost host_;
};

TEST_F(ScriptLuaTest, LuaValuesToReplies) {
  EXPECT_EQ(Eval("return 1"), ":1\r\n");
  EXPECT_EQ(Eval("return 3.99"), ":3\r\n");
  EXPECT_EQ(Eval("return -3.9"), ":-3\r\n");
  EXPECT_EQ(Eval("return 1e100"), ":-9223372036854775808\r\n");
  EXPECT_EQ(Eval("return 0/0"), ":-9223372036854775808\r\n");
  EXPECT_EQ(Eval("return 'x'"), "$1\r\nx\r\n");
  EXPECT_EQ(Eval("return true"), ":1\r\n");
  EXPECT_EQ(Eval("return false"), "$-1\r\n");
  EXPECT_EQ(Eval("return nil"), "$-1\r\n");
  EXPECT_EQ(Eval("return {1,2,3,nil,4}"), "*3\r\n:1\r\n:2\r\n:3\r\n");
  EXPECT_EQ(Eval("return {a=1}"), "*0\r\n");
  EXPECT_EQ(Eval("return {1,'a',{2,{3}},true,false,3.7,{ok='k'},{err='e'}}"),
            "*8\r\n:1\r\n$1\r\na\r\n*2\r\n:2\r\n*1\r\n:3\r\n:1\r\n$-1\r\n:3\r\n+k\r\n-e\r\n");
  EXPECT_EQ(Eval("return {ok='fine'}"), "+fine\r\n");
  EXPECT_EQ(Eval("return {ok='a\\r\\nb'}"), "+a  b\r\n");
  EXPECT_EQ(Eval("return {err='x\\ny'}"), "-x y\r\n");
  EXPECT_EQ(Eval("return {err=''}"), "-\r\n");
  EXPECT_EQ(Eval("return {map={a=1}}"), "*2\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("return {double=3.5}"), "$3\r\n3.5\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('My Error')"), "-My Error\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('')"), "-ERR \r\n");
  EXPECT_EQ(Eval("return redis.status_reply('FOO')"), "+FOO\r\n");
  EXPECT_EQ(Eval("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", {"k"}, {"a", "b"}),
            "*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:2\r\n");
  EXPECT_EQ(Eval("local t = {} t[1] = t return t").substr(0, 4), "*1\r\n");
}

TEST_F(ScriptLuaTest, Resp3RepliesForResp3Callers) {
  // A boolean's meaning follows the script's protocol (redis.setresp), its form the caller's,
  // as in Redis 7.0.15 (checked against it): false is nil until the script asks for RESP3.
  EXPECT_EQ(Eval("return true", {}, {}, 3), ":1\r\n");
  EXPECT_EQ(Eval("return false", {}, {}, 3), "_\r\n");
  EXPECT_EQ(Eval("redis.setresp(3) return true", {}, {}, 3), "#t\r\n");
  EXPECT_EQ(Eval("redis.setresp(3) return false", {}, {}, 3), "#f\r\n");
  EXPECT_EQ(Eval("redis.setresp(3) return false", {}, {}, 2), ":0\r\n");
  EXPECT_EQ(Eval("return nil", {}, {}, 3), "_\r\n");
  EXPECT_EQ(Eval("return {double=3.5}", {}, {}, 3), ",3.5\r\n");
  EXPECT_EQ(Eval("return {map={a=1}}", {}, {}, 3), "%1\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("return {set={a=true}}", {}, {}, 3), "~1\r\n$1\r\na\r\n");
}

TEST_F(ScriptLuaTest, RepliesToLuaValues) {
  EXPECT_EQ(Eval("return redis.call('int') + 1"), ":43\r\n");
  EXPECT_EQ(Eval("return redis.call('bulk')"), "$3\r\nabc\r\n");
  EXPECT_EQ(Eval("return type(redis.call('null'))"), "$7\r\nboolean\r\n");
  EXPECT_EQ(Eval("return tostring(redis.call('nullarray'))"), "$5\r\nfalse\r\n");
  EXPECT_EQ(Eval("return redis.call('status').ok"), "$2\r\nOK\r\n");
  EXPECT_EQ(Eval("return redis.call('array')[3][1] == false"), ":1\r\n");
  EXPECT_EQ(Eval("return redis.pcall('error').err"),
            "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Eval("redis.setresp(3) return redis.call('map3').map.a"), ":1\r\n");
  EXPECT_EQ(host_.last_resp, 3);
  EXPECT_EQ(Eval("return redis.call('double3').double * 2"), ":7\r\n");
  EXPECT_EQ(Eval("return redis.call('bool3')"), ":1\r\n");
  EXPECT_EQ(Eval("return redis.call('null3') == nil"), ":1\r\n");
  EXPECT_EQ(host_.last_resp, 2);  // redis.setresp lasts one script
}

TEST_F(ScriptLuaTest, CallArguments) {
  Eval("return redis.call('int', 'k', 3, 0.1, 1e20)");
  ASSERT_EQ(host_.calls.size(), 1u);
  EXPECT_EQ(host_.calls[0],
            (std::vector<std::string>{"int", "k", "3", "0.10000000000000001", "1e+20"}));
  const std::string bad = "return redis.call('int', true)";
  EXPECT_EQ(Eval(bad),
            RaisedAt1(bad, "ERR Lua redis lib command arguments must be strings or integers"));
  EXPECT_EQ(Eval("return redis.pcall()"),
            "-ERR Please specify at least one argument for this redis lib call\r\n");
}

TEST_F(ScriptLuaTest, ErrorsCarryTheScriptPosition) {
  const std::string boom = "error('boom')";
  EXPECT_EQ(Eval(boom), RaisedAt1(boom, "ERR user_script:1: boom"));
  const std::string custom = "error({err='custom'})";
  EXPECT_EQ(Eval(custom), RaisedAt1(custom, "custom"));
  const std::string nil_error = "error()";
  EXPECT_EQ(Eval(nil_error), RaisedAt1(nil_error, "ERR nil"));
  const std::string multiline = "error('a\\nb')";
  EXPECT_EQ(Eval(multiline), RaisedAt1(multiline, "ERR user_script:1: a b"));
  const std::string command = "return redis.call('error')";
  EXPECT_EQ(
      Eval(command),
      RaisedAt1(command, "WRONGTYPE Operation against a key holding the wrong kind of value"));
  EXPECT_EQ(Eval("return ("),
            "-ERR Error compiling script (new function): user_script:1: unexpected symbol near "
            "'<eof>'\r\n");
  EXPECT_EQ(Eval("local ok, e = pcall(redis.call, 'nosuch') return e"),
            "$44\r\nERR Unknown Redis command called from script\r\n");
  const std::string resp = "return redis.setresp(4)";
  EXPECT_EQ(Eval(resp), RaisedAt1(resp, "ERR RESP version must be 2 or 3."));
}

TEST_F(ScriptLuaTest, Sandbox) {
  const std::string global = "x = 1";
  EXPECT_EQ(Eval(global),
            RaisedAt1(global, "ERR user_script:1: Attempt to modify a readonly table"));
  const std::string library = "string.x = 1";
  EXPECT_EQ(Eval(library),
            RaisedAt1(library, "ERR user_script:1: Attempt to modify a readonly table"));
  const std::string raw = "rawset(_G, 'x', 1) return 1";
  EXPECT_EQ(Eval(raw), RaisedAt1(raw, "ERR Attempt to modify a readonly table"));
  const std::string meta = "setmetatable(_G, nil) return 1";
  EXPECT_EQ(Eval(meta), RaisedAt1(meta, "ERR Attempt to modify a readonly table"));
  for (const char* body : {"struct.pack = nil", "cmsgpack.x = 1"}) {
    EXPECT_EQ(Eval(body), RaisedAt1(body, "ERR user_script:1: Attempt to modify a readonly table"));
  }
  const std::string hidden = "getmetatable(redis).__index = nil";
  EXPECT_EQ(Eval(hidden),
            RaisedAt1(hidden, "ERR user_script:1: Attempt to modify a readonly table"));
  const std::string loaded = "loadstring('y = 1')()";
  EXPECT_EQ(Eval(loaded).substr(0, 50), "-ERR [string \"y = 1\"]:1: Attempt to modify a reado");
  for (const char* name : {"os", "io", "print", "dofile", "loadfile", "require", "debug"}) {
    const std::string body = std::string("return ") + name;
    EXPECT_EQ(Eval(body),
              RaisedAt1(body, std::string("ERR user_script:1: Script attempted to access "
                                          "nonexistent global variable '") +
                                  name + "'"));
  }
  // What scripts may use still works, and sees through the read-only tables.
  EXPECT_EQ(Eval("KEYS[1] = 'a' return KEYS[1]", {"k"}), "$1\r\na\r\n");
  EXPECT_EQ(Eval("local t = {} t.x = 1 return t.x"), ":1\r\n");
  EXPECT_EQ(Eval("return cjson.encode({1,2,{a=1}})"), "$13\r\n[1,2,{\"a\":1}]\r\n");
  EXPECT_EQ(Eval("return cjson.decode('[1,2]')[2]"), ":2\r\n");
  EXPECT_EQ(Eval("return bit.band(7, 3)"), ":3\r\n");
  EXPECT_EQ(Eval("return struct.unpack('>i2', struct.pack('>i2', -5))"), ":-5\r\n");
  EXPECT_EQ(Eval("return cmsgpack.unpack(cmsgpack.pack({7}))[1]"), ":7\r\n");
  EXPECT_EQ(Eval("return ('abc'):upper()"), "$3\r\nABC\r\n");
  EXPECT_EQ(Eval("local n = 0 for k in pairs(redis) do n = n + 1 end return n > 10"), ":1\r\n");
  EXPECT_EQ(Eval("return rawget(string, 'format') == string.format"), ":1\r\n");
  EXPECT_EQ(Eval("return loadstring('return 1')()"), ":1\r\n");
  EXPECT_EQ(Eval("return redis.sha1hex('')"),
            "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
  // Nothing a script did stays for the next one.
  EXPECT_EQ(Eval("return string.x"), "$-1\r\n");
}

TEST_F(ScriptLuaTest, ScriptCache) {
  std::string sha;
  std::string error;
  ASSERT_TRUE(engine_.Load("return 1", &sha, &error));
  EXPECT_EQ(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_TRUE(engine_.Exists("E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"));
  EXPECT_FALSE(engine_.Load("return (", &sha, &error));
  engine_.Flush();
  EXPECT_FALSE(engine_.Exists("e0e1f9fabfc9d4800c877a703b823ac0578ff8db"));
  EXPECT_EQ(engine_.ScriptCount(), 0u);
}

TEST_F(ScriptLuaTest, LogLevels) {
  EXPECT_EQ(Eval("redis.log(redis.LOG_WARNING, 'a', 1) return 1"), ":1\r\n");
  ASSERT_EQ(host_.logged.size(), 1u);
  EXPECT_EQ(host_.logged[0], std::make_pair(3, std::string("a 1")));
  const std::string bad = "redis.log(9, 'x')";
  EXPECT_EQ(Eval(bad), RaisedAt1(bad, "ERR Invalid debug level."));
}

TEST_F(ScriptLuaTest, KilledScriptStopsEvenUnderPcall) {
  host_.kill_after = 3;
  const std::string loop = "while true do pcall(function() while true do end end) end";
  const std::string reply = Eval(loop);
  EXPECT_EQ(reply.substr(0, 46), "-ERR Script killed by user with SCRIPT KILL...");
  EXPECT_EQ(Eval("return 1"), ":1\r\n");  // the hook is gone with the run
}

TEST(ScriptLuaMemoryTest, ScriptPastTheLimitFailsAndTheStateRecovers) {
  ScriptEngine engine(16 * 1024 * 1024);
  FakeHost host;
  std::string sha;
  std::string error;
  ASSERT_TRUE(engine.Load("local t = {} for i = 1, 1e7 do t[i] = string.rep('x', 100) .. i end",
                          &sha, &error));
  std::string reply;
  engine.Run(sha, {}, {}, 2, host, &reply);
  EXPECT_EQ(reply, "-ERR Error running script " + sha + ", not enough memory\r\n");
  EXPECT_LT(engine.MemoryBytes(), 4u * 1024 * 1024);
  ASSERT_TRUE(engine.Load("return 7", &sha, &error));
  reply.clear();
  engine.Run(sha, {}, {}, 2, host, &reply);
  EXPECT_EQ(reply, ":7\r\n");
}

TEST(ScriptLuaMemoryTest, PackPastTheLimitFails) {
  // cmsgpack.pack's output is Lua strings, so the limit covers it: 64 MiB out of one 1 MiB string.
  ScriptEngine engine(16 * 1024 * 1024);
  FakeHost host;
  std::string sha;
  std::string error;
  ASSERT_TRUE(
      engine.Load("local s = string.rep('x', 1024 * 1024) local t = {} "
                  "for i = 1, 64 do t[i] = s end return #cmsgpack.pack(t)",
                  &sha, &error));
  std::string reply;
  engine.Run(sha, {}, {}, 2, host, &reply);
  EXPECT_EQ(reply, "-ERR Error running script " + sha + ", not enough memory\r\n");
}

}  // namespace
}  // namespace ordo::server
