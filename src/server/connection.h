// One client connection: its socket, the request parser, the queue of replies waiting for
// durability, and the account of what it makes the server hold (server/client_limits.h).
//
// Reply ordering and durability. Each command's reply carries the LSN it depends on (its own
// write, or what its read observed). Replies leave in command order, and a reply may leave only
// once DB::AckedLsn() >= its LSN; so the queue is released as a prefix: everything up to the
// first reply whose LSN is not yet acknowledged. Because a reply can never leave before the
// ones queued ahead of it, a new reply whose LSN is not above the last queued one is simply
// appended to that entry (the queue holds strictly increasing LSNs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/client_limits.h"
#include "server/command_table.h"
#include "server/resp_parser.h"

namespace ordo::server {

// Ready replies up to this size wait to leave with a reply behind them that waits for the disk
// (Connection::OutputWaitsForDisk).
inline constexpr size_t kOutputHeldForDiskBytesMax = 64 * 1024;

// What a connection holds, in bytes, by kind (CLIENT LIST's qbuf, argv-mem, omem, tot-mem).
struct ConnectionMemory {
  uint64_t query = 0;           // the input buffer's allocation
  uint64_t arguments = 0;       // arguments parsed so far, a command held back, MULTI's queue
  uint64_t pending_writes = 0;  // its writes waiting for durability (see AddPendingWrite)
  uint64_t replies = 0;         // replies waiting for durability, and output not yet sent
  uint64_t Total() const { return query + arguments + pending_writes + replies; }
};

class Connection {
 public:
  enum class WriteOutcome { kDone, kBlocked, kClosed };

  Connection(int fd, ClientState client);
  ~Connection();  // closes the socket
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  ClientState& client() { return client_; }
  const ClientState& client() const { return client_; }
  RespParser& parser() { return parser_; }
  const std::string& input() const { return input_; }
  size_t input_position() const { return input_position_; }
  // Bytes received and not yet parsed, from input_position() on.
  std::string& input() { return input_; }
  size_t& input_position() { return input_position_; }
  // Drops parsed bytes from the front of the input buffer; an emptied buffer that grew past
  // kBufferKeepBytes is given back (one large request must not pin its memory for good).
  void CompactInput();
  // Bytes of the request being read: unparsed input and arguments parsed so far (what
  // client-query-buffer-limit limits), and a command held back.
  uint64_t QueryBytes() const;

  // A write this client submitted, holding about `bytes` until `lsn` is acknowledged.
  void AddPendingWrite(uint64_t lsn, uint64_t bytes);
  // Its writes waiting for durability.
  uint64_t PendingWriteBytes() const { return pending_write_bytes_; }
  // What it holds that its own reading drains: writes waiting and replies. Past
  // kClientHeldBytesSoftMax its requests are no longer read.
  uint64_t HeldBytes() const { return pending_write_bytes_ + BufferedReplyBytes(); }
  ConnectionMemory Memory() const;

  // A write command held back until the server-wide write budget has room (Server): its
  // arguments, taken from the parser. While one is held no request is read.
  void HoldCommand(std::vector<std::string>&& args);
  bool HasHeldCommand() const { return held_command_bytes_ > 0; }
  std::vector<std::string> TakeHeldCommand();

  // client-output-buffer-limit's soft limit: when the output first went over it, in Unix
  // seconds (0: not over).
  int64_t soft_limit_since_seconds = 0;
  // The memory last added to the server's total for this connection (Server::Account).
  uint64_t accounted_bytes = 0;

  // Queues one or more replies (already encoded) that may be sent once `required_lsn` is
  // acknowledged. `replies` counts them, so a failure can answer each one.
  void QueueReply(std::string_view bytes, uint64_t required_lsn, uint32_t replies = 1);
  // Moves every queued reply whose LSN is <= acked_lsn to the output buffer, and forgets the
  // pending writes up to it. Returns the pending-write bytes released.
  uint64_t ReleaseAcked(uint64_t acked_lsn);
  // Takes the pending writes (the connection is closing; they are still to be acknowledged).
  std::deque<std::pair<uint64_t, uint64_t>> TakePendingWrites();
  // Replaces every queued reply whose LSN is > acked_lsn by `error_reply` (the database failed
  // and those writes will never be acknowledged) and releases them, with every pending write.
  // Returns the pending-write bytes released.
  uint64_t FailWaiting(uint64_t acked_lsn, std::string_view error_reply);
  // Drops every reply not yet sent, waiting or not (the client is to be closed at once).
  void DiscardReplies();
  // Writes as much output as the socket takes.
  WriteOutcome Write();

  bool HasWaitingReplies() const { return !waiting_.empty(); }
  bool HasOutput() const { return output_offset_ < output_.size(); }
  // Whether the replies ready to send wait for the ones behind them, which wait for the disk:
  // a pipeline's replies (MULTI's +OK and +QUEUED, then EXEC's) then leave together, in one
  // send after the sync, as Redis sends them after its fsync, instead of two sends and two
  // wake-ups of the client. Not when the ready bytes are many (they would hold memory).
  bool OutputWaitsForDisk() const {
    return !waiting_.empty() && output_.size() - output_offset_ < kOutputHeldForDiskBytesMax;
  }
  // Replies released to the client and not yet sent (what client-output-buffer-limit limits).
  uint64_t UnsentOutputBytes() const { return output_.size() - output_offset_; }
  uint64_t BufferedReplyBytes() const { return waiting_bytes_ + (output_.size() - output_offset_); }
  size_t WaitingReplyCount() const { return waiting_replies_; }
  // Bytes moved to the front of the output buffer by compaction since the connection opened:
  // at most the bytes sent (the copy is amortised), which a test checks.
  uint64_t compacted_bytes() const { return compacted_bytes_; }

  // After a protocol error or QUIT: no more requests are read; close once output is written.
  bool closing() const { return closing_; }
  void set_closing() { closing_ = true; }
  // The client shut down its sending side (read returned 0): nothing more is read, the
  // requests already received are still run and answered, then the connection closes.
  bool input_closed() const { return input_closed_; }
  void set_input_closed() { input_closed_ = true; }
  // Whether the socket is registered for EPOLLOUT / EPOLLIN (tracked to avoid needless
  // epoll_ctl calls).
  bool want_write = false;
  bool want_read = true;

 private:
  struct WaitingReply {
    std::string bytes;
    uint64_t required_lsn;
    uint32_t replies;
  };

  int fd_;
  ClientState client_;
  RespParser parser_;
  std::string input_;
  size_t input_position_ = 0;
  std::deque<WaitingReply> waiting_;                          // strictly increasing required_lsn
  std::deque<std::pair<uint64_t, uint64_t>> pending_writes_;  // (lsn, bytes), increasing lsn
  uint64_t pending_write_bytes_ = 0;
  std::vector<std::string> held_command_;
  uint64_t held_command_bytes_ = 0;
  uint64_t waiting_bytes_ = 0;
  size_t waiting_replies_ = 0;
  std::string output_;
  size_t output_offset_ = 0;
  uint64_t compacted_bytes_ = 0;
  bool closing_ = false;
  bool input_closed_ = false;
};

}  // namespace ordo::server
