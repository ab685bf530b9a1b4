// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT LOAD/EXISTS/FLUSH/KILL/HELP, with Redis
// 7.0's semantics (eval.c, script.c); FUNCTION, FCALL and FCALL_RO answer that ordo has no
// functions yet. The Lua side is script_lua.{h,cc}.
//
// A script runs on the event-loop thread inside one atomic section of the database
// (db_internal.h: BeginAtomic), as EXEC's commands do: its redis.call commands go through
// ExecuteCommand (so every command of the table is scriptable, but those flagged
// kCommandNoScript), their writes are visible to the commands after them, and the log gets
// one record holding the script's effects, never the script. Replay, backups and restores
// therefore never run Lua, and never depend on time or randomness; a script that writes nothing
// logs nothing. The reply depends on the record's LSN (every write raises the caller's
// required_lsn), so it goes out once all of the script is durable. Inside EXEC a script joins
// the transaction's section.
//
// A script that runs past busy-reply-threshold (lua-time-limit) makes the server busy: from the
// Lua hook, the server handles the events ready (ServerState::serve_while_busy); other clients
// get BUSY for all but the commands Redis allows then (kCommandAllowBusy, and of SCRIPT only
// KILL), SCRIPT KILL stops a script that has not written (UNKILLABLE otherwise), and SHUTDOWN
// NOSAVE ends the process without ending the section, so nothing of the script is logged.
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <iostream>

#include "server/commands.h"
#include "server/reply.h"
#include "server/script_lua.h"
#include "util/clock.h"

namespace ordo::server {

// The script running now (ServerState::running_script).
struct RunningScript {
  std::string sha;
  bool read_only = false;
  ClientState* script_client = nullptr;  // the client its commands run as
  int64_t started_ms = 0;
  bool wrote = false;           // a command of it submitted a write: SCRIPT KILL cannot stop it
  bool busy = false;            // past busy-reply-threshold: other clients get BUSY
  bool kill_requested = false;  // SCRIPT KILL
};

namespace {

constexpr std::string_view kBusyText =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
constexpr std::string_view kNoFunctions =
    "ERR ordo does not have functions yet (FUNCTION, FCALL, FCALL_RO): load the code with "
    "SCRIPT LOAD and run it with EVALSHA";

ScriptEngine& Engine(ServerState& server) {
  if (server.scripts == nullptr) server.scripts = std::make_shared<ScriptEngine>();
  return *server.scripts;
}

void Log(ServerState& server, const std::string& line) {
  if (server.log_line) server.log_line(line);
}

// What redis.call reaches: the command table, through ExecuteCommand, as the script's own
// client, with Redis's refusals for scripts first.
class CommandHost : public ScriptHost {
 public:
  CommandHost(CommandContext& caller, RunningScript& run) : caller_(caller), run_(run) {
    client_.id = 0;
    client_.name = "";
    client_.address = "lua";
    client_.authenticated = true;
    client_.db = caller.client->db;  // a SELECT inside the script stays inside it (Redis 7)
    run_.script_client = &client_;
  }

  void Call(const std::vector<std::string>& args, int resp, std::string* reply) override {
    // The script's commands answer in the protocol redis.setresp chose (2 unless it asked).
    client_.protocol = resp == 3 ? Protocol::kResp3 : Protocol::kResp2;
    const std::string refusal = Refusal(args);
    if (!refusal.empty()) return AppendError(reply, refusal);
    CommandContext context;
    context.db = caller_.db;
    context.server = caller_.server;
    context.client = &client_;
    context.args = &args;
    context.reply = reply;
    ExecuteCommand(context);
    caller_.required_lsn = std::max(caller_.required_lsn, context.required_lsn);
    caller_.submitted_bytes += context.submitted_bytes;
    run_.wrote = run_.wrote || context.submitted_bytes > 0;
  }

  bool Interrupted() override {
    ServerState& server = *caller_.server;
    if (!run_.busy) {
      if (WallMillis() - run_.started_ms < server.limits.busy_reply_threshold_ms) return false;
      run_.busy = true;
      server::Log(server, "Slow script detected: still in execution after " +
                              std::to_string(WallMillis() - run_.started_ms) +
                              " milliseconds. You can try killing the script using the SCRIPT KILL "
                              "command. Script SHA1 is: " +
                              run_.sha);
    }
    if (server.serve_while_busy) server.serve_while_busy();
    return run_.kill_requested;
  }

  bool KnowsCommand(std::string_view name) override { return LookupCommand(name) != nullptr; }

