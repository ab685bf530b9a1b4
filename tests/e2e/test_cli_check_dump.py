"""`ordo check`, `ordo dump`, `--help` and `--version` as an operator runs them: a healthy
directory checks clean, a damaged one is named with file and offset, a dump is sorted and
binary-safe, and both read a live server's directory without disturbing it."""
import base64
import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import ordo_harness as harness


def run(*args):
    return subprocess.run([harness.BINARY] + list(args), capture_output=True, text=True,
                          timeout=120)


class CheckAndDumpTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.OrdoServer(extra_args=["--segment-size", "65536"])
        self.server.start()

    def tearDown(self):
        self.server.cleanup()

    def fill(self):
        client = self.server.client()
        for i in range(300):
            client.set("key:%04d" % i, "v" * 500 + str(i))
        client.set(b"bin\xff\x00key", b"\x00\x01\xfe value")
        client.set("ttl", "x", ex=3600)
        client.delete("key:0007")
        return client

    def test_dump_is_sorted_binary_safe_and_reads_a_live_directory(self):
        self.fill()
        result = run("dump", "--data", self.server.data_dir)  # the server still runs
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(len(lines), 301)
        keys = [base64.b64decode(l["key_base64"]) if "key_base64" in l else l["key"].encode()
                for l in lines]
        self.assertEqual(keys, sorted(keys))
        binary = [l for l in lines if "key_base64" in l]
        self.assertEqual(len(binary), 1)
        self.assertEqual(base64.b64decode(binary[0]["key_base64"]), b"bin\xff\x00key")
        self.assertEqual(base64.b64decode(binary[0]["value_base64"]), b"\x00\x01\xfe value")
        ttl = [l for l in lines if l.get("key") == "ttl"][0]
        self.assertIn("expire_at_ms", ttl)
        self.assertNotIn("key:0007", [l.get("key") for l in lines])
        self.assertTrue(self.server.client().ping())

    def test_check_healthy_live_and_stopped_then_damage_is_named(self):
        self.fill()
        live = run("check", "--data", self.server.data_dir, "--level", "3")
        self.assertEqual(live.returncode, 0, live.stdout + live.stderr)
        self.assertIn("check: OK at level 3", live.stdout)
        self.server.stop()
        stopped = run("check", "--data", self.server.data_dir, "--level", "3")
        self.assertEqual(stopped.returncode, 0, stopped.stdout)
        segments = sorted(glob.glob(os.path.join(self.server.data_dir, "log", "*.seg")))
        self.assertGreater(len(segments), 2, "expected rotation with 64 KiB segments")
        damaged = segments[0]
        os.chmod(damaged, 0o644)
        with open(damaged, "r+b") as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 0x40]))
        result = run("check", "--data", self.server.data_dir, "--level", "3")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("check: DAMAGED", result.stdout)
        self.assertIn(os.path.basename(damaged), result.stdout)
        self.assertIn("offset", result.stdout)
        # check is read-only: running it again finds the same damage, unchanged.
        after = run("check", "--data", self.server.data_dir, "--level", "3")
        self.assertEqual(after.returncode, 1)
        self.assertEqual(after.stdout, result.stdout.replace(
            result.stdout.split("time: ")[1].split("\n")[0],
            after.stdout.split("time: ")[1].split("\n")[0]))

    def test_missing_directory_and_bad_arguments_are_clear(self):
        missing = run("check", "--data", "/nonexistent/ordo-data")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("/nonexistent/ordo-data", missing.stdout + missing.stderr)
        bad_level = run("check", "--data", self.server.data_dir, "--level", "7")
        self.assertNotEqual(bad_level.returncode, 0)
        self.assertIn("--level", bad_level.stderr + bad_level.stdout)

    def test_help_and_version(self):
        version = run("--version")
        self.assertEqual(version.returncode, 0)
        self.assertTrue(version.stdout.startswith("ordo "))
        top = run("--help")
        self.assertEqual(top.returncode, 0)
        for command in ("serve", "check", "dump"):
            self.assertIn(command, top.stdout)
            sub = run(command, "--help")
            self.assertEqual(sub.returncode, 0, command)
            self.assertIn("--data", sub.stdout)


if __name__ == "__main__":
    harness.main()
