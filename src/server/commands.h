// The command handlers (one file per group, as Redis's t_string.c) and the helpers they share.
// Internal to src/server; the table in command_table.cc is the only caller of the handlers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordo/db.h"
#include "server/command_table.h"

namespace ordo::server {

// ---- Shared helpers (command_table.cc).

// Appends "-<text>\r\n".
void ReplyError(CommandContext& context, std::string_view text);
// "ERR syntax error" and friends, Redis's shared replies.
void ReplySyntaxError(CommandContext& context);
void ReplyNotInteger(CommandContext& context);
void ReplyOk(CommandContext& context);
// "ERR invalid expire time in '<command>' command", <command> in lower case.
void ReplyInvalidExpireTime(CommandContext& context);
// A container command's (OBJECT, CLIENT, ...) errors as Redis's: "ERR unknown subcommand 'x'.
// Try OBJECT HELP." and "ERR wrong number of arguments for 'object|encoding' command".
void ReplyUnknownSubcommand(CommandContext& context);
void ReplyWrongSubcommandArity(CommandContext& context);
// Replies with the error for a failed database call; a write error names the disk.
void ReplyDatabaseError(CommandContext& context, const Status& status);

// Submits `batch`; on success raises required_lsn to its LSN and returns true; on failure
// appends the error reply and returns false.
bool SubmitBatch(CommandContext& context, WriteBatch batch);
// The same for a batch whose ops name their databases already (MOVE, SWAPDB, FLUSHDB).
bool SubmitBatchAsBuilt(CommandContext& context, WriteBatch batch);

// Reads a key. OK: *value (if not null) and *info are set and the reply depends on the LSN the
// read observed. NotFound: the reply depends on every write this server submitted. Any other
// status: the error reply has been appended.
Status ReadKey(CommandContext& context, std::string_view key, std::string* value, ReadInfo* info);
// For replies computed from many keys (KEYS, SCAN, DBSIZE): depend on every submitted write.
void DependOnAllWrites(CommandContext& context);

// Parses an integer argument as Redis's getLongLongFromObjectOrReply: false after replying
// "ERR value is not an integer or out of range".
bool ParseIntegerArgument(CommandContext& context, std::string_view text, int64_t* value);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view text);
std::string ToUpperCopy(std::string_view text);

// ---- commands_string.cc
void GetCommand(CommandContext& context);
void SetCommand(CommandContext& context);
void SetNxCommand(CommandContext& context);
void SetExCommand(CommandContext& context);
void PSetExCommand(CommandContext& context);
void GetSetCommand(CommandContext& context);
void GetDelCommand(CommandContext& context);
void GetExCommand(CommandContext& context);
void MGetCommand(CommandContext& context);
void MSetCommand(CommandContext& context);
void MSetNxCommand(CommandContext& context);
void AppendCommand(CommandContext& context);
void StrLenCommand(CommandContext& context);
void GetRangeCommand(CommandContext& context);
void SetRangeCommand(CommandContext& context);
void IncrCommand(CommandContext& context);
void DecrCommand(CommandContext& context);
void IncrByCommand(CommandContext& context);
void DecrByCommand(CommandContext& context);
void IncrByFloatCommand(CommandContext& context);

// ---- commands_keyspace.cc
void DelCommand(CommandContext& context);
void ExistsCommand(CommandContext& context);
void TypeCommand(CommandContext& context);
void KeysCommand(CommandContext& context);
void ScanCommand(CommandContext& context);
void DbSizeCommand(CommandContext& context);
void FlushCommand(CommandContext& context);
void SelectCommand(CommandContext& context);
void MoveCommand(CommandContext& context);
void SwapDbCommand(CommandContext& context);
void ExpireCommand(CommandContext& context);
void PExpireCommand(CommandContext& context);
void ExpireAtCommand(CommandContext& context);
void PExpireAtCommand(CommandContext& context);
void TtlCommand(CommandContext& context);
void PTtlCommand(CommandContext& context);
void PersistCommand(CommandContext& context);
void RenameCommand(CommandContext& context);
void RenameNxCommand(CommandContext& context);
void CopyCommand(CommandContext& context);
void RandomKeyCommand(CommandContext& context);
void ExpireTimeCommand(CommandContext& context);
void PExpireTimeCommand(CommandContext& context);
void ObjectCommand(CommandContext& context);

