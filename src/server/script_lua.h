// The Lua side of EVAL (Redis 7.0's script_lua.c and eval.c): one Lua 5.1 state (Debian's
// liblua5.1, its C++ build, so a Lua error unwinds C++ frames and runs their destructors) with
// the libraries Redis loads (base, table, string, math with Redis's random numbers, Debian's
// cjson and bit, and struct and cmsgpack, which Debian does not package for Lua 5.1 and
// lua_struct.h and lua_cmsgpack.h write by hand), the `redis` library, the sandbox, the script
// cache keyed by SHA1, and Redis's conversions between replies and Lua values.
//
// The engine knows nothing of the database or the command table: a script's redis.call goes to
// a ScriptHost (commands_scripting.cc runs it through ExecuteCommand), which answers with the
// command's reply bytes; the engine turns them into Lua values. That keeps this file testable
// alone (script_lua_test.cc) and makes every command of the table scriptable with no more work.
//
// The sandbox, as Redis 7.0.15 has it: scripts cannot create globals ("Attempt to modify a
// readonly table"), read a missing one ("Script attempted to access nonexistent global variable
// 'x'"), or change the libraries (their tables are read-only); there is no os, io, print,
// require, dofile, loadfile, setfenv, getfenv or debug. Lua 5.1 has no read-only tables, so each
// library table (and the globals) is an empty proxy whose metatable reads through to the real
// table and refuses writes; pairs, next, ipairs, rawget, rawset and setmetatable see through
// the proxies (or refuse, for rawset and setmetatable on them), so scripts observe what Redis's
// patched Lua shows. The length operator on a library table (#string) answers 0, as in Redis.
//
// Memory: the state's allocator refuses to go past a limit (kScriptMemoryBytesMax by default);
// a script that reaches it fails with "not enough memory" and what it held is collected.
//
// Not thread-safe: one engine belongs to the event-loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/script_random.h"

struct lua_State;

namespace ordo::server {

// What the Lua state may take (Lua's own allocations: strings, tables, closures).
inline constexpr uint64_t kScriptMemoryBytesMax = 1024ull * 1024 * 1024;
// Lua instructions between two calls of ScriptHost::Interrupted (Redis's hook period).
inline constexpr int kScriptHookInstructions = 100000;

// What a script's shebang line declares (Redis 7.0's "#!lua flags=..."; eval.c's
// evalExtractShebangFlags). A script without one runs in Redis's compatibility mode: it may
// write unless run by EVAL_RO / EVALSHA_RO.
struct ScriptFlags {
  bool shebang = false;    // the body starts with "#!lua": writes only if it says so
  bool no_writes = false;  // flags=no-writes: read-only, so EVAL_RO may run it
  // allow-oom, allow-stale, no-cluster and allow-cross-slot-keys are accepted and change
  // nothing: ordo does not evict, has no replicas and no cluster.
};

// Redis's log levels (redis.LOG_*).
enum class ScriptLogLevel { kDebug = 0, kVerbose = 1, kNotice = 2, kWarning = 3 };

// The server side of a running script.
class ScriptHost {
 public:
  virtual ~ScriptHost() = default;
  // Runs one command for redis.call / redis.pcall (`args` is not empty, each argument the
  // script's string or number) and appends exactly one RESP reply to *reply, an error reply
  // when the command is refused ("-ERR Unknown Redis command called from script"). `resp` is
  // the protocol the script asked for with redis.setresp (2 or 3).
  virtual void Call(const std::vector<std::string>& args, int resp, std::string* reply) = 0;
  // Called every kScriptHookInstructions Lua instructions: the host may serve other clients
  // meanwhile. True stops the script with "ERR Script killed by user with SCRIPT KILL...".
  virtual bool Interrupted() = 0;
  // Whether `name` is a command (redis.acl_check_cmd; ordo has no ACLs, so every known
  // command is permitted).
  virtual bool KnowsCommand(std::string_view name) = 0;
  // redis.log, at or above the server's verbosity.
  virtual void Log(ScriptLogLevel level, std::string_view message) = 0;
};

class ScriptEngine {
 public:
  explicit ScriptEngine(uint64_t memory_bytes_max = kScriptMemoryBytesMax);
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // The lower-case hex SHA1 of `body` (redis.sha1hex, SCRIPT LOAD's reply).
  static std::string Sha1Hex(std::string_view body);

  // Compiles `body` and keeps it under its SHA1 (a body already kept is not compiled again),
  // with the flags of its shebang line, which is not compiled (its line feed is, so line
  // numbers stay the user's). True and *sha set; or false and *error is the reply's text,
  // without the "-" ("ERR Error compiling script (new function): user_script:1: ...",
  // "ERR Unexpected engine in script shebang: #!py").
  bool Load(std::string_view body, std::string* sha, std::string* error);
  // The flags of the script kept under `sha` (which must exist; lower case).
  ScriptFlags Flags(std::string_view sha) const;
  // Whether a script is kept under `sha` (any case, as Redis).
  bool Exists(std::string_view sha) const;
  // Forgets every script and starts a new Lua state (SCRIPT FLUSH). Not while one runs.
  void Flush();

  // Runs the script kept under `sha` (which must exist) with KEYS and ARGV, appending its
  // reply (RESP2 or RESP3 as `caller_resp` says) or its error to *reply.
  void Run(std::string_view sha, const std::vector<std::string>& keys,
           const std::vector<std::string>& argv, int caller_resp, ScriptHost& host,
           std::string* reply);

  // Bytes the Lua state holds now (INFO's used_memory_lua).
  uint64_t MemoryBytes() const { return memory_bytes_; }
  size_t ScriptCount() const { return scripts_.size(); }

  // For the redis library's C functions (script_lua.cc), while Run runs.
  void CallHost(const std::vector<std::string>& args, std::string* reply);
  bool HostInterrupted();
  bool HostKnowsCommand(std::string_view name);
  void LogHost(ScriptLogLevel level, std::string_view message);
  void SetResp(int resp) { resp_ = resp; }
  int Resp() const { return resp_; }

 private:
  static void* Allocate(void* self, void* block, size_t old_size, size_t new_size);
  void Open();
  void Close();

  // While Run runs: the host, the protocol redis.setresp chose, the script's SHA1.
  ScriptHost* host_ = nullptr;
  int resp_ = 2;
  std::string running_sha_;

  lua_State* lua_ = nullptr;
  uint64_t memory_bytes_ = 0;
  const uint64_t memory_bytes_max_;
  std::unordered_map<std::string, ScriptFlags> scripts_;  // by the SHA1s compiled into the state
  ScriptRandom random_;  // math.random's sequence: the server's, kept across SCRIPT FLUSH
};

}  // namespace ordo::server
