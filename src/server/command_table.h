// The command table: one declarative row per command (name, arity, flags, key positions,
// handler), as Redis's commands.def, and the dispatcher that checks a request against its row
// before calling the handler.
//
// Every handler runs on the event-loop thread, which is the only thread that submits writes,
// so a read-modify-write command (INCR, APPEND, SET ... GET) sees every write submitted before
// it, acknowledged or not. What a handler replies may depend on writes that are not yet
// durable: it records the LSN it depends on in CommandContext::required_lsn, and the
// connection holds the reply until DB::AckedLsn() reaches it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "db/db_internal.h"
#include "ordo/db.h"
#include "ordo/options.h"
#include "server/client_limits.h"
#include "server/reply.h"

namespace ordo {
class SlowDiskFileSystem;
}  // namespace ordo

namespace ordo::backup {
class ContinuousArchiver;
}  // namespace ordo::backup

namespace ordo::server {

class BackupWorker;
struct ClientState;
class ScriptEngine;
struct RunningScript;

// Server-wide state the commands read or change. Owned by the Server; touched only on the
// event-loop thread.
struct ServerState {
  // Configuration.
  std::string data_directory;
  std::string bind_address;
  uint16_t port = 0;
  SyncMode sync_mode = SyncMode::kAlways;
  uint64_t segment_bytes = 0;
  std::string requirepass;  // empty: no AUTH needed
  uint64_t maxclients = 0;
  uint32_t databases = 16;  // SELECT, SWAPDB and MOVE take 0 to databases - 1
  OpenReport open_report;
  int64_t start_time_ms = 0;
  // What a client may make the server hold (client_limits.h); CONFIG SET changes it.
  ClientLimits limits;
  // enable-debug-command: whether DEBUG runs (Redis's setting and refusal), and from where.
  enum class DebugAllowed { kNo, kYes, kLocal };
  DebugAllowed enable_debug_command = DebugAllowed::kNo;
  // The slow-disk model under the database, when DEBUG is enabled (DEBUG SYNC-DELAY).
  SlowDiskFileSystem* slow_disk = nullptr;

  // Counters (INFO stats and clients).
  uint64_t connected_clients = 0;
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t rejected_connections = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t write_errors = 0;     // writes refused by the database (disk error, bad argument)
  uint64_t pending_replies = 0;  // replies held until their LSN is acknowledged

  // Client memory (client_limits.h), kept up to date by the server.
  uint64_t clients_memory = 0;             // every connected client's tot-mem (mem_clients_normal)
  uint64_t pending_write_bytes = 0;        // writes waiting for durability, of clients gone too
  uint64_t writes_waiting_for_budget = 0;  // write commands held back for the write budget
  uint64_t evicted_clients = 0;            // disconnected by maxmemory-clients
  uint64_t query_buffer_limit_disconnections = 0;
  uint64_t output_buffer_limit_disconnections = 0;
  // CLIENT LIST: one line per connection, as Redis's (set by the server; the command layer
  // does not see connections).
  std::function<std::string()> describe_clients;
  // Every connected client with its CLIENT LIST line, in connection order (CLIENT LIST with
  // filters, CLIENT INFO, CLIENT KILL).
  std::function<void(const std::function<void(const ClientState&, const std::string&)>&)>
      visit_clients;
  // Disconnects another client once this iteration ends (CLIENT KILL); false if none has `id`.
  std::function<bool(uint64_t id)> kill_client;
  // The largest query and output buffers among the clients (INFO's client_recent_max_*).
  std::function<std::pair<uint64_t, uint64_t>()> largest_client_buffers;

  // The newest LSN this server submitted: a read that found nothing, or that looked at many
  // keys, depends on it (an unacknowledged delete may be why the key is absent).
  uint64_t last_submitted_lsn = 0;
  // The database has failed (a write or sync error; it never recovers while open). Its
  // unacknowledged writes were dropped and reads serve the durable state, so a reply no longer
  // depends on last_submitted_lsn (which will never be acknowledged): INFO, DBSIZE, KEYS and
  // reads of absent keys answer at once instead of "disk error" forever.
  bool database_failed = false;

  bool shutdown_requested = false;

  // Pub/sub (commands_pubsub.cc): the clients subscribed to each channel and to each pattern,
  // in the order they subscribed (messages go out in that order, as Redis's lists).
  std::unordered_map<std::string, std::vector<ClientState*>> channels;
  std::unordered_map<std::string, std::vector<ClientState*>> patterns;
  // Hands an encoded message to another client's connection (set by the server, which owns
  // the connections); the message goes out after what that client has queued already.
  std::function<void(ClientState& client, std::string_view message)> deliver;
  // The client whose EXEC runs now, and the messages a PUBLISH inside it sent to that client:
  // they follow EXEC's reply (ExecCommand), rather than land inside it.
  ClientState* exec_client = nullptr;
  std::string exec_client_messages;

  // WATCH: the clients watching each key (Redis's db->watched_keys), so that a write can mark
  // them (commands_transaction.cc). A client leaves it when it unwatches or disconnects.
  std::unordered_map<std::string, std::vector<ClientState*>> watched_keys;

  // Backups into the repository given with --repo (SAVE, BGSAVE, LASTSAVE); null without one.
  BackupWorker* backups = nullptr;
  // Continuous archiving (--archive) into the same repository; null without it.
  const backup::ContinuousArchiver* archive = nullptr;
  int64_t archive_interval_ms = 0;

  // SCAN cursors for positions that do not fit in a number (see commands_keyspace.cc).
  std::unordered_map<uint64_t, std::string> scan_positions;
  std::deque<uint64_t> scan_position_order;
  uint64_t next_scan_position_id = 1;

