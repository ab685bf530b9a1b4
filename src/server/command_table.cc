// The command table and the helpers every handler shares.
#include "server/command_table.h"

#include <algorithm>
#include <cctype>

#include "log/write_batch_internal.h"
#include "server/commands.h"
#include "server/reply.h"
#include "server/resp_parser.h"

namespace ordo::server {

namespace {

constexpr uint32_t kRead = kCommandReadOnly;
constexpr uint32_t kWrite = kCommandWrite;
constexpr uint32_t kFast = kCommandFast;
constexpr uint32_t kAdmin = kCommandAdmin;
constexpr uint32_t kNoAuth = kCommandNoAuth;
constexpr uint32_t kNoMulti = kCommandNoMulti;
constexpr uint32_t kTransaction = kCommandTransaction;
constexpr uint32_t kPubSub = kCommandPubSub;
constexpr uint32_t kNoScript = kCommandNoScript;
constexpr uint32_t kAllowBusy = kCommandAllowBusy;

// OBJECT's subcommands, as Redis 7.0's (COMMAND INFO object).
const std::vector<CommandSpec>& ObjectSubcommands() {
  static const std::vector<CommandSpec> table = {
      {"encoding", 3, kRead, 2, 2, 1, ObjectCommand},
      {"freq", 3, kRead, 2, 2, 1, ObjectCommand},
      {"help", 2, 0, 0, 0, 0, ObjectCommand},
      {"idletime", 3, kRead, 2, 2, 1, ObjectCommand},
      {"refcount", 3, kRead, 2, 2, 1, ObjectCommand},
  };
  return table;
}

// Arity and key positions as Redis 7.0 reports them (COMMAND INFO), so clients that read the
// table (cluster clients, redis-cli hints) see the familiar values.
const std::vector<CommandSpec>& Table() {
  static const std::vector<CommandSpec> table = {
      // Strings (commands_string.cc).
      {"get", 2, kRead | kFast, 1, 1, 1, GetCommand},
      {"set", -3, kWrite, 1, 1, 1, SetCommand},
      {"setnx", 3, kWrite | kFast, 1, 1, 1, SetNxCommand},
      {"setex", 4, kWrite, 1, 1, 1, SetExCommand},
      {"psetex", 4, kWrite, 1, 1, 1, PSetExCommand},
      {"getset", 3, kWrite | kFast, 1, 1, 1, GetSetCommand},
      {"getdel", 2, kWrite | kFast, 1, 1, 1, GetDelCommand},
      {"getex", -2, kWrite | kFast, 1, 1, 1, GetExCommand},
      {"mget", -2, kRead | kFast, 1, -1, 1, MGetCommand},
      {"mset", -3, kWrite, 1, -1, 2, MSetCommand},
      {"msetnx", -3, kWrite, 1, -1, 2, MSetNxCommand},
      {"append", 3, kWrite | kFast, 1, 1, 1, AppendCommand},
      {"strlen", 2, kRead | kFast, 1, 1, 1, StrLenCommand},
      {"getrange", 4, kRead, 1, 1, 1, GetRangeCommand},
      {"substr", 4, kRead, 1, 1, 1, GetRangeCommand},
      {"setrange", 4, kWrite, 1, 1, 1, SetRangeCommand},
      {"incr", 2, kWrite | kFast, 1, 1, 1, IncrCommand},
      {"decr", 2, kWrite | kFast, 1, 1, 1, DecrCommand},
      {"incrby", 3, kWrite | kFast, 1, 1, 1, IncrByCommand},
      {"decrby", 3, kWrite | kFast, 1, 1, 1, DecrByCommand},
      {"incrbyfloat", 3, kWrite | kFast, 1, 1, 1, IncrByFloatCommand},
      // Keyspace (commands_keyspace.cc).
      {"del", -2, kWrite, 1, -1, 1, DelCommand},
      {"unlink", -2, kWrite | kFast, 1, -1, 1, DelCommand},
      {"exists", -2, kRead | kFast, 1, -1, 1, ExistsCommand},
      {"type", 2, kRead | kFast, 1, 1, 1, TypeCommand},
      {"keys", 2, kRead, 0, 0, 0, KeysCommand},
      {"scan", -2, kRead, 0, 0, 0, ScanCommand},
      {"dbsize", 1, kRead | kFast, 0, 0, 0, DbSizeCommand},
      {"flushdb", -1, kWrite, 0, 0, 0, FlushCommand},
      {"flushall", -1, kWrite, 0, 0, 0, FlushCommand},
      {"move", 3, kWrite | kFast, 1, 1, 1, MoveCommand},
      {"swapdb", 3, kWrite | kFast, 0, 0, 0, SwapDbCommand},
      {"expire", -3, kWrite | kFast, 1, 1, 1, ExpireCommand},
      {"pexpire", -3, kWrite | kFast, 1, 1, 1, PExpireCommand},
      {"expireat", -3, kWrite | kFast, 1, 1, 1, ExpireAtCommand},
      {"pexpireat", -3, kWrite | kFast, 1, 1, 1, PExpireAtCommand},
      {"ttl", 2, kRead | kFast, 1, 1, 1, TtlCommand},
      {"pttl", 2, kRead | kFast, 1, 1, 1, PTtlCommand},
      {"persist", 2, kWrite | kFast, 1, 1, 1, PersistCommand},
      {"expiretime", 2, kRead | kFast, 1, 1, 1, ExpireTimeCommand},
      {"pexpiretime", 2, kRead | kFast, 1, 1, 1, PExpireTimeCommand},
      {"rename", 3, kWrite, 1, 2, 1, RenameCommand},
      {"renamenx", 3, kWrite | kFast, 1, 2, 1, RenameNxCommand},
      {"copy", -3, kWrite, 1, 2, 1, CopyCommand},
      // TOUCH counts the keys that exist, as EXISTS: ordo keeps no access time to update.
      {"touch", -2, kRead | kFast, 1, -1, 1, ExistsCommand},
      {"randomkey", 1, kRead, 0, 0, 0, RandomKeyCommand},
      // A container: its subcommands are checked as Redis checks them (ObjectSubcommands).
      {"object", -2, 0, 0, 0, 0, ObjectCommand, &ObjectSubcommands()},
      // Connection and server (commands_server.cc).
      {"ping", -1, kFast | kPubSub, 0, 0, 0, PingCommand},
      {"echo", 2, kFast, 0, 0, 0, EchoCommand},
      {"quit", -1, kFast | kNoAuth | kTransaction | kPubSub | kNoScript | kAllowBusy, 0, 0, 0,
       QuitCommand},
      {"reset", 1, kFast | kNoAuth | kTransaction | kPubSub | kNoScript | kAllowBusy, 0, 0, 0,
       ResetCommand},
      {"select", 2, kFast, 0, 0, 0, SelectCommand},
      {"info", -1, 0, 0, 0, 0, InfoCommand},
      {"config", -2, kAdmin | kNoScript, 0, 0, 0, ConfigCommand},
      {"command", -1, 0, 0, 0, 0, CommandCommand},
      {"client", -2, kNoScript, 0, 0, 0, ClientCommand},
      {"hello", -1, kFast | kNoAuth | kNoScript | kAllowBusy, 0, 0, 0, HelloCommand},
      {"auth", -2, kFast | kNoAuth | kNoScript | kAllowBusy, 0, 0, 0, AuthCommand},
      {"shutdown", -1, kAdmin | kNoMulti | kNoScript | kAllowBusy, 0, 0, 0, ShutdownCommand},
      {"memory", -2, 0, 2, 2, 1, MemoryCommand},
      {"debug", -2, kAdmin | kNoScript, 0, 0, 0, DebugCommand},
      // Persistence (commands_persistence.cc).
      {"save", 1, kAdmin | kNoMulti | kNoScript, 0, 0, 0, SaveCommand},
      {"bgsave", -1, kAdmin | kNoScript, 0, 0, 0, BgSaveCommand},
      {"lastsave", 1, kFast, 0, 0, 0, LastSaveCommand},
      {"ordo.restorepoint", 2, kWrite | kNoMulti | kNoScript, 0, 0, 0, RestorePointCommand},
      // Pub/sub (commands_pubsub.cc).
      {"subscribe", -2, kPubSub | kNoScript, 0, 0, 0, SubscribeCommand},
      {"unsubscribe", -1, kPubSub | kNoScript, 0, 0, 0, UnsubscribeCommand},
      {"psubscribe", -2, kPubSub | kNoScript, 0, 0, 0, PSubscribeCommand},
      {"punsubscribe", -1, kPubSub | kNoScript, 0, 0, 0, PUnsubscribeCommand},
      {"publish", 3, kFast, 0, 0, 0, PublishCommand},
      {"pubsub", -2, 0, 0, 0, 0, PubSubCommand},
      // Transactions (commands_transaction.cc).
      {"multi", 1, kFast | kTransaction | kNoScript | kAllowBusy, 0, 0, 0, MultiCommand},
      {"exec", 1, kTransaction | kNoScript, 0, 0, 0, ExecCommand},
      {"discard", 1, kFast | kTransaction | kNoScript | kAllowBusy, 0, 0, 0, DiscardCommand},
      {"watch", -2, kFast | kTransaction | kNoScript | kAllowBusy, 1, -1, 1, WatchCommand},
      {"unwatch", 1, kFast | kNoScript | kAllowBusy, 0, 0, 0, UnwatchCommand},
      // Scripting (commands_scripting.cc). SCRIPT is allowed while busy for SCRIPT KILL only.
      {"eval", -3, kNoScript, 0, 0, 0, EvalCommand},
      {"evalsha", -3, kNoScript, 0, 0, 0, EvalShaCommand},
      {"eval_ro", -3, kRead | kNoScript, 0, 0, 0, EvalRoCommand},
      {"evalsha_ro", -3, kRead | kNoScript, 0, 0, 0, EvalShaRoCommand},
      {"script", -2, kNoScript | kAllowBusy, 0, 0, 0, ScriptCommand},
      {"function", -2, kNoScript, 0, 0, 0, FunctionCommand},
      {"fcall", -3, kNoScript, 0, 0, 0, FunctionCommand},
      {"fcall_ro", -3, kRead | kNoScript, 0, 0, 0, FunctionCommand},
  };
  return table;
}

// The first `bytes_max` bytes of `text`, ending at its first NUL byte if any: what Redis's
// "%.*s" prints of an argument.
std::string PrintedPrefix(const std::string& text, size_t bytes_max) {
  return text.substr(0, std::min(text.find('\0'), bytes_max));
}

// Redis's text for an unknown command: the name and the first arguments, each quoted, at most
// 128 bytes of arguments in all.
std::string UnknownCommandText(const std::vector<std::string>& args) {
  std::string listed;
  for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
    listed += "'" + PrintedPrefix(args[i], 128 - listed.size()) + "' ";
  }
  return "ERR unknown command '" + PrintedPrefix(args[0], 128) +
         "', with args beginning with: " + listed;
}

}  // namespace

