// Redis 7.0's `cmsgpack` library for scripts: Salvatore Sanfilippo's lua-cmsgpack 0.4.0 as Redis
// embeds it in deps/lua/src/lua_cmsgpack.c (with Redis's stack checks), written by hand because
// Debian packages no lua-cmsgpack. Debian's lua-messagepack (pure Lua) was weighed and left: its
// choices differ where scripts can see them (integers only up to 2^53, every non-integer a
// float64 or every one a float32, no nesting limit, one value per unpack, bin and ext decoded
// instead of refused, other error texts), so a shim would have rewritten most of it.
// tests/e2e/test_scripting.py compares this file's output byte for byte with a real redis-server.
//
//   cmsgpack.pack(v1, v2, ...)                  -> the encodings of v1, v2, ... concatenated
//   cmsgpack.unpack(s)                          -> every value s holds
//   cmsgpack.unpack_one(s [, offset])           -> next offset, one value
//   cmsgpack.unpack_limit(s, limit [, offset])  -> next offset, at most `limit` values
// Offsets count bytes from 0; the next offset is -1 when s is used up. unpack_limit with limit
// 0 and offset 0 is unpack (no offset returned), as in Redis. The table also holds _NAME,
// _VERSION ("lua-cmsgpack 0.4.0"), _COPYRIGHT and _DESCRIPTION.
//
// Encoding, Redis's choices:
//   nil, and functions and anything else that is not below        nil (c0)
//   false / true                                                   c2 / c3
//   a number that is an int64         the shortest of: positive fixint, uint 8/16/32/64,
//                                     negative fixint, int 8/16/32/64
//   any other number                  float 32 if it converts to float and back unchanged
//                                     (infinity does), else float 64 (NaN does)
//   a string of n bytes               fixstr (n < 32), str 8 (< 256), str 16 (< 65536), str 32
//   a table whose keys are exactly 1..n (numbers)      array (fix, 16, 32) of t[1] .. t[n]
//   any other table (the empty one is an empty array)  map (fix, 16, 32) in lua_next's order
//   a table nested 16 deep (the arguments are depth 0)  nil: cycles end there
// Decoding: every type but bin, ext and fixext (and c1), which fail "Bad data format in input.";
// uint 64 past 2^63 becomes negative (Redis pushes it as a signed integer); str 8/16/32 and the
// fix kinds as expected. Errors are Redis's: "Missing bytes in input.", "Bad data format in
// input.", "Start offset 9 greater than input length 3.", "Invalid request to unpack with offset
// of -1 and limit of 3." (Redis prints the input's length as the limit), "bad argument #0 to
// 'pack' (MessagePack pack needs input.)", and Lua's "table index is nil" for a map with a nil
// key. Decoding is bounded by Lua's stack (8000 slots): past it, "stack overflow (too many return
// values at once; use unpack_one or unpack_limit instead.)".
//
// Memory: the encoding is built in Lua strings of at most kPackChunkBytes plus the arguments'
// own strings, so the script memory limit covers it (Redis grows a buffer with Lua's allocator).
#pragma once

#include <cstddef>

struct lua_State;

namespace ordo::server {

// Bytes pack gathers outside Lua before it moves them into a Lua string.
inline constexpr size_t kPackChunkBytes = 64 * 1024;

// Pushes a new table holding pack, unpack, unpack_one, unpack_limit and the metadata fields and
// returns 1 (a lua_CFunction, as Lua's luaopen_* functions are). The caller names it (the global
// `cmsgpack`) and makes it read-only.
int OpenLuaCmsgpack(lua_State* lua);

}  // namespace ordo::server
