// The struct library alone, on a bare Lua state: encodings at every boundary, round trips,
// offsets and Redis's error texts. The expected bytes are Redis 7.0.15's
// (tests/e2e/test_scripting.py compares the same cases, and more, with a real redis-server).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/lua_struct.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

namespace ordo::server {
namespace {

class LuaLibrariesTest : public ::testing::Test {
 protected:
  LuaLibrariesTest() : lua_(luaL_newstate()) {
    luaL_openlibs(lua_);
    const std::pair<const char*, lua_CFunction> libraries[] = {{"struct", OpenLuaStruct}};
    for (const auto& [name, open] : libraries) {
      lua_pushcfunction(lua_, open);
      lua_call(lua_, 0, 1);
      lua_setglobal(lua_, name);
    }
    Run("function hex(s) return (s:gsub('.', function(c) "
        "return string.format('%02x', c:byte()) end)) end");
  }
  ~LuaLibrariesTest() override { lua_close(lua_); }

  // Runs `body` (chunk name "t") and returns its values through tostring, joined by spaces,
  // or "error: " and the message.
  std::string Run(const std::string& body) {
    const int top = lua_gettop(lua_);
    if (luaL_loadbuffer(lua_, body.data(), body.size(), "=t") != 0 ||
        lua_pcall(lua_, 0, LUA_MULTRET, 0) != 0) {
      std::string error = std::string("error: ") + lua_tostring(lua_, -1);
      lua_settop(lua_, top);
      return error;
    }
    std::string joined;
    for (int i = top + 1; i <= lua_gettop(lua_); ++i) {
      lua_getglobal(lua_, "tostring");
      lua_pushvalue(lua_, i);
      lua_call(lua_, 1, 1);
      joined += (joined.empty() ? "" : " ") + std::string(lua_tostring(lua_, -1));
      lua_pop(lua_, 1);
    }
    lua_settop(lua_, top);
    return joined;
  }
  // The bytes of the string `expression` makes, in hex.
  std::string Hex(const std::string& expression) { return Run("return hex(" + expression + ")"); }

  lua_State* const lua_;
};

// ---- struct

TEST_F(LuaLibrariesTest, StructPacksEveryOption) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"struct.pack('b', -1)", "ff"},
      {"struct.pack('B', 255)", "ff"},
      {"struct.pack('>h', -2)", "fffe"},
      {"struct.pack('<H', 65535)", "ffff"},
      {"struct.pack('>l', -3)", "fffffffffffffffd"},
      {"struct.pack('<L', 2^53)", "0000000000002000"},
      {"struct.pack('>T', 12345)", "0000000000003039"},
      {"struct.pack('i', -4)", "fcffffff"},
      {"struct.pack('>I', 4000000000)", "ee6b2800"},
      {"struct.pack('>i1i2i3', 1, 2, 3)", "010002000003"},
      {"struct.pack('<I3', -1)", "ffffff"},
      {"struct.pack('>i16', -1)", "0000000000000000ffffffffffffffff"},
      {"struct.pack('<i9', -2)", "feffffffffffffff00"},
      {"struct.pack('i0', 5)", ""},
      {"struct.pack('>f', 0.5)", "3f000000"},
      {"struct.pack('<f', 0.1)", "cdcccc3d"},
      {"struct.pack('>d', 0.1)", "3fb999999999999a"},
      {"struct.pack('<d', -1/0)", "000000000000f0ff"},
      {"struct.pack('>f', 1e300)", "7f800000"},
      {"struct.pack('>f', -1e39)", "ff800000"},
      {"struct.pack('c5', 'hello')", "68656c6c6f"},
      {"struct.pack('c3', 'hello')", "68656c"},
      {"struct.pack('c0', 'abc')", "616263"},
      {"struct.pack('c', 'xyz')", "78"},
      {"struct.pack('s', 'a\\0b')", "61006200"},
      {"struct.pack('x b x', 1)", "000100"},
      {"struct.pack('>i2 <i2', 1, 1)", "00010100"},
      {"struct.pack('i', '12')", "0c000000"},
      {"struct.pack('B', 300)", "2c"},
  };
  for (const auto& [expression, bytes] : cases) EXPECT_EQ(Hex(expression), bytes) << expression;
}

TEST_F(LuaLibrariesTest, StructConvertsNumbersAsX86Does) {
  // Redis's C converts out-of-range doubles the way the processor does.
  EXPECT_EQ(Hex("struct.pack('>L', 2^64)"), "0000000000000000");
  EXPECT_EQ(Hex("struct.pack('>L', 1/0)"), "0000000000000000");
  EXPECT_EQ(Hex("struct.pack('>L', 0/0)"), "8000000000000000");
  EXPECT_EQ(Hex("struct.pack('>l', -1e300)"), "8000000000000000");
  EXPECT_EQ(Hex("struct.pack('>L', 2^63 + 4096)"), "8000000000001000");
  EXPECT_EQ(Hex("struct.pack('>l', 2^63)"), "8000000000000000");
  EXPECT_EQ(Hex("struct.pack('>L', -1.5)"), "ffffffffffffffff");
  EXPECT_EQ(Hex("struct.pack('>L', 2.9)"), "0000000000000002");
}

