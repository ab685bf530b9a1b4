// Redis 7.0's cmsgpack library, written for ordo (see lua_cmsgpack.h). The Lua stack is used
// as Redis's C uses it (the same pushes, the same luaL_checkstack calls and messages), so the
// limits scripts can reach fail where and as they fail in Redis.
#include "server/lua_cmsgpack.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace ordo::server {
namespace {

// Tables this deep are encoded as nil (Redis's LUACMSGPACK_MAX_NESTING).
constexpr int kNestingMax = 16;

// ---- Encoding.

bool IsInt64(lua_Number number) {
  return number >= -0x1p63 && number < 0x1p63 &&
         static_cast<lua_Number>(static_cast<int64_t>(number)) == number;
}

// Whether `number` survives the trip to float and back (Redis: d == (double)(float)d).
bool IsExactFloat(double number) {
  if (std::isnan(number)) return false;
  if (std::isinf(number)) return true;
  if (std::fabs(number) > std::numeric_limits<float>::max()) return false;
  return static_cast<double>(static_cast<float>(number)) == number;
}

// Builds one pack's output. Bytes gather in `pending_`; every kPackChunkBytes they move into a
// Lua string kept in a table on the stack, so the script memory limit counts them.
class Encoder {
 public:
  explicit Encoder(lua_State* lua) : lua_(lua) {
    lua_newtable(lua);
    chunks_index_ = lua_gettop(lua);
  }

  // Encodes the value on top of the stack and pops it.
  void EncodeTop(int level) {
    int type = lua_type(lua_, -1);
    if (type == LUA_TTABLE && level == kNestingMax) type = LUA_TNIL;
    switch (type) {
      case LUA_TSTRING:
        EncodeString();
        break;
      case LUA_TBOOLEAN:
        AddByte(lua_toboolean(lua_, -1) ? 0xc3 : 0xc2);
        break;
      case LUA_TNUMBER:
        EncodeNumber(lua_tonumber(lua_, -1));
        break;
      case LUA_TTABLE:
        EncodeTable(level);
        break;
      default:
        AddByte(0xc0);
    }
    lua_pop(lua_, 1);
  }

  // Pushes the whole encoding.
  void PushResult() {
    Flush();
    if (chunk_count_ == 0) {
      lua_pushliteral(lua_, "");
      return;
    }
    if (chunk_count_ == 1) {
      lua_rawgeti(lua_, chunks_index_, 1);
      return;
    }
    luaL_Buffer buffer;
    luaL_buffinit(lua_, &buffer);
    for (int i = 1; i <= chunk_count_; ++i) {
      lua_rawgeti(lua_, chunks_index_, i);
      luaL_addvalue(&buffer);
    }
    luaL_pushresult(&buffer);
  }

 private:
  void AddByte(unsigned char byte) {
    pending_ += static_cast<char>(byte);
    if (pending_.size() >= kPackChunkBytes) Flush();
  }

  // A type byte, then the low `bytes` bytes of `value`, most significant first.
  void AddTyped(unsigned char type, uint64_t value, int bytes) {
    AddByte(type);
    for (int i = bytes - 1; i >= 0; --i) AddByte(static_cast<unsigned char>(value >> (8 * i)));
  }

  // An array's or a map's header.
  void AddCount(unsigned char fix_type, unsigned char type16, uint64_t count) {
    if (count <= 15) {
      AddByte(static_cast<unsigned char>(fix_type | count));
    } else if (count <= 0xffff) {
      AddTyped(type16, count, 2);
    } else {
      AddTyped(type16 + 1, count, 4);  // the 32-bit kind follows the 16-bit one
    }
  }

  void Flush() {
    if (pending_.empty()) return;
    lua_pushlstring(lua_, pending_.data(), pending_.size());
    lua_rawseti(lua_, chunks_index_, ++chunk_count_);
    pending_.clear();
  }

  void EncodeString() {
    size_t size = 0;
    const char* text = lua_tolstring(lua_, -1, &size);
    if (size < 32) {
      AddByte(static_cast<unsigned char>(0xa0 | size));
    } else if (size <= 0xff) {
      AddTyped(0xd9, size, 1);
    } else if (size <= 0xffff) {
      AddTyped(0xda, size, 2);
    } else {
      AddTyped(0xdb, size, 4);
    }
    if (size >= kPackChunkBytes) {  // the string itself is the next chunk: no copy
      Flush();
      lua_pushvalue(lua_, -1);
      lua_rawseti(lua_, chunks_index_, ++chunk_count_);
      return;
    }
    pending_.append(text, size);
    if (pending_.size() >= kPackChunkBytes) Flush();
  }

