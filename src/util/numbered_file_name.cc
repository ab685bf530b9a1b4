#include "util/numbered_file_name.h"

#include "fmt/format.h"

namespace ordo {

std::string NumberedFileName(uint64_t number, std::string_view suffix) {
  return fmt::format("{:020}{}", number, suffix);
}

bool ParseNumberedFileName(std::string_view name, std::string_view suffix, uint64_t* number) {
  if (name.size() != kNumberedNameDigits + suffix.size() ||
      name.substr(kNumberedNameDigits) != suffix) {
    return false;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < kNumberedNameDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(name[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;  // more than 64 bits
    value = value * 10 + digit;
  }
  *number = value;
  return true;
}

}  // namespace ordo
