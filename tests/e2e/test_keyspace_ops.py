"""Metadata-only ops end to end (docs/FORMAT.md, op types 10 to 12): EXPIRE, PERSIST, GETEX,
RENAME, COPY and MOVE of a key holding 1 MiB append records of a few dozen bytes (measured
with INFO's ordo_bytes_written, and printed); `ordo log` and `ordo history` name them; after
them a kill -9 and a graceful restart reopen to the same state (the replay checks every
record's digest) and `ordo check --level 3` recomputes it from the values; a point-in-time
restore to each LSN around a rename and a copy gives the state of that moment."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import ordo_harness
from ordo_harness import OrdoServer

BIG = 1 << 20
RECORD_BYTES_MAX = 1024  # far below the value: no op here may log it again
COMMAND_TIMEOUT_S = 120


def ordo_ok(*args):
    result = subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S)
    if result.returncode != 0:
        raise AssertionError("ordo %s failed (%d):\n%s\n%s"
                             % (" ".join(args), result.returncode, result.stdout, result.stderr))
    return result.stdout


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def bytes_written(client):
    return int(client.info("persistence")["ordo_bytes_written"])


def dump(data_dir):
    return ordo_ok("dump", "--data", data_dir)


def dump_entries(text):
    return {(entry.get("db", 0), entry["key"]): entry for entry in json_lines(text)}


class KeyspaceOpsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ordo-keyspace-e2e-")
        self.data = os.path.join(self.tmp, "data")
        self.server = OrdoServer(data_dir=self.data).start()

    def tearDown(self):
        self.server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_metadata_ops_log_no_value_and_survive_kill_and_restore(self):
        client = self.server.client()
        client.set("big", b"v" * BIG)
        client.set("small", "s")
        sizes = {}

        def measured(name, command, expected):
            before = bytes_written(client)
            self.assertEqual(client.execute_command(*command), expected, command)
            sizes[name] = bytes_written(client) - before
            self.assertGreater(sizes[name], 0, "%s logged nothing" % name)
            self.assertLess(sizes[name], RECORD_BYTES_MAX, "%s logged %d bytes" % (name, sizes[name]))

        measured("EXPIRE", ["EXPIRE", "big", "100000"], 1)
        measured("PEXPIREAT", ["PEXPIREAT", "big", "4102444800000"], 1)
        measured("GETEX EX", ["GETEX", "small", "EX", "5000"], b"s")
        measured("PERSIST", ["PERSIST", "big"], 1)
        measured("EXPIRE again", ["EXPIRE", "big", "200000"], 1)
        rename_lsn_before = json_lines(ordo_ok("log", "--data", self.data, "--json"))[-1]["lsn"]
        measured("RENAME", ["RENAME", "big", "renamed"], True)
        measured("COPY", ["COPY", "renamed", "copied"], 1)
        measured("COPY DB REPLACE", ["COPY", "renamed", "small", "DB", "0", "REPLACE"], 1)
        measured("MOVE", ["MOVE", "copied", "3"], 1)
        measured("RENAMENX", ["RENAMENX", "small", "last"], 1)
        print("record bytes of each op on a 1 MiB value: %s" % sizes)
        self.assertEqual(client.get("renamed"), b"v" * BIG)
        self.assertEqual(client.get("last"), b"v" * BIG)
        self.assertIsNone(client.get("big"))
        self.assertGreater(client.ttl("last"), 100000)  # the copy took the expiry along
        client.select(3)
        self.assertEqual(client.get("copied"), b"v" * BIG)
        client.select(0)

        # `ordo log` names the ops, their databases and both keys.
        commits = json_lines(ordo_ok("log", "--data", self.data, "--json"))
        ops = [op for commit in commits for op in commit["ops"]]
        self.assertIn({"op": "rename", "db": 0, "key": "big", "target_db": 0,
                       "target_key": "renamed"}, ops)
        self.assertIn({"op": "rename", "db": 0, "key": "copied", "target_db": 3,
                       "target_key": "copied"}, ops)
        self.assertIn({"op": "copy", "db": 0, "key": "renamed", "target_db": 0,
                       "target_key": "small"}, ops)
        self.assertIn({"op": "set-expiry", "db": 0, "key": "big", "expire_at_ms": 0}, ops)
        text = ordo_ok("log", "--data", self.data)
        self.assertIn("RENAME big -> renamed", text)
        self.assertIn("RENAME copied -> copied (db 3)", text)
        # --key finds the commits that name a key as a rename's or copy's target too.
        touching = json_lines(ordo_ok("log", "--data", self.data, "--key", "last", "--json"))
        self.assertEqual([c["ops"][0]["op"] for c in touching], ["rename"])
        history = ordo_ok("history", "--data", self.data, "renamed")
        self.assertIn("(renamed from \"big\", with its value and expiry)", history)
        self.assertIn("(copied to \"copied\")", history)
        versions = json_lines(ordo_ok("history", "--data", self.data, "big", "--json"))
        self.assertEqual([v["op"] for v in versions],
                         ["set", "set-expiry", "set-expiry", "set-expiry", "set-expiry",
                          "rename"])
        self.assertEqual(versions[-1]["to_key"], "renamed")

        # kill -9, then a graceful restart: the same state each time (the replay checks every
        # record's digest and key count, so a wrong apply would not even open).
        expected = dump(self.data)
        last = commits[-1]
        client.close()
        self.server.kill()
        self.server.start()
        self.assertEqual(dump(self.data), expected)
        self.server.stop()
        self.server.start()
        self.assertEqual(dump(self.data), expected)
        again = json_lines(ordo_ok("log", "--data", self.data, "--json"))[-1]
        self.assertEqual((again["digest"], again["live_keys"]), (last["digest"], last["live_keys"]))
        self.server.stop()
        self.assertIn("check: OK at level 3", ordo_ok("check", "--data", self.data, "--level", "3"))

        # Point-in-time restore to each commit from just before the rename on.
        repo = os.path.join(self.tmp, "repo")
        ordo_ok("repo", "init", "--repo", repo)
        ordo_ok("backup", "--data", self.data, "--repo", repo)
        states = {}
        for lsn in range(rename_lsn_before, last["lsn"] + 1):
            target = os.path.join(self.tmp, "restored-%d" % lsn)
            ordo_ok("restore", "--repo", repo, "--to", target, "--lsn", str(lsn))
            states[lsn] = dump_entries(dump(target))
            commit = commits[lsn - 1]
            self.assertEqual(len(states[lsn]), commit["live_keys"], "LSN %d" % lsn)
        before, after = states[rename_lsn_before], states[rename_lsn_before + 1]
        self.assertIn((0, "big"), before)
        self.assertNotIn((0, "renamed"), before)
        self.assertNotIn((0, "big"), after)
        self.assertEqual(after[(0, "renamed")]["value"], before[(0, "big")]["value"])
        self.assertEqual(after[(0, "renamed")]["expire_at_ms"], before[(0, "big")]["expire_at_ms"])
        copied = states[rename_lsn_before + 2]
        self.assertEqual(copied[(0, "copied")]["value"], copied[(0, "renamed")]["value"])
        self.assertEqual(states[last["lsn"]], dump_entries(expected))
        self.assertEqual(sorted(dump_entries(expected)), [(0, "last"), (0, "renamed"), (3, "copied")])


if __name__ == "__main__":
    ordo_harness.main()
