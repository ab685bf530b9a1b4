"""Real Node.js clients, the npm packages tests/e2e/node/package.json pins (scripts/install-deps.sh
installs them), each run against ordo and, as the reference that the scripts' expectations are
right, against a real redis-server:
- node-redis and ioredis, which open with HELLO 3 by default: their quick starts
  (tests/e2e/node/quickstart.mjs, string commands only);
- redlock and rate-limiter-flexible, built on Lua scripts (EVAL, EVALSHA with NOSCRIPT fallback),
  as their READMEs use them (tests/e2e/node/locks.mjs).

Debian 12's python3-redis (4.3.4) has no RESP3, which is why these clients are Node.js ones."""
import os
import subprocess
import unittest

import ordo_harness
from ordo_harness import OrdoServer, RedisServer

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
SCRIPT_TIMEOUT_S = 120


def run_script(script, port):
    return subprocess.run(["node", script, str(port)], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)


class NodeClientsTest(unittest.TestCase):
    def setUp(self):
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
            self.fail("tests/e2e/node/node_modules is missing: run scripts/install-deps.sh")

    def check_script(self, script, expected_lines):
        """Runs script against redis-server, then against ordo: both must pass it."""
        real = RedisServer()
        try:
            real.start()
            self.check_run(script, real.port, "redis-server", expected_lines)
        finally:
            real.stop()
        ordo = OrdoServer().start()
        try:
            self.check_run(script, ordo.port, "ordo", expected_lines)
            ordo.stop()
        finally:
            ordo.cleanup()

    def check_run(self, script, port, server_name, expected_lines):
        result = run_script(script, port)
        self.assertEqual(result.returncode, 0, "%s:\n%s%s" % (server_name, result.stdout,
                                                              result.stderr))
        self.assertEqual(result.stdout.split("\n"), expected_lines + [""])

    def test_quickstarts_against_redis_and_ordo(self):
        self.check_script("quickstart.mjs", ["node-redis: ok", "ioredis: ok"])

    def test_redlock_and_rate_limiter_against_redis_and_ordo(self):
        self.check_script("locks.mjs", ["redlock: ok", "rate-limiter-flexible: ok"])


if __name__ == "__main__":
    ordo_harness.main()
