"""The wire protocol end to end: pipelining, many concurrent clients, malformed requests and
limits, AUTH, maxclients, SHUTDOWN, RESP3 (HELLO 3) against a real redis-server."""
import re
import socket
import subprocess
import threading
import time
import unittest

import redis

import ordo_harness
from ordo_harness import OrdoServer, RawClient, RedisServer, raw_command


class ProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = OrdoServer().start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def assert_still_serving(self):
        client = self.server.client()
        self.assertTrue(client.ping())
        client.set("alive", "yes")
        self.assertEqual(client.get("alive"), b"yes")
        client.close()

    def test_pipeline_of_10000_commands(self):
        client = self.server.client()
        pipe = client.pipeline(transaction=False)
        for i in range(5000):
            pipe.set("pipe:%d" % i, i)
            pipe.incr("pipe:counter")
        replies = pipe.execute()
        self.assertEqual(len(replies), 10000)
        self.assertTrue(all(r is True for r in replies[0::2]))
        self.assertEqual(replies[1::2], list(range(1, 5001)))  # in command order
        pipe = client.pipeline(transaction=False)
        for i in range(5000):
            pipe.get("pipe:%d" % i)
        self.assertEqual(pipe.execute(), [str(i).encode() for i in range(5000)])
        client.close()

    def test_redis_cli_pipe_mode(self):
        data = b"".join(raw_command("SET", "clipipe:%d" % i, "v%d" % i) for i in range(10000))
        result = subprocess.run(["redis-cli", "-p", str(self.server.port), "--pipe"],
                                input=data, capture_output=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(b"errors: 0, replies: 10000", result.stdout)
        self.assertEqual(self.server.client().get("clipipe:9999"), b"v9999")

    def test_1000_concurrent_connections(self):
        sockets = [RawClient(self.server.port) for _ in range(1000)]
        try:
            # Every connection sends before any reads: all 1000 are open at once.
            for i, client in enumerate(sockets):
                client.send(raw_command("SET", "conn:%d" % i, "v%d" % i) +
                            raw_command("GET", "conn:%d" % i))
            for i, client in enumerate(sockets):
                self.assertEqual(client.read_reply(), b"+OK\r\n")
                value = b"v%d" % i
                self.assertEqual(client.read_reply(), b"$%d\r\n%s\r\n" % (len(value), value))
            info = self.server.client().info("clients")
            self.assertGreaterEqual(info["connected_clients"], 1000)
        finally:
            for client in sockets:
                client.close()

    def test_concurrent_threads_with_redis_py(self):
        errors = []

        def work(index):
            try:
                client = self.server.client()
                for n in range(50):
                    client.set("thread:%d:%d" % (index, n), n)
                    if client.get("thread:%d:%d" % (index, n)) != str(n).encode():
                        errors.append("bad read %d %d" % (index, n))
                client.close()
            except Exception as error:  # reported below
                errors.append(repr(error))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])

    def check_protocol_error(self, payload, expected_error, bystander=None):
        client = RawClient(self.server.port)
        client.send(payload)
        self.assertEqual(client.read_reply(), b"-ERR Protocol error: " + expected_error + b"\r\n")
        self.assertTrue(client.is_closed())
        client.close()
        if bystander is not None:
            self.assertEqual(bystander.command("PING"), b"+PONG\r\n")
        self.assert_still_serving()

    def test_malformed_requests_get_error_and_close(self):
        bystander = RawClient(self.server.port)
        self.assertEqual(bystander.command("SET", "committed", "safe"), b"+OK\r\n")
        cases = [
            (b"*abc\r\n", b"invalid multibulk length"),
            (b"*1\r\nGET\r\n", b"expected '$', got 'G'"),
            (b"*1\r\n$x\r\n", b"invalid bulk length"),
            (b"*1\r\n$-5\r\n", b"invalid bulk length"),
            (b"*2\r\n$3\r\nGET\r\n$1\r\nabc\r\n", b"expected '\\r\\n' after bulk data"),
            (b"SET \"unbalanced\r\n", b"unbalanced quotes in request"),
            (b"*2000000\r\n", b"invalid multibulk length"),
            (b"x" * (64 * 1024 + 10), b"too big inline request"),
            (b"*1\r\n$" + b"1" * (64 * 1024 + 10), b"too big bulk count string"),
        ]
        for payload, error in cases:
            with self.subTest(payload=payload[:40]):
                self.check_protocol_error(payload, error, bystander)
        self.assertEqual(bystander.command("GET", "committed"), b"$4\r\nsafe\r\n")
        bystander.close()

    def test_oversized_bulk_refused_before_its_bytes(self):
        # Only the header is sent: the refusal must come without the 512 MiB + 1 bytes.
        self.check_protocol_error(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n",
                                  b"invalid bulk length")
        # Exactly the limit is accepted as a header (the server waits for the bytes).
        client = RawClient(self.server.port)
        client.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n")
        client.send(b"*1\r\n$4\r\nPING\r\n")  # becomes part of the bulk, no reply
        client.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            client.sock.recv(1)
        client.close()
        self.assert_still_serving()

    def test_inline_commands(self):
        client = RawClient(self.server.port)
        client.send(b"SET inline \"a b\"\r\nGET inline\r\n\r\nPING\n")
        self.assertEqual(client.read_reply(), b"+OK\r\n")
        self.assertEqual(client.read_reply(), b"$3\r\na b\r\n")
        self.assertEqual(client.read_reply(), b"+PONG\r\n")
        client.close()

    def read_all_until_closed(self, client):
        data = bytearray(client.buffer)
        while True:
            chunk = client.sock.recv(1 << 20)
            if not chunk:
                return bytes(data)
            data += chunk

    def test_half_closed_client_gets_every_reply(self):
        # The client sends its requests, shuts down its sending side and only then reads
        # (`printf ... | nc -N`): every reply still arrives, then the server closes.
        value = b"v" * (32 * 1024 * 1024)  # far more than the socket buffers hold
        self.server.client().set("halfclose:big", value)
        client = RawClient(self.server.port)
        client.send(raw_command("GET", "halfclose:big") + raw_command("SET", "halfclose:w", "1") +
                    raw_command("GET", "halfclose:big"))
        client.sock.shutdown(socket.SHUT_WR)
        bulk = b"$%d\r\n%s\r\n" % (len(value), value)
        received = self.read_all_until_closed(client)
        self.assertEqual(len(received), 2 * len(bulk) + 5)
        self.assertTrue(received == bulk + b"+OK\r\n" + bulk)
        client.close()
        self.assertEqual(self.server.client().get("halfclose:w"), b"1")
        self.assert_still_serving()

    def test_half_closed_client_paused_pipeline_is_answered(self):
        # More replies than the server buffers (it pauses reading at 64 MiB): the requests it
        # had read but not yet run when the end of input arrived are still run and answered.
        value = b"p" * (8 * 1024 * 1024)
        self.server.client().set("halfclose:p", value)
        count = 24
        client = RawClient(self.server.port)
        client.send(raw_command("GET", "halfclose:p") * count + raw_command("INCR", "halfclose:n"))
        client.sock.shutdown(socket.SHUT_WR)
        bulk = b"$%d\r\n%s\r\n" % (len(value), value)
        received = self.read_all_until_closed(client)
        self.assertEqual(len(received), count * len(bulk) + 4)
        self.assertTrue(received == bulk * count + b":1\r\n")
        client.close()
        self.assert_still_serving()

    def test_quit_closes_after_reply(self):
        client = RawClient(self.server.port)
        client.send(raw_command("QUIT"))
        self.assertEqual(client.read_reply(), b"+OK\r\n")
        self.assertTrue(client.is_closed())
        client.close()


