"""Pub/sub end to end: scenarios over three connections against ordo and a real redis-server,
every reply and every message compared byte for byte; redis-py's PubSub; a subscriber that
does not read is cut at client-output-buffer-limit pubsub while its publisher goes on."""
import socket
import time
import unittest

import ordo_harness
from ordo_harness import OrdoServer, RawClient, RedisServer, raw_command

# (connection, command, replies to read): a command on one connection, then that many replies
# read from it (a PUBLISH's messages are read with a (connection, None, n) step).
SCENARIOS = {
    "subscribe, publish, unsubscribe": [
        (0, ["SUBSCRIBE", "news", "sport", "news"], 3),
        (1, ["PUBLISH", "news", "hello"], 1), (0, None, 1),
        (1, ["PUBLISH", "nobody", "x"], 1),
        (0, ["UNSUBSCRIBE", "news"], 1),
        (1, ["PUBLISH", "news", "gone"], 1),
        (1, ["PUBLISH", "sport", "goal"], 1), (0, None, 1),
        (0, ["UNSUBSCRIBE", "sport"], 1), (0, ["UNSUBSCRIBE"], 1), (0, ["PUNSUBSCRIBE"], 1),
        (0, ["SET", "k", "v"], 1),
    ],
    "patterns": [
        (0, ["PSUBSCRIBE", "h*", "h?llo", "[xy]z"], 3),
        (2, ["SUBSCRIBE", "hi"], 1),
        # One pattern matches each channel published to: the order in which several matching
        # patterns deliver is each server's own (Redis walks a hash table).
        (1, ["PUBLISH", "hi", "m1"], 1), (2, None, 1), (0, None, 1),
        (1, ["PUBLISH", "yz", "m2"], 1), (0, None, 1),
        (1, ["PUBSUB", "NUMPAT"], 1), (1, ["PUBSUB", "NUMSUB", "hi", "h*", "none"], 1),
        (1, ["PUBSUB", "CHANNELS"], 1), (1, ["PUBSUB", "CHANNELS", "x*"], 1),
        (0, ["PUNSUBSCRIBE", "h*", "nope"], 2),
        (1, ["PUBLISH", "hello", "m3"], 1), (0, None, 1),
        (1, ["PUBLISH", "hi", "m4"], 1), (2, None, 1),
    ],
    "the subscribed context": [
        (0, ["SUBSCRIBE", "c"], 1), (0, ["GET", "k"], 1), (0, ["PING"], 1),
        (0, ["PING", "hi"], 1), (0, ["CLIENT", "LIST"], 1), (0, ["PUBLISH", "c", "x"], 1),
        (0, ["PSUBSCRIBE", "p*"], 1), (0, ["RESET"], 1), (0, ["GET", "k"], 1),
        (0, ["PING"], 1),
    ],
    "binary channels and messages": [
        (0, ["SUBSCRIBE", "a\x00b\r\n"], 1), (1, ["PUBLISH", "a\x00b\r\n", "\xff\x00"], 1),
        (0, None, 1), (1, ["PUBLISH", "a", ""], 1),
    ],
    "errors": [
        (0, ["SUBSCRIBE"], 1), (0, ["PSUBSCRIBE"], 1), (0, ["PUBLISH", "c"], 1),
        (0, ["PUBSUB"], 1), (0, ["PUBSUB", "FOO"], 1), (0, ["PUBSUB", "NUMPAT", "x"], 1),
        (0, ["PUBSUB", "CHANNELS", "a", "b"], 1), (0, ["PUBSUB", "HELP"], 1),
        (0, ["PUBSUB", "SHARDCHANNELS"], 1), (0, ["PUBSUB", "SHARDNUMSUB", "a"], 1),
        (0, ["PUBSUB", "NUMSUB"], 1), (0, ["RESET", "x"], 1),
    ],
    "RESP3: push frames, and any command while subscribed": [
        (0, ["HELLO", "3"], 1), (2, ["HELLO", "3"], 1),
        (0, ["SUBSCRIBE", "r3"], 1), (2, ["PSUBSCRIBE", "r*"], 1),
        (1, ["PUBLISH", "r3", "to both"], 1), (1, ["PUBLISH", "r3", "again"], 1),
        (0, None, 1), (2, None, 2), (0, None, 1),
        (0, ["SET", "k", "v"], 1), (0, ["GET", "k"], 1), (0, ["GET", "none"], 1),
        (0, ["PING"], 1), (0, ["UNSUBSCRIBE"], 1), (0, ["UNSUBSCRIBE"], 1),
        (2, ["PUNSUBSCRIBE", "r*", "x"], 2), (2, ["PUBSUB", "NUMSUB", "r3"], 1),
    ],
    "subscribe inside a transaction": [
        # The commands after SUBSCRIBE in the same EXEC run: they were checked when queued.
        (0, ["MULTI"], 1), (0, ["SUBSCRIBE", "t"], 1), (0, ["SET", "k", "v"], 1),
        (0, ["GET", "k"], 1), (0, ["EXEC"], 1),
        (1, ["PUBLISH", "t", "in"], 1), (0, None, 1), (0, ["MULTI"], 1),
    ],
}


