"""What clients and operators read: CLIENT KILL/LIST/INFO/NO-EVICT, MEMORY, COMMAND DOCS and
redis-cli's HELP, INFO's memory and clients sections; errors compared with redis-server."""
import subprocess
import unittest

import ordo_harness
from ordo_harness import OrdoServer, RawClient

# Replies compared byte for byte with Redis 7.0.
SCRIPT = [
    ["CLIENT", "KILL", "1.2.3.4:5"], ["CLIENT", "KILL", "ID", "abc"], ["CLIENT", "KILL", "ID", "0"],
    ["CLIENT", "KILL", "ID", "999"], ["CLIENT", "KILL", "TYPE", "foo"],
    ["CLIENT", "KILL", "TYPE", "pubsub"], ["CLIENT", "KILL", "SKIPME", "maybe"],
    ["CLIENT", "KILL", "ADDR", "1.2.3.4:5"], ["CLIENT", "KILL", "FOO", "bar"],
    ["CLIENT", "KILL", "ID"], ["CLIENT", "KILL", "USER", "nobody"],
    ["CLIENT", "KILL", "LADDR", "1.2.3.4:5"], ["CLIENT", "KILL", "MAXAGE", "5"],
    ["CLIENT", "NO-EVICT", "on"], ["CLIENT", "NO-EVICT", "off"], ["CLIENT", "NO-EVICT", "maybe"],
    ["CLIENT", "NO-EVICT"], ["CLIENT", "LIST", "TYPE", "foo"], ["CLIENT", "LIST", "ID", "abc"],
    ["CLIENT", "LIST", "ID", "99999"], ["CLIENT", "LIST", "TYPE", "pubsub"],
    ["MEMORY", "USAGE", "nokey"], ["MEMORY", "USAGE", "k", "SAMPLES", "x"],
    ["MEMORY", "USAGE", "k", "SAMPLES"], ["MEMORY", "FOO"], ["MEMORY", "HELP"],
    ["MEMORY", "PURGE"], ["MEMORY", "USAGE"], ["MEMORY"],
]


class CompareWithRedisTest(unittest.TestCase):
    def test_same_replies_as_redis(self):
        ordo_harness.compare_scenarios_with_redis(
            self, {"introspection": [(0, command) for command in SCRIPT]})


class OrdoIntrospectionTest(unittest.TestCase):
    def setUp(self):
        self.server = OrdoServer().start()

    def tearDown(self):
        self.server.cleanup()

    def test_client_kill_list_and_info(self):
        killer, victim, subscriber = (RawClient(self.server.port) for _ in range(3))
        victim_id = int(victim.command("CLIENT", "ID")[1:-2])
        subscriber.command("SUBSCRIBE", "c")
        info = victim.command("CLIENT", "INFO")
        self.assertIn(b"id=%d " % victim_id, info)
        self.assertEqual(info.split(b"\r\n")[1].count(b"\n"), 1)  # one line, in a bulk
        listed = killer.command("CLIENT", "LIST", "TYPE", "pubsub")
        self.assertEqual(listed.count(b"id="), 1)
        self.assertIn(b" sub=1 ", listed)
        self.assertEqual(killer.command("CLIENT", "LIST", "ID", str(victim_id)).count(b"id="), 1)
        self.assertEqual(killer.command("CLIENT", "KILL", "ID", str(victim_id)), b":1\r\n")
        self.assertTrue(victim.is_closed())
        self.assertEqual(killer.command("CLIENT", "KILL", "TYPE", "pubsub"), b":1\r\n")
        self.assertTrue(subscriber.is_closed())
        # The old form, on the caller itself: the reply comes first, then the close.
        address = [field for field in killer.command("CLIENT", "INFO").split()
                   if field.startswith(b"addr=")][0][5:]
        self.assertEqual(killer.command("CLIENT", "KILL", address), b"+OK\r\n")
        self.assertTrue(killer.is_closed())

    def test_memory_usage_and_info(self):
        client = RawClient(self.server.port)
        client.command("SET", "k", "v" * 1000)
        usage = int(client.command("MEMORY", "USAGE", "k")[1:-2])
        self.assertEqual(usage, 48 + 1 + 1000)
        info = client.command("INFO", "memory")
        for field in (b"used_memory:", b"used_memory_rss:", b"maxmemory:", b"used_memory_human:"):
            self.assertIn(field, info)
        clients = client.command("INFO", "clients")
        for field in (b"connected_clients:1", b"blocked_clients:0", b"maxclients:"):
            self.assertIn(field, clients)
        client.close()

    def test_redis_cli_help_falls_back_to_its_own(self):
        self.assertTrue(RawClient(self.server.port).command("COMMAND", "DOCS").startswith(b"-ERR"))
        out = subprocess.run(["redis-cli", "-p", str(self.server.port), "HELP", "SET"],
                             capture_output=True, text=True, timeout=30).stdout
        self.assertIn("Set the string value of a key", out)


if __name__ == "__main__":
    ordo_harness.main()
