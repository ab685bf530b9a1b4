"""Sixteen databases end to end: SELECT, MOVE, SWAPDB, FLUSHDB, DBSIZE, KEYS, INFO keyspace and
WATCH across databases compared byte for byte with redis-server over two connections; then
what ordo must add: every database survives kill -9 and restart, a point-in-time restore and a
backup cover them all, and `ordo log`, `history` and `dump` name each key's database."""
import json
import shutil
import subprocess
import tempfile
import unittest

import ordo_harness
from ordo_harness import OrdoServer, RawClient

# (KEYS patterns match one key at most: the order of several is each server's own.)
SCENARIOS = {
    "select and per-database commands": [
        (0, ["SET", "k", "zero"]), (0, ["SELECT", "1"]), (0, ["GET", "k"]),
        (0, ["SET", "k", "one"]), (0, ["MSET", "a", "1", "b", "2"]), (0, ["DBSIZE"]),
        (0, ["KEYS", "b*"]), (1, ["GET", "k"]), (1, ["DBSIZE"]), (0, ["SELECT", "15"]),
        (0, ["SET", "last", "x"]), (0, ["SELECT", "16"]), (0, ["SELECT", "-1"]),
        (0, ["SELECT", "abc"]), (0, ["SELECT", "3000000000"]), (0, ["SELECT", "1", "2"]),
        (0, ["GET", "last"]), (1, ["INFO", "keyspace"]),
    ],
    "flushdb empties one database, flushall every one": [
        (0, ["SET", "k", "0"]), (0, ["SELECT", "2"]), (0, ["SET", "k", "2"]), (0, ["FLUSHDB"]),
        (0, ["DBSIZE"]), (1, ["GET", "k"]), (1, ["DBSIZE"]), (0, ["SET", "k", "again"]),
        (1, ["FLUSHALL"]), (0, ["DBSIZE"]), (1, ["INFO", "keyspace"]),
    ],
    "move": [
        (0, ["SET", "m", "v"]), (0, ["MOVE", "m", "3"]), (0, ["EXISTS", "m"]),
        (0, ["MOVE", "m", "3"]), (0, ["MOVE", "nope", "3"]), (0, ["SET", "m", "again"]),
        (0, ["MOVE", "m", "3"]), (0, ["MOVE", "m", "0"]), (0, ["MOVE", "m", "16"]),
        (0, ["MOVE", "m", "x"]), (0, ["MOVE", "m", "-1"]), (0, ["MOVE", "m", "9999999999"]),
        (1, ["SELECT", "3"]), (1, ["GET", "m"]), (1, ["MOVE", "m", "0"]), (1, ["DBSIZE"]),
        (0, ["GET", "m"]),
    ],
    "swapdb": [
        (0, ["MSET", "a", "0", "shared", "from0"]), (0, ["SELECT", "4"]),
        (0, ["MSET", "b", "4", "shared", "from4"]), (0, ["SWAPDB", "0", "4"]),
        (0, ["KEYS", "a*"]), (0, ["GET", "shared"]), (1, ["GET", "shared"]), (1, ["DBSIZE"]),
        (0, ["SWAPDB", "4", "4"]), (0, ["SWAPDB", "0", "16"]), (0, ["SWAPDB", "x", "1"]),
        (0, ["SWAPDB", "1", "x"]), (0, ["SWAPDB", "99", "x"]), (0, ["SWAPDB", "-1", "0"]),
        (0, ["SWAPDB", "5", "6"]), (0, ["DBSIZE"]), (1, ["INFO", "keyspace"]),
    ],
    "watch is per database": [
        (0, ["SELECT", "1"]), (0, ["WATCH", "w"]), (1, ["SET", "w", "db0"]), (0, ["MULTI"]),
        (0, ["SET", "w", "mine"]), (0, ["EXEC"]), (0, ["WATCH", "w"]), (1, ["SELECT", "1"]),
        (1, ["SET", "w", "db1"]), (0, ["MULTI"]), (0, ["GET", "w"]), (0, ["EXEC"]),
        (0, ["WATCH", "w"]), (1, ["SWAPDB", "1", "2"]), (0, ["MULTI"]), (0, ["GET", "w"]),
        (0, ["EXEC"]), (0, ["SELECT", "2"]), (0, ["WATCH", "w"]), (1, ["MOVE", "w", "0"]),
        (0, ["MULTI"]), (0, ["GET", "w"]), (0, ["EXEC"]), (0, ["WATCH", "w"]),
        (1, ["SELECT", "0"]), (1, ["FLUSHDB"]), (0, ["MULTI"]), (0, ["GET", "w"]), (0, ["EXEC"]),
    ],
    "select inside a transaction": [
        (0, ["MULTI"]), (0, ["SELECT", "7"]), (0, ["SET", "t", "7"]), (0, ["SELECT", "8"]),
        (0, ["SET", "t", "8"]), (0, ["EXEC"]), (0, ["GET", "t"]), (0, ["SELECT", "7"]),
        (0, ["GET", "t"]), (0, ["MULTI"]), (0, ["SELECT", "99"]), (0, ["EXEC"]),
    ],
    "scripts start in the caller's database": [
        (0, ["SELECT", "9"]), (0, ["SET", "s", "nine"]),
        (0, ["EVAL", "redis.call('SELECT', 0) return redis.call('GET', KEYS[1])", "1", "s"]),
        (0, ["GET", "s"]), (0, ["EVAL", "return redis.call('GET', KEYS[1])", "1", "s"]),
    ],
}


def ordo(*args):
    result = subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def dump(data_dir):
    return [json.loads(line) for line in ordo("dump", "--data", data_dir).splitlines()]


