"""Backups taken by the server itself: `ordo serve --repo REPO` makes SAVE and BGSAVE back up
online (no fork), LASTSAVE and INFO persistence report them, and each backup verifies by a
restore drill whose digest equals the manifest's."""
import json
import shutil
import subprocess
import tempfile
import time
import unittest

import ordo_harness
from ordo_harness import OrdoServer

POLL_TIMEOUT_S = 120.0


def ordo_json(*args):
    result = subprocess.run([ordo_harness.BINARY] + list(args) + ["--json"], capture_output=True,
                            text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, (result.stdout, result.stderr)
    return result.returncode, json.loads(lines[0])


class ServerBackupTest(unittest.TestCase):
    def setUp(self):
        self.repo = tempfile.mkdtemp(prefix="ordo-e2e-repo-")
        shutil.rmtree(self.repo)  # the server creates it
        self.server = OrdoServer(extra_args=["--repo", self.repo, "--segment-size", "65536"])
        self.server.start()

    def tearDown(self):
        self.server.cleanup()
        shutil.rmtree(self.repo, ignore_errors=True)

    def info_persistence(self, client):
        return client.info("persistence")

    def test_save_bgsave_lastsave_info_and_drill(self):
        self.assertTrue(any("backup repository: " + self.repo in line
                            for line in self.server.output), self.server.output)
        client = self.server.client()
        before = client.lastsave()
        for i in range(500):
            client.set("key:%d" % i, "v" * 300)
        self.assertTrue(client.save())
        info = self.info_persistence(client)
        self.assertEqual(info["ordo_backups_taken"], 1)
        self.assertEqual(info["rdb_last_bgsave_status"], "ok")
        self.assertEqual(info["rdb_bgsave_in_progress"], 0)
        self.assertGreater(info["ordo_last_backup_bytes_read"], 500 * 300)
        first_id = info["ordo_last_backup_id"]
        self.assertGreaterEqual(client.lastsave(), before)

        client.set("after-save", "x")
        self.assertEqual(client.bgsave(), True)
        deadline = time.monotonic() + POLL_TIMEOUT_S
        while time.monotonic() < deadline:
            info = self.info_persistence(client)
            if info["ordo_backups_taken"] == 2 and info["rdb_bgsave_in_progress"] == 0:
                break
            time.sleep(0.05)  # pacing of a bounded poll; completion is read from INFO
        self.assertEqual(info["ordo_backups_taken"], 2, info)
        self.assertNotEqual(info["ordo_last_backup_id"], first_id)
        # Incremental: the second backup reuses what the first stored.
        self.assertLess(info["ordo_last_backup_new_files"], 10)
        # Save latency per stored file: at least one file (the manifest's content) was saved.
        self.assertGreater(info["ordo_last_backup_save_ms_max"], 0)
        self.assertGreaterEqual(info["ordo_last_backup_save_ms_max"],
                                info["ordo_last_backup_save_ms_mean"])

        code, listing = ordo_json("backups", "--repo", self.repo)
        self.assertEqual(code, 0, listing)
        self.assertEqual(len(listing["backups"]), 2, listing)
        code, drill = ordo_json("verify", "--repo", self.repo, "--backup", "latest", "--drill")
        self.assertEqual(code, 0, drill)
        self.assertTrue(drill["ok"], drill)
        self.assertEqual(drill["backup_id"], info["ordo_last_backup_id"])

    def test_restore_to_just_before_a_flushall(self):
        client = self.server.client()
        for i in range(300):
            client.set("precious:%d" % i, "p" * 200)
        client.flushall()
        flush_lsn = client.info("persistence")["ordo_last_lsn"]
        client.set("after", "x")
        self.assertTrue(client.save())
        target = tempfile.mkdtemp(prefix="ordo-e2e-pitr-")
        shutil.rmtree(target)
        try:
            code, restored = ordo_json("restore", "--repo", self.repo, "--to", target,
                                       "--before-lsn", str(flush_lsn))
            self.assertEqual(code, 0, restored)
            self.assertEqual(restored["restored_to"]["lsn"], flush_lsn - 1)
            self.assertEqual(restored["restored_to"]["keys"], 300)
            dump = subprocess.run([ordo_harness.BINARY, "dump", "--data", target],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(dump.returncode, 0, dump.stderr)
            keys = [json.loads(line)["key"] for line in dump.stdout.splitlines()]
            self.assertEqual(len(keys), 300)
            self.assertNotIn("after", keys)
            code, refused = ordo_json("restore", "--repo", self.repo, "--to", target + "-2",
                                      "--lsn", "999999999")
            self.assertNotEqual(code, 0)
            self.assertIn("after what the repository covers", refused["error"])
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def test_named_restore_point(self):
        client = self.server.client()
        client.set("k", "before")
        lsn = client.execute_command("ORDO.RESTOREPOINT", "before-change")
        self.assertEqual(lsn, client.info("persistence")["ordo_last_lsn"])
        client.set("k", "after")
        self.assertTrue(client.save())
        with self.assertRaises(Exception) as raised:
            client.execute_command("ORDO.RESTOREPOINT", "")
        self.assertIn("restore point name", str(raised.exception))
        target = tempfile.mkdtemp(prefix="ordo-e2e-point-")
        shutil.rmtree(target)
        try:
            code, restored = ordo_json("restore", "--repo", self.repo, "--to", target,
                                       "--point", "before-change")
            self.assertEqual(code, 0, restored)
            self.assertEqual(restored["restored_to"]["lsn"], lsn)
            dump = subprocess.run([ordo_harness.BINARY, "dump", "--data", target],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual([json.loads(l) for l in dump.stdout.splitlines()],
                             [{"key": "k", "value": "before"}])
            log = subprocess.run([ordo_harness.BINARY, "log", "--data", self.server.data_dir],
                                 capture_output=True, text=True, timeout=120)
            self.assertIn("RESTORE POINT before-change", log.stdout)
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def test_save_without_repository_is_a_clear_error(self):
        plain = OrdoServer()
        plain.start()
        try:
            client = plain.client()
            with self.assertRaises(Exception) as raised:
                client.save()
            self.assertIn("no backup repository configured", str(raised.exception))
            with self.assertRaises(Exception):
                client.bgsave()
            self.assertEqual(client.info("persistence")["rdb_bgsave_in_progress"], 0)
        finally:
            plain.stop()
            plain.cleanup()


if __name__ == "__main__":
    ordo_harness.main()
