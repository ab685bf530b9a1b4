"""Durability end to end: every write a client saw acknowledged survives kill -9, and a
graceful restart keeps data and expiries."""
import time
import unittest

import ordo_harness
from ordo_harness import AckedWriter, OrdoServer

WRITERS = 6
LOAD_SECONDS = 4.0


class CrashTest(unittest.TestCase):
    def test_acknowledged_writes_survive_kill_9(self):
        server = OrdoServer().start()
        try:
            self.assertTrue(any("(new database)" in line for line in server.output),
                            server.output)
            writers = [AckedWriter(server.port, i) for i in range(WRITERS)]
            for writer in writers:
                writer.start()
            # Let the load run; the kill lands while writes are in flight.
            deadline = time.monotonic() + LOAD_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.1)
                self.assertTrue(all(w.is_alive() for w in writers), "a writer stopped early")
            server.kill()
            for writer in writers:
                writer.join(timeout=30)
                self.assertFalse(writer.is_alive())
                self.assertIsNotNone(writer.error, "writer ended without the server dying")
            total = sum(len(w.acked_sets) for w in writers)
            self.assertGreater(total, 100, "too little load to mean anything")

            restarted = OrdoServer(data_dir=server.data_dir).start()
            try:
                self.assertTrue(any("previous shutdown not clean" in line
                                    for line in restarted.output), restarted.output)
                client = restarted.client()
                for writer in writers:
                    keys = list(writer.acked_sets)
                    for start in range(0, len(keys), 500):
                        chunk = keys[start:start + 500]
                        values = client.mget(chunk)
                        for key, value in zip(chunk, values):
                            self.assertEqual(value, writer.acked_sets[key].encode(),
                                             "acknowledged SET %s lost" % key)
                    counter = int(client.get("w%d:counter" % writer.index) or 0)
                    self.assertGreaterEqual(counter, writer.acked_incrs,
                                            "acknowledged INCR lost for writer %d" % writer.index)
                client.close()
                restarted.stop()
            finally:
                restarted.cleanup()
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