class CompareWithRedisTest(unittest.TestCase):
    def test_same_replies_as_redis(self):
        ordo_harness.compare_scenarios_with_redis(self, SCENARIOS)

class OrdoDatabasesTest(unittest.TestCase):
    def setUp(self):
        self.repo = tempfile.mkdtemp(prefix="ordo-e2e-repo-")
        shutil.rmtree(self.repo)  # the server creates it
        self.server = OrdoServer(extra_args=["--repo", self.repo, "--segment-size", "65536"])
        self.server.start()

    def tearDown(self):
        self.server.cleanup()
        shutil.rmtree(self.repo, ignore_errors=True)

    def fill(self, client):
        for db in (0, 1, 5, 15):
            client.command("SELECT", str(db))
            for i in range(50):
                client.command("SET", "key:%d" % i, "db%d-%d" % (db, i))
        client.command("SELECT", "1")
        client.command("SWAPDB", "1", "2")
        client.command("MOVE", "key:0", "3")
        client.command("SELECT", "2")
        client.command("MOVE", "key:1", "3")

    def expected_state(self):
        state = {}
        for db, source in ((0, 0), (2, 1), (5, 5), (15, 15)):
            for i in range(50):
                state[(db, "key:%d" % i)] = "db%d-%d" % (source, i)
        state[(3, "key:1")] = state.pop((2, "key:1"))
        return state

    def state_of_dump(self, lines):
        return {(line.get("db", 0), line["key"]): line["value"] for line in lines}

    def test_every_database_survives_kill_and_restart(self):
        client = RawClient(self.server.port)
        self.fill(client)
        client.close()
        self.server.kill()
        self.server.start()
        self.assertEqual(self.state_of_dump(dump(self.server.data_dir)), self.expected_state())
        client = RawClient(self.server.port)
        info = client.command("INFO", "keyspace")
        for line in (b"db0:keys=50,", b"db2:keys=49,", b"db3:keys=1,", b"db5:keys=50,",
                     b"db15:keys=50,"):
            self.assertIn(line, info)
        self.assertNotIn(b"db1:", info)
        client.close()

    def test_restore_and_point_in_time_cover_every_database(self):
        client = RawClient(self.server.port)
        self.fill(client)
        point = client.command("ORDO.RESTOREPOINT", "filled")
        self.assertTrue(point.startswith(b":"))
        client.command("SELECT", "5")
        client.command("FLUSHDB")
        client.command("SELECT", "15")
        client.command("SET", "late", "x")
        self.assertEqual(client.command("SAVE"), b"+OK\r\n")
        client.close()
        targets = [tempfile.mkdtemp(prefix="ordo-e2e-db-") for _ in range(2)]
        for target in targets:
            shutil.rmtree(target)
        try:
            ordo("restore", "--repo", self.repo, "--to", targets[0], "--point", "filled")
            self.assertEqual(self.state_of_dump(dump(targets[0])), self.expected_state())
            ordo("restore", "--repo", self.repo, "--to", targets[1])
            latest = self.expected_state()
            latest = {key: value for key, value in latest.items() if key[0] != 5}
            latest[(15, "late")] = "x"
            self.assertEqual(self.state_of_dump(dump(targets[1])), latest)
            drill = json.loads(ordo("verify", "--repo", self.repo, "--backup", "latest",
                                    "--drill", "--json").splitlines()[-1])
            self.assertTrue(drill.get("ok", True), drill)
        finally:
            for target in targets:
                shutil.rmtree(target, ignore_errors=True)

    def test_fewer_databases_than_the_data_uses_is_refused(self):
        client = RawClient(self.server.port)
        client.command("SELECT", "5")
        client.command("SET", "k", "v")
        client.close()
        self.server.stop()
        result = subprocess.run([ordo_harness.BINARY, "serve", "--data", self.server.data_dir,
                                 "--port", "0", "--databases", "4"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1)
        self.assertIn("holds keys in database 5, but --databases is 4", result.stderr)
        self.server.start()  # with the default 16 it serves them
        self.assertEqual(RawClient(self.server.port).command("SELECT", "5"), b"+OK\r\n")

    def test_log_and_history_name_the_database(self):
        client = RawClient(self.server.port)
        client.command("SELECT", "6")
        client.command("SET", "h", "in six")
        client.command("FLUSHDB")
        client.command("SELECT", "0")
        client.command("SET", "h", "in zero")
        client.close()
        self.server.stop()
        commits = [json.loads(line) for line in
                   ordo("log", "--data", self.server.data_dir, "--json").splitlines()]
        ops = [op for commit in commits for op in commit["ops"]]
        self.assertEqual(ops, [{"op": "set", "db": 6, "key": "h", "value_bytes": 6},
                               {"op": "flushdb", "db": 6},
                               {"op": "set", "db": 0, "key": "h", "value_bytes": 7}])
        text = ordo("log", "--data", self.server.data_dir)
        self.assertIn("h (db 6)", text)
        self.assertIn("FLUSHDB 6", text)
        six = [json.loads(line) for line in ordo(
            "history", "--data", self.server.data_dir, "h", "--db", "6", "--json").splitlines()]
        self.assertEqual([(line["op"], line.get("value")) for line in six],
                         [("set", "in six"), ("flushdb", None)])
        zero = [json.loads(line) for line in ordo(
            "history", "--data", self.server.data_dir, "h", "--json").splitlines()]
        self.assertEqual([(line["op"], line.get("value")) for line in zero], [("set", "in zero")])


if __name__ == "__main__":
    ordo_harness.main()
