// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7.0's semantics (multi.c),
// and what ordo adds: a transaction is one commit in the log.
//
// Inside MULTI a request is checked as usual (unknown command, arity, authentication, commands
// not allowed in a transaction, DEBUG's permission) and queued; a refusal marks the transaction
// aborted, and EXEC then answers EXECABORT and runs nothing. EXEC runs the queued commands one
// after another on the event-loop thread, so no other client's command runs between them, inside
// one atomic section of the database (db_internal.h: BeginAtomic): their writes are visible to
// the commands after them as usual, and go into the log as one record with one LSN. A crash, a
// torn tail, a backup's cut or a point-in-time restore therefore never lands inside a
// transaction, and EXEC's reply (which depends on that LSN) goes out once all of it is durable.
// A command that fails at run time (a wrong type, a value that is not an integer) leaves the
// others applied, as in Redis.
//
// WATCH: each client keeps the keys it watches, and ServerState::watched_keys the clients
// watching each key. Every write a command submits (SubmitBatch) marks the clients watching the
// keys it changes, and a flush the clients watching keys that exist; EXEC of a marked client
// answers a null array. An expiry is the database's own write, not a command's: EXEC checks
// whether a key that was live at WATCH is gone now (Redis 7.0's isWatchedKeyExpired; a key
// already expired at WATCH is not a change when it goes).
#include <algorithm>
#include <cassert>

#include "index/index.h"
#include "log/write_batch_internal.h"
#include "server/commands.h"
#include "server/reply.h"

