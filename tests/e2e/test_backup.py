"""Online backups end to end: `ordo backup` of a directory a running `ordo serve` holds under
write load, `ordo verify --drill`, `ordo restore` into a new directory served by a second
server, kill -9 of a backup in the middle of a copy, `ordo backups` and `ordo prune`."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import redis

import ordo_harness
from ordo_harness import OrdoServer

WRITERS = 4
COMMAND_TIMEOUT_S = 300
POLL_TIMEOUT_S = 60.0


def ordo(*args, check=True):
    """Runs an ordo subcommand; returns (exit code, stdout, stderr)."""
    result = subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S)
    if check and result.returncode != 0:
        raise AssertionError("ordo %s failed (%d):\n%s\n%s"
                             % (" ".join(args), result.returncode, result.stdout, result.stderr))
    return result.returncode, result.stdout, result.stderr


def ordo_json(*args, check=True):
    code, out, err = ordo(*(list(args) + ["--json"]), check=check)
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, "--json must print exactly one line, got %r (stderr %r)" % (out, err)
    return code, json.loads(lines[0])


class Writer(threading.Thread):
    """SETs item i, then the counter to i: a restored counter c implies items 0..c exist."""

    def __init__(self, port, index):
        super().__init__(daemon=True)
        self.port = port
        self.index = index
        self.acked = -1
        self.stop = threading.Event()
        self.error = None

    def run(self):
        client = redis.Redis(port=self.port, socket_timeout=30)
        i = 0
        try:
            while not self.stop.is_set():
                client.set("w%d:item:%d" % (self.index, i), "x" * 200)
                client.set("w%d:counter" % self.index, i)
                self.acked = i
                i += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionError) as error:
            self.error = error
        finally:
            client.close()


def fill(client, prefix, count, value_bytes):
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        pipe.set("%s:%d" % (prefix, i), ("%s-%d-" % (prefix, i)).ljust(value_bytes, "v"))
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()


class BackupTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ordo-backup-e2e-")
        self.repo = os.path.join(self.tmp, "repo")
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self, data_dir):
        server = OrdoServer(data_dir=data_dir, extra_args=["--segment-size", "262144"])
        self.servers.append(server)
        return server.start()

    def test_live_backup_verify_drill_and_restore(self):
        data = os.path.join(self.tmp, "data")
        server = self.serve(data)
        client = server.client()
        fill(client, "pre", 3000, 300)  # acknowledged before the backup starts
        writers = [Writer(server.port, i) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        try:
            # Bounded wait until every writer has written something.
            deadline = time.monotonic() + POLL_TIMEOUT_S
            while min(w.acked for w in writers) < 50:
                self.assertLess(time.monotonic(), deadline, "writers made no progress")
                time.sleep(0.01)
            before = [w.acked for w in writers]
            # Paced so that the copy spans many commits of the writers.
            _, backup = ordo_json("backup", "--data", data, "--repo", self.repo,
                                  "--rate-limit", "8")
            during = [w.acked for w in writers]
        finally:
            for writer in writers:
                writer.stop.set()
            for writer in writers:
                writer.join(timeout=30)
        for writer in writers:
            self.assertIsNone(writer.error)
        self.assertTrue(backup["ok"])
        self.assertTrue(backup["repository_created"])
        self.assertGreater(backup["bytes_read"], 900000)
        self.assertEqual(backup["new_files"], backup["files"])
        self.assertGreater(sum(during) - sum(before), 0, "no write during the backup")
        self.assertEqual(backup["errors"], [])
        for figure in backup["file_figures"]:
            self.assertIn("save_ms", figure)

        _, verified = ordo_json("verify", "--repo", self.repo, "--drill")
        self.assertTrue(verified["drilled"])
        self.assertTrue(verified["drill"]["digest_match"])
        self.assertEqual(verified["drill"]["restored_digest"], backup["digest"])
        self.assertEqual(verified["drill"]["restored_keys"], backup["keys"])
        self.assertGreater(verified["drill"]["rto_seconds"], 0)
        self.assertGreaterEqual(verified["drill"]["rpo_seconds"], 0)
        self.assertEqual(verified["records_checked"], backup["last_lsn"] - backup["first_lsn"] + 1)

        restored = os.path.join(self.tmp, "restored")
        ordo("restore", "--repo", self.repo, "--to", restored)
        code, _, err = ordo("restore", "--repo", self.repo, "--to", restored, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("not empty", err)
        ordo("check", "--data", restored, "--level", "3")
        # The restored directory's own log names the backup's state.
        _, again = ordo_json("backup", "--data", restored, "--repo",
                             os.path.join(self.tmp, "repo2"))
        self.assertEqual(again["digest"], backup["digest"])
        self.assertEqual(again["keys"], backup["keys"])
        self.assertEqual(again["last_lsn"], backup["last_lsn"])

        second = self.serve(restored)
        restored_client = second.client()
        self.assertEqual(restored_client.dbsize(), backup["keys"])
        values = restored_client.mget(["pre:%d" % i for i in range(3000)])
        for i, value in enumerate(values):
            self.assertEqual(value, ("pre-%d-" % i).ljust(300, "v").encode(), "pre:%d" % i)
        for writer in writers:
            counter = int(restored_client.get("w%d:counter" % writer.index))
            self.assertGreaterEqual(counter, before[writer.index])
            self.assertLessEqual(counter, writer.acked)
            items = restored_client.mget(["w%d:item:%d" % (writer.index, i)
                                          for i in range(counter + 1)])
            self.assertTrue(all(items), "writer %d: an item before the counter is missing"
                            % writer.index)
        restored_client.close()
        second.stop()
        _, dump, _ = ordo("dump", "--data", restored)
        self.assertEqual(len(dump.splitlines()), backup["keys"])
        client.close()
        server.stop()

    def test_kill_9_mid_backup_then_verify_and_backup_again(self):
        data = os.path.join(self.tmp, "data")
        server = self.serve(data)
        client = server.client()
        fill(client, "first", 2000, 1000)
        _, first = ordo_json("backup", "--data", data, "--repo", self.repo)
        fill(client, "second", 6000, 1000)  # ~6 MiB more: seconds at 1 MiB/s

        data_dir = os.path.join(self.repo, "data")
        stored_before = set(os.listdir(data_dir))
        process = subprocess.Popen([ordo_harness.BINARY, "backup", "--data", data, "--repo",
                                    self.repo, "--rate-limit", "1", "--json"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # Bounded poll until the copy is under way: a new segment published in the
            # repository (the temporary files come and go), with megabytes still to copy.
            deadline = time.monotonic() + POLL_TIMEOUT_S
            while not any(not name.startswith(".") and name not in stored_before
                          for name in os.listdir(data_dir)):
                self.assertIsNone(process.poll(), "backup finished before it could be killed")
                self.assertLess(time.monotonic(), deadline, "backup never started copying")
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            self.assertEqual(process.wait(timeout=30), -signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()
        left_behind = set(os.listdir(data_dir)) - stored_before
        self.assertTrue(left_behind)

        _, listed = ordo_json("backups", "--repo", self.repo)
        self.assertEqual([b["backup_id"] for b in listed["backups"]], [first["backup_id"]])
        _, verified = ordo_json("verify", "--repo", self.repo, "--backup", first["backup_id"],
                                "--drill")
        self.assertTrue(verified["drill"]["digest_match"])

        _, second = ordo_json("backup", "--data", data, "--repo", self.repo)
        self.assertEqual(second["parent_backup_id"], first["backup_id"])
        self.assertGreater(second["reused_files"], 0)
        _, listed = ordo_json("backups", "--repo", self.repo)
        self.assertEqual([b["backup_id"] for b in listed["backups"]],
                         [first["backup_id"], second["backup_id"]])
        for entry in listed["backups"]:
            for field in ("started", "finished", "first_lsn", "last_lsn", "keys", "size_bytes",
                          "new_bytes", "duration_seconds"):
                self.assertIn(field, entry)
        _, verified = ordo_json("verify", "--repo", self.repo, "--drill")
        self.assertEqual(verified["backup_id"], second["backup_id"])
        self.assertTrue(verified["drill"]["digest_match"])

        # Prune: the dry run deletes nothing; the real one removes the first backup and the
        # killed backup's leftovers, and the kept one still drills.
        before = sorted(os.listdir(os.path.join(self.repo, "data")))
        _, dry = ordo_json("prune", "--repo", self.repo, "--keep-last", "1", "--dry-run")
        self.assertEqual(dry["removed_backups"], [first["backup_id"]])
        self.assertEqual(sorted(os.listdir(os.path.join(self.repo, "data"))), before)
        # --grace 0: the killed backup's files are seconds old; nothing writes now.
        _, pruned = ordo_json("prune", "--repo", self.repo, "--keep-last", "1", "--grace", "0")
        self.assertEqual(pruned["kept_backups"], [second["backup_id"]])
        # What the killed backup stored and the next one did not reuse, and its temporary
        # file, are gone; nothing the kept backup references was touched (it drills below).
        self.assertEqual(sorted(pruned["removed_temporary"]),
                         sorted("data/" + n for n in left_behind if n.startswith(".tmp-")))
        self.assertFalse(any(n.startswith(".tmp-")
                             for n in os.listdir(os.path.join(self.repo, "data"))))
        _, verified = ordo_json("verify", "--repo", self.repo, "--drill")
        self.assertTrue(verified["drill"]["digest_match"])
        client.close()
        server.stop()

    def test_errors_are_clear_and_json_is_one_object(self):
        code, failure = ordo_json("verify", "--repo", os.path.join(self.tmp, "nothing"),
                                  check=False)
        self.assertNotEqual(code, 0)
        self.assertFalse(failure["ok"])
        self.assertIn("nothing", failure["error"])
        code, _, err = ordo("backup", "--data", os.path.join(self.tmp, "no-data"), "--repo",
                            self.repo, check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("no-data", err)
        code, _, err = ordo("prune", "--repo", self.repo, "--keep-last", "1", "--keep-within",
                            "soon", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("--keep-within", err)


if __name__ == "__main__":
    ordo_harness.main()
