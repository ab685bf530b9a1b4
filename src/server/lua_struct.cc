// Redis 7.0's struct library, written for ordo (see lua_struct.h).
#include "server/lua_struct.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace ordo::server {
namespace {

// The widest integral option (iN, IN), in bytes: Redis's MAXINTSIZE.
constexpr int kIntegerBytesMax = 32;
// Integers are converted through 64 bits; wider options keep 8 bytes of value.
constexpr int kValueBytes = 8;
static_assert(sizeof(long) == kValueBytes && sizeof(size_t) == kValueBytes,
              "struct's l, L and T are 8 bytes, as in Redis on x86-64");

// What `!` alone sets: the padding a double gets after a char, or an int's size if larger.
struct DoubleAfterChar {
  char c;
  double d;
};
constexpr int kAlignmentMax = static_cast<int>(std::max(offsetof(DoubleAfterChar, d), sizeof(int)));

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsPowerOf2(int n) { return n > 0 && (n & (n - 1)) == 0; }

// b, B, h, H, l, L, T, i, I: the options that take a number and write it as an integer.
bool IsIntegerOption(char option) {
  return option != '\0' && std::strchr("bBhHlLTiI", option) != nullptr;
}

// The endianness and alignment in force while a format is read.
struct Options {
  bool little = std::endian::native == std::endian::little;
  int alignment = 1;
};

// The count after an option (`i8`, `c10`, `!4`), or `fallback` when none follows.
int ReadCount(lua_State* lua, const char** format, int fallback) {
  if (!IsDigit(**format)) return fallback;
  int count = 0;
  do {
    const int digit = **format - '0';
    if (count > INT32_MAX / 10 || count * 10 > INT32_MAX - digit) {
      luaL_error(lua, "integral size overflow");
    }
    count = count * 10 + digit;
    ++*format;
  } while (IsDigit(**format));
  return count;
}

// The bytes option `option` takes (reading its count), 0 for the options that take none.
size_t OptionSize(lua_State* lua, char option, const char** format) {
  switch (option) {
    case 'b':
    case 'B':
    case 'x':
      return 1;
    case 'h':
    case 'H':
      return sizeof(short);
    case 'l':
    case 'L':
    case 'T':
    case 'd':
      return kValueBytes;
    case 'f':
      return sizeof(float);
    case 'c':
      return static_cast<size_t>(ReadCount(lua, format, 1));
    case 'i':
    case 'I': {
      const int size = ReadCount(lua, format, sizeof(int));
      if (size > kIntegerBytesMax) {
        luaL_error(lua, "integral size %d is larger than limit of %d", size, kIntegerBytesMax);
      }
      return static_cast<size_t>(size);
    }
    default:
      return 0;
  }
}

// The zero bytes that bring `offset` to the alignment of an element of `size` bytes. Redis's
// formula, also for sizes that are not a power of 2 (`i3`), where it gives what it gives.
size_t PaddingBefore(size_t offset, const Options& options, char option, size_t size) {
  if (size == 0 || option == 'c') return 0;
  size = std::min(size, static_cast<size_t>(options.alignment));
  return (size - (offset & (size - 1))) & (size - 1);
}

// The options that change the state and take no value; anything else is refused.
void ApplyControl(lua_State* lua, char option, const char** format, Options* options) {
  switch (option) {
    case ' ':
      return;
    case '>':
      options->little = false;
      return;
    case '<':
      options->little = true;
      return;
    case '!': {
      const int alignment = ReadCount(lua, format, kAlignmentMax);
      if (!IsPowerOf2(alignment)) luaL_error(lua, "alignment %d is not a power of 2", alignment);
      options->alignment = alignment;
      return;
    }
    default:
      luaL_argerror(lua, 1, lua_pushfstring(lua, "invalid format option '%c'", option));
  }
}

// A double to int64 as x86-64's cvttsd2si: truncated; NaN or out of range is INT64_MIN.
int64_t TruncateLikeX86(double number) {
  if (!(number >= -0x1p63 && number < 0x1p63)) return INT64_MIN;
  return static_cast<int64_t>(number);
}

// A double to uint64 as the compiled C of Redis converts it: below 2^63 (and NaN) through
// int64, so -1 is all ones; from 2^63 on, 2^63 plus the rest, which is 0 past 2^64.
uint64_t ToUnsignedLikeX86(double number) {
  if (!(number >= 0x1p63)) return static_cast<uint64_t>(TruncateLikeX86(number));
  return static_cast<uint64_t>(TruncateLikeX86(number - 0x1p63)) ^ (uint64_t{1} << 63);
}

void AddInteger(lua_State* lua, luaL_Buffer* buffer, int arg, bool little, size_t size) {
  const lua_Number number = luaL_checknumber(lua, arg);
  uint64_t value =
      number < 0 ? static_cast<uint64_t>(TruncateLikeX86(number)) : ToUnsignedLikeX86(number);
  char bytes[kIntegerBytesMax];
  assert(size <= sizeof(bytes));
  for (size_t i = 0; i < size; ++i) {
    bytes[little ? i : size - 1 - i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  luaL_addlstring(buffer, bytes, size);
}

// The bytes of a float or double, in the order the format asks for.
template <typename Real>
void AddReal(luaL_Buffer* buffer, Real value, bool little) {
  char bytes[sizeof(Real)];
  std::memcpy(bytes, &value, sizeof(bytes));
  if (little != (std::endian::native == std::endian::little))
    std::reverse(bytes, bytes + sizeof(bytes));
  luaL_addlstring(buffer, bytes, sizeof(bytes));
}

// A double to float as x86-64 converts it, rounding to nearest: past the largest float by half
// its last place or more, infinity.
float NarrowToFloat(double number) {
  constexpr float kLargest = std::numeric_limits<float>::max();
  constexpr double kInfinityFrom = 0x1.ffffffp127;  // kLargest + half of its last place
  const double magnitude = std::fabs(number);
  if (!(magnitude > kLargest)) return static_cast<float>(number);  // NaN too
  const float narrowed =
      magnitude >= kInfinityFrom ? std::numeric_limits<float>::infinity() : kLargest;
  return number < 0 ? -narrowed : narrowed;
}

int Pack(lua_State* lua) {
  const char* format = luaL_checkstring(lua, 1);
  Options options;
  int arg = 2;
  size_t total = 0;
  // Redis's mark between the arguments and the buffer's pieces: a missing argument is nil.
  lua_pushnil(lua);
  luaL_Buffer buffer;
  luaL_buffinit(lua, &buffer);
  while (*format != '\0') {
    const char option = *format++;
    size_t size = OptionSize(lua, option, &format);
    const size_t padding = PaddingBefore(total, options, option, size);
    total += padding;
    for (size_t i = 0; i < padding; ++i) luaL_addchar(&buffer, '\0');
    if (IsIntegerOption(option)) {
      AddInteger(lua, &buffer, arg++, options.little, size);
    } else {
      switch (option) {
        case 'x':
          luaL_addchar(&buffer, '\0');
          break;
        case 'f':
          AddReal(&buffer, NarrowToFloat(luaL_checknumber(lua, arg++)), options.little);
          break;
        case 'd':
          AddReal(&buffer, static_cast<double>(luaL_checknumber(lua, arg++)), options.little);
          break;
        case 'c':
        case 's': {
          size_t length = 0;
          const char* text = luaL_checklstring(lua, arg++, &length);
          if (size == 0) size = length;
          // Redis names the argument after this one.
          luaL_argcheck(lua, length >= size, arg, "string too short");
          luaL_addlstring(&buffer, text, size);
          if (option == 's') {
            luaL_addchar(&buffer, '\0');
            size += 1;
          }
          break;
        }
        default:
          ApplyControl(lua, option, &format, &options);
      }
    }
    total += size;
  }
  luaL_pushresult(&buffer);
  return 1;
}

lua_Number ReadInteger(const char* bytes, bool little, bool is_signed, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[little ? size - 1 - i : i]);
  }
  if (!is_signed) return static_cast<lua_Number>(value);
  // Redis shifts by size * 8 - 1, which x86-64 takes modulo 64 (all sizes, 0 and > 8 too).
  const uint64_t sign_bits = ~uint64_t{0} << ((static_cast<int>(size) * 8 - 1) & 63);
  if ((value & sign_bits) != 0) value |= sign_bits;
  return static_cast<lua_Number>(static_cast<int64_t>(value));
}

template <typename Real>
lua_Number ReadReal(const char* bytes, bool little) {
  char copy[sizeof(Real)];
  std::memcpy(copy, bytes, sizeof(copy));
  if (little != (std::endian::native == std::endian::little))
    std::reverse(copy, copy + sizeof(copy));
  Real value;
  std::memcpy(&value, copy, sizeof(value));
  return static_cast<lua_Number>(value);
}

int Unpack(lua_State* lua) {
  const char* format = luaL_checkstring(lua, 1);
  size_t data_size = 0;
  const char* data = luaL_checklstring(lua, 2, &data_size);
  // As Redis: modulo 2^64, so only 0 is refused here.
  size_t position = static_cast<size_t>(luaL_optinteger(lua, 3, 1));
  luaL_argcheck(lua, position > 0, 3, "offset must be 1 or greater");
  position -= 1;
  Options options;
  int results = 0;
  while (*format != '\0') {
    const char option = *format++;
    size_t size = OptionSize(lua, option, &format);
    position += PaddingBefore(position, options, option, size);
    luaL_argcheck(lua, size <= data_size && position <= data_size - size, 2,
                  "data string too short");
    luaL_checkstack(lua, 2, "too many results");  // this value and the position
    if (IsIntegerOption(option)) {
      const bool is_signed = option >= 'a' && option <= 'z';
      lua_pushnumber(lua, ReadInteger(data + position, options.little, is_signed, size));
      results += 1;
    } else {
      switch (option) {
        case 'x':
          break;
        case 'f':
          lua_pushnumber(lua, ReadReal<float>(data + position, options.little));
          results += 1;
          break;
        case 'd':
          lua_pushnumber(lua, ReadReal<double>(data + position, options.little));
          results += 1;
          break;
        case 'c':
          if (size == 0) {
            if (results == 0 || !lua_isnumber(lua, -1)) {
              luaL_error(lua, "format 'c0' needs a previous size");
            }
            size = static_cast<size_t>(ToUnsignedLikeX86(lua_tonumber(lua, -1)));
            lua_pop(lua, 1);
            results -= 1;
            luaL_argcheck(lua, size <= data_size && position <= data_size - size, 2,
                          "data string too short");
          }
          lua_pushlstring(lua, data + position, size);
          results += 1;
          break;
        case 's': {
          const void* end = std::memchr(data + position, '\0', data_size - position);
          if (end == nullptr) luaL_error(lua, "unfinished string in data");
          size = static_cast<size_t>(static_cast<const char*>(end) - (data + position)) + 1;
          lua_pushlstring(lua, data + position, size - 1);
          results += 1;
          break;
        }
        default:
          ApplyControl(lua, option, &format, &options);
      }
    }
    position += size;
  }
  lua_pushinteger(lua, static_cast<lua_Integer>(position + 1));
  return results + 1;
}

int Size(lua_State* lua) {
  const char* format = luaL_checkstring(lua, 1);
  Options options;
  size_t position = 0;
  while (*format != '\0') {
    const char option = *format++;
    const size_t size = OptionSize(lua, option, &format);
    position += PaddingBefore(position, options, option, size);
    if (option == 's') {
      luaL_argerror(lua, 1, "option 's' has no fixed size");
    } else if (option == 'c' && size == 0) {
      luaL_argerror(lua, 1, "option 'c0' has no fixed size");
    }
    // Redis leaves letters and digits it does not know alone here (they count 0 bytes).
    const bool alphanumeric =
        (option >= 'a' && option <= 'z') || (option >= 'A' && option <= 'Z') || IsDigit(option);
    if (!alphanumeric) ApplyControl(lua, option, &format, &options);
    position += size;
  }
  lua_pushinteger(lua, static_cast<lua_Integer>(position));
  return 1;
}

}  // namespace

int OpenLuaStruct(lua_State* lua) {
  const luaL_Reg functions[] = {{"pack", Pack}, {"unpack", Unpack}, {"size", Size}};
  lua_createtable(lua, 0, static_cast<int>(std::size(functions)));
  for (const luaL_Reg& function : functions) {
    lua_pushcfunction(lua, function.func);
    lua_setfield(lua, -2, function.name);
  }
  return 1;
}

}  // namespace ordo::server