  // Scripting (commands_scripting.cc): the Lua state and its script cache, made at the first
  // EVAL or SCRIPT LOAD; the script running now, if any; and the hook through which a script
  // past busy-reply-threshold lets the server answer other clients meanwhile (BUSY, SCRIPT
  // KILL): the Server installs it, it handles the events ready now and returns.
  std::shared_ptr<ScriptEngine> scripts;
  RunningScript* running_script = nullptr;
  std::function<void()> serve_while_busy;
  // EXEC or a script holds an atomic section of the database (they do not nest).
  bool in_atomic_section = false;
  // The server's log (redis.log, slow scripts); set by the Server.
  std::function<void(const std::string&)> log_line;
};

// A key a client WATCHes, and whether it was live then (an expiry after WATCH fails EXEC as a
// write does; a key already expired at WATCH does not).
struct WatchedKey {
  std::string key;
  uint32_t db = 0;
  bool live = false;
};

// MULTI ... EXEC: the commands queued for EXEC (commands_transaction.cc).
struct Transaction {
  bool open = false;     // between MULTI and EXEC or DISCARD
  bool aborted = false;  // a command was refused while queuing: EXEC answers EXECABORT
  std::vector<std::vector<std::string>> queued;
  uint64_t queued_bytes = 0;  // what the queue holds, counted in the client's memory
};

// Per-connection state the commands read or change.
struct ClientState {
  uint64_t id = 0;
  std::string name;
  std::string address;  // "ip:port" of the peer
  bool authenticated = false;
  // What replies are encoded in (Redis's client->resp): RESP2 until HELLO 3.
  Protocol protocol = Protocol::kResp2;
  bool close_after_reply = false;  // QUIT
  int64_t created_ms = 0;
  std::string last_command;
  uint32_t db = 0;  // SELECT: the database the commands address
  Transaction transaction;
  // Pub/sub: what this client subscribes to. In RESP2, a client with any subscription may only
  // (un)subscribe, PING, QUIT and RESET.
  std::set<std::string> channels;
  std::set<std::string> patterns;
  std::vector<WatchedKey> watched;
  bool watched_key_touched = false;  // a watched key changed since WATCH: EXEC fails
  bool no_evict = false;  // CLIENT NO-EVICT ON: maxmemory-clients eviction passes it over
};

// Whether the client has a subscription: a RESP2 client then may only run the commands flagged
// kCommandPubSub, and its output is limited as the pubsub class's.
inline bool InSubscribedContext(const ClientState& client) {
  return !client.channels.empty() || !client.patterns.empty();
}

struct CommandContext {
  db::DBInternal* db = nullptr;  // the engine: writes go through its commit protocol
  ServerState* server = nullptr;
  ClientState* client = nullptr;
  const std::vector<std::string>* args = nullptr;
  std::string* reply = nullptr;  // the handler appends exactly one RESP reply
  uint64_t required_lsn = 0;     // the reply may be sent once AckedLsn() >= required_lsn
  uint64_t submitted_bytes = 0;  // memory the writes it submitted hold until acknowledged

  const std::string& arg(size_t i) const { return (*args)[i]; }
  size_t argc() const { return args->size(); }
};

using CommandHandler = void (*)(CommandContext& context);

enum CommandFlag : uint32_t {
  kCommandWrite = 1u << 0,     // may submit a write
  kCommandReadOnly = 1u << 1,  // only reads data
  kCommandNoAuth = 1u << 2,    // allowed before AUTH (AUTH, HELLO, QUIT)
  kCommandFast = 1u << 3,      // O(1) or O(log n)
  kCommandAdmin = 1u << 4,     // server administration
  kCommandNoMulti = 1u << 5,   // refused inside MULTI (it waits for a commit, or ends the server)
  kCommandTransaction = 1u << 6,  // runs at once inside MULTI instead of being queued
  kCommandNoScript = 1u << 7,     // refused in scripts (Redis's noscript)
  kCommandAllowBusy = 1u << 8,    // runs while a script is busy (Redis's allow_busy)
  kCommandPubSub = 1u << 9,       // allowed to a RESP2 client with subscriptions
};

struct CommandSpec {
  std::string_view name;  // lower case, as Redis reports it
  int arity;              // > 0: exactly this many arguments; < 0: at least -arity
  uint32_t flags;
  int first_key;  // key positions for COMMAND INFO (0: no keys)
  int last_key;   // -1: the last argument
  int key_step;
  CommandHandler handler;
  // A container command's subcommands (OBJECT's), each with its own arity and flags, checked
  // before the command runs or is queued, as Redis's subcommand table; null for the others
  // (whose handlers check their subcommands themselves).
  const std::vector<CommandSpec>* subcommands = nullptr;
};

// Every command, in table order.
const std::vector<CommandSpec>& AllCommands();
// Case-insensitive lookup; null when unknown.
const CommandSpec* LookupCommand(std::string_view name);
// The row a request names (`args` not empty): its command's, or for a container with a
// subcommand table and a second argument, that subcommand's (null when it has none by that
// name, as for an unknown command). Scripts check what they call against it.
const CommandSpec* LookupRequest(const std::vector<std::string>& args);

// Checks the request (known command, arity, authentication) and runs it, or queues it inside
// MULTI, appending one reply to *context.reply. `context.args` must not be empty.
void ExecuteCommand(CommandContext& context);

// The server calls it when a client disconnects: the keys it watches forget it.
void ForgetClient(ServerState& server, ClientState& client);

}  // namespace ordo::server