namespace ordo::server {
namespace {

// What a queued command holds beyond its bytes: the vector and each string's header.
constexpr uint64_t kQueuedCommandOverheadBytes = 24;
constexpr uint64_t kQueuedArgumentOverheadBytes = 32;

void ClearTransaction(ClientState& client) { client.transaction = Transaction{}; }

// ServerState::watched_keys's key: the database and the key, laid out as the index's keys
// (index::DatabaseOf and UserKeyOf read it), for a key of any length (WATCH takes keys longer
// than a key can be: no write of them is ever accepted).
std::string WatchName(uint32_t db, std::string_view key) {
  std::string name;
  name.reserve(index::kDatabasePrefixBytes + key.size());
  name.push_back(static_cast<char>(db >> 8));
  name.push_back(static_cast<char>(db & 0xff));
  name.append(key);
  assert(index::DatabaseOf(name) == db);
  return name;
}

// Redis's discardTransaction: the queue, the flags and the watched keys go.
void DiscardTransaction(CommandContext& context) {
  ClearTransaction(*context.client);
  UnwatchAllKeys(*context.server, *context.client);
}

// Whether a key that was live when the client watched it is gone now (expired: a write would
// have marked the client already).
bool WatchedKeyExpired(CommandContext& context) {
  for (const WatchedKey& watched : context.client->watched) {
    if (!watched.live) continue;
    ReadInfo info;
    if (context.db->GetInfoIn(watched.db, watched.key, &info).IsNotFound()) return true;
  }
  return false;
}

}  // namespace

void MultiCommand(CommandContext& context) {
  Transaction& transaction = context.client->transaction;
  // Not a refusal that aborts the transaction: Redis replies and goes on queuing.
  if (transaction.open) return ReplyError(context, "ERR MULTI calls can not be nested");
  transaction.open = true;
  ReplyOk(context);
}

void DiscardCommand(CommandContext& context) {
  if (!context.client->transaction.open) return ReplyError(context, "ERR DISCARD without MULTI");
  DiscardTransaction(context);
  ReplyOk(context);
}

void ExecCommand(CommandContext& context) {
  ClientState& client = *context.client;
  if (!client.transaction.open) return ReplyError(context, "ERR EXEC without MULTI");
  if (!client.watched_key_touched && WatchedKeyExpired(context)) {
    client.watched_key_touched = true;
  }
  if (client.transaction.aborted || client.watched_key_touched) {
    if (client.transaction.aborted) {
      ReplyError(context, "EXECABORT Transaction discarded because of previous errors.");
    } else {
      AppendNullArray(context.reply, client.protocol);
    }
    DiscardTransaction(context);
    return;
  }
  std::vector<std::vector<std::string>> queued = std::move(client.transaction.queued);
  DiscardTransaction(context);
  AppendArrayHeader(context.reply, queued.size());
  const std::vector<std::string>* exec_args = context.args;
  context.db->BeginAtomic();
  // Pub/sub messages a queued PUBLISH sends to this very client go after EXEC's reply, not
  // into the middle of it (ServerState::exec_client).
  context.server->exec_client = &client;
  context.server->in_atomic_section = true;  // a script inside joins it (commands_scripting.cc)
  for (const std::vector<std::string>& args : queued) {
    context.args = &args;
    const CommandSpec* spec = LookupCommand(args[0]);
    assert(spec != nullptr);  // checked when queued
    client.last_command = std::string(spec->name);
    RunCommand(context, *spec);  // appends its reply; its writes join the section
  }
  context.server->exec_client = nullptr;
  context.reply->append(context.server->exec_client_messages);
  context.server->exec_client_messages.clear();
  context.server->in_atomic_section = false;
  Result<uint64_t> ended = context.db->EndAtomic();
  context.args = exec_args;
  client.last_command = "exec";
  if (!ended.ok()) {
    // The database failed while the transaction ran: its writes, already answered inside the
    // reply, are never logged. The reply waits for their LSN, which is never acknowledged, so
    // the server answers it with the failure (Server::FailWaitingIfDatabaseFailed).
    context.server->database_failed = true;
    context.server->write_errors += 1;
  }
}

void WatchCommand(CommandContext& context) {
  ClientState& client = *context.client;
  // Not a refusal that aborts the transaction, as in Redis.
  if (client.transaction.open) return ReplyError(context, "ERR WATCH inside MULTI is not allowed");
  for (size_t i = 1; i < context.argc(); ++i) {
    const std::string& key = context.arg(i);
    bool watched = false;
    for (const WatchedKey& existing : client.watched) {
      watched = watched || (existing.key == key && existing.db == client.db);
    }
    if (watched) continue;
    ReadInfo info;
    const Status status = context.db->GetInfoIn(client.db, key, &info);
    if (!status.ok() && !status.IsNotFound()) return ReplyDatabaseError(context, status);
    client.watched.push_back(WatchedKey{key, client.db, status.ok()});
    context.server->watched_keys[WatchName(client.db, key)].push_back(&client);
  }
  ReplyOk(context);
}

void UnwatchCommand(CommandContext& context) {
  UnwatchAllKeys(*context.server, *context.client);
  ReplyOk(context);
}

void QueueCommand(CommandContext& context) {
  Transaction& transaction = context.client->transaction;
  assert(transaction.open);
  AppendSimpleString(context.reply, "QUEUED");
  // A transaction EXEC will refuse holds nothing more (Redis 7.0's queueMultiCommand).
  if (transaction.aborted || context.client->watched_key_touched) return;
  uint64_t bytes = kQueuedCommandOverheadBytes;
  for (const std::string& arg : *context.args) bytes += arg.size() + kQueuedArgumentOverheadBytes;
  transaction.queued.push_back(*context.args);
  transaction.queued_bytes += bytes;
}

void RefuseExec(CommandContext& context, std::string_view refusal) {
  DiscardTransaction(context);
  // Redis's rejections of EXEC carry their code (NOAUTH ...) or none (its generic errors).
  if (refusal.substr(0, 4) == "ERR ") refusal.remove_prefix(4);
  ReplyError(context, "EXECABORT Transaction discarded because of: " + std::string(refusal));
}

void AbortTransaction(CommandContext& context) {
  if (context.client->transaction.open) context.client->transaction.aborted = true;
}

std::vector<ClientState*> WatchersTouchedBy(CommandContext& context, const WriteBatch& batch) {
  std::vector<ClientState*> touched;
  ServerState& server = *context.server;
  if (server.watched_keys.empty()) return touched;
  for (const auto& op : WriteBatchInternal::Ops(batch)) {
    if (op.type == log::OpType::kRestorePoint) continue;
    if (op.type != log::OpType::kClear && op.type != log::OpType::kFlushDatabase) {
      // A copy writes only its target; a rename both keys (MOVE's: one key in two databases).
      std::vector<std::string> names;
      if (op.type != log::OpType::kCopy) names.push_back(WatchName(op.db, op.key));
      if (op.type == log::OpType::kRename || op.type == log::OpType::kCopy) {
        names.push_back(WatchName(op.target_db, op.target_key));
      }
      for (const std::string& name : names) {
        auto watchers = server.watched_keys.find(name);
        if (watchers != server.watched_keys.end()) {
          touched.insert(touched.end(), watchers->second.begin(), watchers->second.end());
        }
      }
      continue;
    }
    // A flush changes the watched keys of its databases that exist (Redis's
    // touchAllWatchedKeysInDb): asked before the flush is submitted.
    for (const auto& [name, clients] : server.watched_keys) {
      const uint32_t db = index::DatabaseOf(name);
      if (op.type == log::OpType::kFlushDatabase && db != op.db) continue;
      ReadInfo info;
      if (!context.db->GetInfoIn(db, index::UserKeyOf(name), &info).ok()) continue;
      touched.insert(touched.end(), clients.begin(), clients.end());
    }
  }
  return touched;
}

void MarkWatchersTouched(const std::vector<ClientState*>& clients) {
  for (ClientState* client : clients) client->watched_key_touched = true;
}

void UnwatchAllKeys(ServerState& server, ClientState& client) {
  for (const WatchedKey& watched : client.watched) {
    auto watchers = server.watched_keys.find(WatchName(watched.db, watched.key));
    assert(watchers != server.watched_keys.end());
    std::vector<ClientState*>& clients = watchers->second;
    clients.erase(std::remove(clients.begin(), clients.end(), &client), clients.end());
    if (clients.empty()) server.watched_keys.erase(watchers);
  }
  client.watched.clear();
  client.watched_key_touched = false;
}

void ForgetClient(ServerState& server, ClientState& client) {
  UnwatchAllKeys(server, client);
  UnsubscribeAll(server, client);
  ClearTransaction(client);
}

}  // namespace ordo::server
