"""Every command with a real client, and the same scripts against a real redis-server with the
replies compared byte for byte."""
import time
import unittest

import redis

import ordo_harness
from ordo_harness import OrdoServer, RawClient, RedisServer

# Each entry is one command; replies from ordo and from Redis 7 must be identical bytes.
# Time-dependent replies (TTL values) are checked separately below.
SCRIPT = [
    ["FLUSHALL"],
    ["PING"], ["PING", "hello"], ["PING", "a", "b"], ["ECHO", "hi"], ["ECHO"],
    ["SELECT", "0"], ["SELECT", "1"], ["SELECT", "x"],
    ["GET", "missing"], ["GET"], ["GET", "a", "b"],
    ["SET", "k", "v"], ["GET", "k"], ["SET", "k", "v2", "NX"], ["SET", "k", "v3", "XX"],
    ["SET", "nk", "v", "XX"], ["SET", "k", "v4", "GET"], ["SET", "newk", "v", "GET"],
    ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "EX"], ["SET", "k", "v", "EX", "0"],
    ["SET", "k", "v", "EX", "-1"], ["SET", "k", "v", "EX", "abc"], ["SET", "k", "v", "PX", "0"],
    ["SET", "k", "v", "EX", "10", "PX", "100"], ["SET", "k", "v", "KEEPTTL", "EX", "1"],
    ["SET", "k", "v", "BOGUS"], ["SET", "k", "v", "EX", "9223372036854775807"],
    ["SET", "k", "v", "KEEPTTL"], ["SET", "k", "v", "NX", "GET"],
    ["SETNX", "k", "x"], ["SETNX", "sn", "x"], ["GET", "sn"],
    ["SETEX", "se", "0", "v"], ["SETEX", "se", "x", "v"], ["PSETEX", "pse", "-5", "v"],
    ["GETSET", "k", "gs"], ["GETSET", "gsnew", "1"], ["GETDEL", "gsnew"], ["GETDEL", "gsnew"],
    ["GETEX", "k"], ["GETEX", "missing"], ["GETEX", "k", "PERSIST"], ["GETEX", "k", "EX", "0"],
    ["GETEX", "k", "EX", "10", "PERSIST"], ["GETEX", "k", "FOO"],
    # GETEX of a missing key replies nil before it looks at the expiry's number.
    ["GETEX", "missing", "EX", "-1"], ["GETEX", "missing", "PXAT", "abc"],
    ["GETEX", "missing", "EX", "1", "PX", "1"],
    ["MSET", "m1", "a", "m2", "b"], ["MSET", "m1"], ["MGET", "m1", "m2", "nope"],
    ["MSETNX", "m1", "x", "m3", "y"], ["MSETNX", "m4", "x", "m5", "y"], ["MGET", "m4", "m5"],
    ["APPEND", "ap", "hello"], ["APPEND", "ap", " world"], ["GET", "ap"], ["STRLEN", "ap"],
    ["STRLEN", "nope"],
    ["GETRANGE", "ap", "0", "4"], ["GETRANGE", "ap", "-5", "-1"], ["GETRANGE", "ap", "5", "1"],
    ["GETRANGE", "ap", "0", "100"], ["GETRANGE", "nope", "0", "1"], ["GETRANGE", "ap", "x", "1"],
    ["GETRANGE", "ap", "-1", "-5"], ["SUBSTR", "ap", "0", "2"],
    ["SETRANGE", "ap", "6", "WORLD"], ["GET", "ap"], ["SETRANGE", "sr", "3", "abc"],
    ["GET", "sr"], ["SETRANGE", "sr2", "0", ""], ["EXISTS", "sr2"], ["SETRANGE", "ap", "-1", "x"],
    ["SETRANGE", "ap", "536870911", "xx"], ["APPEND", "ap", ""],
    ["INCR", "n"], ["INCR", "n"], ["DECR", "n"], ["INCRBY", "n", "10"], ["DECRBY", "n", "3"],
    ["INCRBY", "n", "x"], ["INCR", "ap"], ["SET", "big", "9223372036854775807"], ["INCR", "big"],
    ["SET", "small", "-9223372036854775808"], ["DECR", "small"],
    ["DECRBY", "n", "-9223372036854775808"], ["SET", "sp", " 1"], ["INCR", "sp"],
    ["INCRBYFLOAT", "f", "1.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-1.6"],
    ["INCRBYFLOAT", "f", "abc"], ["INCRBYFLOAT", "ap", "1"], ["INCRBYFLOAT", "f", "1e3"],
    ["INCRBYFLOAT", "f2", "3.0e0"], ["INCRBYFLOAT", "f3", "10.50"], ["INCRBYFLOAT", "f", "inf"],
    # A NUL byte inside a number (where strtold stops) makes it no float.
    ["INCRBYFLOAT", "f", "1\x002"], ["SET", "fnul", "5\x00"], ["INCRBYFLOAT", "fnul", "1"],
    ["DEL", "m1", "m2", "nope", "m1"], ["UNLINK", "m4"], ["EXISTS", "m5", "m5", "nope"],
    ["TYPE", "m5"], ["TYPE", "nope"],
    ["EXPIRE", "nope", "10"], ["EXPIRE", "m5", "100", "NX", "XX"],
    ["EXPIRE", "m5", "100", "GT", "LT"], ["EXPIRE", "m5", "100", "FOO"],
    ["EXPIRE", "m5", "x"], ["EXPIRE", "m5", "9223372036854775807"],
    ["EXPIRE", "m5", "100", "XX"], ["EXPIRE", "m5", "100", "GT"], ["EXPIRE", "m5", "100", "NX"],
    ["EXPIRE", "m5", "200", "XX"], ["EXPIRE", "m5", "300", "GT"], ["EXPIRE", "m5", "100", "GT"],
    ["EXPIRE", "m5", "50", "LT"], ["EXPIRE", "m5", "500", "LT"], ["PERSIST", "m5"],
    ["PERSIST", "m5"], ["PERSIST", "nope"], ["TTL", "m5"], ["PTTL", "m5"], ["TTL", "nope"],
    ["PTTL", "nope"], ["EXPIRE", "m5", "-1"], ["EXISTS", "m5"],
    ["PEXPIRE", "n", "100000"], ["PEXPIREAT", "n", "1"], ["GET", "n"],
    ["EXPIREAT", "m3", "99999999999"], ["EXPIREAT", "m3", "0"], ["GET", "m3"],
    ["DBSIZE"], ["FLUSHDB", "BAD"], ["FLUSHDB", "ASYNC"], ["DBSIZE"],
    ["MSET", "key:1", "a", "key:2", "b", "key:10", "c", "other", "d", "k[x]", "e"],
    ["KEYS", "nomatch*"], ["KEYS", "k?y:1"], ["KEYS", "k[\\[]x]"],
    ["SCAN", "x"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "FOO", "1"],
    ["FLUSHALL", "SYNC"], ["DBSIZE"], ["KEYS", "*"], ["SCAN", "0"],
    # Cursor texts strtoul reads as 0 (an empty database: cursors are each server's own).
    ["SCAN", ""], ["SCAN", "+0"], ["SCAN", "-0"], ["SCAN", "+"], ["SCAN", " 0"], ["SCAN", "--0"],
    # Keyspace: RENAME, COPY, MOVE, TOUCH, RANDOMKEY, EXPIRETIME, OBJECT (metadata-only ops).
    ["RANDOMKEY"], ["SET", "r1", "one"], ["RANDOMKEY"], ["RENAME", "nope", "x"],
    ["RENAME", "nope", "nope"], ["RENAMENX", "nope", "nope"], ["RENAME", "r1", "r1"],
    ["RENAMENX", "r1", "r1"], ["RENAME", "r1", "r2"], ["GET", "r1"], ["GET", "r2"],
    ["SET", "r3", "three", "EX", "1000"], ["RENAMENX", "r2", "r3"], ["RENAME", "r2", "r3"],
    ["GET", "r3"], ["TTL", "r3"], ["RENAME", "r3"], ["RENAMENX", "a", "b", "c"],
    ["SET", "c1", "12345"], ["EXPIREAT", "c1", "99999999999"], ["COPY", "c1", "c2"],
    ["EXPIRETIME", "c2"], ["PEXPIRETIME", "c2"], ["COPY", "c1", "c2"],
    ["COPY", "c1", "c2", "REPLACE"], ["COPY", "c1", "c1"], ["COPY", "nope", "nope"],
    ["COPY", "nope", "c9"], ["COPY", "c1", "c1", "DB", "1"], ["SELECT", "1"], ["GET", "c1"],
    ["EXPIRETIME", "c1"], ["SELECT", "0"], ["COPY", "c1", "c3", "DB"], ["COPY", "c1", "c3", "DB", "x"],
    ["COPY", "c1", "c3", "DB", "16"], ["COPY", "c1", "c3", "DB", "3000000000"],
    ["COPY", "c1", "c3", "REPLACE", "BOGUS"], ["COPY", "c1", "c3", "DB", "0", "DB", "2"],
    ["SELECT", "2"], ["EXISTS", "c3"], ["SELECT", "0"], ["COPY", "c1"],
    ["PERSIST", "c1"], ["EXPIRETIME", "c1"], ["PEXPIRETIME", "c1"], ["EXPIRETIME", "nope"],
    ["PEXPIRETIME", "nope"], ["EXPIRETIME"], ["MOVE", "c1", "0"], ["MOVE", "nope", "0"],
    ["MOVE", "c1", "3"], ["MOVE", "c1", "3"], ["SELECT", "3"], ["GET", "c1"], ["SELECT", "0"],
    ["TOUCH", "c2", "c2", "nope"], ["TOUCH"], ["UNLINK", "c2", "nope"],
    ["SET", "e1", "-1"], ["SET", "e2", "12345678901234567890"], ["SET", "e3", "x" * 44],
    ["SET", "e4", "x" * 45], ["SET", "e5", "007"], ["SET", "e6", "9999"], ["SET", "e7", "10000"],
    ["OBJECT", "ENCODING", "e1"], ["OBJECT", "ENCODING", "e2"], ["OBJECT", "ENCODING", "e3"],
    ["OBJECT", "ENCODING", "e4"], ["OBJECT", "ENCODING", "e5"], ["OBJECT", "encoding", "e6"],
    ["OBJECT", "REFCOUNT", "e1"], ["OBJECT", "REFCOUNT", "e6"], ["OBJECT", "REFCOUNT", "e7"],
    ["OBJECT", "ENCODING", "nope"], ["OBJECT", "REFCOUNT", "nope"], ["OBJECT", "FREQ", "nope"],
    ["OBJECT", "IDLETIME", "nope"], ["OBJECT", "FREQ", "e1"], ["OBJECT", "HELP"],
    ["OBJECT", "HELP", "x"], ["OBJECT", "ENCODING"], ["OBJECT", "ENCODING", "a", "b"],
    ["OBJECT", "FOO"], ["OBJECT", "FOO", "e1"], ["OBJECT"], ["RENAME", "e6", "e7"],
    ["OBJECT", "ENCODING", "e7"], ["OBJECT", "REFCOUNT", "e7"], ["FLUSHALL"],
    ["FOO"], ["FOO", "a", "b"], ["fOo", "x" * 200],
    # The unknown-command error prints each argument up to its first NUL byte, as printf does.
    ["FOO", "a\x00b", "\x00", "c\r\n"], ["F\x00OO", "x"],
    ["CONFIG", "GET"], ["CONFIG", "FOO"], ["CLIENT", "FOO"], ["CLIENT", "SETNAME", "a b"],
    ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "me"], ["CLIENT", "GETNAME"],
    ["AUTH", "x"], ["HELLO", "x"], ["HELLO", "4"], ["HELLO", "2", "FOO"],
    ["SHUTDOWN", "ABORT"],
]