const std::vector<CommandSpec>& AllCommands() { return Table(); }

namespace {

const CommandSpec* FindSubcommand(const CommandSpec& container, std::string_view name) {
  assert(container.subcommands != nullptr);
  for (const CommandSpec& sub : *container.subcommands) {
    if (EqualsIgnoreCase(sub.name, name)) return &sub;
  }
  return nullptr;
}

}  // namespace

const CommandSpec* LookupRequest(const std::vector<std::string>& args) {
  assert(!args.empty());
  const CommandSpec* spec = LookupCommand(args[0]);
  if (spec == nullptr || spec->subcommands == nullptr || args.size() < 2) return spec;
  return FindSubcommand(*spec, args[1]);
}

const CommandSpec* LookupCommand(std::string_view name) {
  static const std::unordered_map<std::string, const CommandSpec*> index = [] {
    std::unordered_map<std::string, const CommandSpec*> built;
    for (const CommandSpec& spec : Table()) built.emplace(std::string(spec.name), &spec);
    return built;
  }();
  if (name.size() > 32) return nullptr;
  auto found = index.find(ToLower(name));
  return found == index.end() ? nullptr : found->second;
}

namespace {

// The command's name as Redis reports it: with the subcommand of a container command
// ("client|list").
std::string FullName(const CommandContext& context, const CommandSpec& spec) {
  std::string name(spec.name);
  if (context.argc() >= 2 &&
      (spec.name == "client" || spec.name == "config" || spec.name == "command" ||
       spec.name == "debug" || spec.name == "pubsub" || spec.name == "script" ||
       spec.name == "memory" || spec.name == "object")) {
    name += "|" + ToLower(context.arg(1).substr(0, 32));
  }
  return name;
}

// Why the request cannot run (Redis's processCommand checks, in its order), or empty.
std::string RefusalOf(const CommandContext& context, const CommandSpec* spec) {
  if (spec == nullptr) return UnknownCommandText(*context.args);
  // A container's subcommand is checked as a command of its own (Redis's lookupCommand finds
  // "object|encoding"); without a second argument the container's own arity refuses it.
  const CommandSpec* checked = spec;
  std::string checked_name(spec->name);
  if (spec->subcommands != nullptr && context.argc() >= 2) {
    checked = FindSubcommand(*spec, context.arg(1));
    if (checked == nullptr) {
      return "ERR unknown subcommand '" + PrintedPrefix(context.arg(1), 128) + "'. Try " +
             ToUpperCopy(spec->name) + " HELP.";
    }
    checked_name += "|" + std::string(checked->name);
  }
  int argc = static_cast<int>(context.argc());
  if ((checked->arity > 0 && argc != checked->arity) ||
      (checked->arity < 0 && argc < -checked->arity)) {
    return "ERR wrong number of arguments for '" + checked_name + "' command";
  }
  if (!context.client->authenticated && (spec->flags & kCommandNoAuth) == 0) {
    return "NOAUTH Authentication required.";
  }
  if (spec->handler == DebugCommand && !DebugAllowedFor(context)) {
    return std::string(kDebugNotAllowed);
  }
  if (context.client->transaction.open && (spec->flags & kCommandNoMulti) != 0) {
    return "ERR Command not allowed inside a transaction";
  }
  if (context.client->protocol == Protocol::kResp2 && InSubscribedContext(*context.client) &&
      (spec->flags & kCommandPubSub) == 0) {
    return "ERR Can't execute '" + FullName(context, *spec) +
           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           "context";
  }
  return ScriptBusyRefusal(context, *spec);
}

}  // namespace

