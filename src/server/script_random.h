// math.random and math.randomseed as Redis 7.0 gives them to scripts (its rand.c and
// script_lua.c's redis_math_random): the 48-bit linear congruential generator of lrand48, one
// sequence for the whole server, starting from lrand48's default state at startup and never
// reset by SCRIPT FLUSH, so `EVAL "return math.random(1000)" 0` on a fresh server answers 397
// and then 841, as Redis does. Lua's own math.random calls C's rand(), whose sequence depends on
// the C library and on whatever else in the process draws from it.
//
// Draws do not reach the log: a script's effects are logged, never the script, so replay does
// not depend on this sequence.
#pragma once
#include <cstdint>

struct lua_State;

namespace ordo::server {

// Redis's redisLrand48 / redisSrand48.
class ScriptRandom {
 public:
  // A value in [0, 2^31), the next of the sequence.
  int32_t Next();
  // Restarts the sequence from `seed` (math.randomseed).
  void Seed(int32_t seed);

 private:
  uint64_t state_ = 0x1234ABCD330Eull;  // lrand48's state before any srand48
};

// Replaces math.random and math.randomseed (the math table on the stack's top) with functions
// drawing from *random, which must outlive the Lua state.
void InstallScriptRandom(lua_State* lua, ScriptRandom* random);

}  // namespace ordo::server
