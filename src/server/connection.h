// One client connection: its socket, the request parser, and the queue of replies waiting for
// durability.
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
#include <vector>

#include "server/command_table.h"
#include "server/resp_parser.h"

namespace ordo::server {

// Replies buffered per connection (waiting or unsent) above which the server stops reading
// that client's requests until the client reads its replies: a pipelining client that never
// reads cannot make the server buffer without bound.
inline constexpr uint64_t kReplyBytesSoftMax = 64ull * 1024 * 1024;

class Connection {
 public:
  enum class WriteOutcome { kDone, kBlocked, kClosed };

  Connection(int fd, ClientState client);
  ~Connection();  // closes the socket
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  ClientState& client() { return client_; }
  RespParser& parser() { return parser_; }
  // Bytes received and not yet parsed, from input_position() on.
  std::string& input() { return input_; }
  size_t& input_position() { return input_position_; }
  // Drops parsed bytes from the front of the input buffer.
  void CompactInput();

  // Queues one or more replies (already encoded) that may be sent once `required_lsn` is
  // acknowledged. `replies` counts them, so a failure can answer each one.
  void QueueReply(std::string_view bytes, uint64_t required_lsn, uint32_t replies = 1);
  // Moves every queued reply whose LSN is <= acked_lsn to the output buffer.
  void ReleaseAcked(uint64_t acked_lsn);
  // Replaces every queued reply whose LSN is > acked_lsn by `error_reply` (the database failed
  // and those writes will never be acknowledged) and releases them.
  void FailWaiting(uint64_t acked_lsn, std::string_view error_reply);
  // Writes as much output as the socket takes.
  WriteOutcome Write();

  bool HasWaitingReplies() const { return !waiting_.empty(); }
  bool HasOutput() const { return output_offset_ < output_.size(); }
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
  std::deque<WaitingReply> waiting_;  // strictly increasing required_lsn
  uint64_t waiting_bytes_ = 0;
  size_t waiting_replies_ = 0;
  std::string output_;
  size_t output_offset_ = 0;
  uint64_t compacted_bytes_ = 0;
  bool closing_ = false;
  bool input_closed_ = false;
};

}  // namespace ordo::server
