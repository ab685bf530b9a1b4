// The Redis-protocol server: one event-loop thread (epoll) that accepts clients, parses their
// requests, runs commands against the database and sends replies once they are durable.
//
// Threads: the event loop is the only thread that touches connections and the only thread that
// submits writes. Writes are submitted deferred and committed by the loop itself at the end of
// each iteration, one group per iteration (CommitIteration); writes the database's committer
// thread commits instead (when it is busy with a checkpoint, say) are announced through an
// eventfd (the ack listener may not call into the database); signals (SIGTERM, SIGINT) arrive
// through a signalfd. So every piece of server state is owned by one thread and needs no lock.
//
// Durability: a reply is sent only when DB::AckedLsn() covers the LSN it depends on (see
// connection.h). In the default sync mode that means nothing a client saw acknowledged can be
// lost by a crash.
//
// Continuous archiving (--archive) runs on its own thread (backup/archive_loop.h); it reads the
// data directory like a backup does and never makes a commit wait.
//
// Shutdown (SIGTERM, SIGINT, SHUTDOWN): stop accepting and stop reading requests, wait (at most
// kShutdownDrainMs) for replies in flight to become durable and be written, close the clients,
// then close the database (which writes a checkpoint and marks the shutdown clean), then stop
// the archiver, whose final round ships the last commits.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backup/archive_loop.h"
#include "db/db_internal.h"
#include "io/slow_disk_file_system.h"
#include "ordo/db.h"
#include "ordo/options.h"
#include "server/backup_worker.h"
#include "server/command_table.h"
#include "server/connection.h"
#include "server/event_loop.h"

namespace ordo::server {

inline constexpr uint64_t kMaxClientsDefault = 10000;
inline constexpr int64_t kShutdownDrainMs = 5000;

struct ServerOptions {
  std::string data_directory = "./data";
  std::string bind_address = "127.0.0.1";
  uint16_t port = 6379;  // 0: any free port (the ready line names the one chosen)
  SyncMode sync_mode = SyncMode::kAlways;
  uint64_t segment_bytes = kSegmentBytesDefault;
  std::string requirepass;  // empty: no AUTH
  uint64_t maxclients = kMaxClientsDefault;
  uint32_t databases = 16;  // Redis's `databases`: SELECT takes 0 to databases - 1
  std::string repository;   // --repo: SAVE and BGSAVE back up into it; empty: none
  std::string key_file;     // --key-file: the key of an encrypted repository
  // --archive: continuous archiving into `repository` (backup/archive_loop.h), a round every
  // archive_interval_ms.
  bool archive = false;
  int64_t archive_interval_ms = backup::kArchiveIntervalDefaultMs;
  // What a client may make the server hold (client_limits.h).
  ClientLimits limits;
  // enable-debug-command: DEBUG runs (and the database sits on the slow-disk model DEBUG
  // SYNC-DELAY steers) only when not kNo.
  ServerState::DebugAllowed enable_debug_command = ServerState::DebugAllowed::kNo;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, opens the database, prints the startup summary and the line "ready to accept
  // connections on ADDR:PORT" to `out`, and serves until shutdown. Returns OK after a graceful
  // shutdown; an error (bind failure, database open or close failure) otherwise.
  Status Run(std::ostream& out);

 private:
  Status Listen();
  Status OpenDatabase(std::ostream& out);
  Status OpenRepository(std::ostream& out);
  Status StartArchiving(std::ostream& out, const repository::KeyMaterial& key);
  void StopArchiving(std::ostream& out);
  Status SetUpNotifications();
  void Serve();
  void HandleEvent(uint64_t token, uint32_t events);
  void AcceptClients();
  void HandleClient(Connection& connection, uint32_t events);
  bool ReadInput(Connection& connection);
  void ProcessInput(Connection& connection);
  void Execute(Connection& connection, std::vector<std::string>& args);
  void Flush(Connection& connection);
  void UpdateInterest(Connection& connection);
  // Writes (or closes) the connections PUBLISH gave messages to in this iteration.
  void FlushDelivered();
  void CommitIteration();
  void HandleAcks();
  void ReleaseAcked();
  void FailWaitingIfDatabaseFailed();
  void CloseConnection(uint64_t token);

  // Client memory (client_limits.h).
  static uint64_t TokenOf(const Connection& connection);
  // Brings the connection's share of state_.clients_memory up to date.
  void Account(Connection& connection);
  // Whether writes waiting for durability have reached the server-wide budget.
  bool WriteBudgetFull() const;
  // Runs held-back write commands, oldest first, while the write budget has room.
  void ResumeHeldWriters();
  // If the client's replies are over client-output-buffer-limit, drops them and marks it to be
  // closed (as Redis's freeClientAsync: the caller still holds it); true if it did.
  bool CloseIfOverOutputBufferLimit(Connection& connection);
  // Evicts the clients holding most until all hold at most maxmemory-clients.
  void EnforceMaxMemoryClients();
  // Redis's client description (CLIENT LIST, the eviction and limit log lines).
  std::string DescribeClient(const Connection& connection) const;
  void Log(const std::string& line);
  void BeginShutdown();
  bool Drained() const;
  void CloseEverything();  // clients, the listening socket, the signalfd
  // ServerState::serve_while_busy: called from inside a script past busy-reply-threshold.
  void ServeWhileScriptBusy();
  void CloseAckFd();  // only once the database is closed

  ServerOptions options_;
  ServerState state_;
  std::ostream* log_ = nullptr;                    // where Run's caller reads the server's messages
  std::unique_ptr<SlowDiskFileSystem> slow_disk_;  // with enable-debug-command only
  std::unique_ptr<db::DBInternal> db_;
  std::unique_ptr<BackupWorker> backups_;
  std::unique_ptr<backup::ContinuousArchiver> archive_;
  std::unique_ptr<EventLoop> loop_;
  int listen_fd_ = -1;
  int ack_fd_ = -1;
  int signal_fd_ = -1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_set<uint64_t> waiting_;    // connections holding replies for unacked LSNs
  std::unordered_set<uint64_t> delivered_;  // connections given pub/sub messages to send
  // Pending writes (lsn, bytes) of clients that went away: still held until acknowledged.
  std::multimap<uint64_t, uint64_t> orphan_writes_;  // lsn -> bytes
  // Connections holding a write command back for the write budget, oldest first (some may be
  // gone or resumed since: skipped).
  std::deque<uint64_t> budget_waiters_;
  uint64_t next_token_;
  uint64_t last_acked_seen_ = 0;
  bool stopping_ = false;
  int64_t shutdown_deadline_ms_ = 0;
  std::string reply_scratch_;
  std::vector<std::string> args_scratch_;
  std::vector<char> read_scratch_;  // ReadInput's buffer, shared by every connection
  // The connection whose command is running (0: none), and whether the loop is serving other
  // clients from inside it (a busy script): that connection is then left alone, neither read,
  // flushed nor closed, until its command returns.
  uint64_t executing_token_ = 0;
  bool serving_while_busy_ = false;
};

}  // namespace ordo::server
