// The Lua state, the sandbox, the redis library and Redis 7.0's conversions (see script_lua.h).
#include "server/script_lua.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "server/lua_cmsgpack.h"
#include "server/lua_struct.h"
#include "server/reply.h"
#include "server/resp_parser.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

// Debian's lua-cjson and lua-bitop (static libraries of liblua5.1; their headers lack the
// C linkage the C++ build of Lua needs).
extern "C" int luaopen_cjson(lua_State* lua);
extern "C" int luaopen_bit(lua_State* lua);

namespace ordo::server {
namespace {

constexpr const char* kGlobalsKey = "ordo.globals";  // registry: the real globals table
constexpr const char* kProxiesKey = "ordo.proxies";  // registry: proxy -> real table (weak)
constexpr std::string_view kChunkName = "@user_script";
constexpr std::string_view kRedisVersion = "7.0.0";
constexpr int kRedisVersionNumber = 0x070000;
// A reply deeper than this is refused ("reached lua stack limit"), as Redis's lua_checkstack.
constexpr int kLuaStackSlotsPerLevel = 4;
// The deepest reply a script may return (nested tables); deeper is refused as above.
constexpr int kReplyDepthMax = 1000;

ScriptEngine& EngineOf(lua_State* lua) {
  void* engine = nullptr;
  lua_getallocf(lua, &engine);
  return *static_cast<ScriptEngine*>(engine);
}

// ---- Errors as Redis's scripts see them: a table {err = "CODE message"}.

// Redis's luaPushErrorBuff: "-CODE message" keeps its code, anything else gets "ERR"; trailing
// newlines go.
void PushError(lua_State* lua, std::string_view text) {
  std::string code = "ERR";
  std::string message(text);
  if (!text.empty() && text[0] == '-') {
    const size_t space = text.find(' ');
    if (space == std::string_view::npos) {
      message = std::string(text.substr(1));
    } else {
      code = std::string(text.substr(1, space - 1));
      message = std::string(text.substr(space + 1));
    }
  }
  while (!message.empty() && (message.back() == '\r' || message.back() == '\n')) {
    message.pop_back();
  }
  lua_newtable(lua);
  const std::string full = code + " " + message;
  lua_pushlstring(lua, full.data(), full.size());
  lua_setfield(lua, -2, "err");
}

[[noreturn]] void RaiseError(lua_State* lua, std::string_view text) {
  PushError(lua, text);
  lua_error(lua);
  std::abort();  // lua_error does not return
}

// tostring(value) for the values an error may be.
std::string ToDisplayString(lua_State* lua, int index) {
  switch (lua_type(lua, index)) {
    case LUA_TSTRING:
    case LUA_TNUMBER: {
      lua_pushvalue(lua, index);  // lua_tolstring converts a number in place: convert a copy
      size_t size = 0;
      const char* text = lua_tolstring(lua, -1, &size);
      std::string copy(text, size);
      lua_pop(lua, 1);
      return copy;
    }
    case LUA_TNIL:
      return "nil";
    case LUA_TBOOLEAN:
      return lua_toboolean(lua, index) ? "true" : "false";
    default: {
      char pointer[64];
      std::snprintf(pointer, sizeof(pointer), "%s: %p", luaL_typename(lua, index),
                    lua_topointer(lua, index));
      return pointer;
    }
  }
}

// The message handler of every script run (Redis's __redis__err__handler): a string error
// becomes {err = "ERR <message>"}, and the table gets the script's position: the frame that
// raised the error, or the one above it when that is a C function (error, redis.call).
int ErrorHandler(lua_State* lua) {
  lua_Debug frame{};
  bool found = lua_getstack(lua, 1, &frame) != 0 && lua_getinfo(lua, "nSl", &frame) != 0;
  if (found && std::strcmp(frame.what, "C") == 0) {
    found = lua_getstack(lua, 2, &frame) != 0 && lua_getinfo(lua, "nSl", &frame) != 0;
  }
  if (!lua_istable(lua, 1)) {
    const std::string text = "ERR " + ToDisplayString(lua, 1);
    lua_settop(lua, 0);
    lua_newtable(lua);
    lua_pushlstring(lua, text.data(), text.size());
    lua_setfield(lua, -2, "err");
  }
  lua_settop(lua, 1);
  if (found) {
    lua_pushstring(lua, frame.source);
    lua_setfield(lua, 1, "source");
    lua_pushinteger(lua, frame.currentline);
    lua_setfield(lua, 1, "line");
  }
  return 1;
}

// ---- The sandbox: read-only proxies (see script_lua.h).

// The real table behind `index` when it is a proxy; otherwise the value itself. Pushes it.
void PushReal(lua_State* lua, int index) {
  index = index < 0 ? lua_gettop(lua) + index + 1 : index;
  lua_getfield(lua, LUA_REGISTRYINDEX, kProxiesKey);
  lua_pushvalue(lua, index);
  lua_rawget(lua, -2);
  lua_remove(lua, -2);
  if (lua_isnil(lua, -1)) {
    lua_pop(lua, 1);
    lua_pushvalue(lua, index);
  }
}

bool IsProxy(lua_State* lua, int index) {
  index = index < 0 ? lua_gettop(lua) + index + 1 : index;
  lua_getfield(lua, LUA_REGISTRYINDEX, kProxiesKey);
  lua_pushvalue(lua, index);
  lua_rawget(lua, -2);
  const bool proxy = !lua_isnil(lua, -1);
  lua_pop(lua, 2);
  return proxy;
}

// Raised by the VM's path (an assignment in the script): Redis's text with the position.
int RefuseWrite(lua_State* lua) { return luaL_error(lua, "Attempt to modify a readonly table"); }

// Raised by a C function (rawset, setmetatable): no position, as Redis's.
int RefuseRawWrite(lua_State* lua) {
  lua_pushstring(lua, "Attempt to modify a readonly table");
  return lua_error(lua);
}

// __index of a library proxy: upvalue 1 is the real table.
int ReadThrough(lua_State* lua) {
  lua_pushvalue(lua, 2);
  lua_rawget(lua, lua_upvalueindex(1));
  return 1;
}

// __index of the globals' proxy: a missing global is an error, as in Redis.
int ReadGlobal(lua_State* lua) {
  lua_pushvalue(lua, 2);
  lua_rawget(lua, lua_upvalueindex(1));
  if (!lua_isnil(lua, -1)) return 1;
  const std::string name = ToDisplayString(lua, 2);
  return luaL_error(lua, "Script attempted to access nonexistent global variable '%s'",
                    name.c_str());
}

// Replaces the table at the top of the stack with a read-only proxy of it.
void MakeProxy(lua_State* lua, lua_CFunction reader) {
  const int real = lua_gettop(lua);
  lua_newtable(lua);  // the proxy
  lua_newtable(lua);  // its metatable
  lua_pushvalue(lua, real);
  lua_pushcclosure(lua, reader, 1);
  lua_setfield(lua, -2, "__index");
  lua_pushcfunction(lua, RefuseWrite);
  lua_setfield(lua, -2, "__newindex");
  // getmetatable(proxy) answers a table scripts cannot change either.
  lua_newtable(lua);
  lua_newtable(lua);
  lua_pushvalue(lua, -3);
  lua_pushcclosure(lua, ReadThrough, 1);
  lua_setfield(lua, -2, "__index");
  lua_pushcfunction(lua, RefuseWrite);
  lua_setfield(lua, -2, "__newindex");
  lua_pushboolean(lua, 0);
  lua_setfield(lua, -2, "__metatable");
  lua_setmetatable(lua, -2);
  lua_setfield(lua, -2, "__metatable");
  lua_setmetatable(lua, -2);
  lua_getfield(lua, LUA_REGISTRYINDEX, kProxiesKey);
  lua_pushvalue(lua, -2);
  lua_pushvalue(lua, real);
  lua_rawset(lua, -3);
  lua_pop(lua, 1);
  lua_replace(lua, real);
}

int SandboxNext(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  lua_settop(lua, 2);
  PushReal(lua, 1);
  lua_pushvalue(lua, 2);
  if (lua_next(lua, -2) == 0) {
    lua_pushnil(lua);
    return 1;
  }
  return 2;
}

int SandboxPairs(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  lua_pushcfunction(lua, SandboxNext);
  lua_pushvalue(lua, 1);
  lua_pushnil(lua);
  return 3;
}

int SandboxIpairsStep(lua_State* lua) {
  const int index = luaL_checkint(lua, 2) + 1;
  PushReal(lua, 1);
  lua_pushinteger(lua, index);
  lua_rawgeti(lua, -2, index);
  return lua_isnil(lua, -1) ? 0 : 2;
}

int SandboxIpairs(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  lua_pushcfunction(lua, SandboxIpairsStep);
  lua_pushvalue(lua, 1);
  lua_pushinteger(lua, 0);
  return 3;
}

int SandboxRawGet(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  luaL_checkany(lua, 2);
  PushReal(lua, 1);
  lua_pushvalue(lua, 2);
  lua_rawget(lua, -2);
  return 1;
}

int SandboxRawSet(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  luaL_checkany(lua, 2);
  luaL_checkany(lua, 3);
  if (IsProxy(lua, 1)) return RefuseRawWrite(lua);
  lua_settop(lua, 3);
  lua_rawset(lua, 1);
  return 1;
}

// Upvalue 1: the base library's setmetatable.
int SandboxSetMetatable(lua_State* lua) {
  if (lua_istable(lua, 1) && IsProxy(lua, 1)) return RefuseRawWrite(lua);
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, 1);
  lua_call(lua, lua_gettop(lua) - 1, LUA_MULTRET);
  return lua_gettop(lua);
}

// Redis's pcall: an error raised as a table {err = ...} comes back as its message.
int SandboxPcall(lua_State* lua) {
  luaL_checkany(lua, 1);
  const int arguments = lua_gettop(lua) - 1;
  if (lua_pcall(lua, arguments, LUA_MULTRET, 0) == 0) {
    lua_pushboolean(lua, 1);
    lua_insert(lua, 1);
    return lua_gettop(lua);
  }
  if (lua_istable(lua, -1)) {
    lua_getfield(lua, -1, "err");
    if (lua_isstring(lua, -1)) {
      lua_replace(lua, -2);
    } else {
      lua_pop(lua, 1);
    }
  }
  lua_pushboolean(lua, 0);
  lua_insert(lua, -2);
  return 2;
}

// ---- Replies to Lua values (Redis's redisProtocolToLuaType).

// Reads one "\r\n"-terminated line starting at *position (after the type byte).
std::string_view ReadLine(std::string_view reply, size_t* position) {
  const size_t end = reply.find("\r\n", *position);
  assert(end != std::string_view::npos);
  std::string_view line = reply.substr(*position, end - *position);
  *position = end + 2;
  return line;
}

int64_t ReadCount(std::string_view reply, size_t* position) {
  const std::string line(ReadLine(reply, position));
  return std::strtoll(line.c_str(), nullptr, 10);
}

void PushReply(lua_State* lua, std::string_view reply, size_t* position);

// Pushes `count` replies into a new table, as an array, or as {map = {k = v}} / {set = {k =
// true}} for RESP3's maps and sets.
void PushAggregate(lua_State* lua, std::string_view reply, size_t* position, int64_t count,
                   char type) {
  luaL_checkstack(lua, kLuaStackSlotsPerLevel, "reached lua stack limit");
  lua_newtable(lua);
  if (type == '%' || type == '~') {
    lua_pushstring(lua, type == '%' ? "map" : "set");
    lua_newtable(lua);
    for (int64_t i = 0; i < count; ++i) {
      PushReply(lua, reply, position);
      if (type == '%') {
        PushReply(lua, reply, position);
      } else {
        lua_pushboolean(lua, 1);
      }
      lua_settable(lua, -3);
    }
    lua_settable(lua, -3);
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    PushReply(lua, reply, position);
    lua_rawseti(lua, -2, static_cast<int>(i + 1));
  }
}

void PushReply(lua_State* lua, std::string_view reply, size_t* position) {
  assert(*position < reply.size());
  const char type = reply[(*position)++];
  switch (type) {
    case '+': {  // status: {ok = text}
      const std::string_view text = ReadLine(reply, position);
      lua_newtable(lua);
      lua_pushlstring(lua, text.data(), text.size());
      lua_setfield(lua, -2, "ok");
      return;
    }
    case '-': {
      const std::string_view text = ReadLine(reply, position);
      PushError(lua, "-" + std::string(text));
      return;
    }
    case ':':
      lua_pushnumber(lua, static_cast<lua_Number>(ReadCount(reply, position)));
      return;
    case '$':
    case '=': {  // bulk (null: false), RESP3 verbatim
      const int64_t size = ReadCount(reply, position);
      if (size < 0) {
        lua_pushboolean(lua, 0);
        return;
      }
      const std::string_view bytes = reply.substr(*position, static_cast<size_t>(size));
      *position += static_cast<size_t>(size) + 2;
      if (type == '$') {
        lua_pushlstring(lua, bytes.data(), bytes.size());
        return;
      }
      lua_newtable(lua);
      lua_newtable(lua);
      lua_pushlstring(lua, bytes.data(), std::min<size_t>(3, bytes.size()));
      lua_setfield(lua, -2, "format");
      const std::string_view text = bytes.size() > 4 ? bytes.substr(4) : std::string_view();
      lua_pushlstring(lua, text.data(), text.size());
      lua_setfield(lua, -2, "string");
      lua_setfield(lua, -2, "verbatim_string");
      return;
    }
    case '*':
    case '>':
    case '%':
    case '~': {
      const int64_t count = ReadCount(reply, position);
      if (count < 0) {
        lua_pushboolean(lua, 0);
        return;
      }
      PushAggregate(lua, reply, position, count, type);
      return;
    }
    // RESP3 (redis.setresp(3) against a server that speaks it).
    case '_':
      ReadLine(reply, position);
      lua_pushnil(lua);
      return;
    case '#':
      lua_pushboolean(lua, ReadLine(reply, position) == "t");
      return;
    case ',': {
      const std::string text(ReadLine(reply, position));
      lua_newtable(lua);
      lua_pushnumber(lua, std::strtod(text.c_str(), nullptr));
      lua_setfield(lua, -2, "double");
      return;
    }
    case '(': {
      const std::string_view text = ReadLine(reply, position);
      lua_newtable(lua);
      lua_pushlstring(lua, text.data(), text.size());
      lua_setfield(lua, -2, "big_number");
      return;
    }
    case '|': {  // an attribute: skipped, the reply follows it
      const int64_t count = ReadCount(reply, position);
      for (int64_t i = 0; i < 2 * count; ++i) {
        PushReply(lua, reply, position);
        lua_pop(lua, 1);
      }
      PushReply(lua, reply, position);
      return;
    }
    default:
      assert(false && "a reply the server does not write");
      lua_pushnil(lua);
  }
}

// ---- Lua values to replies (Redis's luaReplyToRedisReply).

// The text of an error or status field: no "\r" or "\n" inside, as Redis writes it.
std::string OneLine(std::string_view text) {
  std::string line(text);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  for (char& c : line) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return line;
}

void AppendDouble(std::string* out, double value, int resp) {
  char text[64];
  if (std::isinf(value)) {
    std::snprintf(text, sizeof(text), "%s", value > 0 ? "inf" : "-inf");
  } else {
    std::snprintf(text, sizeof(text), "%.17g", value);
  }
  if (resp == 3) {
    *out += ",";
    *out += text;
    *out += "\r\n";
  } else {
    AppendBulk(out, text);
  }
}

// What (long long) of a double gives on x86-64 for values out of range (and NaN): the
// conversion is undefined in C++, so it is spelt out.
int64_t TruncateToInteger(double value) {
  if (!(value >= -9223372036854775808.0 && value < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(value);
}

// The string field `name` of the table at the top, if it is one.
bool StringField(lua_State* lua, const char* name, std::string* value) {
  lua_pushstring(lua, name);
  lua_rawget(lua, -2);
  const bool found = lua_type(lua, -1) == LUA_TSTRING;
  if (found) {
    size_t size = 0;
    const char* text = lua_tolstring(lua, -1, &size);
    value->assign(text, size);
  }
  lua_pop(lua, 1);
  return found;
}

void AppendLuaValue(lua_State* lua, int resp, std::string* out, int depth = 0);

// A table: an error, a status, a RESP3 type spelt as Redis's scripts spell it, or an array up
// to its first nil.
void AppendLuaTable(lua_State* lua, int resp, std::string* out, int depth) {
  std::string text;
  if (StringField(lua, "err", &text)) {
    *out += "-" + OneLine(text) + "\r\n";
    return;
  }
  if (StringField(lua, "ok", &text)) {
    *out += "+" + OneLine(text) + "\r\n";
    return;
  }
  lua_pushstring(lua, "double");
  lua_rawget(lua, -2);
  if (lua_type(lua, -1) == LUA_TNUMBER) {
    AppendDouble(out, lua_tonumber(lua, -1), resp);
    lua_pop(lua, 1);
    return;
  }
  lua_pop(lua, 1);
  if (StringField(lua, "big_number", &text)) {
    if (resp == 3) {
      *out += "(" + OneLine(text) + "\r\n";
    } else {
      AppendBulk(out, text);
    }
    return;
  }
  for (const char* kind : {"map", "set"}) {
    lua_pushstring(lua, kind);
    lua_rawget(lua, -2);
    if (lua_type(lua, -1) != LUA_TTABLE) {
      lua_pop(lua, 1);
      continue;
    }
    const bool map = kind[0] == 'm';
    std::string items;
    uint64_t count = 0;
    lua_pushnil(lua);
    while (lua_next(lua, -2) != 0) {
      lua_pushvalue(lua, -2);
      AppendLuaValue(lua, resp, &items, depth + 1);  // the key
      if (map) {
        AppendLuaValue(lua, resp, &items, depth + 1);  // the value
      } else {
        lua_pop(lua, 1);
      }
      count += 1;
    }
    lua_pop(lua, 1);
    if (resp == 3) {
      *out += (map ? "%" : "~") + std::to_string(count) + "\r\n";
    } else {
      AppendArrayHeader(out, map ? 2 * count : count);
    }
    *out += items;
    return;
  }
  std::string items;
  uint64_t count = 0;
  for (int index = 1;; ++index) {
    lua_rawgeti(lua, -1, index);
    if (lua_isnil(lua, -1)) {
      lua_pop(lua, 1);
      break;
    }
    AppendLuaValue(lua, resp, &items, depth + 1);
    count += 1;
  }
  AppendArrayHeader(out, count);
  *out += items;
}

// Appends the value at the top of the stack and pops it.
void AppendLuaValue(lua_State* lua, int resp, std::string* out, int depth) {
  // Two C frames a level: a table holding itself must meet a limit before the thread's stack
  // ends, which under a sanitizer's larger frames comes before Lua's own stack limit.
  if (depth > kReplyDepthMax || !lua_checkstack(lua, kLuaStackSlotsPerLevel)) {
    // Redis's answer for a table nested too deep (a table holding itself).
    AppendError(out, "ERR reached lua stack limit");
    lua_pop(lua, 1);
    return;
  }
  switch (lua_type(lua, -1)) {
    case LUA_TSTRING: {
      size_t size = 0;
      const char* bytes = lua_tolstring(lua, -1, &size);
      AppendBulk(out, std::string_view(bytes, size));
      break;
    }
    case LUA_TBOOLEAN:
      // As Redis 7.0's luaReplyToRedisReply: what a boolean means follows the protocol the
      // script chose (redis.setresp), how it is written the caller's. Under RESP2 false is
      // Redis's nil, true is 1; under RESP3 a boolean (1 or 0 to a RESP2 caller).
      if (EngineOf(lua).Resp() == 3) {
        AppendBool(out, lua_toboolean(lua, -1) != 0,
                   resp == 3 ? Protocol::kResp3 : Protocol::kResp2);
      } else if (lua_toboolean(lua, -1)) {
        AppendInteger(out, 1);
      } else {
        AppendNull(out, resp == 3 ? Protocol::kResp3 : Protocol::kResp2);
      }
      break;
    case LUA_TNUMBER:
      AppendInteger(out, TruncateToInteger(lua_tonumber(lua, -1)));
      break;
    case LUA_TTABLE:
      AppendLuaTable(lua, resp, out, depth);
      break;
    default:
      if (resp == 3) {
        *out += "_\r\n";
      } else {
        AppendNull(out, Protocol::kResp2);
      }
  }
  lua_pop(lua, 1);
}

// ---- The redis library.

// The arguments of redis.call and friends (Redis's luaArgsToRedisArgv): numbers as "%.17g"
// prints them. False with the error pushed when one is neither a string nor a number.
bool ArgumentsOf(lua_State* lua, std::vector<std::string>* args) {
  const int argc = lua_gettop(lua);
  std::string problem;
  if (argc == 0) problem = "Please specify at least one argument for this redis lib call";
  for (int i = 1; i <= argc && problem.empty(); ++i) {
    if (lua_type(lua, i) == LUA_TNUMBER) {
      char text[64];
      std::snprintf(text, sizeof(text), "%.17g", static_cast<double>(lua_tonumber(lua, i)));
      args->emplace_back(text);
    } else if (lua_type(lua, i) == LUA_TSTRING) {
      size_t size = 0;
      const char* bytes = lua_tolstring(lua, i, &size);
      args->emplace_back(bytes, size);
    } else {
      problem = "Lua redis lib command arguments must be strings or integers";
    }
  }
  if (problem.empty()) return true;
  PushError(lua, problem);
  return false;
}

// redis.call (raise: true) and redis.pcall.
int CallCommand(lua_State* lua, bool raise) {
  ScriptEngine& engine = EngineOf(lua);
  std::vector<std::string> args;
  if (!ArgumentsOf(lua, &args)) return raise ? lua_error(lua) : 1;
  std::string reply;
  engine.CallHost(args, &reply);
  size_t position = 0;
  PushReply(lua, reply, &position);
  assert(position == reply.size());
  if (raise && reply[0] == '-') return lua_error(lua);
  return 1;
}

int RedisCall(lua_State* lua) { return CallCommand(lua, true); }
int RedisPcall(lua_State* lua) { return CallCommand(lua, false); }

int RedisAclCheckCmd(lua_State* lua) {
  std::vector<std::string> args;
  if (!ArgumentsOf(lua, &args)) return lua_error(lua);
  if (!EngineOf(lua).HostKnowsCommand(args[0])) {
    RaiseError(lua, "Invalid command passed to redis.acl_check_cmd()");
  }
  lua_pushboolean(lua, 1);
  return 1;
}

int RedisErrorReply(lua_State* lua) {
  if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
    PushError(lua, "wrong number or type of arguments");
    return 1;
  }
  size_t size = 0;
  const char* text = lua_tolstring(lua, -1, &size);
  const std::string error(text, size);
  PushError(lua, error.empty() || error[0] != '-' ? "-" + error : error);
  return 1;
}

int RedisStatusReply(lua_State* lua) {
  if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
    PushError(lua, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(lua);
  lua_pushvalue(lua, 1);
  lua_setfield(lua, -2, "ok");
  return 1;
}

int RedisSha1Hex(lua_State* lua) {
  if (lua_gettop(lua) != 1) RaiseError(lua, "wrong number of arguments");
  size_t size = 0;
  const char* bytes = lua_tolstring(lua, 1, &size);
  const std::string sha =
      ScriptEngine::Sha1Hex(bytes == nullptr ? std::string_view() : std::string_view(bytes, size));
  lua_pushlstring(lua, sha.data(), sha.size());
  return 1;
}

int RedisLog(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc < 2) RaiseError(lua, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(lua, 1)) RaiseError(lua, "First argument must be a number (log level).");
  const lua_Number level = lua_tonumber(lua, 1);
  if (level < 0 || level > 3) RaiseError(lua, "Invalid debug level.");
  std::string message;
  for (int i = 2; i <= argc; ++i) {
    size_t size = 0;
    const char* text = lua_tolstring(lua, i, &size);
    if (text == nullptr) continue;
    if (i != 2) message += " ";
    message.append(text, size);
  }
  EngineOf(lua).LogHost(static_cast<ScriptLogLevel>(static_cast<int>(level)), message);
  return 0;
}

int RedisSetResp(lua_State* lua) {
  if (lua_gettop(lua) != 1) RaiseError(lua, "redis.setresp() requires one argument.");
  const int resp = static_cast<int>(lua_tonumber(lua, 1));
  if (resp != 2 && resp != 3) RaiseError(lua, "RESP version must be 2 or 3.");
  EngineOf(lua).SetResp(resp);
  return 0;
}

// Effects are what ordo logs, always (Redis 7.0's only mode): these are kept for the scripts
// that call them.
int RedisSetRepl(lua_State* lua) {
  if (lua_gettop(lua) != 1) RaiseError(lua, "redis.set_repl() requires one argument.");
  const int flags = static_cast<int>(lua_tonumber(lua, 1));
  if (flags < 0 || flags > 3) {
    RaiseError(lua,
               "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  return 0;
}

int RedisReplicateCommands(lua_State* lua) {
  lua_pushboolean(lua, 1);
  return 1;
}

int RedisBreakpoint(lua_State* lua) {
  lua_pushboolean(lua, 0);
  return 1;
}

int RedisDebug(lua_State*) { return 0; }

void SetNumberField(lua_State* lua, const char* name, lua_Number value) {
  lua_pushnumber(lua, value);
  lua_setfield(lua, -2, name);
}

void OpenRedisLibrary(lua_State* lua) {
  lua_newtable(lua);
  const std::pair<const char*, lua_CFunction> functions[] = {
      {"call", RedisCall},
      {"pcall", RedisPcall},
      {"error_reply", RedisErrorReply},
      {"status_reply", RedisStatusReply},
      {"sha1hex", RedisSha1Hex},
      {"log", RedisLog},
      {"setresp", RedisSetResp},
      {"set_repl", RedisSetRepl},
      {"replicate_commands", RedisReplicateCommands},
      {"breakpoint", RedisBreakpoint},
      {"debug", RedisDebug},
      {"acl_check_cmd", RedisAclCheckCmd},
  };
  for (const auto& [name, function] : functions) {
    lua_pushcfunction(lua, function);
    lua_setfield(lua, -2, name);
  }
  SetNumberField(lua, "LOG_DEBUG", 0);
  SetNumberField(lua, "LOG_VERBOSE", 1);
  SetNumberField(lua, "LOG_NOTICE", 2);
  SetNumberField(lua, "LOG_WARNING", 3);
  SetNumberField(lua, "REPL_NONE", 0);
  SetNumberField(lua, "REPL_AOF", 1);
  SetNumberField(lua, "REPL_SLAVE", 2);
  SetNumberField(lua, "REPL_REPLICA", 2);
  SetNumberField(lua, "REPL_ALL", 3);
  lua_pushlstring(lua, kRedisVersion.data(), kRedisVersion.size());
  lua_setfield(lua, -2, "REDIS_VERSION");
  SetNumberField(lua, "REDIS_VERSION_NUM", kRedisVersionNumber);
  lua_setglobal(lua, "redis");
}

// The count hook: lets the host serve other clients, and stops a killed script. Once killed,
// the hook runs on every line, so a pcall in the script cannot swallow the kill for long.
void Hook(lua_State* lua, lua_Debug*) {
  if (!EngineOf(lua).HostInterrupted()) return;
  lua_sethook(lua, Hook, LUA_MASKLINE, 0);
  RaiseError(lua, "Script killed by user with SCRIPT KILL...");
}

// Redis 7.0's evalExtractShebangFlags: a first line "#!lua [flags=a,b,...]" (split as
// sdssplitargs splits) declares the script's flags; *shebang_bytes is the line's length, its
// line feed excluded.
bool ParseShebang(std::string_view body, ScriptFlags* flags, size_t* shebang_bytes,
                  std::string* error) {
  if (body.substr(0, 2) != "#!") return true;
  const size_t end = body.find('\n');
  if (end == std::string_view::npos) {
    *error = "ERR Invalid script shebang";
    return false;
  }
  std::vector<std::string> parts;
  if (!SplitInlineArguments(body.substr(0, end), &parts) || parts.empty()) {
    *error = "ERR Invalid engine in script shebang";
    return false;
  }
  if (parts[0] != "#!lua") {
    *error = "ERR Unexpected engine in script shebang: " + parts[0];
    return false;
  }
  flags->shebang = true;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].compare(0, 6, "flags=") != 0) {
      *error = "ERR Unknown lua shebang option: " + parts[i];
      return false;
    }
    const std::string list = parts[i].substr(6);
    size_t start = 0;
    while (!list.empty() && start <= list.size()) {  // sdssplitlen: "" has no parts
      const size_t comma = std::min(list.find(',', start), list.size());
      const std::string flag = list.substr(start, comma - start);
      if (flag == "no-writes") {
        flags->no_writes = true;
      } else if (flag != "allow-oom" && flag != "allow-stale" && flag != "no-cluster" &&
                 flag != "allow-cross-slot-keys") {
        *error = "ERR Unexpected flag in script shebang: " + flag;
        return false;
      }
      start = comma + 1;
    }
  }
  *shebang_bytes = end;
  return true;
}

}  // namespace

