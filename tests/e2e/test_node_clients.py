"""Real RESP3 clients: node-redis and ioredis, the npm packages tests/e2e/node/package.json pins
(scripts/install-deps.sh installs them). Both open with HELLO 3 by default. Their quick starts
(tests/e2e/node/quickstart.mjs, string commands only) run against ordo and, as the reference
that the script's expectations are right, against a real redis-server.

Debian 12's python3-redis (4.3.4) has no RESP3, which is why these clients are Node.js ones."""
import os
import subprocess
import unittest

import ordo_harness
from ordo_harness import OrdoServer, RedisServer

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
SCRIPT_TIMEOUT_S = 120


def run_quickstart(port):
    return subprocess.run(["node", "quickstart.mjs", str(port)], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)


class NodeClientsTest(unittest.TestCase):
    def setUp(self):
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
            self.fail("tests/e2e/node/node_modules is missing: run scripts/install-deps.sh")

    def check_quickstart(self, port, server_name):
        result = run_quickstart(port)
        self.assertEqual(result.returncode, 0, "%s:\n%s%s" % (server_name, result.stdout,
                                                              result.stderr))
        self.assertEqual(result.stdout.split("\n"), ["node-redis: ok", "ioredis: ok", ""])

    def test_quickstarts_against_redis_and_ordo(self):
        real = RedisServer()
        try:
            real.start()
            self.check_quickstart(real.port, "redis-server")
        finally:
            real.stop()
        ordo = OrdoServer().start()
        try:
            self.check_quickstart(ordo.port, "ordo")
            ordo.stop()
        finally:
            ordo.cleanup()


if __name__ == "__main__":
    ordo_harness.main()