TEST_F(LuaLibrariesTest, StructAligns) {
  EXPECT_EQ(Hex("struct.pack('!4 b i4', 1, 2)"), "0100000002000000");
  EXPECT_EQ(Hex("struct.pack('! b d', 1, 2)"), "01000000000000000000000000000040");
  EXPECT_EQ(Hex("struct.pack('!2 b h b i', 1, 2, 3, 4)"), "01000200030004000000");
  EXPECT_EQ(Hex("struct.pack('! b c3 i', 1, 'abc', 2)"), "0161626302000000");  // c: unaligned
  EXPECT_EQ(Hex("struct.pack('!4 b i3 b i3', 1, 2, 3, 4)"), "01000002000003040000");
  EXPECT_EQ(Hex("struct.pack('!1 b i', 1, 2)"), "0102000000");
  EXPECT_EQ(Hex("struct.pack('!4 b s i', 1, 'ab', 2)"), "0161620002000000");
  EXPECT_EQ(Run("return struct.unpack('!4 b i', struct.pack('!4 b i', 7, 8))"), "7 8 9");
  EXPECT_EQ(Run("return struct.size('!8 b d')"), "16");
  EXPECT_EQ(Run("return struct.size('! b i2 b')"), "5");
}

TEST_F(LuaLibrariesTest, StructUnpacks) {
  EXPECT_EQ(Run("return struct.unpack('>b B h H', '\\255\\255\\255\\254\\255\\255')"),
            "-1 255 -2 65535 7");
  EXPECT_EQ(Run("return struct.unpack('>i3 I3 i', '\\255\\255\\254\\255\\255\\254\\0\\0\\1\\0')"),
            "-2 16777214 256 11");
  EXPECT_EQ(Run("return struct.unpack('>i9', string.rep('\\255', 9))"), "-1 10");
  EXPECT_EQ(Run("return struct.unpack('<i9', '\\1\\0\\0\\0\\0\\0\\0\\0\\128')"), "1 10");
  EXPECT_EQ(Run("return struct.unpack('>I9', '\\1\\0\\0\\0\\0\\0\\0\\0\\128')"), "128 10");
  EXPECT_EQ(Run("return struct.unpack('i0', 'abc')"), "0 1");
  EXPECT_EQ(Run("local f, d = struct.unpack('>f <d', struct.pack('>f <d', 0.5, 0.1)) "
                "return f, d == 0.1"),
            "0.5 true");
  EXPECT_EQ(Run("return struct.unpack('c3 c2', 'abcde')"), "abc de 6");
  EXPECT_EQ(Run("return struct.unpack('b c0', '\\3abcdef')"), "abc 5");
  EXPECT_EQ(Run("return struct.unpack('c1 c0', '2xyz')"), "xy 4");
  EXPECT_EQ(Run("return struct.unpack('s s', 'ab\\0\\0c')"), "ab  5");
  EXPECT_EQ(Run("return struct.unpack('x b', '\\1\\2')"), "2 3");
  EXPECT_EQ(Run("return struct.unpack('b', 'abc', 2)"), "98 3");
  EXPECT_EQ(Run("return struct.unpack('', 'abc', -1)"), "-1");  // modulo 2^64, as Redis
  EXPECT_EQ(Run("return struct.size('b h l i d f T')"), "35");
  EXPECT_EQ(Run("return struct.size('X Z 4 <>')"), "0");  // letters are skipped by size
}

TEST_F(LuaLibrariesTest, StructErrorsAreRedis) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"struct.pack('X', 1)", "t:1: bad argument #1 to 'pack' (invalid format option 'X')"},
      {"struct.pack('i40', 1)", "t:1: integral size 40 is larger than limit of 32"},
      {"struct.pack('i99999999999', 1)", "t:1: integral size overflow"},
      {"struct.pack('!3 i', 1)", "t:1: alignment 3 is not a power of 2"},
      {"struct.pack('c5', 'ab')", "t:1: bad argument #3 to 'pack' (string too short)"},
      {"struct.pack('i')", "t:1: bad argument #2 to 'pack' (number expected, got nil)"},
      {"struct.pack('i', 'abc')", "t:1: bad argument #2 to 'pack' (number expected, got string)"},
      {"struct.unpack('b', 'abc', 4)", "t:1: bad argument #2 to 'unpack' (data string too short)"},
      {"struct.unpack('b', 'abc', 0)",
       "t:1: bad argument #3 to 'unpack' (offset must be 1 or greater)"},
      {"struct.unpack('b', 'abc', -1)", "t:1: bad argument #2 to 'unpack' (data string too short)"},
      {"struct.unpack('c0', 'abc')", "t:1: format 'c0' needs a previous size"},
      {"struct.unpack('b c0', '\\255abc')",
       "t:1: bad argument #2 to 'unpack' (data string too short)"},
      {"struct.unpack('s', 'abc')", "t:1: unfinished string in data"},
      {"struct.unpack(string.rep('b', 9000), string.rep('a', 9000))",
       "t:1: stack overflow (too many results)"},
      {"struct.size('s')", "t:1: bad argument #1 to 'size' (option 's' has no fixed size)"},
      {"struct.size('c0')", "t:1: bad argument #1 to 'size' (option 'c0' has no fixed size)"},
      {"struct.size('#')", "t:1: bad argument #1 to 'size' (invalid format option '#')"},
  };
  for (const auto& [call, message] : cases) {
    EXPECT_EQ(Run("return " + call), "error: " + message) << call;
  }
}

}  // namespace
}  // namespace ordo::server
