// Glob-style pattern matching for KEYS, SCAN MATCH and CONFIG GET, with Redis's semantics
// (stringmatchlen in Redis's util.c): '*' any run, '?' any byte, '[abc]' '[^a]' '[a-z]' sets,
// '\x' a literal x. Matching is on bytes; an unterminated '[' set ends at the pattern's end.
#pragma once

#include <string_view>

namespace ordo::server {

// True when `text` matches `pattern`. Runs in time polynomial in the sizes (Redis's early exit
// for '*' bounds the backtracking), with nesting of '*' limited to kGlobNestingMax.
bool GlobMatch(std::string_view pattern, std::string_view text, bool ignore_case = false);

inline constexpr int kGlobNestingMax = 1000;

}  // namespace ordo::server