# Replies that legitimately differ are not in SCRIPT (HELLO 2 and 3 with no error: the reply
# names each server's own version and client id; test_protocol.py compares its shape). Only the
# error kind is compared for these.
PREFIX_ONLY = set()


def run_script(port, protocol):
    """SCRIPT's replies on one connection speaking `protocol` (2, or 3 after HELLO 3)."""
    client = RawClient(port)
    if protocol == 3:
        hello = client.command("HELLO", "3")
        assert hello.startswith(b"%7\r\n"), hello
    replies = [client.command(*command) for command in SCRIPT]
    client.close()
    return replies


class CompareWithRedisTest(unittest.TestCase):
    def test_same_replies_as_redis(self):
        ordo = OrdoServer().start()
        real = RedisServer()
        try:
            real.start()
            for protocol in (2, 3):
                ordo_replies = run_script(ordo.port, protocol)
                redis_replies = run_script(real.port, protocol)
                for command, mine, theirs in zip(SCRIPT, ordo_replies, redis_replies):
                    if tuple(command[:2]) in PREFIX_ONLY:
                        self.assertEqual(mine.split(b" ")[0], theirs.split(b" ")[0], command)
                        continue
                    self.assertEqual(mine, theirs, "RESP%d: command %r" % (protocol, command))
            ordo.stop()
        finally:
            real.stop()
            ordo.cleanup()


class CommandsWithRedisPyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = OrdoServer().start()
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def setUp(self):
        self.client.flushall()

    def test_strings(self):
        c = self.client
        self.assertTrue(c.set("a", "1"))
        self.assertEqual(c.get("a"), b"1")
        self.assertEqual(c.incr("a"), 2)
        self.assertEqual(c.incrbyfloat("a", 0.5), 2.5)
        self.assertEqual(c.append("a", "x"), 4)
        self.assertEqual(c.getrange("a", 0, 1), b"2.")
        self.assertEqual(c.setrange("a", 0, "Z"), 4)
        self.assertEqual(c.getset("a", "new"), b"Z.5x")
        self.assertEqual(c.getdel("a"), b"new")
        self.assertIsNone(c.get("a"))
        self.assertTrue(c.mset({"x": 1, "y": 2}))
        self.assertEqual(c.mget("x", "y", "z"), [b"1", b"2", None])
        self.assertFalse(c.msetnx({"x": 3, "w": 4}))
        self.assertTrue(c.setnx("w", 4))
        self.assertEqual(c.strlen("w"), 1)
        self.assertTrue(c.set("b", "v", keepttl=True))
        value = b"\x00\xff\r\n binary"
        c.set("bin", value)
        self.assertEqual(c.get("bin"), value)

    def test_expiry(self):
        c = self.client
        c.set("e", "v", ex=100)
        self.assertTrue(95 <= c.ttl("e") <= 100)
        c.setex("e2", 50, "v")
        self.assertTrue(45 <= c.ttl("e2") <= 50)
        c.psetex("e3", 50000, "v")
        self.assertTrue(45000 <= c.pttl("e3") <= 50000)
        self.assertEqual(c.getex("e3", persist=True), b"v")
        self.assertEqual(c.ttl("e3"), -1)
        self.assertEqual(c.getex("e3", px=20000), b"v")
        self.assertTrue(19000 <= c.pttl("e3") <= 20000)
        c.set("short", "v", px=50)
        deadline = time.monotonic() + 10
        while c.get("short") is not None:  # expiry is by the clock: poll, bounded
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.assertEqual(c.ttl("short"), -2)
        at = int(time.time()) + 1000
        self.assertTrue(c.expireat("e", at))
        self.assertTrue(995 <= c.ttl("e") <= 1000)
        self.assertTrue(c.pexpireat("e", at * 1000))
        self.assertTrue(c.persist("e"))
        self.assertEqual(c.ttl("e"), -1)
        with self.assertRaises(redis.ResponseError):
            c.incr("e")  # INCR on a non-integer fails and leaves the key alone
        self.assertEqual(c.get("e"), b"v")

    def test_incr_keeps_ttl(self):
        c = self.client
        c.set("n", 1, ex=1000)
        c.incr("n")
        c.append("n", "0")
        self.assertTrue(990 <= c.ttl("n") <= 1000)
        c.set("n", 5)
        self.assertEqual(c.ttl("n"), -1)

    def test_keys_scan_dbsize(self):
        c = self.client
        expected = set()
        for i in range(300):
            key = ("scan:%d" % i) + ("-long-key-name" * (i % 3))
            c.set(key, i)
            expected.add(key.encode())
        c.set("other", 1)
        self.assertEqual(c.dbsize(), 301)
        self.assertEqual(set(c.keys("scan:*")), expected)
        self.assertEqual(set(c.scan_iter(match="scan:*", count=7)), expected)
        self.assertEqual(set(c.scan_iter(count=1000)), expected | {b"other"})
        self.assertEqual(set(c.scan_iter(_type="string", count=50)), expected | {b"other"})
        self.assertEqual(c.keys("scan:1?"), sorted(c.keys("scan:1?")) and c.keys("scan:1?"))
        self.assertEqual(c.delete(*list(expected)[:10]), 10)
        self.assertEqual(c.exists("other", "other"), 2)
        self.assertEqual(c.type("other"), b"string")
        self.assertTrue(c.flushdb())
        self.assertEqual(c.dbsize(), 0)

    def test_scan_sees_every_key_present_throughout_despite_writes(self):
        c = self.client
        for i in range(200):
            c.set("stable:%03d" % i, i)
        seen = set()
        cursor = 0
        n = 0
        while True:
            cursor, keys = c.scan(cursor, count=13)
            seen.update(keys)
            c.set("churn:%d" % n, n)  # writes during the scan
            c.delete("churn:%d" % (n - 1))
            n += 1
            if cursor == 0:
                break
            self.assertLess(n, 1000, "scan did not terminate")
        self.assertTrue({b"stable:%03d" % i for i in range(200)} <= seen)

    def test_server_commands(self):
        c = self.client
        info = c.info()
        self.assertEqual(info["redis_version"], "7.0.0")
        self.assertEqual(info["aof_enabled"], 1)
        self.assertIn("ordo_version", info)
        self.assertIn("ordo_acked_lsn", info)
        self.assertIn("connected_clients", info)
        self.assertIn("total_commands_processed", info)
        c.set("x", 1, ex=100)
        self.assertEqual(c.info("keyspace")["db0"]["keys"], 1)
        self.assertEqual(c.info("keyspace")["db0"]["expires"], 1)
        self.assertEqual(c.config_get("databases"), {"databases": "16"})
        self.assertEqual(c.config_get("appendonly")["appendonly"], "yes")
        self.assertIn("maxmemory", c.config_get("max*"))
        self.assertGreater(c.command_count(), 40)
        self.assertTrue(c.client_setname("tester"))
        self.assertEqual(c.client_getname(), "tester")
        self.assertIsInstance(c.client_id(), int)
        self.assertEqual(c.echo("e"), b"e")
        self.assertTrue(c.ping())
        raw = RawClient(self.server.port)
        info_get = raw.command("COMMAND", "INFO", "get", "nosuch")
        self.assertTrue(info_get.startswith(b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n"), info_get)
        self.assertTrue(info_get.endswith(b"$-1\r\n"), info_get)  # Redis's addReplyNull
        self.assertTrue(raw.command("COMMAND", "DOCS").startswith(b"-ERR COMMAND DOCS"))
        self.assertEqual(raw.command("COMMAND", "DOCS", "get"), b"*0\r\n")
        self.assertTrue(raw.command("HELLO", "3").startswith(b"%7\r\n"))
        info_get = raw.command("COMMAND", "INFO", "get", "nosuch")
        self.assertTrue(info_get.startswith(b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n"), info_get)
        self.assertTrue(info_get.endswith(b"~0\r\n~0\r\n~0\r\n~0\r\n_\r\n"), info_get)
        self.assertEqual(raw.command("COMMAND", "DOCS", "get"), b"%0\r\n")
        raw.close()

    def test_redis_cli(self):
        import subprocess
        port = str(self.server.port)
        run = lambda *args: subprocess.run(["redis-cli", "-p", port] + list(args),
                                           capture_output=True, text=True, timeout=30)
        self.assertEqual(run("SET", "cli", "hello").stdout.strip(), "OK")
        self.assertEqual(run("GET", "cli").stdout.strip(), "hello")
        self.assertEqual(run("--scan", "--pattern", "cl*").stdout.split(), ["cli"])
        self.assertIn("redis_version:7.0.0", run("INFO", "server").stdout)
        # Interactive mode sends COMMAND DOCS first; it must work through stdin too.
        result = subprocess.run(["redis-cli", "-p", port], input="PING\nGET cli\n",
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.stdout.split(), ["PONG", "hello"])


if __name__ == "__main__":
    ordo_harness.main()
