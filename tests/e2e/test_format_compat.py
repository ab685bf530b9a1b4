"""A data directory and a repository written by segment format 1 (tests/data/format-v1, made by
the build before format 2) keep working: `ordo check` and `ordo dump` read them; `ordo serve`
opens the directory, seals its format-1 active segment and writes format 2 after it; restores,
point-in-time restores and drills of the old repository give the old state; an archive and a
backup that span both formats restore exactly; an empty format-1 active segment is sealed too."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import ordo_harness
from ordo_harness import OrdoServer

COMMAND_TIMEOUT_S = 120
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "format-v1")


def ordo(*args):
    result = subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S)
    return result.returncode, result.stdout, result.stderr


def ordo_ok(*args):
    code, out, err = ordo(*args)
    if code != 0:
        raise AssertionError("ordo %s failed (%d):\n%s\n%s" % (" ".join(args), code, out, err))
    return out


def dump(directory):
    """Every live key and value, as a dict of the dump's JSON objects keyed by key."""
    rows = [json.loads(line) for line in ordo_ok("dump", "--data", directory).splitlines()]
    return {row["key"]: row for row in rows}


def fixture_dump():
    with open(os.path.join(FIXTURE, "dump.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {row["key"]: row for row in rows}


def segment_version(path):
    with open(path, "rb") as f:
        header = f.read(64)
    assert header[:8] == b"ORDOSEG1", path
    return int.from_bytes(header[8:12], "little")


def segment_path(directory, segment_id):
    return os.path.join(directory, "log", "%020d.seg" % segment_id)


class FormatCompatTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ordo-compat-e2e-")
        self.data = os.path.join(self.tmp, "data")
        self.repo = os.path.join(self.tmp, "repo")
        shutil.copytree(os.path.join(FIXTURE, "data"), self.data)
        shutil.copytree(os.path.join(FIXTURE, "repo"), self.repo)
        os.remove(os.path.join(self.data, "LOCK"))
        self.expected = fixture_dump()
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.cleanup()
        for root, dirs, files in os.walk(self.tmp):  # sealed files are read-only
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o755)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self, *extra):
        server = OrdoServer(data_dir=self.data, extra_args=["--segment-size", "65536"] + list(extra))
        self.servers.append(server)
        return server.start()

    def test_check_and_dump_read_format_1(self):
        out = ordo_ok("check", "--data", self.data, "--level", "3")
        self.assertIn("check: OK at level 3", out)
        self.assertEqual(dump(self.data), self.expected)
        self.assertEqual(segment_version(segment_path(self.data, 3)), 1)

    def test_serve_seals_the_format_1_segment_and_writes_format_2(self):
        server = self.serve()
        self.assertIn("sealed %s (segment format 1)" % segment_path(self.data, 3),
                      "".join(server.output))
        client = server.client()
        for key, row in self.expected.items():
            if "\\" not in key:  # the dump escapes bytes; plain keys read back as they are
                self.assertEqual(client.get(key).decode(), row["value"], key)
        for i in range(200):
            client.set("new:%d" % i, "n" * 500)
        client.delete("key1")
        server.stop()
        self.assertEqual(segment_version(segment_path(self.data, 3)), 1)
        self.assertEqual(segment_version(segment_path(self.data, 4)), 2)
        self.assertTrue(os.path.exists(segment_path(self.data, 5)))  # rotated again, format 2
        self.assertIn("check: OK at level 3", ordo_ok("check", "--data", self.data, "--level", "3"))
        expected = dict(self.expected)
        del expected["key1"]
        for i in range(200):
            expected["new:%d" % i] = {"key": "new:%d" % i, "value": "n" * 500}
        self.assertEqual(dump(self.data), expected)
        # And it opens again (now a format-2 active segment: nothing more to seal).
        server = self.serve()
        self.assertNotIn("segment format 1", "".join(server.output))
        self.assertEqual(server.client().get("new:7"), b"n" * 500)
        server.stop()

    def test_restores_and_drills_of_a_format_1_repository(self):
        out = ordo_ok("verify", "--repo", self.repo, "--drill")
        self.assertIn("equal to the manifest", out)
        target = os.path.join(self.tmp, "restored")
        ordo_ok("restore", "--repo", self.repo, "--to", target)
        self.assertEqual(dump(target), self.expected)
        early = os.path.join(self.tmp, "early")
        out = ordo_ok("restore", "--repo", self.repo, "--to", early, "--before-lsn", "50")
        self.assertIn("LSN 49", out)
        self.assertEqual(len(dump(early)), 49)

    def test_archive_and_backup_across_the_upgrade_restore_exactly(self):
        server = self.serve("--repo", self.repo, "--archive", "--archive-interval", "100ms")
        client = server.client()
        for i in range(150):
            client.set("across:%d" % i, "a" * 700)
        client.save()  # a backup holding format-1 and format-2 segments
        client.set("after-save", "yes")
        server.stop()  # the last archive round runs at shutdown
        final = dump(self.data)
        self.assertIn("after-save", final)
        archived = os.path.join(self.tmp, "from-archive")
        ordo_ok("restore", "--repo", self.repo, "--to", archived)
        self.assertEqual(dump(archived), final)
        out = ordo_ok("verify", "--repo", self.repo, "--drill")
        self.assertIn("equal to the manifest", out)

    def test_an_empty_format_1_active_segment_is_sealed_too(self):
        # The active segment cut back to its header: what a format-1 build leaves right after
        # rotating. The checkpoint (at LSN 96) is past the log's end now, so it goes too.
        with open(segment_path(self.data, 3), "r+b") as f:
            f.truncate(64)
        shutil.rmtree(os.path.join(self.data, "index"))
        os.mkdir(os.path.join(self.data, "index"))
        before = dump(self.data)
        self.assertLess(len(before), len(self.expected))
        archive = os.path.join(self.tmp, "new-repo")
        server = self.serve("--repo", archive, "--archive", "--archive-interval", "100ms")
        self.assertIn("sealed %s (segment format 1)" % segment_path(self.data, 3),
                      "".join(server.output))
        client = server.client()
        client.set("first-in-format-2", "yes")
        server.stop()
        self.assertEqual(segment_version(segment_path(self.data, 4)), 2)
        self.assertIn("check: OK at level 3", ordo_ok("check", "--data", self.data, "--level", "3"))
        expected = dict(before)
        expected["first-in-format-2"] = {"key": "first-in-format-2", "value": "yes"}
        self.assertEqual(dump(self.data), expected)
        restored = os.path.join(self.tmp, "restored")
        ordo_ok("restore", "--repo", archive, "--to", restored)
        self.assertEqual(dump(restored), expected)


if __name__ == "__main__":
    ordo_harness.main()