  void EncodeNumber(lua_Number number) {
    if (!IsInt64(number)) {
      if (IsExactFloat(number)) {
        AddTyped(0xca, std::bit_cast<uint32_t>(static_cast<float>(number)), 4);
      } else {
        AddTyped(0xcb, std::bit_cast<uint64_t>(static_cast<double>(number)), 8);
      }
      return;
    }
    const int64_t value = static_cast<int64_t>(number);
    const auto bits = static_cast<uint64_t>(value);
    if (value >= 0) {
      if (value <= 127) {
        AddByte(static_cast<unsigned char>(value));
      } else if (value <= 0xff) {
        AddTyped(0xcc, bits, 1);
      } else if (value <= 0xffff) {
        AddTyped(0xcd, bits, 2);
      } else if (value <= 0xffffffff) {
        AddTyped(0xce, bits, 4);
      } else {
        AddTyped(0xcf, bits, 8);
      }
    } else if (value >= -32) {
      AddByte(static_cast<unsigned char>(bits));
    } else if (value >= -128) {
      AddTyped(0xd0, bits, 1);
    } else if (value >= -32768) {
      AddTyped(0xd1, bits, 2);
    } else if (value >= INT32_MIN) {
      AddTyped(0xd2, bits, 4);
    } else {
      AddTyped(0xd3, bits, 8);
    }
  }

  // Redis's table_is_an_array: every key a positive int-sized whole number, the largest equal
  // to their count (so 1..n with no hole).
  bool TableIsArray() {
    const int top = lua_gettop(lua_);
    luaL_checkstack(lua_, 2, "in function table_is_an_array");
    int count = 0;
    int largest = 0;
    lua_pushnil(lua_);
    while (lua_next(lua_, -2) != 0) {
      lua_pop(lua_, 1);
      const lua_Number key = lua_type(lua_, -1) == LUA_TNUMBER ? lua_tonumber(lua_, -1) : 0;
      if (!(key > 0 && key <= INT32_MAX && static_cast<int>(key) == key)) {
        lua_settop(lua_, top);
        return false;
      }
      largest = std::max(largest, static_cast<int>(key));
      count += 1;
    }
    lua_settop(lua_, top);
    return largest == count;
  }

  void EncodeTable(int level) {
    if (TableIsArray()) {
      const size_t length = lua_objlen(lua_, -1);
      AddCount(0x90, 0xdc, length);
      luaL_checkstack(lua_, 1, "in function mp_encode_lua_table_as_array");
      for (size_t i = 1; i <= length; ++i) {
        lua_pushnumber(lua_, static_cast<lua_Number>(i));
        lua_gettable(lua_, -2);  // not raw, as Redis: __index answers for a missing element
        EncodeTop(level + 1);
      }
      return;
    }
    luaL_checkstack(lua_, 3, "in function mp_encode_lua_table_as_map");
    uint64_t count = 0;
    lua_pushnil(lua_);
    while (lua_next(lua_, -2) != 0) {
      lua_pop(lua_, 1);
      count += 1;
    }
    AddCount(0x80, 0xde, count);
    lua_pushnil(lua_);
    while (lua_next(lua_, -2) != 0) {
      lua_pushvalue(lua_, -2);  // encode a copy of the key: lua_next needs the original
      EncodeTop(level + 1);
      EncodeTop(level + 1);
    }
  }

  lua_State* const lua_;
  int chunks_index_ = 0;
  int chunk_count_ = 0;
  std::string pending_;
};

int Pack(lua_State* lua) {
  const int count = lua_gettop(lua);
  if (count == 0) return luaL_argerror(lua, 0, "MessagePack pack needs input.");
  // Redis keeps one string per argument on the stack; the same limit on arguments follows.
  if (lua_checkstack(lua, count) == 0) {
    return luaL_argerror(lua, 0, "Too many arguments for MessagePack pack.");
  }
  Encoder encoder(lua);
  for (int i = 1; i <= count; ++i) {
    luaL_checkstack(lua, 1, "in function mp_check");
    lua_pushvalue(lua, i);
    encoder.EncodeTop(0);
  }
  encoder.PushResult();
  return 1;
}

// ---- Decoding.

class Decoder {
 public:
  enum class Failure { kNone, kMissingBytes, kBadFormat };

