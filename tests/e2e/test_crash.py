"""Durability end to end: every write a client saw acknowledged survives kill -9, once under
load and again and again across segment rotations, and a graceful restart keeps data and
expiries."""
import subprocess
import time
import unittest

import ordo_harness
from ordo_harness import AckedWriter, OrdoServer

WRITERS = 6
LOAD_SECONDS = 4.0
# The repeated kill: small segments, so that rotations and seals happen many times a second and
# some kills land in one; each cycle runs until this many SETs were acknowledged.
CYCLES = 4
CYCLE_ACKED_SETS = 1500
SMALL_SEGMENT = "65536"


def run_load(test, server, writers, until):
    """Starts the writers, lets them run until `until()` holds, then kill -9s the server."""
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 120
    while not until():
        test.assertLess(time.monotonic(), deadline, "the load did not get going")
        test.assertTrue(all(w.is_alive() for w in writers), "a writer stopped early")
        time.sleep(0.05)  # polling pace only; the condition decides
    server.kill()
    for writer in writers:
        writer.join(timeout=30)
        test.assertFalse(writer.is_alive())
        test.assertIsNotNone(writer.error, "writer ended without the server dying")


def check_acked(test, client, writers):
    """Every acknowledged SET (with its expiry), DEL and INCR of `writers` is in the database."""
    for writer in writers:
        keys = list(writer.acked_sets)
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for key, value in zip(chunk, client.mget(chunk)):
                test.assertEqual(value, writer.acked_sets[key].encode(),
                                 "acknowledged SET %s lost" % key)
        for key in writer.acked_ttls:
            test.assertGreater(client.ttl(key), 0, "acknowledged expiry of %s lost" % key)
        deleted = list(writer.acked_deletes)
        if deleted:
            test.assertEqual(client.exists(*deleted), 0, "an acknowledged DEL was undone")
        counter = int(client.get(writer.counter_key) or 0)
        test.assertGreaterEqual(counter, writer.acked_incrs,
                                "acknowledged INCR lost for writer %d" % writer.index)


class CrashTest(unittest.TestCase):
    def test_acknowledged_writes_survive_kill_9(self):
        server = OrdoServer().start()
        try:
            self.assertTrue(any("(new database)" in line for line in server.output),
                            server.output)
            writers = [AckedWriter(server.port, i) for i in range(WRITERS)]
            # The load runs for a while so that the kill lands while writes are in flight.
            start = time.monotonic()
            run_load(self, server, writers, lambda: time.monotonic() - start >= LOAD_SECONDS)
            total = sum(len(w.acked_sets) for w in writers)
            self.assertGreater(total, 100, "too little load to mean anything")

            restarted = OrdoServer(data_dir=server.data_dir).start()
            try:
                self.assertTrue(any("previous shutdown not clean" in line
                                    for line in restarted.output), restarted.output)
                client = restarted.client()
                check_acked(self, client, writers)
                client.close()
                restarted.stop()
            finally:
                restarted.cleanup()
        finally:
            server.cleanup()

    def test_repeated_kill_9_across_segment_rotations_keeps_every_acknowledged_write(self):
        server = OrdoServer(extra_args=["--segment-size", SMALL_SEGMENT]).start()
        try:
            everyone = []
            for cycle in range(CYCLES):
                if cycle > 0:
                    before = len(server.output)
                    server.start()
                    self.assertTrue(any("previous shutdown not clean" in line
                                        for line in server.output[before:]), server.output)
                    client = server.client()
                    check_acked(self, client, everyone)  # every earlier cycle, not just the last
                    client.close()
                writers = [AckedWriter(server.port, i, "c%d:" % cycle, pad=True, mixed=True)
                           for i in range(WRITERS)]
                run_load(self, server, writers,
                         lambda: sum(len(w.acked_sets) for w in writers) >= CYCLE_ACKED_SETS)
                self.assertTrue(any(w.acked_deletes for w in writers), "no DEL was acknowledged")
                self.assertTrue(any(w.acked_ttls for w in writers), "no expiry was acknowledged")
                everyone.extend(writers)

            server.start()
            client = server.client()
            check_acked(self, client, everyone)
            segments = client.info("persistence")["ordo_segments"]
            self.assertGreater(segments, CYCLES, "the load rotated no segment")
            client.close()
            server.stop()
            # The whole log, replayed from its first record, gives the state the checkpoint of the
            # clean shutdown holds.
            check = subprocess.run([ordo_harness.BINARY, "check", "--data", server.data_dir,
                                    "--level", "3"], capture_output=True, text=True, timeout=300)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn("check: OK at level 3", check.stdout)
        finally:
            server.cleanup()

    def test_graceful_restart_keeps_data_and_ttls(self):
        server = OrdoServer().start()
        try:
            client = server.client()
            client.set("plain", "v1")
            client.set("with-ttl", "v2", ex=1000)
            client.set("with-pttl", "v3", px=500000)
            client.incrby("counter", 41)
            client.set("expires-soon", "x", px=1)
            client.delete("plain-deleted")
            client.set("deleted", "gone")
            client.delete("deleted")
            client.close()
            server.stop()  # asserts exit code 0
            self.assertTrue(any("database closed cleanly" in line for line in server.output))

            server.start()
            self.assertTrue(any("previous shutdown clean" in line for line in server.output))
            client = server.client()
            self.assertEqual(client.get("plain"), b"v1")
            self.assertEqual(client.get("counter"), b"41")
            self.assertIsNone(client.get("deleted"))
            self.assertIsNone(client.get("expires-soon"))
            ttl = client.ttl("with-ttl")
            self.assertTrue(900 < ttl <= 1000, ttl)
            pttl = client.pttl("with-pttl")
            self.assertTrue(400000 < pttl <= 500000, pttl)
            self.assertEqual(client.ttl("plain"), -1)
            client.close()
            server.stop()
        finally:
            server.cleanup()


if __name__ == "__main__":
    ordo_harness.main()
