#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/reply.h"
#include "util/clock.h"

namespace ordo::server {

namespace {

constexpr uint64_t kListenToken = 1;
constexpr uint64_t kAckToken = 2;
constexpr uint64_t kSignalToken = 3;
constexpr uint64_t kFirstClientToken = 16;  // client ids are tokens minus this, plus one
constexpr int kListenBacklog = 511;         // Redis's tcp-backlog default
constexpr size_t kReadBytes = 64 * 1024;
// While a large bulk is arriving, read in bigger pieces (fewer system calls per value).
constexpr size_t kReadBytesLarge = 1024 * 1024;
constexpr int kIdlePollMs = 1000;
constexpr int kStoppingPollMs = 50;
// File descriptors kept for the database (segments, checkpoints) beyond the clients.
constexpr uint64_t kReservedDescriptors = 128;

Status ErrnoStatus(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

// Like Redis's adjustOpenFilesLimit: 1000+ clients need more descriptors than the usual 1024.
// Returns how many clients the limit allows (maxclients, or fewer when the hard limit cannot
// keep kReservedDescriptors beside them: a connection storm must not leave the database
// unable to start a segment, which would fail it for good) and the limit in `*open_files`.
uint64_t RaiseOpenFilesLimit(uint64_t maxclients, uint64_t* open_files) {
  rlimit limit{};
  *open_files = 0;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return maxclients;
  const uint64_t wanted = std::min<uint64_t>(maxclients, UINT32_MAX) + kReservedDescriptors;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur =
        limit.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return maxclients;
  *open_files = limit.rlim_cur;
  return limit.rlim_cur > kReservedDescriptors ? limit.rlim_cur - kReservedDescriptors : 0;
}

// Redis's sdscatrepr: the bytes in double quotes, with \n \r \t \a \b, \\ and \" escaped
// and other unprintable bytes as \xHH.
std::string QuotedBytes(std::string_view bytes) {
  std::string quoted = "\"";
  for (unsigned char c : bytes) {
    switch (c) {
      case '\\':
        quoted += "\\\\";
        break;
      case '"':
        quoted += "\\\"";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '\t':
        quoted += "\\t";
        break;
      case '\a':
        quoted += "\\a";
        break;
      case '\b':
        quoted += "\\b";
        break;
      default:
        if (std::isprint(c)) {
          quoted.push_back(static_cast<char>(c));
        } else {
          char escaped[5];
          std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
          quoted += escaped;
        }
    }
  }
  return quoted + "\"";
}

std::string PeerAddress(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    port = ntohs(v6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

void PrintOpenSummary(std::ostream& out, const ServerOptions& options, const OpenReport& report) {
  out << "ordo " << ORDO_VERSION << " (Redis protocol 7.0.0), pid " << getpid() << "\n"
      << "  data directory: " << options.data_directory << "\n"
      << "  keys: " << report.keys << ", segments: " << report.segments
      << ", log bytes: " << report.log_bytes << ", last lsn: " << report.last_lsn << "\n"
      << "  checkpoint used: " << (report.checkpoint.empty() ? "none" : report.checkpoint)
      << ", records replayed: " << report.replayed_records
      << ", records verified: " << report.verified_records << "\n"
      << "  integrity level: " << report.integrity_level
      << (report.created_database          ? " (new database)"
          : report.previous_shutdown_clean ? " (previous shutdown clean)"
                                           : " (previous shutdown not clean)")
      << "\n"
      << "  recovery actions: " << (report.actions.empty() ? "none" : "") << "\n";
  for (const std::string& action : report.actions) out << "    - " << action << "\n";
  if (report.torn_tail_bytes > 0) {
    out << "  torn tail cut: " << report.torn_tail_bytes << " bytes";
    if (report.cut_through_lsn != 0) {
      out << ", LSNs " << report.cut_from_lsn << " to " << report.cut_through_lsn;
    } else if (report.cut_from_lsn != 0) {
      out << ", from LSN " << report.cut_from_lsn;
    }
    out << " (never durable)\n";
  }
  out << "  sync mode: " << SyncModeName(options.sync_mode)
      << ", segment size: " << options.segment_bytes << " bytes\n"
      << "  opened in " << report.duration_micros / 1000 << " ms\n";
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)), next_token_(kFirstClientToken) {
  state_.data_directory = options_.data_directory;
  state_.bind_address = options_.bind_address;
  state_.port = options_.port;
  state_.sync_mode = options_.sync_mode;
  state_.segment_bytes = options_.segment_bytes;
  state_.requirepass = options_.requirepass;
  state_.maxclients = options_.maxclients;
  state_.databases = options_.databases;
  state_.archive_interval_ms = options_.archive_interval_ms;
  state_.limits = options_.limits;
  state_.enable_debug_command = options_.enable_debug_command;
  state_.describe_clients = [this] {
    std::string lines;
    for (const auto& [token, connection] : connections_) {
      lines += DescribeClient(*connection) + "\n";
    }
    return lines;
  };
  state_.deliver = [this](ClientState& client, std::string_view message) {
    auto found = connections_.find(client.id + kFirstClientToken - 1);
    if (found == connections_.end()) return;
    Connection& connection = *found->second;
    // A subscriber cut at its output limit (or closing for another reason) gets nothing more:
    // no tail of messages after a silent hole, as Redis writes nothing to a client it will close.
    if (connection.closing()) return;
    connection.QueueReply(message, 0);
    // A subscriber that does not read is cut here, as Redis does, never waited for. The
    // connection is written (or closed) after the command (FlushDelivered): never while the
    // publisher's command runs (a close would change the subscriber lists it walks).
    CloseIfOverOutputBufferLimit(connection);
    delivered_.insert(found->first);
  };
  state_.serve_while_busy = [this] { ServeWhileScriptBusy(); };
  state_.log_line = [this](const std::string& line) { Log(line); };
  state_.visit_clients =
      [this](const std::function<void(const ClientState&, const std::string&)>& visit) {
        for (const auto& [token, connection] : connections_) {
          visit(connection->client(), DescribeClient(*connection));
        }
      };
  state_.kill_client = [this](uint64_t id) {
    auto found = connections_.find(id + kFirstClientToken - 1);
    if (found == connections_.end()) return false;
    // Closed after this command (FlushDelivered), never while a command walks the clients.
    found->second->DiscardReplies();
    found->second->set_closing();
    delivered_.insert(found->first);
    return true;
  };
  state_.largest_client_buffers = [this] {
    uint64_t query = 0;
    uint64_t output = 0;
    for (const auto& [token, connection] : connections_) {
      const ConnectionMemory memory = connection->Memory();
      query = std::max(query, memory.query + memory.arguments);
      output = std::max(output, memory.replies);
    }
    return std::make_pair(query, output);
  };
}

Server::~Server() {
  CloseEverything();
  // The database first: its committer thread may be calling the ack listener, which writes to
  // ack_fd_; closing the fd before would let that write land on a reused descriptor.
  db_.reset();
  CloseAckFd();
}

void Server::CloseAckFd() {
  if (ack_fd_ >= 0) close(ack_fd_);
  ack_fd_ = -1;
}

Status Server::Run(std::ostream& out) {
  // Signals are blocked before the database starts its threads, so they inherit the mask and
  // SIGTERM/SIGINT reach only the signalfd. SIGPIPE is ignored: a vanished client is an EPIPE.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  log_ = &out;
#ifdef __GLIBC__
  // Blocks of 128 KiB or more (values, large requests and replies) are mapped on their own and
  // unmapped when freed, so memory a burst of large values took goes back to the system at once
  // and RSS follows what clients hold (client_limits.h), not their peak. Left alone, glibc
  // raises this threshold as large blocks are freed, and keeps such blocks in its heap.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
  uint64_t open_files = 0;
  const uint64_t allowed_clients = RaiseOpenFilesLimit(options_.maxclients, &open_files);
  if (allowed_clients < options_.maxclients) {
    if (allowed_clients == 0) {
      return Status::InvalidArgument("the open files limit (" + std::to_string(open_files) +
                                     ") leaves no descriptor for clients: raise it (ulimit -n) "
                                     "above " +
                                     std::to_string(kReservedDescriptors));
    }
    out << "maxclients lowered to " << allowed_clients << " (from " << options_.maxclients
        << "): the open files limit is " << open_files << " and " << kReservedDescriptors
        << " descriptors are kept for the database" << std::endl;
    options_.maxclients = allowed_clients;
    state_.maxclients = allowed_clients;
  }

  ORDO_ASSIGN_OR_RETURN(loop_, EventLoop::Create());
  ORDO_RETURN_IF_ERROR(Listen());
  ORDO_RETURN_IF_ERROR(SetUpNotifications());
  ORDO_RETURN_IF_ERROR(OpenDatabase(out));
  ORDO_RETURN_IF_ERROR(OpenRepository(out));
  state_.start_time_ms = WallMillis();
  out << "ready to accept connections on " << options_.bind_address << ":" << state_.port
      << std::endl;
  Serve();
  out << "shutting down: " << connections_.size() << " clients still connected" << std::endl;
  db_->SetAckListener(nullptr);
  CloseEverything();
  backups_.reset();  // waits for a background backup in progress
  state_.backups = nullptr;
  Status closed = db_->Close();
  db_.reset();
  CloseAckFd();        // the committer thread has stopped: no listener call can come now
  StopArchiving(out);  // after the close: the final round ships the last commits
  if (!closed.ok()) return closed.WithContext("closing the database");
  out << "database closed cleanly; bye" << std::endl;
  return Status::Ok();
}

Status Server::Listen() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options_.port);
  std::string where = options_.bind_address + ":" + port;
  int error = getaddrinfo(options_.bind_address.c_str(), port.c_str(), &hints, &found);
  if (error != 0) {
    return Status::InvalidArgument("cannot listen on " + where + ": " + gai_strerror(error));
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || bind(fd, found->ai_addr, found->ai_addrlen) != 0 ||
      listen(fd, kListenBacklog) != 0) {
    Status status = ErrnoStatus("cannot listen on " + where);
    if (fd >= 0) close(fd);
    freeaddrinfo(found);
    return status;
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  state_.port = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;
  return loop_->Add(listen_fd_, kListenToken, EventLoop::kReadable);
}

Status Server::SetUpNotifications() {
  ack_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ack_fd_ < 0) return ErrnoStatus("eventfd");
  ORDO_RETURN_IF_ERROR(loop_->Add(ack_fd_, kAckToken, EventLoop::kReadable));
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return ErrnoStatus("signalfd");
  return loop_->Add(signal_fd_, kSignalToken, EventLoop::kReadable);
}

Status Server::OpenRepository(std::ostream& out) {
  if (options_.archive && options_.repository.empty()) {
    return Status::InvalidArgument("--archive needs a repository: --repo REPO");
  }
  if (options_.repository.empty()) return Status::Ok();
  repository::KeyMaterial key;
  if (!options_.key_file.empty()) {
    ORDO_RETURN_IF_ERROR(repository::ReadKeyFile(FileSystem::Default(), options_.key_file, &key));
  }
  bool created = false;
  auto worker = BackupWorker::Open(options_.data_directory, options_.repository, key, &created);
  if (!worker.ok()) return worker.status();
  backups_ = std::move(*worker);
  state_.backups = backups_.get();
  out << "  backup repository: " << options_.repository
      << (created ? " (created: plain, no encryption)" : "") << std::endl;
  if (options_.archive) ORDO_RETURN_IF_ERROR(StartArchiving(out, key));
  return Status::Ok();
}

Status Server::StartArchiving(std::ostream& out, const repository::KeyMaterial& key) {
  // Its own Repository object: the archiver's thread and the backup worker's never share one.
  bool created = false;
  ORDO_ASSIGN_OR_RETURN(auto repository,
                        OpenOrCreateRepository(options_.repository, key, &created));
  backup::ContinuousArchiverOptions archive_options;
  archive_options.interval_ms = options_.archive_interval_ms;
  // Logs each change of state (ok -> retrying -> ok, failed), not every round. Runs on the
  // archiver's thread; `out` outlives the archiver (StopArchiving joins it).
  auto last_state = std::make_shared<backup::ArchiveState>(backup::ArchiveState::kStarting);
  auto observer = [&out, last_state](const backup::ArchiveStep&, const Status& status,
                                     const backup::ArchiveSnapshot& snapshot) {
    if (snapshot.state == *last_state) return;
    *last_state = snapshot.state;
    std::string line = "archive: " + snapshot.status;
    if (!status.ok()) line += " (" + status.ToString() + ")";
    if (status.ok()) line += ", archived up to LSN " + std::to_string(snapshot.archived_lsn);
    out << line + "\n" << std::flush;
  };
  out << "  continuous archiving: into " << options_.repository << " every "
      << options_.archive_interval_ms << " ms" << std::endl;
  ORDO_ASSIGN_OR_RETURN(archive_, backup::ContinuousArchiver::Start(
                                      FileSystem::Default(), options_.data_directory,
                                      std::move(repository), archive_options, observer));
  state_.archive = archive_.get();
  return Status::Ok();
}

void Server::StopArchiving(std::ostream& out) {
  if (archive_ == nullptr) return;
  state_.archive = nullptr;
  const Status final_round = archive_->Stop();
  const backup::ArchiveSnapshot snapshot = archive_->Snapshot();
  archive_.reset();
  if (snapshot.state == backup::ArchiveState::kFailed) {
    out << "archive: " << snapshot.status << ": " << snapshot.last_error << std::endl;
  } else if (!final_round.ok()) {
    // The database is closed and durable; the next start (or `ordo archive`) ships the rest.
    out << "archive: the final round failed, the archive ends at LSN " << snapshot.archived_lsn
        << ": " << final_round.ToString() << std::endl;
  } else {
    out << "archive: archived up to LSN " << snapshot.archived_lsn << std::endl;
  }
}

Status Server::OpenDatabase(std::ostream& out) {
  Options options;
  options.create_if_missing = true;
  options.sync_mode = options_.sync_mode;
  options.segment_bytes = options_.segment_bytes;
  if (options_.enable_debug_command != ServerState::DebugAllowed::kNo) {
    // DEBUG SYNC-DELAY steers a slow-disk model under the database (a test aid): with no delay
    // set it only passes calls through.
    slow_disk_ = std::make_unique<SlowDiskFileSystem>(FileSystem::Default());
    options.file_system = slow_disk_.get();
    state_.slow_disk = slow_disk_.get();
  }
  OpenReport report;
  auto opened = db::DBInternal::Open(options, options_.data_directory, &report);
  if (!opened.ok()) return opened.status().WithContext("opening " + options_.data_directory);
  db_ = std::move(*opened);
  // Keys in a database SELECT cannot reach would be served by nothing: refuse, as Redis
  // refuses a data file made with more databases than it is configured for.
  for (uint32_t db = db_->DatabasesInUse(); db > options_.databases; --db) {
    if (db_->CountKeysIn(db - 1) == 0) continue;
    Status closed = db_->Close();
    (void)closed;  // the refusal below is what the operator needs to read
    db_.reset();
    return Status::InvalidArgument("the data directory holds keys in database " +
                                   std::to_string(db - 1) + ", but --databases is " +
                                   std::to_string(options_.databases) + " (databases 0 to " +
                                   std::to_string(options_.databases - 1) +
                                   "): start with --databases " + std::to_string(db) + " or more");
  }
  state_.open_report = report;
  int ack_fd = ack_fd_;
  // Runs on the committer thread: only a write to the eventfd, never a call into the DB.
  db_->SetAckListener([ack_fd] {
    uint64_t one = 1;
    ssize_t ignored = write(ack_fd, &one, sizeof(one));
    (void)ignored;  // EAGAIN means the counter is already non-zero: the loop will wake
  });
  last_acked_seen_ = db_->AckedLsn();
  PrintOpenSummary(out, options_, report);
  return Status::Ok();
}

void Server::Serve() {
  while (true) {
    int timeout_ms = stopping_ ? kStoppingPollMs : kIdlePollMs;
    int events = loop_->Poll(timeout_ms,
                             [this](uint64_t token, uint32_t ready) { HandleEvent(token, ready); });
    FlushDelivered();
    CommitIteration();
    EnforceMaxMemoryClients();
    if (events == 0) FailWaitingIfDatabaseFailed();  // a quiet second: is the DB stuck?
    // Commands also run in the steps above (a paused client resumed by an acknowledgement, a
    // write held for the budget): their messages go out now, not at the next event.
    FlushDelivered();
    if (state_.shutdown_requested && !stopping_) BeginShutdown();
    if (stopping_ && (Drained() || WallMillis() >= shutdown_deadline_ms_)) return;
  }
}

void Server::HandleEvent(uint64_t token, uint32_t events) {
  if (token == kListenToken) {
    AcceptClients();
  } else if (token == kAckToken) {
    HandleAcks();
  } else if (token == kSignalToken) {
    signalfd_siginfo info{};
    while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      state_.shutdown_requested = true;
    }
  } else {
    if (serving_while_busy_ && token == executing_token_) return;  // its script is running
    auto found = connections_.find(token);
    if (found == connections_.end()) return;
    HandleClient(*found->second, events);
    // Checked after every client handled, not once an iteration: in one iteration hundreds of
    // clients may each read a large piece of a request.
    EnforceMaxMemoryClients();
  }
}

void Server::AcceptClients() {
  while (!stopping_) {
    sockaddr_storage address{};
    socklen_t size = sizeof(address);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or out of descriptors: try again on the next event
    state_.total_connections_received += 1;
    if (connections_.size() >= options_.maxclients) {
      static constexpr std::string_view kFull = "-ERR max number of clients reached\r\n";
      ssize_t ignored = send(fd, kFull.data(), kFull.size(), MSG_NOSIGNAL);
      (void)ignored;
      close(fd);
      state_.rejected_connections += 1;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    uint64_t token = next_token_++;
    ClientState client;
    client.id = token - kFirstClientToken + 1;
    client.address = PeerAddress(address);
    client.authenticated = options_.requirepass.empty();
    client.created_ms = WallMillis();
    auto connection = std::make_unique<Connection>(fd, std::move(client));
    if (!loop_->Add(fd, token, EventLoop::kReadable).ok()) continue;  // closes fd
    connections_.emplace(token, std::move(connection));
    state_.connected_clients = connections_.size();
  }
}

uint64_t Server::TokenOf(const Connection& connection) {
  return connection.client().id + kFirstClientToken - 1;
}

void Server::HandleClient(Connection& connection, uint32_t events) {
  uint64_t token = TokenOf(connection);
  if ((events & EventLoop::kReadable) && connection.want_read) {
    if (!ReadInput(connection)) {
      CloseConnection(token);
      return;
    }
    if (connection.QueryBytes() > state_.limits.query_buffer_bytes) {
      // Redis's readQueryFromClient: the request is larger than any the server will hold.
      const std::string& input = connection.input();
      const size_t start = connection.input_position();
      Log("Closing client that reached max query buffer length: " + DescribeClient(connection) +
          " (qbuf initial bytes: " + QuotedBytes(input.substr(start, 64)) + ")");
      state_.query_buffer_limit_disconnections += 1;
      CloseConnection(token);
      return;
    }
    ProcessInput(connection);
  } else if ((events & EventLoop::kError) && !(events & EventLoop::kWritable)) {
    CloseConnection(token);
    return;
  }
  Flush(connection);
}

bool Server::ReadInput(Connection& connection) {
  // Read into one server-wide buffer and append only what arrived: growing the connection's
  // string by the whole chunk first would zero-fill 64 KiB per read.
  size_t chunk = connection.parser().InCommand() ? kReadBytesLarge : kReadBytes;
  if (read_scratch_.size() < chunk) read_scratch_.resize(kReadBytesLarge);
  ssize_t count = read(connection.fd(), read_scratch_.data(), chunk);
  if (count < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  // 0: the client shut down its sending side. It may still read: the requests it sent are
  // answered before the connection closes (Flush), as Redis answers `printf ... | nc -N`.
  if (count == 0) connection.set_input_closed();
  connection.input().append(read_scratch_.data(), static_cast<size_t>(count));
  return true;
}

void Server::ProcessInput(Connection& connection) {
  connection.parser().set_bulk_bytes_max(state_.limits.bulk_bytes);
  while (!connection.closing() && !stopping_ && !connection.HasHeldCommand() &&
         connection.HeldBytes() < kClientHeldBytesSoftMax) {
    RespParser::Outcome outcome =
        connection.parser().Parse(connection.input(), &connection.input_position(), &args_scratch_);
    if (outcome == RespParser::Outcome::kNeedMore) break;
    if (outcome == RespParser::Outcome::kError) {
      // Redis's behaviour: reply with the protocol error, then close after writing it.
      reply_scratch_.clear();
      AppendError(&reply_scratch_, "ERR " + connection.parser().error());
      connection.QueueReply(reply_scratch_, 0);
      connection.set_closing();
      break;
    }
    if (args_scratch_.empty()) continue;  // an empty request gets no reply
    if (state_.writes_waiting_for_budget > 0 || WriteBudgetFull()) {
      const CommandSpec* spec = LookupCommand(args_scratch_[0]);
      if (spec != nullptr && (spec->flags & kCommandWrite)) {
        // Writes waiting for the disk hold the whole budget (or others wait for it already):
        // this one waits its turn to run until acks make room (ResumeHeldWriters, oldest
        // first), and nothing more is read from this client meanwhile.
        connection.HoldCommand(std::move(args_scratch_));
        args_scratch_.clear();
        budget_waiters_.push_back(TokenOf(connection));
        state_.writes_waiting_for_budget += 1;
        break;
      }
    }
    Execute(connection, args_scratch_);
  }
  connection.CompactInput();
}

void Server::Execute(Connection& connection, std::vector<std::string>& args) {
  reply_scratch_.clear();
  CommandContext context;
  context.db = db_.get();
  context.server = &state_;
  context.client = &connection.client();
  context.args = &args;
  context.reply = &reply_scratch_;
  const uint64_t outer_token = executing_token_;  // a client served while a script is busy
  executing_token_ = TokenOf(connection);
  ExecuteCommand(context);
  executing_token_ = outer_token;
  uint64_t required_lsn = context.required_lsn;
  if (context.submitted_bytes > 0) {
    connection.AddPendingWrite(required_lsn, context.submitted_bytes);
    state_.pending_write_bytes += context.submitted_bytes;
  }
  if (required_lsn <= last_acked_seen_) required_lsn = 0;
  if (!reply_scratch_.empty()) {
    connection.QueueReply(reply_scratch_, required_lsn);
    // Redis checks as a reply is added, before any of it is written.
    if (CloseIfOverOutputBufferLimit(connection)) return;
  }
  if (connection.client().close_after_reply || state_.shutdown_requested) {
    connection.set_closing();
  }
}

void Server::Flush(Connection& connection) {
  uint64_t token = TokenOf(connection);
  if (serving_while_busy_ && token == executing_token_) return;  // its script is running
  state_.pending_write_bytes -= connection.ReleaseAcked(last_acked_seen_);
  if (!connection.OutputWaitsForDisk() && connection.Write() == Connection::WriteOutcome::kClosed) {
    CloseConnection(token);
    return;
  }
  CloseIfOverOutputBufferLimit(connection);
  Account(connection);
  if (connection.HasWaitingReplies()) {
    waiting_.insert(token);
  } else {
    waiting_.erase(token);
  }
  // A client paused for holding too much (replies it has not read, writes waiting for the
  // disk) resumes once they have drained.
  bool paused_with_input = connection.input_position() < connection.input().size() &&
                           !connection.closing() && !stopping_ && !connection.HasHeldCommand();
  if (paused_with_input && connection.HeldBytes() < kClientHeldBytesSoftMax / 2) {
    size_t before = connection.input().size();
    ProcessInput(connection);
    if (connection.input().size() != before) {
      Flush(connection);
      return;
    }
  }
  // After the resumption above: a half-closed client's input is run to its end (what is left
  // is at most an incomplete request) before it is closed.
  if ((connection.closing() || connection.input_closed()) && !connection.HasHeldCommand() &&
      !connection.HasWaitingReplies() && !connection.HasOutput()) {
    CloseConnection(token);
    return;
  }
  UpdateInterest(connection);
}

void Server::UpdateInterest(Connection& connection) {
  bool want_write = connection.HasOutput() && !connection.OutputWaitsForDisk();
  bool want_read = !connection.closing() && !connection.input_closed() && !stopping_ &&
                   !connection.HasHeldCommand() && connection.HeldBytes() < kClientHeldBytesSoftMax;
  if (want_write == connection.want_write && want_read == connection.want_read) return;
  connection.want_write = want_write;
  connection.want_read = want_read;
  uint32_t events =
      (want_read ? EventLoop::kReadable : 0) | (want_write ? EventLoop::kWritable : 0);
  uint64_t token = connection.client().id + kFirstClientToken - 1;
  if (!loop_->Modify(connection.fd(), token, events).ok()) CloseConnection(token);
}

void Server::FlushDelivered() {
  // A flush may resume a paused subscriber's input, whose commands may publish in turn.
  while (!delivered_.empty()) {
    std::vector<uint64_t> tokens(delivered_.begin(), delivered_.end());
    delivered_.clear();
    for (uint64_t token : tokens) {
      auto found = connections_.find(token);
      if (found != connections_.end()) Flush(*found->second);
    }
  }
}

void Server::CommitIteration() {
  // Commands submit their writes deferred (SubmitBatch): this iteration's writes go out here as
  // one group, committed on this thread when the committer thread is idle, so that no write
  // costs a hand-off between threads (Redis's appendfsync always syncs in beforeSleep too).
  // The replies wait for the sync either way; reads go on being served by the next iteration.
  // Sending the released replies can resume a paused client (its output buffer drained), whose
  // commands then submit more writes: commit those too, in a few more rounds at most, rather
  // than leave them to the committer thread's backstop (up to db::kDeferredCommitMaxMs).
  constexpr int kCommitRoundsMax = 4;
  for (int round = 0; round < kCommitRoundsMax; ++round) {
    const uint64_t submitted_before = state_.last_submitted_lsn;
    Status committed = db_->CommitPending();
    if (!committed.ok() || db_->AckedLsn() != last_acked_seen_) ReleaseAcked();
    if (!committed.ok() || state_.last_submitted_lsn == submitted_before) break;
  }
}

void Server::HandleAcks() {
  uint64_t counter = 0;
  ssize_t ignored = read(ack_fd_, &counter, sizeof(counter));
  (void)ignored;
  ReleaseAcked();
}

void Server::ReleaseAcked() {
  uint64_t acked = db_->AckedLsn();
  bool progressed = acked != last_acked_seen_;
  last_acked_seen_ = acked;
  if (!progressed) FailWaitingIfDatabaseFailed();  // the listener also fires on failure
  while (!orphan_writes_.empty() && orphan_writes_.begin()->first <= acked) {
    state_.pending_write_bytes -= orphan_writes_.begin()->second;
    orphan_writes_.erase(orphan_writes_.begin());
  }
  std::vector<uint64_t> tokens(waiting_.begin(), waiting_.end());
  uint64_t pending = 0;
  for (uint64_t token : tokens) {
    auto found = connections_.find(token);
    if (found == connections_.end()) {
      waiting_.erase(token);
      continue;
    }
    Flush(*found->second);
    auto still = connections_.find(token);
    if (still != connections_.end()) pending += still->second->WaitingReplyCount();
  }
  state_.pending_replies = pending;
  ResumeHeldWriters();
}

void Server::FailWaitingIfDatabaseFailed() {
  if (waiting_.empty() && orphan_writes_.empty() && state_.database_failed) return;
  Statistics stats = db_->GetStatistics();
  if (!stats.failed) return;
  state_.database_failed = true;
  // The failed database dropped every write it had not acknowledged: nothing is held for them
  // any more, and the writes held back for the budget run now (and get the disk error).
  for (const auto& [lsn, bytes] : orphan_writes_) state_.pending_write_bytes -= bytes;
  orphan_writes_.clear();
  if (waiting_.empty()) {
    ResumeHeldWriters();
    return;
  }
  // Those writes will never be acknowledged: answer each waiting reply with the error rather
  // than hold the clients forever.
  std::string error;
  AppendError(&error, "ERR disk error: " + stats.failure);
  last_acked_seen_ = db_->AckedLsn();
  std::vector<uint64_t> tokens(waiting_.begin(), waiting_.end());
  for (uint64_t token : tokens) {
    auto found = connections_.find(token);
    if (found == connections_.end()) continue;
    state_.pending_write_bytes -= found->second->FailWaiting(last_acked_seen_, error);
    Flush(*found->second);
  }
  ResumeHeldWriters();
}

void Server::CloseConnection(uint64_t token) {
  auto found = connections_.find(token);
  if (found == connections_.end()) return;
  Connection& connection = *found->second;
  loop_->Remove(connection.fd());
  waiting_.erase(token);
  // Its writes still wait for the disk, and still hold their memory until acknowledged.
  for (const auto& write : connection.TakePendingWrites()) orphan_writes_.insert(write);
  if (connection.HasHeldCommand()) state_.writes_waiting_for_budget -= 1;
  ForgetClient(state_, connection.client());
  state_.clients_memory -= connection.accounted_bytes;
  connections_.erase(found);
  state_.connected_clients = connections_.size();
}

void Server::Account(Connection& connection) {
  const uint64_t now = connection.Memory().Total();
  state_.clients_memory += now;
  state_.clients_memory -= connection.accounted_bytes;
  connection.accounted_bytes = now;
}

bool Server::WriteBudgetFull() const {
  const uint64_t budget = state_.limits.WriteBudgetBytes();
  return budget > 0 && state_.pending_write_bytes >= budget;
}

void Server::ResumeHeldWriters() {
  if (serving_while_busy_) return;  // they would only get BUSY: they run after the script
  while (!budget_waiters_.empty() && !WriteBudgetFull() && !stopping_) {
    const uint64_t token = budget_waiters_.front();
    budget_waiters_.pop_front();
    auto found = connections_.find(token);
    if (found == connections_.end() || !found->second->HasHeldCommand()) continue;
    Connection& connection = *found->second;
    std::vector<std::string> args = connection.TakeHeldCommand();
    state_.writes_waiting_for_budget -= 1;
    Execute(connection, args);
    ProcessInput(connection);  // its pipeline goes on (and may be held again)
    Flush(connection);
  }
}

bool Server::CloseIfOverOutputBufferLimit(Connection& connection) {
  if (connection.closing() && !connection.HasOutput() && !connection.HasWaitingReplies()) {
    return false;  // closing already, nothing left to send
  }
  // Redis's checkClientOutputBufferLimits, for the normal class: over the hard limit, or over
  // the soft limit for longer than its seconds.
  // Replies still waiting for durability are not in it: the client could not have read them
  // yet (they count in its tot-mem).
  // A client with subscriptions is of the pubsub class (Redis's getClientType).
  const OutputBufferLimit& limit =
      InSubscribedContext(connection.client()) ? state_.limits.pubsub : state_.limits.normal;
  const uint64_t used = connection.UnsentOutputBytes();
  const bool hard = limit.hard_bytes > 0 && used >= limit.hard_bytes;
  bool soft = limit.soft_bytes > 0 && used >= limit.soft_bytes;
  if (soft) {
    const int64_t now_seconds = WallMillis() / 1000;  // whole seconds, as Redis's unixtime
    if (connection.soft_limit_since_seconds == 0) {
      connection.soft_limit_since_seconds = now_seconds;
      soft = false;
    } else {
      soft = now_seconds - connection.soft_limit_since_seconds > limit.soft_seconds;
    }
  } else {
    connection.soft_limit_since_seconds = 0;
  }
  if (!hard && !soft) return false;
  Log("Client " + DescribeClient(connection) +
      " scheduled to be closed ASAP for overcoming of output buffer limits.");
  state_.output_buffer_limit_disconnections += 1;
  connection.DiscardReplies();
  connection.set_closing();  // Flush closes it: nothing is left to send
  return true;
}

void Server::EnforceMaxMemoryClients() {
  if (serving_while_busy_) return;  // never the client whose script is running; after it
  const uint64_t cap = state_.limits.MaxMemoryClientsBytes();
  if (cap == 0 || state_.clients_memory <= cap) return;
  // Redis's client eviction: the clients holding most go first, only as many as needed;
  // never one that asked for CLIENT NO-EVICT ON.
  std::vector<std::pair<uint64_t, uint64_t>> by_memory;  // (tot-mem, token)
  for (auto& [token, connection] : connections_) {
    Account(*connection);
    if (connection->client().no_evict) continue;
    by_memory.emplace_back(connection->accounted_bytes, token);
  }
  std::sort(by_memory.rbegin(), by_memory.rend());
  for (const auto& [memory, token] : by_memory) {
    if (state_.clients_memory <= cap) return;
    auto found = connections_.find(token);
    if (found == connections_.end()) continue;
    Log("Evicting client: " + DescribeClient(*found->second));
    state_.evicted_clients += 1;
    CloseConnection(token);
  }
  if (state_.clients_memory > cap) {
    Log("Over client maxmemory after evicting all evictable clients");
  }
}

namespace {

// Redis's client flags, in catClientInfoString's order, for the states ordo's clients have: P
// subscribed, x in MULTI, d a watched key changed (EXEC will fail), e no-evict; N for none.
std::string ClientFlags(const ClientState& client) {
  std::string flags;
  if (InSubscribedContext(client)) flags += 'P';
  if (client.transaction.open) flags += 'x';
  if (client.watched_key_touched) flags += 'd';
  if (client.no_evict) flags += 'e';
  return flags.empty() ? "N" : flags;
}

}  // namespace

std::string Server::DescribeClient(const Connection& connection) const {
  // Redis's catClientInfoString, with the fields ordo has; pending-writes is ordo's own (its
  // writes waiting for the disk).
  const ClientState& client = connection.client();
  const ConnectionMemory memory = connection.Memory();
  const int64_t now_ms = WallMillis();
  std::string command = client.last_command.empty() ? "NULL" : client.last_command;
  return "id=" + std::to_string(client.id) + " addr=" + client.address +
         " fd=" + std::to_string(connection.fd()) + " name=" + client.name +
         " age=" + std::to_string((now_ms - client.created_ms) / 1000) +
         " flags=" + ClientFlags(client) + " db=" + std::to_string(client.db) +
         " sub=" + std::to_string(client.channels.size()) +
         " psub=" + std::to_string(client.patterns.size()) + " multi=" +
         std::to_string(client.transaction.open
                            ? static_cast<int64_t>(client.transaction.queued.size())
                            : -1) +
         " qbuf=" + std::to_string(connection.QueryBytes()) +
         " argv-mem=" + std::to_string(memory.arguments) +
         " pending-writes=" + std::to_string(memory.pending_writes) +
         " omem=" + std::to_string(memory.replies) + " tot-mem=" + std::to_string(memory.Total()) +
         " cmd=" + command + " resp=" + std::to_string(static_cast<int>(client.protocol));
}

void Server::ServeWhileScriptBusy() {
  // A script runs past busy-reply-threshold (commands_scripting.cc): handle the events ready
  // now, without waiting, and return to it. Other clients' commands are answered BUSY (but
  // SCRIPT KILL and the few Redis allows) by ExecuteCommand; the script's own connection is
  // skipped (HandleEvent, Flush), and nothing is committed here: the script holds an atomic
  // section, and the writes of the loop's iteration are committed after it, as usual. The
  // scratch buffers belong to the running command: the clients served here get their own.
  assert(!serving_while_busy_ && executing_token_ != 0);
  serving_while_busy_ = true;
  std::string outer_reply;
  std::vector<std::string> outer_args;
  std::swap(outer_reply, reply_scratch_);
  std::swap(outer_args, args_scratch_);
  loop_->Poll(0, [this](uint64_t token, uint32_t ready) { HandleEvent(token, ready); });
  std::swap(outer_reply, reply_scratch_);
  std::swap(outer_args, args_scratch_);
  serving_while_busy_ = false;
}

void Server::Log(const std::string& line) {
  if (log_ != nullptr) *log_ << line << std::endl;
}

void Server::BeginShutdown() {
  stopping_ = true;
  shutdown_deadline_ms_ = WallMillis() + kShutdownDrainMs;
  if (listen_fd_ >= 0) {
    loop_->Remove(listen_fd_);
    close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<uint64_t> tokens;
  for (const auto& [token, connection] : connections_) tokens.push_back(token);
  for (uint64_t token : tokens) {
    auto found = connections_.find(token);
    if (found != connections_.end()) Flush(*found->second);  // stops reading requests
  }
}

bool Server::Drained() const {
  for (const auto& [token, connection] : connections_) {
    if (connection->HasWaitingReplies() || connection->HasOutput()) return false;
  }
  return true;
}

void Server::CloseEverything() {
  for (const auto& [token, connection] : connections_) loop_->Remove(connection->fd());
  connections_.clear();
  state_.watched_keys.clear();
  state_.channels.clear();
  state_.patterns.clear();
  waiting_.clear();
  state_.connected_clients = 0;
  // ack_fd_ stays open until the database is closed (CloseAckFd).
  if (loop_ != nullptr && ack_fd_ >= 0) loop_->Remove(ack_fd_);
  for (int* fd : {&listen_fd_, &signal_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

}  // namespace ordo::server
