// A port of Redis's stringmatchlen_impl, bounds-checked (Redis reads the pattern's terminating
// NUL in two places; here an index past the end reads as "no character").
#include "server/glob_match.h"

#include <cctype>
#include <cstddef>

namespace ordo::server {

namespace {

int Lower(char c) { return std::tolower(static_cast<unsigned char>(c)); }

bool SameByte(char a, char b, bool ignore_case) {
  return ignore_case ? Lower(a) == Lower(b) : a == b;
}

// Matches the set starting after '[' at pattern[*p] against `c`; leaves *p on the closing ']'
// (or on the last byte when the set is unterminated).
bool MatchSet(std::string_view pattern, size_t* p, char c, bool ignore_case) {
  bool negate = *p < pattern.size() && pattern[*p] == '^';
  if (negate) ++*p;
  bool match = false;
  while (true) {
    size_t left = pattern.size() - *p;
    if (left >= 2 && pattern[*p] == '\\') {
      ++*p;
      if (pattern[*p] == c) match = true;
    } else if (left == 0) {
      --*p;  // unterminated set: the outer loop steps past the last byte
      break;
    } else if (pattern[*p] == ']') {
      break;
    } else if (left >= 3 && pattern[*p + 1] == '-') {
      // Redis compares chars (signed on x86); do the same so byte ranges agree.
      int start = static_cast<signed char>(pattern[*p]);
      int end = static_cast<signed char>(pattern[*p + 2]);
      int value = static_cast<signed char>(c);
      if (start > end) std::swap(start, end);
      if (ignore_case) {
        start = std::tolower(start);
        end = std::tolower(end);
        value = std::tolower(value);
      }
      *p += 2;
      if (value >= start && value <= end) match = true;
    } else if (SameByte(pattern[*p], c, ignore_case)) {
      match = true;
    }
    ++*p;
  }
  return negate ? !match : match;
}

bool MatchFrom(std::string_view pattern, std::string_view text, bool ignore_case,
               bool* skip_longer_matches, int nesting) {
  if (nesting > kGlobNestingMax) return false;
  size_t p = 0;
  size_t t = 0;
  while (p < pattern.size() && t < text.size()) {
    switch (pattern[p]) {
      case '*': {
        while (p + 1 < pattern.size() && pattern[p + 1] == '*') ++p;
        if (p + 1 == pattern.size()) return true;
        for (; t < text.size(); ++t) {
          if (MatchFrom(pattern.substr(p + 1), text.substr(t), ignore_case, skip_longer_matches,
                        nesting + 1)) {
            return true;
          }
          if (*skip_longer_matches) return false;
        }
        // No suffix of the text matches the rest of the pattern, so no earlier '*' can help
        // by consuming more: stop every enclosing level (Redis's skipLongerMatches).
        *skip_longer_matches = true;
        return false;
      }
      case '?':
        ++t;
        break;
      case '[':
        ++p;
        if (!MatchSet(pattern, &p, text[t], ignore_case)) return false;
        ++t;
        break;
      case '\\':
        if (pattern.size() - p >= 2) ++p;
        [[fallthrough]];
      default:
        if (!SameByte(pattern[p], text[t], ignore_case)) return false;
        ++t;
        break;
    }
    ++p;
    if (t == text.size()) {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      break;
    }
  }
  return p == pattern.size() && t == text.size();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  bool skip_longer_matches = false;
  return MatchFrom(pattern, text, ignore_case, &skip_longer_matches, 0);
}

}  // namespace ordo::server