void ExecuteCommand(CommandContext& context) {
  assert(!context.args->empty());
  const CommandSpec* spec = LookupCommand(context.arg(0));
  const std::string refusal = RefusalOf(context, spec);
  if (!refusal.empty()) {
    AbortTransaction(context);
    if (spec != nullptr && spec->handler == ExecCommand) {
      // A refused EXEC discards the transaction and says why (Redis's execCommandAbort).
      RefuseExec(context, refusal);
    } else {
      ReplyError(context, refusal);
    }
    return;
  }
  context.client->last_command = FullName(context, *spec);  // CLIENT LIST's cmd=
  if (context.client->transaction.open && (spec->flags & kCommandTransaction) == 0) {
    QueueCommand(context);
    return;
  }
  RunCommand(context, *spec);
}

void RunCommand(CommandContext& context, const CommandSpec& spec) {
  context.server->total_commands_processed += 1;
  spec.handler(context);
}

// ---- Helpers.

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

void ReplyError(CommandContext& context, std::string_view text) {
  AppendError(context.reply, text);
}
void ReplySyntaxError(CommandContext& context) { ReplyError(context, "ERR syntax error"); }
void ReplyNotInteger(CommandContext& context) {
  ReplyError(context, "ERR value is not an integer or out of range");
}
void ReplyOk(CommandContext& context) { context.reply->append(kReplyOk); }
void ReplyInvalidExpireTime(CommandContext& context) {
  ReplyError(context, "ERR invalid expire time in '" + ToLower(context.arg(0)) + "' command");
}

