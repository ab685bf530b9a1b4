// Redis 7.0's `struct` library for scripts: Roberto Ierusalimschy's struct.c (1.4) as Redis
// embeds it in deps/lua/src/lua_struct.c, with Redis's later fixes (the size limit on integral
// options, the overflow check on counts, the offset check and the stack checks of unpack).
// Debian packages no struct library for Lua 5.1, so this is written by hand (docs/ARCHITECTURE.md);
// tests/e2e/test_scripting.py compares it byte for byte with a real redis-server.
//
//   struct.pack(format, v1, v2, ...)   -> string
//   struct.unpack(format, s [, pos])   -> v1, v2, ..., next position (1-based)
//   struct.size(format)                -> bytes the format takes (no `s`, no `c0`)
//
// Format options, one character each, some followed by a decimal count:
//   >  big endian        <  little endian (the default is the machine's: little on x86-64)
//   !n alignment n (a power of 2; `!` alone: the machine's largest, 8); the default is 1
//   x  one zero byte     b/B  signed/unsigned char   h/H  short (2)   l/L  long (8)   T  size_t
//   i/In  integer of n bytes (default 4, at most 32)  f  float   d  double
//   cn n characters (pack: n = 0 takes the whole string; unpack: n = 0 takes its length from
//      the value read just before)      s  zero-terminated string      space: ignored
// An element of size k starts at a multiple of min(k, alignment) (`c` is never aligned).
//
// Redis's arithmetic is kept where it is odd, so scripts see what Redis shows: numbers are
// converted to integers as x86-64 converts doubles (out of range: 0x8000000000000000, or 0 past
// 2^64 for an unsigned option); integers wider than 8 bytes keep only 8 bytes of value; an
// offset is taken modulo 2^64, so a negative one makes unpack fail with "data string too short".
// Errors are Redis's: "bad argument #1 to 'pack' (invalid format option 'X')", "integral size
// 40 is larger than limit of 32", "integral size overflow", "alignment 3 is not a power of 2",
// "bad argument #3 to 'pack' (string too short)", "bad argument #2 to 'unpack' (data string
// too short)", "bad argument #3 to 'unpack' (offset must be 1 or greater)", "format 'c0' needs
// a previous size", "unfinished string in data", "bad argument #1 to 'size' (option 's' has no
// fixed size)".
#pragma once

struct lua_State;

namespace ordo::server {

// Pushes a new table holding pack, unpack and size and returns 1 (a lua_CFunction, as Lua's
// luaopen_* functions are). The caller names it (the global `struct`) and makes it read-only.
int OpenLuaStruct(lua_State* lua);

}  // namespace ordo::server