// ---- ScriptEngine.

ScriptEngine::ScriptEngine(uint64_t memory_bytes_max) : memory_bytes_max_(memory_bytes_max) {
  Open();
}

ScriptEngine::~ScriptEngine() { Close(); }

std::string ScriptEngine::Sha1Hex(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const int done = EVP_Digest(body.data(), body.size(), digest, &size, EVP_sha1(), nullptr);
  assert(done == 1 && size == 20);
  (void)done;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

void* ScriptEngine::Allocate(void* self, void* block, size_t old_size, size_t new_size) {
  auto* engine = static_cast<ScriptEngine*>(self);
  if (new_size == 0) {
    std::free(block);
    engine->memory_bytes_ -= old_size;
    return nullptr;
  }
  // Only growth is refused: Lua assumes a block can always shrink.
  if (new_size > old_size &&
      engine->memory_bytes_ - old_size + new_size > engine->memory_bytes_max_) {
    return nullptr;
  }
  void* moved = std::realloc(block, new_size);
  if (moved == nullptr) return nullptr;
  engine->memory_bytes_ = engine->memory_bytes_ - old_size + new_size;
  return moved;
}

void ScriptEngine::Open() {
  assert(lua_ == nullptr);
  lua_ = lua_newstate(Allocate, this);
  assert(lua_ != nullptr);
  lua_State* lua = lua_;
  const std::pair<const char*, lua_CFunction> libraries[] = {
      {"", luaopen_base},
      {LUA_TABLIBNAME, luaopen_table},
      {LUA_STRLIBNAME, luaopen_string},
      {LUA_MATHLIBNAME, luaopen_math},
      {"cjson", luaopen_cjson},
      {"bit", luaopen_bit},
      {"struct", OpenLuaStruct},      // written by hand: lua_struct.h
      {"cmsgpack", OpenLuaCmsgpack},  // written by hand: lua_cmsgpack.h
  };
  for (const auto& [name, open] : libraries) {
    lua_pushcfunction(lua, open);
    lua_pushstring(lua, name);
    lua_call(lua, 1, 1);
    if (name[0] != '\0') lua_setglobal(lua, name);  // cjson returns its table unset
    lua_settop(lua, 0);
  }
  lua_getglobal(lua, LUA_MATHLIBNAME);
  InstallScriptRandom(lua, &random_);
  lua_pop(lua, 1);
  OpenRedisLibrary(lua);
  lua_pushcfunction(lua, ErrorHandler);
  lua_setglobal(lua, "__redis__err__handler");
  // What Redis 7.0 leaves out of the base library.
  for (const char* name :
       {"print", "dofile", "loadfile", "setfenv", "getfenv", "newproxy", "module", "require"}) {
    lua_pushnil(lua);
    lua_setglobal(lua, name);
  }
  // The sandbox's own versions of the functions that look inside tables.
  lua_getglobal(lua, "setmetatable");
  lua_pushcclosure(lua, SandboxSetMetatable, 1);
  lua_setglobal(lua, "setmetatable");
  const std::pair<const char*, lua_CFunction> replaced[] = {
      {"next", SandboxNext},     {"pairs", SandboxPairs},   {"ipairs", SandboxIpairs},
      {"rawget", SandboxRawGet}, {"rawset", SandboxRawSet}, {"pcall", SandboxPcall},
  };
  for (const auto& [name, function] : replaced) {
    lua_pushcfunction(lua, function);
    lua_setglobal(lua, name);
  }
  // Every library table, then the globals, become read-only proxies.
  lua_newtable(lua);
  lua_newtable(lua);
  lua_pushstring(lua, "k");
  lua_setfield(lua, -2, "__mode");
  lua_setmetatable(lua, -2);
  lua_setfield(lua, LUA_REGISTRYINDEX, kProxiesKey);
  for (const char* name :
       {"string", "table", "math", "coroutine", "cjson", "bit", "struct", "cmsgpack", "redis"}) {
    lua_getglobal(lua, name);
    MakeProxy(lua, ReadThrough);
    lua_setglobal(lua, name);
  }
  // The string metatable reads the proxy, so "x":upper() and string.upper are one function.
  lua_pushstring(lua, "");
  lua_getmetatable(lua, -1);
  lua_getglobal(lua, "string");
  lua_setfield(lua, -2, "__index");
  lua_settop(lua, 0);
  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  lua_pushvalue(lua, -1);
  lua_setfield(lua, LUA_REGISTRYINDEX, kGlobalsKey);
  MakeProxy(lua, ReadGlobal);
  lua_getfield(lua, LUA_REGISTRYINDEX, kGlobalsKey);
  lua_pushvalue(lua, -2);
  lua_setfield(lua, -2, "_G");
  lua_pop(lua, 1);
  // From here on every function's environment, loadstring's chunks included, is the proxy.
  lua_replace(lua, LUA_GLOBALSINDEX);
  lua_settop(lua, 0);
}

void ScriptEngine::Close() {
  if (lua_ != nullptr) lua_close(lua_);
  lua_ = nullptr;
  scripts_.clear();
  assert(memory_bytes_ == 0);
}

bool ScriptEngine::Load(std::string_view body, std::string* sha, std::string* error) {
  *sha = Sha1Hex(body);
  if (scripts_.count(*sha) != 0) return true;
  ScriptFlags flags;
  size_t shebang_bytes = 0;
  if (!ParseShebang(body, &flags, &shebang_bytes, error)) return false;
  lua_State* lua = lua_;
  const std::string chunk_name(kChunkName);
  const std::string_view code = body.substr(shebang_bytes);
  if (luaL_loadbuffer(lua, code.data(), code.size(), chunk_name.c_str()) != 0) {
    *error = "ERR Error compiling script (new function): " + ToDisplayString(lua, -1);
    lua_pop(lua, 1);
    return false;
  }
  lua_setfield(lua, LUA_REGISTRYINDEX, ("f_" + *sha).c_str());
  scripts_.emplace(*sha, flags);
  return true;
}

ScriptFlags ScriptEngine::Flags(std::string_view sha) const {
  const auto found = scripts_.find(std::string(sha));
  assert(found != scripts_.end());
  return found->second;
}

bool ScriptEngine::Exists(std::string_view sha) const {
  std::string lower(sha);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scripts_.count(lower) != 0;
}

void ScriptEngine::Flush() {
  assert(host_ == nullptr);
  Close();
  Open();
}

void ScriptEngine::CallHost(const std::vector<std::string>& args, std::string* reply) {
  assert(host_ != nullptr);
  host_->Call(args, resp_, reply);
}

bool ScriptEngine::HostKnowsCommand(std::string_view name) {
  return host_ != nullptr && host_->KnowsCommand(name);
}

bool ScriptEngine::HostInterrupted() { return host_ != nullptr && host_->Interrupted(); }

void ScriptEngine::LogHost(ScriptLogLevel level, std::string_view message) {
  if (host_ != nullptr) host_->Log(level, message);
}

void ScriptEngine::Run(std::string_view sha, const std::vector<std::string>& keys,
                       const std::vector<std::string>& argv, int caller_resp, ScriptHost& host,
                       std::string* reply) {
  assert(host_ == nullptr);
  std::string lower(sha);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  assert(scripts_.count(lower) != 0);
  lua_State* lua = lua_;
  host_ = &host;
  resp_ = 2;
  lua_pushcfunction(lua, ErrorHandler);
  const int handler = lua_gettop(lua);
  int status = 0;
  {
    // KEYS and ARGV, in the real globals table (the proxy refuses writes).
    lua_getfield(lua, LUA_REGISTRYINDEX, kGlobalsKey);
    for (const auto& [name, values] : {std::pair{"KEYS", &keys}, std::pair{"ARGV", &argv}}) {
      lua_createtable(lua, static_cast<int>(values->size()), 0);
      for (size_t i = 0; i < values->size(); ++i) {
        lua_pushlstring(lua, (*values)[i].data(), (*values)[i].size());
        lua_rawseti(lua, -2, static_cast<int>(i + 1));
      }
      lua_setfield(lua, -2, name);
    }
    lua_pop(lua, 1);
    lua_getfield(lua, LUA_REGISTRYINDEX, ("f_" + lower).c_str());
    lua_sethook(lua, Hook, LUA_MASKCOUNT, kScriptHookInstructions);
    status = lua_pcall(lua, 0, 1, handler);
    lua_sethook(lua, nullptr, 0, 0);
  }
  if (status == 0) {
    AppendLuaValue(lua, caller_resp, reply);
  } else if (lua_istable(lua, -1)) {
    // Redis's luaCallFunction: the message, then where the script failed.
    std::string message = "ERR unknown error";
    std::string source;
    StringField(lua, "err", &message);
    const bool has_source = StringField(lua, "source", &source);
    lua_getfield(lua, -1, "line");
    const bool has_line = lua_isnumber(lua, -1) != 0;
    const int64_t line = static_cast<int64_t>(lua_tonumber(lua, -1));
    lua_pop(lua, 1);
    if (has_source && has_line) {
      message += " script: " + lower + ", on " + source + ":" + std::to_string(line) + ".";
    }
    *reply += "-" + OneLine(message) + "\r\n";
  } else {
    // Not through the handler: out of memory, or an error inside the handler.
    AppendError(reply, "ERR Error running script " + lower + ", " +
                           ToDisplayString(lua, -1).substr(0, 100));
  }
  lua_settop(lua, 0);
  // KEYS and ARGV go; what the script left is collected a step at a time, or all at once when
  // it reached the memory limit.
  lua_getfield(lua, LUA_REGISTRYINDEX, kGlobalsKey);
  lua_pushnil(lua);
  lua_setfield(lua, -2, "KEYS");
  lua_pushnil(lua);
  lua_setfield(lua, -2, "ARGV");
  lua_settop(lua, 0);
  lua_gc(lua, status == LUA_ERRMEM ? LUA_GCCOLLECT : LUA_GCSTEP, 0);
  host_ = nullptr;
  resp_ = 2;
}

}  // namespace ordo::server
