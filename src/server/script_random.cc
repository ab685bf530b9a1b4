// Redis 7.0's Lua random numbers: see script_random.h.
#include "server/script_random.h"

#include <climits>
#include <cmath>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace ordo::server {
namespace {

// lrand48: X(n+1) = (a X(n) + c) mod 2^48, the value the top 31 bits.
constexpr uint64_t kMultiplier = 0x5DEECE66Dull;
constexpr uint64_t kIncrement = 0xB;
constexpr uint64_t kStateMask = (1ull << 48) - 1;
// Redis's REDIS_LRAND48_MAX.
constexpr int32_t kRandomMax = INT32_MAX;

ScriptRandom& RandomOf(lua_State* lua) {
  return *static_cast<ScriptRandom*>(lua_touserdata(lua, lua_upvalueindex(1)));
}

// Lua 5.1's math_random over Redis's generator (redis_math_random), messages and all.
int MathRandom(lua_State* lua) {
  const lua_Number r = static_cast<lua_Number>(RandomOf(lua).Next() % kRandomMax) /
                       static_cast<lua_Number>(kRandomMax);
  switch (lua_gettop(lua)) {
    case 0:
      lua_pushnumber(lua, r);
      break;
    case 1: {
      const int upper = luaL_checkint(lua, 1);
      luaL_argcheck(lua, 1 <= upper, 1, "interval is empty");
      lua_pushnumber(lua, std::floor(r * upper) + 1);
      break;
    }
    case 2: {
      const int lower = luaL_checkint(lua, 1);
      const int upper = luaL_checkint(lua, 2);
      luaL_argcheck(lua, lower <= upper, 2, "interval is empty");
      lua_pushnumber(lua, std::floor(r * (upper - lower + 1)) + lower);
      break;
    }
    default:
      return luaL_error(lua, "wrong number of arguments");
  }
  return 1;
}

int MathRandomSeed(lua_State* lua) {
  RandomOf(lua).Seed(luaL_checkint(lua, 1));
  return 0;
}

}  // namespace

int32_t ScriptRandom::Next() {
  state_ = (kMultiplier * state_ + kIncrement) & kStateMask;
  return static_cast<int32_t>(state_ >> 17);
}

void ScriptRandom::Seed(int32_t seed) {
  // srand48: the seed's 32 bits above lrand48's fixed low 16.
  state_ = (static_cast<uint64_t>(static_cast<uint32_t>(seed)) << 16) | 0x330E;
}

void InstallScriptRandom(lua_State* lua, ScriptRandom* random) {
  lua_pushlightuserdata(lua, random);
  lua_pushcclosure(lua, MathRandom, 1);
  lua_setfield(lua, -2, "random");
  lua_pushlightuserdata(lua, random);
  lua_pushcclosure(lua, MathRandomSeed, 1);
  lua_setfield(lua, -2, "randomseed");
}

}  // namespace ordo::server