def run_scenario(port, steps):
    clients = [RawClient(port) for _ in range(3)]
    replies = []
    try:
        for index, command, count in steps:
            if command is not None:
                clients[index].send(raw_command(*command))
            replies.append(b"".join(clients[index].read_reply() for _ in range(count)))
        return replies
    finally:
        for client in clients:
            client.close()


class CompareWithRedisTest(unittest.TestCase):
    def test_same_replies_and_messages_as_redis(self):
        ordo = OrdoServer().start()
        real = RedisServer()
        try:
            real.start()
            for name, steps in SCENARIOS.items():
                mine = run_scenario(ordo.port, steps)
                theirs = run_scenario(real.port, steps)
                for (index, command, _), a, b in zip(steps, mine, theirs):
                    if command is not None and (command[:2] == ["CLIENT", "LIST"] or
                                                command[0] == "HELLO"):
                        continue  # differ by design (client ids, versions): checked elsewhere
                    self.assertEqual(a, b, "%s: connection %d, %r" % (name, index, command))
            ordo.stop()
        finally:
            real.stop()
            ordo.cleanup()


class OrdoPubSubTest(unittest.TestCase):
    def setUp(self):
        self.server = OrdoServer().start()

    def tearDown(self):
        self.server.cleanup()

    def test_redis_py_pubsub(self):
        client = self.server.client()
        pubsub = client.pubsub()
        pubsub.subscribe("events")
        pubsub.psubscribe("ev*")
        for expected in ("subscribe", "psubscribe"):
            self.assertEqual(pubsub.get_message(timeout=10)["type"], expected)
        self.assertEqual(client.publish("events", "one"), 2)
        received = [pubsub.get_message(timeout=10) for _ in range(2)]
        self.assertEqual([(m["type"], m["data"]) for m in received],
                         [("message", b"one"), ("pmessage", b"one")])
        self.assertEqual(client.pubsub_numsub("events"), [(b"events", 1)])
        pubsub.close()
        client.close()

    def test_a_subscriber_cut_at_its_limit_gets_nothing_more(self):
        client = RawClient(self.server.port)
        client.command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 4kb 0 0")
        subscriber = RawClient(self.server.port)
        self.assertEqual(subscriber.command("SUBSCRIBE", "ch"),
                         b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
        # Fourteen messages of 1 KiB in one pipeline, one iteration of the server: the fifth
        # takes the subscriber over 4 KiB and it is cut; none of them, nor any after, reaches it
        # (Redis writes nothing to a client it is closing).
        client.send(b"".join(raw_command("PUBLISH", "ch", "m" * 1024) for _ in range(14)))
        for _ in range(14):
            client.read_reply()
        received = b""
        while True:
            chunk = subscriber.sock.recv(65536)
            if not chunk:
                break
            received += chunk
        self.assertEqual(received, b"")
        info = client.command("INFO", "stats")
        self.assertIn(b"client_output_buffer_limit_disconnections:1\r\n", info)
        subscriber.close()
        client.close()

    def test_a_message_to_the_publisher_inside_its_exec_follows_the_reply(self):
        client = RawClient(self.server.port)
        client.send(raw_command("MULTI") + raw_command("SUBSCRIBE", "self") +
                    raw_command("PUBLISH", "self", "hi") + raw_command("EXEC"))
        replies = [client.read_reply() for _ in range(4)]
        self.assertEqual(replies[3], b"*2\r\n*3\r\n$9\r\nsubscribe\r\n$4\r\nself\r\n:1\r\n:1\r\n")
        self.assertEqual(client.read_reply(), b"*3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$2\r\nhi\r\n")
        client.close()

    def test_a_subscriber_that_does_not_read_is_cut_and_the_publisher_goes_on(self):
        client = RawClient(self.server.port)
        self.assertEqual(client.command("CONFIG", "SET", "client-output-buffer-limit",
                                        "pubsub 1mb 0 0"), b"+OK\r\n")
        slow = socket.create_connection(("127.0.0.1", self.server.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(raw_command("SUBSCRIBE", "flood"))
        deadline = time.monotonic() + 10
        while client.command("PUBSUB", "NUMSUB", "flood") != (
                b"*2\r\n$5\r\nflood\r\n:1\r\n"):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        message = "x" * 65536
        published = 0
        # 64 MiB through a subscriber that never reads: far over the 1 MiB hard limit.
        for _ in range(1024):
            published += 1
            if client.command("PUBLISH", "flood", message) == b":0\r\n":
                break
        self.assertLess(published, 1024, "the subscriber was never cut")
        self.assertEqual(client.command("PUBSUB", "NUMSUB", "flood"),
                         b"*2\r\n$5\r\nflood\r\n:0\r\n")
        info = client.command("INFO", "stats")
        self.assertIn(b"client_output_buffer_limit_disconnections:1", info)
        self.assertEqual(client.command("PING"), b"+PONG\r\n")
        slow.close()
        client.close()


if __name__ == "__main__":
    ordo_harness.main()