void ReplyUnknownSubcommand(CommandContext& context) {
  ReplyError(context, "ERR unknown subcommand '" + context.arg(1).substr(0, 128) + "'. Try " +
                          ToUpperCopy(context.arg(0)) + " HELP.");
}

void ReplyWrongSubcommandArity(CommandContext& context) {
  ReplyError(context, "ERR wrong number of arguments for '" + ToLower(context.arg(0)) + "|" +
                          ToLower(context.arg(1)) + "' command");
}

void ReplyDatabaseError(CommandContext& context, const Status& status) {
  // Bad input (an oversized key) is the client's error; anything else is the disk's, and the
  // text says so, so an operator can tell the two apart (docs/OPERATIONS-server.md).
  if (status.IsInvalidArgument()) {
    ReplyError(context, "ERR " + status.message());
  } else {
    ReplyError(context, "ERR disk error: " + status.ToString());
  }
}

bool SubmitBatch(CommandContext& context, WriteBatch batch) {
  WriteBatchInternal::SetDatabase(&batch, context.client->db);
  return SubmitBatchAsBuilt(context, std::move(batch));
}

bool SubmitBatchAsBuilt(CommandContext& context, WriteBatch batch) {
  // Until it is acknowledged the write is held twice: as the record waiting for the disk and as
  // the copy reads see meanwhile (client_limits.h).
  uint64_t held_bytes = 0;
  for (const auto& op : WriteBatchInternal::Ops(batch))
    held_bytes += 2 * (op.key.size() + op.target_key.size() + op.value.size() + 32);
  const std::vector<ClientState*> watchers = WatchersTouchedBy(context, batch);
  // Deferred: the event loop commits each iteration's writes as one group (Server::Serve).
  Result<uint64_t> lsn = context.db->SubmitDeferred(std::move(batch));
  if (lsn.ok()) MarkWatchersTouched(watchers);
  if (!lsn.ok()) {
    context.server->write_errors += 1;
    if (lsn.status().IsFailed()) context.server->database_failed = true;
    ReplyDatabaseError(context, lsn.status());
    return false;
  }
  context.required_lsn = std::max(context.required_lsn, *lsn);
  context.submitted_bytes += held_bytes;
  context.server->last_submitted_lsn = std::max(context.server->last_submitted_lsn, *lsn);
  return true;
}

Status ReadKey(CommandContext& context, std::string_view key, std::string* value, ReadInfo* info) {
  Status status = value != nullptr ? context.db->GetIn(context.client->db, key, value, info)
                                   : context.db->GetInfoIn(context.client->db, key, info);
  if (status.ok()) {
    context.required_lsn = std::max(context.required_lsn, info->observed_lsn);
    context.server->keyspace_hits += 1;
  } else if (status.IsNotFound()) {
    DependOnAllWrites(context);
    context.server->keyspace_misses += 1;
  } else {
    ReplyDatabaseError(context, status);
  }
  return status;
}

void DependOnAllWrites(CommandContext& context) {
  if (context.server->database_failed) return;  // see ServerState::database_failed
  context.required_lsn = std::max(context.required_lsn, context.server->last_submitted_lsn);
}

bool ParseIntegerArgument(CommandContext& context, std::string_view text, int64_t* value) {
  if (ParseInt64(text, value)) return true;
  ReplyNotInteger(context);
  return false;
}

}  // namespace ordo::server