// ---- commands_server.cc
void PingCommand(CommandContext& context);
void ResetCommand(CommandContext& context);
void MemoryCommand(CommandContext& context);
void EchoCommand(CommandContext& context);
void QuitCommand(CommandContext& context);
void InfoCommand(CommandContext& context);
void ConfigCommand(CommandContext& context);
void CommandCommand(CommandContext& context);
void ClientCommand(CommandContext& context);
void HelloCommand(CommandContext& context);
void AuthCommand(CommandContext& context);
void ShutdownCommand(CommandContext& context);
void DebugCommand(CommandContext& context);

// Runs a command already checked (ExecuteCommand's checks, or EXEC's queue, checked when it
// was queued: Redis's call() without processCommand).
void RunCommand(CommandContext& context, const CommandSpec& spec);

// ---- commands_transaction.cc

void MultiCommand(CommandContext& context);
void ExecCommand(CommandContext& context);
void DiscardCommand(CommandContext& context);
void WatchCommand(CommandContext& context);
void UnwatchCommand(CommandContext& context);
// Queues the request of a client inside MULTI and replies +QUEUED.
void QueueCommand(CommandContext& context);
// EXEC refused before it runs (`refusal`: why, as for any command): the transaction is
// discarded, and the reply is EXECABORT with the reason.
void RefuseExec(CommandContext& context, std::string_view refusal);
// A request refused before it runs (unknown, wrong arity, not allowed): inside MULTI, EXEC will
// answer EXECABORT (Redis's flagTransaction).
void AbortTransaction(CommandContext& context);
// The clients watching a key `batch` changes: any write of it, and a flush of it while it
// exists. Asked before the batch is submitted (a flush must see what it removes); marked with
// MarkWatchersTouched once it was (a refused write changes nothing).
std::vector<ClientState*> WatchersTouchedBy(CommandContext& context, const WriteBatch& batch);
void MarkWatchersTouched(const std::vector<ClientState*>& clients);
// Forgets every key the client watches (UNWATCH, EXEC, DISCARD, disconnection).
void UnwatchAllKeys(ServerState& server, ClientState& client);

// ---- commands_server.cc (DEBUG)

// Whether enable-debug-command lets this client run DEBUG; checked before DEBUG is queued
// inside MULTI too, as Redis does.
bool DebugAllowedFor(const CommandContext& context);
inline constexpr std::string_view kDebugNotAllowed =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you "
    "can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";

// ---- commands_pubsub.cc

void SubscribeCommand(CommandContext& context);
void UnsubscribeCommand(CommandContext& context);
void PSubscribeCommand(CommandContext& context);
void PUnsubscribeCommand(CommandContext& context);
void PublishCommand(CommandContext& context);
void PubSubCommand(CommandContext& context);
// Ends every subscription of the client (RESET, disconnection).
void UnsubscribeAll(ServerState& server, ClientState& client);

// ---- commands_scripting.cc
void EvalCommand(CommandContext& context);
void EvalShaCommand(CommandContext& context);
void EvalRoCommand(CommandContext& context);
void EvalShaRoCommand(CommandContext& context);
void ScriptCommand(CommandContext& context);
// FUNCTION, FCALL, FCALL_RO: an error saying ordo has no functions yet.
void FunctionCommand(CommandContext& context);
// While a script runs past busy-reply-threshold: Redis's BUSY refusal for a command of another
// client that may not run then, or empty. SHUTDOWN NOSAVE then ends the process at once.
std::string ScriptBusyRefusal(const CommandContext& context, const CommandSpec& spec);

// ---- commands_persistence.cc
void SaveCommand(CommandContext& context);
void BgSaveCommand(CommandContext& context);
void LastSaveCommand(CommandContext& context);
void RestorePointCommand(CommandContext& context);

}  // namespace ordo::server
