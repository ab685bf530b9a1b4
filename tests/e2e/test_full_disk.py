"""A full disk, for real: `ordo serve` on a 4 MiB tmpfs, written to until the disk is full.

What must hold (the engine's side is also covered without root by the fault-injecting file
system's ENOSPC tests in tests/crash_test.cc):
- the write that meets the full disk gets a clear error naming it, and so does every later
  write (the database fails read-only; it never retries and carries on);
- the server stays up: PING, GET, DBSIZE and INFO answer, INFO names the failure;
- every write that was acknowledged is there, before and after a restart, even a restart on
  the still-full disk (where a write fits or is refused with the cause);
- once there is room again, a restart takes writes again.

Mounting needs root (CI runs as root); without it the test is skipped and says why.
"""
import os
import subprocess
import tempfile
import threading
import unittest

import redis

import ordo_harness
from ordo_harness import OrdoServer

DISK_BYTES = 4 * 1024 * 1024
VALUE_BYTES = 20000
WRITERS = 4


def mount_tmpfs(path, size_bytes, remount=False):
    options = ("remount," if remount else "") + "size=%d" % size_bytes
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                          capture_output=True, text=True)


class FillWriter(threading.Thread):
    """SETs fresh keys until a write is refused; records what was acknowledged and the error."""

    def __init__(self, port, index):
        super().__init__(daemon=True)
        self.port = port
        self.index = index
        self.acked = {}
        self.error = None

    def run(self):
        client = redis.Redis(port=self.port, socket_timeout=30)
        for n in range(10000):
            key = "w%d:%d" % (self.index, n)
            value = (key + ":").encode() * (VALUE_BYTES // (len(key) + 1))
            try:
                client.set(key, value)
            except redis.ResponseError as error:
                self.error = str(error)
                return
            self.acked[key] = value
        self.error = "the disk never filled up"


class FullDiskTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        self.mount_point = tempfile.mkdtemp(prefix="ordo-full-disk-")
        mounted = mount_tmpfs(self.mount_point, DISK_BYTES)
        if mounted.returncode != 0:
            os.rmdir(self.mount_point)
            self.skipTest("cannot mount a tmpfs here: " + mounted.stderr.strip())
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.cleanup()
        subprocess.run(["umount", self.mount_point], check=True)
        os.rmdir(self.mount_point)

    def start(self):
        server = OrdoServer(data_dir=os.path.join(self.mount_point, "data"))
        self.servers.append(server)
        return server.start()

    def assert_all_there(self, client, acked):
        self.assertEqual(client.dbsize(), len(acked))
        for key, value in acked.items():
            self.assertEqual(client.get(key), value, key)

    def test_full_disk_fails_writes_clearly_and_keeps_every_acknowledged_write(self):
        server = self.start()
        writers = [FillWriter(server.port, i) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=120)
            self.assertFalse(writer.is_alive())
        acked = {}
        for writer in writers:
            acked.update(writer.acked)
            self.assertIsNotNone(writer.error)
            self.assertIn("disk error", writer.error)
            # The first refusal names the cause; a writer refused later hears that the
            # database failed, with the same cause.
            self.assertIn("No space left on device", writer.error)
        self.assertGreater(len(acked), 50, "the disk filled before any real load")

        client = server.client()
        self.assertTrue(client.ping())
        with self.assertRaises(redis.ResponseError) as refused:
            client.set("after", "v")
        self.assertIn("database failed and accepts no writes", str(refused.exception))
        self.assertIn("No space left on device", str(refused.exception))
        info = client.info("persistence")
        self.assertEqual(info["ordo_failed"], 1)
        self.assertIn("No space left on device", info["ordo_failure"])
        self.assert_all_there(client, acked)
        client.close()
        # The failure is reported at exit too: the shutdown cannot end the log cleanly.
        server.stop(expect_code=1)
        self.assertTrue(any("No space left on device" in line for line in server.output),
                        server.output)

        # A restart on the disk that is still full: every acknowledged write is served. A
        # write may fit or not: startup cuts the active segment's preallocated zeros, which
        # frees some room. If it does not fit, it is refused with the cause; if it does, it
        # is acknowledged and must survive like any other.
        full = self.start()
        client = full.client()
        self.assert_all_there(client, acked)
        try:
            client.set("maybe", "v")
            acked["maybe"] = b"v"
            # The shutdown's checkpoint may not fit: its exit code is not asserted here.
            full.stop(expect_code=None)
        except redis.ResponseError as refused:
            self.assertIn("No space left on device", str(refused))
            full.stop(expect_code=1)
        client.close()

        # Room again: the next start takes writes, and nothing acknowledged was lost.
        grown = mount_tmpfs(self.mount_point, 8 * DISK_BYTES, remount=True)
        self.assertEqual(grown.returncode, 0, grown.stderr)
        roomy = self.start()
        client = roomy.client()
        self.assertTrue(client.set("after", "v"))
        acked["after"] = b"v"
        self.assert_all_there(client, acked)
        client.close()
        roomy.stop()
        again = self.start()
        self.assert_all_there(again.client(), acked)
        again.stop()


if __name__ == "__main__":
    ordo_harness.main()
