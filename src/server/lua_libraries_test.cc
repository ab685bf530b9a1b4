// The struct and cmsgpack libraries alone, on a bare Lua state: encodings at every boundary,
// round trips, offsets and Redis's error texts. The expected bytes are Redis 7.0.15's
// (tests/e2e/test_scripting.py compares the same cases, and more, with a real redis-server).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "server/lua_cmsgpack.h"
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
    const std::pair<const char*, lua_CFunction> libraries[] = {{"struct", OpenLuaStruct},
                                                               {"cmsgpack", OpenLuaCmsgpack}};
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

// ---- cmsgpack

TEST_F(LuaLibrariesTest, CmsgpackIntegersTakeTheShortestForm) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0", "00"},
      {"127", "7f"},
      {"128", "cc80"},
      {"255", "ccff"},
      {"256", "cd0100"},
      {"65535", "cdffff"},
      {"65536", "ce00010000"},
      {"2^32 - 1", "ceffffffff"},
      {"2^32", "cf0000000100000000"},
      {"-1", "ff"},
      {"-32", "e0"},
      {"-33", "d0df"},
      {"-128", "d080"},
      {"-129", "d1ff7f"},
      {"-32768", "d18000"},
      {"-32769", "d2ffff7fff"},
      {"-2^31", "d280000000"},
      {"-2^31 - 1", "d3ffffffff7fffffff"},
      {"-2^63", "d38000000000000000"},
      {"-0.0", "00"},
  };
  for (const auto& [number, bytes] : cases) {
    EXPECT_EQ(Hex("cmsgpack.pack(" + number + ")"), bytes) << number;
    EXPECT_EQ(Run("return cmsgpack.unpack(cmsgpack.pack(" + number + ")) == " + number), "true")
        << number;
  }
}

TEST_F(LuaLibrariesTest, CmsgpackNonIntegersAreFloat32WhenExact) {
  EXPECT_EQ(Hex("cmsgpack.pack(0.5)"), "ca3f000000");
  EXPECT_EQ(Hex("cmsgpack.pack(0.1)"), "cb3fb999999999999a");
  EXPECT_EQ(Hex("cmsgpack.pack(2^63)"), "ca5f000000");  // not an int64: a float
  EXPECT_EQ(Hex("cmsgpack.pack(1/0)"), "ca7f800000");
  EXPECT_EQ(Hex("cmsgpack.pack(-1/0)"), "caff800000");
  EXPECT_EQ(Hex("cmsgpack.pack(3.4028234663852886e38)"), "ca7f7fffff");
  EXPECT_EQ(Hex("cmsgpack.pack(1e39)"), "cb48078287f49c4a1d");
  EXPECT_EQ(Hex("cmsgpack.pack(2^-149)"), "ca00000001");
  EXPECT_EQ(Run("local x = cmsgpack.unpack(cmsgpack.pack(0/0)) return x ~= x"), "true");
  EXPECT_EQ(Run("return cmsgpack.unpack(cmsgpack.pack(0.1)) == 0.1"), "true");
}

TEST_F(LuaLibrariesTest, CmsgpackStringHeaders) {
  const std::vector<std::pair<int, std::string>> cases = {
      {0, "a0"},           {31, "bf61616161"},    {32, "d920616161"},    {255, "d9ff616161"},
      {256, "da01006161"}, {65535, "daffff6161"}, {65536, "db00010000"},
  };
  for (const auto& [size, prefix] : cases) {
    const std::string make = "string.rep('a', " + std::to_string(size) + ")";
    EXPECT_EQ(Run("return hex(cmsgpack.pack(" + make + "):sub(1, 5))"), prefix) << size;
    EXPECT_EQ(Run("return cmsgpack.unpack(cmsgpack.pack(" + make + ")) == " + make), "true");
  }
}

