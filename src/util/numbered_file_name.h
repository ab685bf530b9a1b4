// Names of files numbered in order ("00000000000000000042.seg"): the number in 20 decimal
// digits, so that names sort as numbers do, then a fixed suffix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ordo {

inline constexpr size_t kNumberedNameDigits = 20;

std::string NumberedFileName(uint64_t number, std::string_view suffix);
// False for any other name (another suffix, a temporary ".tmp" name, a non-digit).
bool ParseNumberedFileName(std::string_view name, std::string_view suffix, uint64_t* number);

}  // namespace ordo