  Decoder(lua_State* lua, const unsigned char* bytes, size_t size)
      : lua_(lua), bytes_(bytes), left_(size) {}

  size_t left() const { return left_; }
  Failure failure() const { return failure_; }

  // Pushes the next value. On a failure, failure() says which, and what was pushed stays.
  void DecodeOne() {
    if (!Need(1)) return;
    luaL_checkstack(lua_, 1,
                    "too many return values at once; use unpack_one or unpack_limit instead.");
    const unsigned char type = bytes_[0];
    switch (type) {
      case 0xcc:
        if (Need(2)) PushInteger(BigEndian(1), 2);
        return;
      case 0xd0:
        if (Need(2)) PushInteger(static_cast<int8_t>(BigEndian(1)), 2);
        return;
      case 0xcd:
        if (Need(3)) PushInteger(BigEndian(2), 3);
        return;
      case 0xd1:
        if (Need(3)) PushInteger(static_cast<int16_t>(BigEndian(2)), 3);
        return;
      case 0xce:
        if (Need(5)) PushInteger(BigEndian(4), 5);
        return;
      case 0xd2:
        if (Need(5)) PushInteger(static_cast<int32_t>(BigEndian(4)), 5);
        return;
      case 0xcf:  // past 2^63 this is negative: Redis pushes it as a (signed) lua_Integer
        if (Need(9)) PushInteger(static_cast<lua_Integer>(BigEndian(8)), 9);
        return;
      case 0xd3:
        if (!Need(9)) return;
        lua_pushnumber(lua_, static_cast<lua_Number>(static_cast<int64_t>(BigEndian(8))));
        Consume(9);
        return;
      case 0xc0:
        lua_pushnil(lua_);
        Consume(1);
        return;
      case 0xc2:
      case 0xc3:
        lua_pushboolean(lua_, type == 0xc3);
        Consume(1);
        return;
      case 0xca:
        if (!Need(5)) return;
        lua_pushnumber(lua_, std::bit_cast<float>(static_cast<uint32_t>(BigEndian(4))));
        Consume(5);
        return;
      case 0xcb:
        if (!Need(9)) return;
        lua_pushnumber(lua_, std::bit_cast<double>(BigEndian(8)));
        Consume(9);
        return;
      case 0xd9:
        if (Need(2)) PushString(2, BigEndian(1));
        return;
      case 0xda:
        if (Need(3)) PushString(3, BigEndian(2));
        return;
      case 0xdb:
        if (Need(5)) PushString(5, BigEndian(4));
        return;
      case 0xdc:
      case 0xde:
        if (!Need(3)) return;
        DecodeContainer(type == 0xde, 3, BigEndian(2));
        return;
      case 0xdd:
      case 0xdf:
        if (!Need(5)) return;
        DecodeContainer(type == 0xdf, 5, BigEndian(4));
        return;
      default:
        break;
    }
    if (type < 0x80) {  // positive fixint
      PushInteger(type, 1);
    } else if (type >= 0xe0) {  // negative fixint
      PushInteger(static_cast<int8_t>(type), 1);
    } else if ((type & 0xe0) == 0xa0) {
      PushString(1, type & 0x1f);
    } else if ((type & 0xf0) == 0x90 || (type & 0xf0) == 0x80) {
      DecodeContainer((type & 0xf0) == 0x80, 1, type & 0x0f);
    } else {  // c1, bin, ext, fixext
      failure_ = Failure::kBadFormat;
    }
  }

 private:
  bool Need(size_t bytes) {
    if (left_ >= bytes) return true;
    failure_ = Failure::kMissingBytes;
    return false;
  }

  void Consume(size_t bytes) {
    assert(bytes <= left_);
    bytes_ += bytes;
    left_ -= bytes;
  }

  // The `size` bytes after the type byte, most significant first.
  uint64_t BigEndian(int size) const {
    uint64_t value = 0;
    for (int i = 1; i <= size; ++i) value = (value << 8) | bytes_[i];
    return value;
  }

  void PushInteger(lua_Integer value, size_t encoded_bytes) {
    lua_pushinteger(lua_, value);
    Consume(encoded_bytes);
  }

  void PushString(size_t header_bytes, uint64_t size) {
    Consume(header_bytes);
    if (!Need(size)) return;
    lua_pushlstring(lua_, reinterpret_cast<const char*>(bytes_), size);
    Consume(size);
  }