TEST_F(LuaLibrariesTest, CmsgpackTables) {
  EXPECT_EQ(Hex("cmsgpack.pack({})"), "90");
  EXPECT_EQ(Hex("cmsgpack.pack({1, 2, 3})"), "93010203");
  EXPECT_EQ(Hex("cmsgpack.pack({1, 2, nil, 4})"), "83010102020404");  // a hole: a map
  EXPECT_EQ(Hex("cmsgpack.pack({a = 1})"), "81a16101");
  EXPECT_EQ(Hex("cmsgpack.pack({[1.5] = 1})"), "81ca3fc0000001");
  EXPECT_EQ(Hex("cmsgpack.pack({[0] = 1})"), "810001");
  EXPECT_EQ(Hex("cmsgpack.pack({[2^31] = 1})"), "81ce8000000001");
  EXPECT_EQ(Hex("cmsgpack.pack({string.len, true})"), "92c0c3");  // a function is nil
  EXPECT_EQ(Hex("cmsgpack.pack({{1, {2, {3}}}, {x = {y = 'z'}}})"),
            "9292019202910381a17881a179a17a");
  EXPECT_EQ(
      Run("local t = {} for i = 1, 15 do t[i] = i end return hex(cmsgpack.pack(t):sub(1, 1))"),
      "9f");
  EXPECT_EQ(
      Run("local t = {} for i = 1, 16 do t[i] = i end return hex(cmsgpack.pack(t):sub(1, 3))"),
      "dc0010");
  EXPECT_EQ(
      Run("local t = {} for i = 1, 65536 do t[i] = 0 end return hex(cmsgpack.pack(t):sub(1, 5))"),
      "dd00010000");
  EXPECT_EQ(Run("local t = {} for i = 1, 16 do t['k' .. i] = i end return "
                "hex(cmsgpack.pack(t):sub(1, 3))"),
            "de0010");
  EXPECT_EQ(Run("local u = cmsgpack.unpack(cmsgpack.pack({1, a = {b = 'c'}, [true] = false})) "
                "return u[1], u.a.b, u[true]"),
            "1 c false");
}

TEST_F(LuaLibrariesTest, CmsgpackNestingStopsAtSixteen) {
  const std::string nest =
      "local function nest(depth) local t = 'x' for i = 1, depth do t = {t} end return t end ";
  std::string sixteen_arrays;
  for (int i = 0; i < 16; ++i) sixteen_arrays += "91";
  EXPECT_EQ(Run(nest + "return hex(cmsgpack.pack(nest(16)))"), sixteen_arrays + "a178");
  EXPECT_EQ(Run(nest + "return hex(cmsgpack.pack(nest(17)))"),
            "91919191919191919191919191919191c0");
  EXPECT_EQ(Run("local t = {} t.self = t return #cmsgpack.pack(t)"), "97");  // 16 x 6, then nil
}

TEST_F(LuaLibrariesTest, CmsgpackSeveralValuesAndOffsets) {
  EXPECT_EQ(Hex("cmsgpack.pack(1, 'two', {3}, nil, false, 0.25)"), "01a374776f9103c0c2ca3e800000");
  EXPECT_EQ(Run("return cmsgpack.unpack('\\1\\2\\3')"), "1 2 3");
  EXPECT_EQ(Run("return select('#', cmsgpack.unpack(''))"), "0");
  const std::string packed = "local s = cmsgpack.pack(1, 'two', {3}) ";
  EXPECT_EQ(Run(packed + "return cmsgpack.unpack_one(s)"), "1 1");
  EXPECT_EQ(Run(packed + "return cmsgpack.unpack_one(s, 1)"), "5 two");
  EXPECT_EQ(Run(packed + "local o, t = cmsgpack.unpack_one(s, 5) return o, t[1]"), "-1 3");
  EXPECT_EQ(Run(packed + "return cmsgpack.unpack_one(s, 7)"), "-1");
  const std::string four = "local s = cmsgpack.pack(1, 2, 3, 4) ";
  EXPECT_EQ(Run(four + "return cmsgpack.unpack_limit(s, 2)"), "2 1 2");
  EXPECT_EQ(Run(four + "return cmsgpack.unpack_limit(s, 2, 2)"), "-1 3 4");
  EXPECT_EQ(Run(four + "return cmsgpack.unpack_limit(s, 9)"), "-1 1 2 3 4");
  EXPECT_EQ(Run(four + "return cmsgpack.unpack_limit(s, 0)"), "1 2 3 4");  // Redis: unpack
  EXPECT_EQ(Run(four + "return cmsgpack.unpack_limit(s, 0, 1)"), "1");
}

