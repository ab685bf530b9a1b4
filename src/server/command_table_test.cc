// The command layer over a real database in a scratch directory: dispatch checks, the LSN a
// reply depends on, and what a client sees when the disk fails.
#include "server/command_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "io/fault_file_system.h"
#include "ordo/db.h"
#include "tests/test_util.h"

namespace ordo::server {
namespace {

class CommandTableTest : public ::testing::Test {
 protected:
  void Open(FileSystem* file_system = nullptr) {
    Options options;
    options.file_system = file_system;
    ASSERT_OK_AND_ASSIGN(db_, db::DBInternal::Open(options, scratch_.Sub("data")));
    client_.authenticated = true;
  }

  // Runs one command; returns its reply and sets last_lsn_ to the LSN it depends on.
  std::string Run(std::vector<std::string> args) {
    std::string reply;
    CommandContext context;
    context.db = db_.get();
    context.server = &server_;
    context.client = &client_;
    context.args = &args;
    context.reply = &reply;
    ExecuteCommand(context);
    last_lsn_ = context.required_lsn;
    return reply;
  }

  ordo::testing::ScratchDirectory scratch_;
  std::unique_ptr<db::DBInternal> db_;
  ServerState server_;
  ClientState client_;
  uint64_t last_lsn_ = 0;
};

TEST_F(CommandTableTest, DispatchChecksNameArityAndAuth) {
  Open();
  EXPECT_EQ(Run({"nosuch", "a"}),
            "-ERR unknown command 'nosuch', with args beginning with: 'a' \r\n");
  EXPECT_EQ(Run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Run({"Ping"}), "+PONG\r\n");
  client_.authenticated = false;
  EXPECT_EQ(Run({"GET", "k"}), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(Run({"QUIT"}), "+OK\r\n");  // allowed before AUTH
  EXPECT_TRUE(client_.close_after_reply);
}

TEST_F(CommandTableTest, EveryTableRowHasAHandlerAndLowerCaseName) {
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_NE(spec.handler, nullptr) << spec.name;
    EXPECT_NE(spec.arity, 0) << spec.name;
    EXPECT_EQ(LookupCommand(spec.name), &spec);
    for (char c : spec.name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << spec.name;
  }
}

TEST_F(CommandTableTest, RepliesDependOnTheLsnOfWhatTheyWroteOrRead) {
  Open();
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK\r\n");
  uint64_t set_lsn = last_lsn_;
  EXPECT_GT(set_lsn, 0u);
  EXPECT_EQ(server_.last_submitted_lsn, set_lsn);
  EXPECT_EQ(Run({"INCR", "n"}), ":1\r\n");
  EXPECT_GT(last_lsn_, set_lsn);
  // A read-modify-write sees the write before it even if it is not yet acknowledged.
  EXPECT_EQ(Run({"INCR", "n"}), ":2\r\n");
  uint64_t incr_lsn = last_lsn_;
  // A miss depends on every submitted write: an unacknowledged delete may be why it missed.
  EXPECT_EQ(Run({"GET", "missing"}), "$-1\r\n");
  EXPECT_EQ(last_lsn_, incr_lsn);
  ASSERT_OK(db_->WaitForAck(incr_lsn));
  // Once acknowledged, a hit depends on nothing newer than what it observed.
  EXPECT_EQ(Run({"GET", "k"}), "$1\r\nv\r\n");
  EXPECT_LE(last_lsn_, db_->AckedLsn());
  // Commands that write nothing and read nothing depend on nothing.
  EXPECT_EQ(Run({"ECHO", "x"}), "$1\r\nx\r\n");
  EXPECT_EQ(last_lsn_, 0u);
}

TEST_F(CommandTableTest, ConditionalWritesThatDoNothingSubmitNothing) {
  Open();
  Run({"SET", "k", "v"});
  uint64_t lsn = server_.last_submitted_lsn;
  EXPECT_EQ(Run({"SET", "k", "x", "NX"}), "$-1\r\n");
  EXPECT_EQ(Run({"DEL", "missing"}), ":0\r\n");
  EXPECT_EQ(Run({"EXPIRE", "missing", "10"}), ":0\r\n");
  EXPECT_EQ(server_.last_submitted_lsn, lsn);
}

// HELLO's version switches the connection's protocol before its own reply; a HELLO without
// one, or one that fails, leaves it as it is.
TEST_F(CommandTableTest, HelloSwitchesTheProtocolOfEveryLaterReply) {
  Open();
  const std::string hello_tail =
      "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
      "$7\r\nmodules\r\n*0\r\n";
  const std::string hello3 = Run({"HELLO", "3"});
  EXPECT_EQ(hello3.rfind("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n", 0), 0u) << hello3;
  EXPECT_NE(hello3.find("$5\r\nproto\r\n:3\r\n"), std::string::npos) << hello3;
  EXPECT_EQ(hello3.substr(hello3.size() - hello_tail.size()), hello_tail);
  EXPECT_EQ(client_.protocol, Protocol::kResp3);
  EXPECT_EQ(Run({"GET", "missing"}), "_\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "XX"}), "_\r\n");
  EXPECT_EQ(Run({"MGET", "missing"}), "*1\r\n_\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "_\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "databases"}), "%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n");
  EXPECT_EQ(Run({"COMMAND", "DOCS", "get"}), "%0\r\n");
  EXPECT_EQ(Run({"COMMAND", "INFO", "nosuch"}), "*1\r\n_\r\n");
  EXPECT_EQ(Run({"INFO", "keyspace"}), "=16\r\ntxt:# Keyspace\r\n\r\n");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1.5"}), "$3\r\n1.5\r\n");  // a bulk, as Redis's
  // HELLO without a version answers in the current protocol; a refused one changes nothing.
  EXPECT_NE(Run({"HELLO"}).find("%7\r\n"), std::string::npos);
  EXPECT_EQ(Run({"HELLO", "4"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(Run({"HELLO", "2", "BOGUS"}), "-ERR Syntax error in HELLO option 'BOGUS'\r\n");
  EXPECT_EQ(client_.protocol, Protocol::kResp3);
  const std::string hello2 = Run({"HELLO", "2"});
  EXPECT_EQ(hello2.rfind("*14\r\n$6\r\nserver\r\n", 0), 0u) << hello2;
  EXPECT_NE(hello2.find("$5\r\nproto\r\n:2\r\n"), std::string::npos) << hello2;
  EXPECT_EQ(Run({"GET", "missing"}), "$-1\r\n");
  EXPECT_EQ(Run({"COMMAND", "INFO", "nosuch"}), "*1\r\n$-1\r\n");
}

TEST_F(CommandTableTest, ScanCursorsForShortAndLongKeysVisitEveryKey) {
  Open();
  std::vector<std::string> keys = {"a", "b", "abcdefg", "abcdefgh", std::string(300, 'z')};
  for (const std::string& key : keys) Run({"SET", key, "v"});
  std::string cursor = "0";
  std::string replies;
  int rounds = 0;
  do {
    std::string reply = Run({"SCAN", cursor, "COUNT", "1"});
    replies += reply;
    // "*2\r\n$<n>\r\n<cursor>\r\n..."
    size_t start = reply.find("\r\n", 4) + 2;
    cursor = reply.substr(start, reply.find("\r\n", start) - start);
    ASSERT_LT(++rounds, 20);
  } while (cursor != "0");
  for (const std::string& key : keys)
    EXPECT_NE(replies.find(key + "\r\n"), std::string::npos) << key;
  EXPECT_EQ(Run({"SCAN", "9223372036854775807"}), "-ERR invalid cursor\r\n");   // length 127
  EXPECT_EQ(Run({"SCAN", "18446744073709551615"}), "-ERR invalid cursor\r\n");  // never issued
}

TEST_F(CommandTableTest, DiskFailureBecomesAClearErrorReply) {
  FaultFileSystem faults;
  Open(&faults);
  EXPECT_EQ(Run({"SET", "before", "v"}), "+OK\r\n");
  ASSERT_OK(db_->WaitForAck(last_lsn_));
  faults.FailAfter(1, FaultKind::kSync, Errno::kENOSPC, true);
  Run({"SET", "during", "v"});  // submitted; its sync fails, so it is never acknowledged
  EXPECT_FALSE(db_->WaitForAck(last_lsn_).ok());
  std::string reply = Run({"SET", "after", "v"});
  EXPECT_EQ(reply.rfind("-ERR disk error: ", 0), 0u) << reply;
  EXPECT_GT(server_.write_errors, 0u);
  // Reads go on serving what is durable.
  EXPECT_EQ(Run({"GET", "before"}), "$1\r\nv\r\n");
  // Replies that depend on every submitted write no longer wait for the one that will never
  // be acknowledged: an absent key, DBSIZE and INFO (which an operator needs to see the
  // failure) answer at once. Before, each of them answered "disk error" for good.
  EXPECT_TRUE(server_.database_failed);
  EXPECT_EQ(Run({"GET", "during"}), "$-1\r\n");
  EXPECT_LE(last_lsn_, db_->AckedLsn());
  EXPECT_EQ(Run({"DBSIZE"}), ":1\r\n");
  EXPECT_LE(last_lsn_, db_->AckedLsn());
  EXPECT_NE(Run({"INFO", "persistence"}).find("ordo_failed:1"), std::string::npos);
  EXPECT_LE(last_lsn_, db_->AckedLsn());
}

}  // namespace
}  // namespace ordo::server
