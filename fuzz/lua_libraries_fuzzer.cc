// Fuzz harness for the Lua libraries written by hand for scripts (src/server/lua_struct.h,
// lua_cmsgpack.h): a script hands them any bytes it likes, from a client's arguments.
//
// Input: byte 0 picks what runs, the rest is split at its first 0 byte (if any) into a format
// and data. Each call runs in a protected call on a fresh Lua state whose allocator refuses to
// pass 64 MiB, so a length the input only claims cannot become an allocation that succeeds
// (a refusal is a Lua "not enough memory" error, which is fine). Checked:
//   * no call crashes, overruns or aborts; every failure is a Lua error with a message;
//   * pack and unpack agree: whatever unpack reads, once packed (which drops what msgpack or
//     cmsgpack cannot hold: nesting past 16, -0's sign, integers past 2^53's precision), reads
//     back as the same value on every further round. Values are compared in a canonical form
//     (map keys sorted), not as bytes: a Lua table's order is not its content's;
//   * cmsgpack.unpack_one / unpack_limit return offsets within the input, moving forward, -1
//     at the end;
//   * struct.unpack's returned position is within the data plus one, and struct.size agrees
//     with what struct.pack makes for formats without strings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/lua_cmsgpack.h"
#include "server/lua_struct.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

namespace {

constexpr size_t kMemoryBytesMax = 64u << 20;

struct Budget {
  size_t used = 0;
};

void* Allocate(void* context, void* block, size_t old_size, size_t new_size) {
  Budget* budget = static_cast<Budget*>(context);
  if (new_size == 0) {
    budget->used -= old_size;
    std::free(block);
    return nullptr;
  }
  if (new_size > old_size && budget->used + (new_size - old_size) > kMemoryBytesMax) {
    return nullptr;
  }
  void* moved = std::realloc(block, new_size);
  if (moved == nullptr) return nullptr;
  budget->used = budget->used - old_size + new_size;
  return moved;
}

// Loaded before each script: canon(v), a canonical text of a value (map keys sorted, NaN and
// zero's sign folded), and stable(p): whether msgpack bytes p, already packed once, read back as
// the same values after one more round of unpack and pack.
const char* const kPrelude =
    "function canon(v)\n"
    "  local t = type(v)\n"
    "  if t == 'number' then\n"
    "    if v ~= v then return 'nan' end\n"
    "    if v == 0 then v = 0 end\n"
    "    return string.format('n%.17g', v)\n"
    "  elseif t == 'table' then\n"
    "    local items = {}\n"
    "    for k, x in pairs(v) do items[#items + 1] = canon(k) .. '=' .. canon(x) end\n"
    "    table.sort(items)\n"
    "    return '{' .. table.concat(items, ',') .. '}'\n"
    "  end\n"
    "  return t .. ':' .. tostring(v)\n"
    "end\n"
    "function canon_all(...)\n"
    "  local parts = {}\n"
    "  for i = 1, select('#', ...) do parts[i] = canon((select(i, ...))) end\n"
    "  return table.concat(parts, ';')\n"
    "end\n"
    "function stable(p)\n"
    "  local again = cmsgpack.pack(cmsgpack.unpack(p))\n"
    "  return canon_all(cmsgpack.unpack(p)) == canon_all(cmsgpack.unpack(again))\n"
    "end\n";

// The script each selector runs, over the globals F (format) and D (data). It returns true
// when an invariant fails (a failed Lua call is an error, not a finding).
const char* const kScripts[] = {
    // 0: unpack anything; once packed, the values are a fixed point.
    "local n = select('#', cmsgpack.unpack(D))\n"
    "if n == 0 then return false end\n"
    "return not stable(cmsgpack.pack(cmsgpack.unpack(D)))",
    // 1: unpack_one walks the input.
    "local offset, count = 0, 0\n"
    "while offset ~= -1 and count < 1000 do\n"
    "  local next_offset = cmsgpack.unpack_one(D, offset)\n"
    "  if next_offset ~= -1 and (next_offset <= offset or next_offset > #D) then return true end\n"
    "  offset, count = next_offset, count + 1\n"
    "end\n"
    "return false",
    // 2: unpack_limit with a limit (1 to 4) and an offset from the format's length (a limit
    // of 0 with offset 0 is unpack: no offset is returned).
    "local r = {cmsgpack.unpack_limit(D, 1 + #F % 4, #F % 3)}\n"
    "return r[1] ~= -1 and (r[1] < 0 or r[1] > #D)",
    // 3: struct.unpack of the data with the format, from a position.
    "local r = {struct.unpack(F, D, 1 + #D % 3)}\n"
    "local position = r[#r]\n"
    "return type(position) ~= 'number' or position < 1 or position > #D + 2",
    // 4: struct.pack of numbers with the format, and struct.size.
    "local ok, packed = pcall(struct.pack, F, 1, -2, 3.5, 255, 65536, 0, 7, 8, 9, 10)\n"
    "if not ok then return false end\n"
    "if F:find('[sc]') then return false end\n"
    "local ok2, size = pcall(struct.size, F)\n"
    "return ok2 and size ~= #packed",
    // 5: pack of a table the data describes (nesting, arrays and maps, numbers, strings).
    "local function build(depth, i)\n"
    "  if depth > 20 or i > #D then return i, nil end\n"
    "  local b = D:byte(i)\n"
    "  if b % 5 == 0 then\n"
    "    local t = {}\n"
    "    local n = b % 7\n"
    "    for k = 1, n do\n"
    "      local v\n"
    "      i, v = build(depth + 1, i + 1)\n"
    "      if b % 2 == 0 then t[k] = v else t['k' .. k] = v end\n"
    "    end\n"
    "    return i, t\n"
    "  elseif b % 5 == 1 then return i + 1, (b - 128) * 1e6 + b / 7\n"
    "  elseif b % 5 == 2 then return i + 1, string.rep('x', b)\n"
    "  elseif b % 5 == 3 then return i + 1, b % 2 == 0\n"
    "  else return i + 1, 2 ^ (b % 70) - 1 end\n"
    "end\n"
    "local _, value = build(0, 1)\n"
    "return not stable(cmsgpack.pack(value))",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t script = data[0] % (sizeof(kScripts) / sizeof(kScripts[0]));
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = rest.find('\0');
  const std::string_view format = split == std::string_view::npos ? rest : rest.substr(0, split);
  const std::string_view bytes =
      split == std::string_view::npos ? std::string_view() : rest.substr(split + 1);

  Budget budget;
  lua_State* lua = lua_newstate(Allocate, &budget);
  FUZZ_CHECK(lua != nullptr);
  luaL_openlibs(lua);
  const std::pair<const char*, lua_CFunction> libraries[] = {
      {"struct", ordo::server::OpenLuaStruct}, {"cmsgpack", ordo::server::OpenLuaCmsgpack}};
  for (const auto& [name, open] : libraries) {
    lua_pushcfunction(lua, open);
    lua_call(lua, 0, 1);
    lua_setglobal(lua, name);
  }
  lua_pushlstring(lua, format.data(), format.size());
  lua_setglobal(lua, "F");
  lua_pushlstring(lua, bytes.data(), bytes.size());
  lua_setglobal(lua, "D");
  FUZZ_CHECK(luaL_dostring(lua, kPrelude) == 0);
  FUZZ_CHECK(luaL_loadstring(lua, kScripts[script]) == 0);
  if (lua_pcall(lua, 0, 1, 0) == 0) {
    FUZZ_CHECK(!lua_toboolean(lua, -1));
  } else {
    FUZZ_CHECK(lua_isstring(lua, -1));  // an error carries its message
  }
  lua_close(lua);
  FUZZ_CHECK(budget.used == 0);
  return 0;
}