class AuthAndLimitsTest(unittest.TestCase):
    def test_requirepass(self):
        server = OrdoServer(password="s3cret")  # the harness passes --requirepass
        try:
            server.start()
            raw = RawClient(server.port)
            self.assertEqual(raw.command("GET", "x"), b"-NOAUTH Authentication required.\r\n")
            self.assertEqual(raw.command("AUTH", "wrong"),
                             b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
            self.assertEqual(raw.command("AUTH", "s3cret"), b"+OK\r\n")
            self.assertEqual(raw.command("SET", "x", "1"), b"+OK\r\n")
            other = RawClient(server.port)
            self.assertEqual(other.command("AUTH", "default", "s3cret"), b"+OK\r\n")
            third = RawClient(server.port)
            reply = third.command("HELLO", "2", "AUTH", "default", "s3cret")
            self.assertTrue(reply.startswith(b"*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), reply)
            fourth = RawClient(server.port)
            self.assertTrue(fourth.command("HELLO", "3").startswith(b"-NOAUTH HELLO must be"))
            self.assertEqual(fourth.command("GET", "nope"), b"-NOAUTH Authentication required.\r\n")
            reply = fourth.command("HELLO", "3", "AUTH", "default", "s3cret")
            self.assertTrue(reply.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), reply)
            self.assertEqual(fourth.command("GET", "nope"), b"_\r\n")
            for c in (raw, other, third, fourth):
                c.close()
            client = server.client()
            self.assertEqual(client.get("x"), b"1")
            client.close()
            server.stop()
        finally:
            server.cleanup()

    def test_maxclients(self):
        server = OrdoServer(extra_args=["--maxclients", "3"]).start()
        try:
            held = [RawClient(server.port) for _ in range(3)]
            for c in held:
                self.assertEqual(c.command("PING"), b"+PONG\r\n")
            extra = RawClient(server.port)
            self.assertEqual(extra.read_reply(), b"-ERR max number of clients reached\r\n")
            extra.close()
            for c in held:
                c.close()
            server.stop()
        finally:
            server.cleanup()

    def test_connection_storm_cannot_take_the_databases_descriptors(self):
        # The hard open-files limit (256) is far below maxclients (10000) + 128: the server
        # lowers maxclients to fit, so clients cannot take the descriptors the database needs
        # to start a segment (64 KiB segments: a few writes start several).
        server = OrdoServer(extra_args=["--segment-size", "65536"], open_files_limit=256)
        try:
            server.start()
            writer = RawClient(server.port)
            self.assertEqual(writer.command("PING"), b"+PONG\r\n")
            storm = [RawClient(server.port) for _ in range(300)]
            expected = 2 + len(storm)  # the harness's PING client, the writer, the storm

            def stats():
                reply = writer.command("INFO", "stats").decode()
                return dict(line.split(":", 1) for line in reply.split("\r\n") if ":" in line)

            deadline = time.monotonic() + 10
            while (int(stats()["total_connections_received"]) < expected
                   and time.monotonic() < deadline):
                time.sleep(0.01)  # polling pace; the condition decides
            value = "x" * 40000
            for i in range(6):
                self.assertEqual(writer.command("SET", "storm:%d" % i, value), b"+OK\r\n")
            self.assertEqual(int(stats()["total_connections_received"]), expected,
                             "every connection is accepted or refused, none left waiting")
            refused = int(stats()["rejected_connections"])
            self.assertGreater(refused, 0)
            for c in storm[-refused:]:
                self.assertEqual(c.read_reply(), b"-ERR max number of clients reached\r\n")
            for c in storm:
                c.close()
            self.assertIn(b"maxclients:128\r\n", writer.command("INFO", "clients"))
            self.assertEqual(writer.command("GET", "storm:5"), b"$40000\r\n" + value.encode() + b"\r\n")
            writer.close()
            server.stop()
            self.assertIn("maxclients lowered to 128", "".join(server.output))
        finally:
            server.cleanup()

    def test_shutdown_command_exits_cleanly(self):
        server = OrdoServer().start()
        try:
            client = server.client()
            client.set("before-shutdown", "kept")
            raw = RawClient(server.port)
            raw.send(raw_command("SHUTDOWN"))
            self.assertTrue(raw.is_closed())
            raw.close()
            self.assertEqual(server.process.wait(timeout=30), 0)
            server.stop()
            server.start()
            self.assertEqual(server.client().get("before-shutdown"), b"kept")
            server.stop()
        finally:
            server.cleanup()

    def test_port_in_use_is_a_clear_error(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        try:
            result = subprocess.run(
                [ordo_harness.BINARY, "serve", "--data", "/nonexistent-never-created",
                 "--port", str(port)], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("cannot listen on 127.0.0.1:%d" % port, result.stderr)
            self.assertIn("Address already in use", result.stderr)
        finally:
            blocker.close()


def normalize_hello(reply):
    """HELLO's reply with the two values that differ between servers (the version each reports
    and the client's id) replaced by placeholders; anything else must be the same bytes."""
    reply = re.sub(rb"\$7\r\nversion\r\n\$\d+\r\n[0-9.]+\r\n", b"$7\r\nversion\r\n<version>",
                   reply)
    return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n<id>", reply)


class Resp3Test(unittest.TestCase):
    """HELLO and the protocol switch, compared with a real redis-server: the same requests on a
    connection to each, replies the same bytes (HELLO's normalized, normalize_hello)."""

    @classmethod
    def setUpClass(cls):
        cls.ordo = OrdoServer().start()
        cls.real = RedisServer()
        try:
            cls.real.start()
        except AssertionError:
            cls.ordo.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ordo.stop()
        finally:
            cls.real.stop()
            cls.ordo.cleanup()

    def compare(self, requests):
        """Sends `requests` one at a time on one new connection to each server; returns ordo's
        replies after checking that they are Redis's."""
        replies = []
        for port in (self.ordo.port, self.real.port):
            client = RawClient(port)
            replies.append([normalize_hello(client.command(*r)) for r in requests])
            client.close()
        for request, mine, theirs in zip(requests, *replies):
            self.assertEqual(mine, theirs, "request %r" % (request,))
        return replies[0]

    def test_hello_3_answers_a_map_and_switches(self):
        replies = self.compare([["HELLO", "3"], ["HELLO"], ["GET", "resp3:missing"],
                                ["MGET", "resp3:missing", "resp3:missing"],
                                ["SET", "resp3:k", "v", "XX"], ["CLIENT", "GETNAME"],
                                ["COMMAND", "DOCS", "nosuch"], ["CONFIG", "GET", "port-nosuch"],
                                ["PING"], ["HELLO", "2"], ["GET", "resp3:missing"], ["HELLO"]])
        self.assertEqual(replies[0], b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n"
                         b"<version>$5\r\nproto\r\n:3\r\n$2\r\nid\r\n<id>$4\r\nmode\r\n"
                         b"$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                         b"$7\r\nmodules\r\n*0\r\n")
        self.assertEqual(replies[2], b"_\r\n")
        self.assertTrue(replies[9].startswith(b"*14\r\n"), replies[9])
        self.assertEqual(replies[10], b"$-1\r\n")

    def test_hello_errors_leave_the_protocol_as_it_was(self):
        replies = self.compare([
            ["HELLO", "4"], ["HELLO", "abc"], ["HELLO", "1"], ["HELLO", "-1"], ["HELLO", ""],
            ["HELLO", "3.0"], ["HELLO", "99999999999999999999"], ["GET", "resp3:missing"],
            ["HELLO", "3", "FOO"], ["HELLO", "3", "AUTH", "default"], ["HELLO", "3", "SETNAME"],
            ["HELLO", "3", "AUTH", "nobody", "x"], ["HELLO", "3", "SETNAME", "a b"],
            ["GET", "resp3:missing"],
            ["HELLO", "3", "AUTH", "default", "anything", "SETNAME", "resp3client"],
            ["CLIENT", "GETNAME"], ["HELLO", "2", "FOO"], ["GET", "resp3:missing"]])
        self.assertEqual(replies[0], b"-NOPROTO unsupported protocol version\r\n")
        self.assertEqual(replies[1], b"-ERR Protocol version is not an integer or out of range\r\n")
        self.assertEqual(replies[7], b"$-1\r\n")
        self.assertEqual(replies[13], b"$-1\r\n")
        self.assertEqual(replies[15], b"$11\r\nresp3client\r\n")
        self.assertEqual(replies[17], b"_\r\n")

    def test_pipelined_switches_apply_from_the_next_command(self):
        requests = [["GET", "resp3:missing"], ["HELLO", "3"], ["GET", "resp3:missing"],
                    ["HELLO", "2"], ["GET", "resp3:missing"]]
        replies = []
        for port in (self.ordo.port, self.real.port):
            client = RawClient(port)
            client.send(b"".join(raw_command(*r) for r in requests))
            replies.append([normalize_hello(client.read_reply()) for _ in requests])
            client.close()
        self.assertEqual(replies[0], replies[1])
        self.assertEqual([replies[0][i] for i in (0, 2, 4)], [b"$-1\r\n", b"_\r\n", b"$-1\r\n"])

    def test_info_and_client_list_are_verbatim_text(self):
        client = RawClient(self.ordo.port)
        self.assertTrue(client.command("HELLO", "3").startswith(b"%7\r\n"))
        for request in (["INFO", "server"], ["CLIENT", "LIST"], ["CLIENT", "INFO"]):
            reply = client.command(*request)
            header, body = reply.split(b"\r\n", 1)
            self.assertTrue(header.startswith(b"="), reply)
            self.assertEqual(int(header[1:]), len(body) - 2, reply)
            self.assertTrue(body.startswith(b"txt:"), reply)
        self.assertIn(b" resp=3\n", client.command("CLIENT", "LIST"))
        client.close()


if __name__ == "__main__":
    ordo_harness.main()
