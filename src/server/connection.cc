#include "server/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>

namespace ordo::server {

namespace {
// Output is compacted once this much of it has been sent, and the sent part is at least half the
// buffer, so the buffer does not grow forever under a steady pipeline while never being empty.
// The second condition keeps the copying linear: compacting after every 1 MiB sent of one big
// reply to a slow reader moved what was left each time, ~N^2/2 MiB for an N-byte reply
// (~128 GiB for a 512 MiB value, on the loop thread).
constexpr size_t kOutputCompactBytes = 1024 * 1024;
// The most bytes one write(2) is asked to take, so one client cannot hold the loop for long.
constexpr size_t kWriteBytesMax = 4 * 1024 * 1024;
// An emptied input or output buffer keeps up to this much allocated (the next request or reply
// reuses it); a larger one is given back.
constexpr size_t kBufferKeepBytes = 64 * 1024;

uint64_t ArgumentBytes(const std::vector<std::string>& args) {
  uint64_t bytes = args.size() * sizeof(std::string);
  for (const std::string& arg : args) bytes += arg.size();
  return bytes;
}
}  // namespace

Connection::Connection(int fd, ClientState client) : fd_(fd), client_(std::move(client)) {
  assert(fd >= 0);
}

Connection::~Connection() { ::close(fd_); }

void Connection::CompactInput() {
  if (input_position_ == 0) return;
  input_.erase(0, input_position_);
  input_position_ = 0;
  if (input_.empty() && input_.capacity() > kBufferKeepBytes) std::string().swap(input_);
}

uint64_t Connection::QueryBytes() const {
  return (input_.size() - input_position_) + parser_.PartialBytes() + held_command_bytes_;
}

ConnectionMemory Connection::Memory() const {
  // Bytes held, not allocations: a string's capacity runs up to twice its size, and the part
  // never written is not resident; counting it would evict a client for memory it never used.
  ConnectionMemory memory;
  memory.query = input_.size();
  memory.arguments =
      parser_.PartialBytes() + held_command_bytes_ + client_.transaction.queued_bytes;
  memory.pending_writes = pending_write_bytes_;
  memory.replies = waiting_bytes_ + output_.size();
  return memory;
}

void Connection::AddPendingWrite(uint64_t lsn, uint64_t bytes) {
  assert(pending_writes_.empty() || pending_writes_.back().first <= lsn);
  if (!pending_writes_.empty() && pending_writes_.back().first == lsn) {
    pending_writes_.back().second += bytes;
  } else {
    pending_writes_.emplace_back(lsn, bytes);
  }
  pending_write_bytes_ += bytes;
}

std::deque<std::pair<uint64_t, uint64_t>> Connection::TakePendingWrites() {
  pending_write_bytes_ = 0;
  return std::move(pending_writes_);
}

void Connection::HoldCommand(std::vector<std::string>&& args) {
  assert(!HasHeldCommand());
  held_command_ = std::move(args);
  held_command_bytes_ = std::max<uint64_t>(ArgumentBytes(held_command_), 1);
}

std::vector<std::string> Connection::TakeHeldCommand() {
  held_command_bytes_ = 0;
  return std::move(held_command_);
}

void Connection::QueueReply(std::string_view bytes, uint64_t required_lsn, uint32_t replies) {
  if (waiting_.empty() && required_lsn == 0) {
    output_.append(bytes);  // depends on nothing unacknowledged and nothing is ahead of it
    return;
  }
  if (!waiting_.empty() && required_lsn <= waiting_.back().required_lsn) {
    waiting_.back().bytes.append(bytes);  // leaves with the reply ahead of it
    waiting_.back().replies += replies;
  } else {
    waiting_.push_back(WaitingReply{std::string(bytes), required_lsn, replies});
  }
  waiting_bytes_ += bytes.size();
  waiting_replies_ += replies;
}

uint64_t Connection::ReleaseAcked(uint64_t acked_lsn) {
  uint64_t released = 0;
  while (!pending_writes_.empty() && pending_writes_.front().first <= acked_lsn) {
    released += pending_writes_.front().second;
    pending_writes_.pop_front();
  }
  pending_write_bytes_ -= released;
  while (!waiting_.empty() && waiting_.front().required_lsn <= acked_lsn) {
    WaitingReply& front = waiting_.front();
    waiting_bytes_ -= front.bytes.size();
    if (output_.empty()) {
      output_.swap(front.bytes);  // the common case: no copy
    } else {
      output_.append(front.bytes);
    }
    waiting_replies_ -= front.replies;
    waiting_.pop_front();
  }
  return released;
}

uint64_t Connection::FailWaiting(uint64_t acked_lsn, std::string_view error_reply) {
  uint64_t released = ReleaseAcked(acked_lsn);
  for (WaitingReply& reply : waiting_) {
    for (uint32_t i = 0; i < reply.replies; ++i) output_.append(error_reply);
  }
  waiting_.clear();
  waiting_bytes_ = 0;
  waiting_replies_ = 0;
  // The failed database dropped the writes it had not acknowledged, and their memory.
  released += pending_write_bytes_;
  pending_writes_.clear();
  pending_write_bytes_ = 0;
  return released;
}

void Connection::DiscardReplies() {
  waiting_.clear();
  waiting_bytes_ = 0;
  waiting_replies_ = 0;
  std::string().swap(output_);
  output_offset_ = 0;
}

Connection::WriteOutcome Connection::Write() {
  while (output_offset_ < output_.size()) {
    size_t count = std::min(output_.size() - output_offset_, kWriteBytesMax);
    ssize_t written = ::send(fd_, output_.data() + output_offset_, count, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return WriteOutcome::kClosed;  // the peer went away; nothing to report to it
    }
    output_offset_ += static_cast<size_t>(written);
  }
  if (output_offset_ == output_.size()) {
    output_.clear();
    output_offset_ = 0;
    if (output_.capacity() > kBufferKeepBytes) std::string().swap(output_);
    return WriteOutcome::kDone;
  }
  if (output_offset_ >= kOutputCompactBytes && output_offset_ >= output_.size() / 2) {
    compacted_bytes_ += output_.size() - output_offset_;
    output_.erase(0, output_offset_);
    output_offset_ = 0;
  }
  return WriteOutcome::kBlocked;
}

}  // namespace ordo::server