  void Log(ScriptLogLevel level, std::string_view message) override {
    // Redis's default verbosity (notice): debug and verbose lines are dropped.
    if (level < ScriptLogLevel::kNotice) return;
    server::Log(*caller_.server, std::string(message));
  }

 private:
  // Redis's scriptCall checks, in its order.
  std::string Refusal(const std::vector<std::string>& args) const {
    const CommandSpec* spec = LookupRequest(args);  // a container's subcommand (OBJECT's)
    if (spec == nullptr) return "ERR Unknown Redis command called from script";
    const int argc = static_cast<int>(args.size());
    if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
      return "ERR Wrong number of args calling Redis command from script";
    }
    if (spec->flags & kCommandNoScript) return "ERR This Redis command is not allowed from script";
    if (run_.read_only && (spec->flags & kCommandWrite)) {
      return "ERR Write commands are not allowed from read-only scripts.";
    }
    return {};
  }

  CommandContext& caller_;
  RunningScript& run_;
  ClientState client_;
};

// EVAL, EVALSHA and their _RO forms: SCRIPT arguments numkeys keys... args...
void RunScript(CommandContext& context, bool by_sha, bool read_only) {
  int64_t numkeys = 0;
  if (!ParseIntegerArgument(context, context.arg(2), &numkeys)) return;
  const int64_t available = static_cast<int64_t>(context.argc()) - 3;
  if (numkeys > available) {
    return ReplyError(context, "ERR Number of keys can't be greater than number of args");
  }
  if (numkeys < 0) return ReplyError(context, "ERR Number of keys can't be negative");
  ServerState& server = *context.server;
  ScriptEngine& engine = Engine(server);
  std::string sha = context.arg(1);
  if (by_sha) {
    if (sha.size() != 40 || !engine.Exists(sha)) {
      return ReplyError(context, "NOSCRIPT No matching script. Please use EVAL.");
    }
  } else {
    std::string error;
    if (!engine.Load(context.arg(1), &sha, &error)) return ReplyError(context, error);
  }
  const auto first_key = context.args->begin() + 3;
  const std::vector<std::string> keys(first_key, first_key + numkeys);
  const std::vector<std::string> argv(first_key + numkeys, context.args->end());

  RunningScript run;
  run.sha = ToLower(sha);
  // Redis's scriptPrepareForRun: a script with a shebang writes only if it did not declare
  // no-writes, and then not from a read-only command; a no-writes script is read-only.
  const ScriptFlags flags = engine.Flags(run.sha);
  if (flags.shebang && !flags.no_writes && read_only) {
    return ReplyError(context, "ERR Can not execute a script with write flag using *_ro command.");
  }
  run.read_only = read_only || flags.no_writes;
  run.started_ms = WallMillis();
  CommandHost host(context, run);
  const bool own_section = !server.in_atomic_section;
  if (own_section) {
    context.db->BeginAtomic();
    server.in_atomic_section = true;
  }
  server.running_script = &run;
  engine.Run(run.sha, keys, argv, context.client->protocol == Protocol::kResp3 ? 3 : 2, host,
             context.reply);
  server.running_script = nullptr;
  if (run.busy)
    Log(server, "Script ended after " + std::to_string(WallMillis() - run.started_ms) +
                    " milliseconds (busy since busy-reply-threshold)");
  if (!own_section) return;
  server.in_atomic_section = false;
  const Result<uint64_t> ended = context.db->EndAtomic();
  if (!ended.ok()) {
    // As EXEC: the database failed while the script ran, and the reply, which waits for the
    // section's LSN, is answered with the failure (Server::FailWaitingIfDatabaseFailed).
    server.database_failed = true;
    server.write_errors += 1;
  }
}

void ReplyHelp(CommandContext& context, const std::vector<std::string_view>& lines) {
  AppendArrayHeader(context.reply, lines.size());
  for (std::string_view line : lines) AppendSimpleString(context.reply, line);
}

// Redis's replies for a container command's subcommands.
void ReplyUnknownScriptSubcommand(CommandContext& context) {
  ReplyError(context,
             "ERR unknown subcommand '" + context.arg(1).substr(0, 128) + "'. Try SCRIPT HELP.");
}

void ReplyScriptSubcommandArity(CommandContext& context) {
  ReplyError(context,
             "ERR wrong number of arguments for 'script|" + ToLower(context.arg(1)) + "' command");
}

void ScriptKill(CommandContext& context) {
  RunningScript* run = context.server->running_script;
  if (run == nullptr) return ReplyError(context, "NOTBUSY No scripts in execution right now.");
  if (run->wrote) {
    return ReplyError(context,
                      "UNKILLABLE Sorry the script already executed write commands against the "
                      "dataset. You can either wait the script termination or kill the server "
                      "in a hard way using the SHUTDOWN NOSAVE command.");
  }
  run->kill_requested = true;
  ReplyOk(context);
}

}  // namespace