  // An array (t[1] .. t[count]) or a map of `count` pairs, after a header of `header_bytes`.
  void DecodeContainer(bool is_map, size_t header_bytes, uint64_t count) {
    Consume(header_bytes);
    lua_newtable(lua_);
    if (!is_map) luaL_checkstack(lua_, 1, "in function mp_decode_to_lua_array");
    for (uint64_t i = 1; i <= count; ++i) {
      if (is_map) {
        DecodeOne();  // the key
      } else {
        lua_pushnumber(lua_, static_cast<lua_Number>(i));
      }
      if (failure_ != Failure::kNone) return;
      DecodeOne();
      if (failure_ != Failure::kNone) return;
      lua_settable(lua_, -3);  // a nil key fails here with Lua's "table index is nil", as Redis
    }
  }

  lua_State* const lua_;
  const unsigned char* bytes_;
  size_t left_;
  Failure failure_ = Failure::kNone;
};

// Redis's mp_unpack_full: `limit` values from byte `offset` (both 0: every value, and no
// offset returned). The input string is the only argument left on the stack but for unpack.
int UnpackValues(lua_State* lua, lua_Integer limit, lua_Integer offset) {
  size_t size = 0;
  const char* input = luaL_checklstring(lua, 1, &size);
  const bool decode_all = limit == 0 && offset == 0;
  if (offset < 0 || limit < 0) {
    return luaL_error(lua, "Invalid request to unpack with offset of %d and limit of %d.",
                      static_cast<int>(offset), static_cast<int>(size));
  }
  if (static_cast<size_t>(offset) > size) {
    return luaL_error(lua, "Start offset %d greater than input length %d.",
                      static_cast<int>(offset), static_cast<int>(size));
  }
  if (decode_all) limit = std::numeric_limits<int>::max();
  Decoder decoder(lua, reinterpret_cast<const unsigned char*>(input) + offset,
                  size - static_cast<size_t>(offset));
  int count = 0;
  for (; decoder.left() > 0 && count < limit; ++count) {
    decoder.DecodeOne();
    if (decoder.failure() == Decoder::Failure::kMissingBytes) {
      return luaL_error(lua, "Missing bytes in input.");
    }
    if (decoder.failure() == Decoder::Failure::kBadFormat) {
      return luaL_error(lua, "Bad data format in input.");
    }
  }
  if (decode_all) return count;
  luaL_checkstack(lua, 1, "in function mp_unpack_full");
  const size_t next = size - decoder.left();
  lua_pushinteger(lua, decoder.left() == 0 ? -1 : static_cast<lua_Integer>(next));
  lua_insert(lua, 2);
  return count + 1;
}

int Unpack(lua_State* lua) { return UnpackValues(lua, 0, 0); }

int UnpackOne(lua_State* lua) {
  const lua_Integer offset = luaL_optinteger(lua, 2, 0);
  lua_pop(lua, lua_gettop(lua) - 1);  // as Redis: with no argument at all, none is pushed
  return UnpackValues(lua, 1, offset);
}

int UnpackLimit(lua_State* lua) {
  const lua_Integer limit = luaL_checkinteger(lua, 2);
  const lua_Integer offset = luaL_optinteger(lua, 3, 0);
  lua_pop(lua, lua_gettop(lua) - 1);
  return UnpackValues(lua, limit, offset);
}

}  // namespace

int OpenLuaCmsgpack(lua_State* lua) {
  const luaL_Reg functions[] = {
      {"pack", Pack}, {"unpack", Unpack}, {"unpack_one", UnpackOne}, {"unpack_limit", UnpackLimit}};
  const std::pair<const char*, const char*> fields[] = {
      {"_NAME", "cmsgpack"},
      {"_VERSION", "lua-cmsgpack 0.4.0"},
      {"_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"},
      {"_DESCRIPTION", "MessagePack C implementation for Lua"},
  };
  lua_createtable(lua, 0, static_cast<int>(std::size(functions) + std::size(fields)));
  for (const luaL_Reg& function : functions) {
    lua_pushcfunction(lua, function.func);
    lua_setfield(lua, -2, function.name);
  }
  for (const auto& [name, value] : fields) {
    lua_pushstring(lua, value);
    lua_setfield(lua, -2, name);
  }
  return 1;
}

}  // namespace ordo::server
