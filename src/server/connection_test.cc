// The durability gate of a connection: replies leave in order, only once acknowledged.
#include "server/connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace ordo::server {
namespace {

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    connection_ = std::make_unique<Connection>(fds[0], ClientState());
    peer_ = fds[1];
  }
  void TearDown() override { close(peer_); }

  std::string Received() {
    char buffer[4096];
    ssize_t count = read(peer_, buffer, sizeof(buffer));
    return count > 0 ? std::string(buffer, static_cast<size_t>(count)) : std::string();
  }

  std::unique_ptr<Connection> connection_;
  int peer_ = -1;
};

TEST_F(ConnectionTest, RepliesWaitForTheirLsnAndKeepOrder) {
  connection_->QueueReply("A", 0);
  connection_->QueueReply("B", 5);
  connection_->QueueReply("C", 0);  // depends on nothing, but must not overtake B
  connection_->QueueReply("D", 7);
  connection_->ReleaseAcked(4);
  EXPECT_EQ(connection_->Write(), Connection::WriteOutcome::kDone);
  EXPECT_EQ(Received(), "A");
  EXPECT_TRUE(connection_->HasWaitingReplies());
  EXPECT_EQ(connection_->WaitingReplyCount(), 3u);
  connection_->ReleaseAcked(6);
  connection_->Write();
  EXPECT_EQ(Received(), "BC");
  connection_->ReleaseAcked(7);
  connection_->Write();
  EXPECT_EQ(Received(), "D");
  EXPECT_FALSE(connection_->HasWaitingReplies());
  EXPECT_EQ(connection_->BufferedReplyBytes(), 0u);
}

TEST_F(ConnectionTest, FailedDatabaseAnswersEveryWaitingReplyWithTheError) {
  connection_->QueueReply("+OK\r\n", 3);
  connection_->QueueReply(":1\r\n", 4);
  connection_->QueueReply(":2\r\n", 4);  // merged with the one ahead: two replies, one entry
  connection_->FailWaiting(3, "-ERR disk error\r\n");
  connection_->Write();
  EXPECT_EQ(Received(), "+OK\r\n-ERR disk error\r\n-ERR disk error\r\n");
  EXPECT_FALSE(connection_->HasWaitingReplies());
}

// A big reply to a slow reader: the socket takes a little at a time, and the buffer's sent part
// is dropped now and then. The bytes moved by that compaction stay below the reply's size
// (before, every 1 MiB sent moved the whole rest: ~N^2/2 MiB for N MiB).
TEST_F(ConnectionTest, DrainingABigReplyToASlowReaderCopiesLinearly) {
  constexpr size_t kReplyBytes = 32u << 20;
  connection_->QueueReply(std::string(kReplyBytes, 'v'), 0);
  size_t received = 0;
  std::string buffer(256 * 1024, '\0');
  while (received < kReplyBytes) {
    const Connection::WriteOutcome outcome = connection_->Write();
    ASSERT_NE(outcome, Connection::WriteOutcome::kClosed);
    const ssize_t count = read(peer_, buffer.data(), buffer.size());
    ASSERT_GT(count, 0);
    received += static_cast<size_t>(count);
  }
  EXPECT_EQ(connection_->Write(), Connection::WriteOutcome::kDone);
  EXPECT_FALSE(connection_->HasOutput());
  EXPECT_LE(connection_->compacted_bytes(), kReplyBytes);
}

TEST_F(ConnectionTest, WriteReportsAVanishedPeer) {
  close(peer_);
  peer_ = -1;
  connection_->QueueReply("+OK\r\n", 0);
  EXPECT_EQ(connection_->Write(), Connection::WriteOutcome::kClosed);
}

}  // namespace
}  // namespace ordo::server