TEST_F(LuaLibrariesTest, CmsgpackDecodesWhatRedisDecodes) {
  EXPECT_EQ(Run("return cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')"), "-1");
  EXPECT_EQ(Run("return cmsgpack.unpack('\\206\\255\\255\\255\\255\\210\\128\\0\\0\\0')"),
            "4294967295 -2147483648");
  EXPECT_EQ(Run("return cmsgpack.unpack('\\205\\1\\0\\209\\255\\0\\204\\200\\208\\156')"),
            "256 -256 200 -100");
  EXPECT_EQ(Run("return cmsgpack.unpack('\\217\\3abc\\218\\0\\2de\\219\\0\\0\\0\\1f\\161g')"),
            "abc de f g");
  EXPECT_EQ(Run("local a, m = cmsgpack.unpack('\\220\\0\\2\\1\\2\\129\\161a\\192') "
                "return #a, next(m)"),
            "2 nil");
  EXPECT_EQ(Run("return cmsgpack.unpack('\\224\\255')"), "-32 -1");
}

TEST_F(LuaLibrariesTest, CmsgpackErrorsAreRedis) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cmsgpack.pack()", "t:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"},
      {"cmsgpack.unpack('\\196\\1a')", "t:1: Bad data format in input."},     // bin 8
      {"cmsgpack.unpack('\\199\\1\\1a')", "t:1: Bad data format in input."},  // ext 8
      {"cmsgpack.unpack('\\212\\1\\1')", "t:1: Bad data format in input."},   // fixext 1
      {"cmsgpack.unpack('\\1\\193')", "t:1: Bad data format in input."},
      {"cmsgpack.unpack('\\205\\1')", "t:1: Missing bytes in input."},
      {"cmsgpack.unpack('\\219\\0\\0\\1\\0abc')", "t:1: Missing bytes in input."},
      {"cmsgpack.unpack('\\221\\255\\255\\255\\255\\1')", "t:1: Missing bytes in input."},
      {"cmsgpack.unpack('\\129\\192\\1')", "table index is nil"},
      {"cmsgpack.unpack()", "t:1: bad argument #1 to 'unpack' (string expected, got no value)"},
      {"cmsgpack.unpack_one('\\1', -1)",
       "t:1: Invalid request to unpack with offset of -1 and limit of 1."},
      {"cmsgpack.unpack_one('\\1\\2', 9)", "t:1: Start offset 9 greater than input length 2."},
      {"cmsgpack.unpack_one()",
       "t:1: bad argument #1 to 'unpack_one' (string expected, got no value)"},
      {"cmsgpack.unpack_limit('abc')",
       "t:1: bad argument #2 to 'unpack_limit' (number expected, got no value)"},
      {"cmsgpack.unpack(string.rep('\\1', 8000))",
       "t:1: stack overflow (too many return values at once; use unpack_one or unpack_limit "
       "instead.)"},
      {"cmsgpack.unpack(string.rep('\\145', 5000) .. '\\1')",
       "t:1: stack overflow (in function mp_decode_to_lua_array)"},
  };
  for (const auto& [call, message] : cases) {
    EXPECT_EQ(Run("return " + call), "error: " + message) << call;
  }
  EXPECT_EQ(Run("local t = {} for i = 1, 4001 do t[i] = i end return cmsgpack.pack(unpack(t))"),
            "error: t:1: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)");
}

TEST_F(LuaLibrariesTest, CmsgpackLargeOutputRoundTrips) {
  // Many chunks of kPackChunkBytes, and strings large enough to be chunks of their own.
  EXPECT_EQ(Run("local t = {} for i = 1, 3000 do t[i] = string.rep(string.char(i % 256), i % 97) "
                "end t.big = string.rep('z', 200000) "
                "local p = cmsgpack.pack(t, 'end', t) "
                "local a, e, b = cmsgpack.unpack(p) "
                "for i = 1, 3000 do assert(a[i] == t[i] and b[i] == t[i]) end "
                "return #p == 2 * #cmsgpack.pack(t) + 4, #p > 500000, e, a.big == t.big, "
                "b.big == t.big"),
            "true true end true true");
}

}  // namespace
}  // namespace ordo::server
