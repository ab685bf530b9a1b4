// Integers written as text, read as Redis reads them.
#pragma once

#include <cstdint>
#include <string_view>

namespace ordo {

// Parses a decimal int64 exactly as Redis's string2ll: optional '-', no '+', no spaces, no
// leading zeros, at most 20 characters, no overflow. The server parses arguments with it, and
// the index decides with it whether a set's member is an integer (Redis's intset encoding).
bool ParseInt64(std::string_view text, int64_t* value);

}  // namespace ordo
