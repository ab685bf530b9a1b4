#include "server/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <algorithm>
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
}  // namespace

Connection::Connection(int fd, ClientState client) : fd_(fd), client_(std::move(client)) {
  assert(fd >= 0);
}

Connection::~Connection() { ::close(fd_); }

void Connection::CompactInput() {
  if (input_position_ == 0) return;
  input_.erase(0, input_position_);
  input_position_ = 0;
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

void Connection::ReleaseAcked(uint64_t acked_lsn) {
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
}

void Connection::FailWaiting(uint64_t acked_lsn, std::string_view error_reply) {
  ReleaseAcked(acked_lsn);
  for (WaitingReply& reply : waiting_) {
    for (uint32_t i = 0; i < reply.replies; ++i) output_.append(error_reply);
  }
  waiting_.clear();
  waiting_bytes_ = 0;
  waiting_replies_ = 0;
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