void EvalCommand(CommandContext& context) { RunScript(context, false, false); }
void EvalShaCommand(CommandContext& context) { RunScript(context, true, false); }
void EvalRoCommand(CommandContext& context) { RunScript(context, false, true); }
void EvalShaRoCommand(CommandContext& context) { RunScript(context, true, true); }

void ScriptCommand(CommandContext& context) {
  const std::string sub = ToLower(context.arg(1));
  const size_t argc = context.argc();
  if (sub == "help" && argc == 2) {
    return ReplyHelp(
        context,
        {"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "DEBUG (YES|SYNC|NO)",
         "    Set the debug mode for subsequent scripts executed.", "EXISTS <sha1> [<sha1> ...]",
         "    Return information about the existence of the scripts in the script cache.",
         "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
         "    When called without the optional mode argument, the behavior is determined by the",
         "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
         "    * ASYNC: Asynchronously flush the scripts cache.",
         "    * SYNC: Synchronously flush the scripts cache.", "KILL",
         "    Kill the currently executing Lua script.", "LOAD <script>",
         "    Load a script into the scripts cache without executing it.", "HELP",
         "    Prints this help."});
  }
  if (sub == "load") {
    if (argc != 3) return ReplyScriptSubcommandArity(context);
    std::string sha;
    std::string error;
    if (!Engine(*context.server).Load(context.arg(2), &sha, &error)) {
      return ReplyError(context, error);
    }
    return AppendBulk(context.reply, sha);
  }
  if (sub == "exists") {
    if (argc < 3) return ReplyScriptSubcommandArity(context);
    AppendArrayHeader(context.reply, argc - 2);
    for (size_t i = 2; i < argc; ++i) {
      const bool exists =
          context.server->scripts != nullptr && context.server->scripts->Exists(context.arg(i));
      AppendInteger(context.reply, exists ? 1 : 0);
    }
    return;
  }
  if (sub == "flush") {
    if (argc > 3) return ReplyScriptSubcommandArity(context);
    if (argc == 3 && !EqualsIgnoreCase(context.arg(2), "sync") &&
        !EqualsIgnoreCase(context.arg(2), "async")) {
      return ReplyError(context, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    // A new state is quick to make: ASYNC is done at once as well.
    if (context.server->scripts != nullptr) context.server->scripts->Flush();
    return ReplyOk(context);
  }
  if (sub == "kill") {
    if (argc != 2) return ReplyScriptSubcommandArity(context);
    return ScriptKill(context);
  }
  if (sub == "help" || sub == "debug") {
    if (sub == "help") return ReplyScriptSubcommandArity(context);
    // SCRIPT DEBUG starts Redis's Lua debugger, which ordo does not have.
    return ReplyError(context, "ERR ordo does not have the Lua debugger (SCRIPT DEBUG)");
  }
  ReplyUnknownScriptSubcommand(context);
}

void FunctionCommand(CommandContext& context) { ReplyError(context, kNoFunctions); }

std::string ScriptBusyRefusal(const CommandContext& context, const CommandSpec& spec) {
  const RunningScript* run = context.server->running_script;
  if (run == nullptr || !run->busy || context.client == run->script_client) return {};
  const bool shutdown = spec.handler == ShutdownCommand;
  if (shutdown) {
    bool nosave = false;
    for (size_t i = 1; i < context.argc(); ++i)
      nosave |= EqualsIgnoreCase(context.arg(i), "nosave");
    if (nosave) {
      // Redis exits here, without saving; so does ordo, without ending the script's atomic
      // section: nothing of the script is logged, and the next start recovers the log as after
      // a crash (every acknowledged write is in it).
      std::cerr << "SHUTDOWN NOSAVE while a script was running past busy-reply-threshold: "
                   "exiting at once; the script's writes are not logged"
                << std::endl;
      std::_Exit(0);
    }
    return std::string(kBusyText);
  }
  if (spec.handler == ScriptCommand) {
    const bool kill = context.argc() >= 2 && EqualsIgnoreCase(context.arg(1), "kill");
    return kill ? std::string() : std::string(kBusyText);
  }
  if (spec.flags & kCommandAllowBusy) return {};
  return std::string(kBusyText);
}

}  // namespace ordo::server
