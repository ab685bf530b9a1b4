"""Continuous archiving end to end: `ordo serve --archive` under a multi-client load survives
kill -9 and resumes without gap; after a graceful stop the archive alone restores every
acknowledged write, and the restored directory dumps exactly like the server's; INFO persistence
reports the archive; `ordo archive` does the same beside a live server from another process.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import ordo_harness
from ordo_harness import AckedWriter, OrdoServer

WRITERS = 4
ACKED_BEFORE_KILL = 4000
POLL_TIMEOUT_S = 120.0
SEGMENT_BYTES = "65536"


def run_ordo(*args, timeout=300):
    return subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def dump(data_dir):
    result = run_ordo("dump", "--data", data_dir)
    assert result.returncode == 0, result.stderr
    return result.stdout


def dump_dict(text):
    entries = {}
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[entry["key"]] = entry
    return entries


def restore_latest(repo, target):
    """Restores the repository's newest archived commit into `target` (`ordo restore` without
    a target goes to the newest archived commit)."""
    result = run_ordo("restore", "--repo", repo, "--to", target)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def archive_once(data_dir, repo):
    result = run_ordo("archive", "--data", data_dir, "--repo", repo, "--once", "--json")
    assert result.returncode == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for(predicate, what):
    """Polls an external process with a deadline (not synchronisation between threads)."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class ArchiveTest(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="ordo-e2e-archive-")
        self.repo = os.path.join(self.scratch, "repo")  # absent: the server creates it
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.cleanup()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def serve(self, data_dir=None, archive=True, interval="100ms"):
        args = ["--repo", self.repo, "--segment-size", SEGMENT_BYTES]
        if archive:
            args += ["--archive", "--archive-interval", interval]
        server = OrdoServer(data_dir=data_dir, extra_args=args)
        self.servers.append(server)
        return server.start()

    def start_writers(self, server, prefix):
        writers = [AckedWriter(server.port, i, prefix + ":", pad=True) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        return writers

    def check_acked(self, writers, data):
        for writer in writers:
            for key, value in writer.acked_sets.items():
                self.assertIn(key, data, "acknowledged SET %s not restored" % key)
                self.assertEqual(data[key]["value"], value, key)
            counter = data.get(writer.counter_key)
            restored = int(counter["value"]) if counter else 0
            self.assertGreaterEqual(restored, writer.acked_incrs,
                                    "acknowledged INCR of writer %d lost" % writer.index)

    def test_kill_9_mid_load_then_restart_and_restore_latest(self):
        server = self.serve()
        self.assertTrue(any("created: plain" in line for line in server.output), server.output)
        client = server.client()
        writers = self.start_writers(server, "before")
        wait_for(lambda: sum(len(w.acked_sets) for w in writers) >= ACKED_BEFORE_KILL and
                 client.info("persistence")["archive_lsn"] > 0, "load and a first archive")
        server.kill()
        for writer in writers:
            writer.join(timeout=60)
            self.assertFalse(writer.is_alive())
            self.assertIsNotNone(writer.error, "writer ended without the server dying")

        restarted = self.serve(data_dir=server.data_dir)
        self.assertTrue(any("previous shutdown not clean" in line for line in restarted.output))
        client = restarted.client()
        more = self.start_writers(restarted, "after")
        wait_for(lambda: sum(len(w.acked_sets) for w in more) >= ACKED_BEFORE_KILL // 2,
                 "load after the restart")
        restarted.stop()  # graceful: exit 0, the final round ships the last commits
        for writer in more:
            writer.join(timeout=60)
        self.assertTrue(any(line.startswith("archive: archived up to LSN")
                            for line in restarted.output), restarted.output)

        # Nothing is left to ship: the shutdown archived every commit.
        leftover = archive_once(server.data_dir, self.repo)
        self.assertEqual(leftover["pieces"], 0, leftover)

        target = os.path.join(self.scratch, "restored")
        restore_latest(self.repo, target)
        restored_dump = dump(target)
        self.assertEqual(restored_dump, dump(server.data_dir))
        restored = dump_dict(restored_dump)
        self.check_acked(writers, restored)
        self.check_acked(more, restored)

    def test_info_persistence_reports_the_archive(self):
        server = self.serve()
        client = server.client()
        for i in range(300):
            client.set("key:%d" % i, "v" * 200)
        acked = client.info("persistence")["ordo_acked_lsn"]
        info = wait_for(lambda: (lambda i: i if i["archive_lsn"] >= acked else None)(
            client.info("persistence")), "the archive to reach the acknowledged LSN")
        self.assertEqual(info["archive_enabled"], 1)
        self.assertEqual(info["archive_status"], "ok")
        self.assertEqual(info["archive_interval_ms"], 100)
        self.assertEqual(info["archive_lag_ms"], 0)
        self.assertEqual(info["archive_errors"], 0)
        self.assertGreater(info["archive_pieces"], 0)
        self.assertGreater(info["archive_bytes_written"], 0)
        self.assertGreaterEqual(info["archive_commits"], 300)
        self.assertLessEqual(info["archive_lag_p50_ms"], info["archive_lag_p99_ms"])
        self.assertLessEqual(info["archive_lag_p99_ms"], info["archive_lag_max_ms"])
        self.assertTrue(str(info["archive_commit_time"]).endswith("Z"), info)
        self.assertIn("archive_last_error", info)
        client.close()
        server.stop()

        plain = self.serve(archive=False)
        self.assertEqual(plain.client().info("persistence")["archive_enabled"], 0)
        plain.stop()

    def test_ordo_archive_beside_a_live_server(self):
        server = self.serve(archive=False)
        client = server.client()
        for i in range(2000):
            client.set("live:%d" % i, "w" * 150)
        repo = os.path.join(self.scratch, "side-repo")
        first = archive_once(server.data_dir, repo)
        self.assertGreater(first["pieces"], 0)
        self.assertEqual(first["archived_lsn"], client.info("persistence")["ordo_acked_lsn"])

        process = subprocess.Popen(
            [ordo_harness.BINARY, "archive", "--data", server.data_dir, "--repo", repo,
             "--archive-interval", "100ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            for i in range(1000):
                client.set("later:%d" % i, "z" * 150)
            client.delete("live:7")
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.assertEqual(process.returncode, 0, (out, err))
        self.assertIn("archive: stopped after", out)
        acked = client.info("persistence")["ordo_acked_lsn"]
        # SIGTERM came after the last acknowledged write: the final round shipped it.
        self.assertEqual(archive_once(server.data_dir, repo)["archived_lsn"], acked)

        target = os.path.join(self.scratch, "restored")
        restore_latest(repo, target)
        self.assertEqual(dump(target), dump(server.data_dir))
        client.close()
        server.stop()

    def test_bad_archive_flags_are_refused(self):
        data = os.path.join(self.scratch, "data")
        no_repo = run_ordo("serve", "--data", data, "--port", "0", "--archive")
        self.assertEqual(no_repo.returncode, 2)
        self.assertIn("--archive needs --repo", no_repo.stderr)
        too_short = run_ordo("serve", "--data", data, "--port", "0", "--repo", self.repo,
                             "--archive", "--archive-interval", "99ms")
        self.assertEqual(too_short.returncode, 2)
        self.assertIn("--archive-interval must be", too_short.stderr)
        not_a_directory = run_ordo("archive", "--data", data, "--repo", self.repo, "--once")
        self.assertEqual(not_a_directory.returncode, 1)
        self.assertIn("not an ordo data directory", not_a_directory.stderr)


if __name__ == "__main__":
    ordo_harness.main()
