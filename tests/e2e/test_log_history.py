"""`ordo log` and `ordo history` end to end: a running server takes SETs, a FLUSHALL, more SETs;
`ordo log --json` on the live data directory shows the FLUSHALL's LSN (and --key, --since,
--until, --limit select); `ordo history` lists every version of a key; the same from a
repository after `ordo backup`; bad arguments and missing directories are clear errors with a
non-zero exit."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import ordo_harness
from ordo_harness import OrdoServer

COMMAND_TIMEOUT_S = 120


def ordo(*args):
    """Runs an ordo subcommand; returns (exit code, stdout, stderr)."""
    result = subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S)
    return result.returncode, result.stdout, result.stderr


def ordo_ok(*args):
    code, out, err = ordo(*args)
    if code != 0:
        raise AssertionError("ordo %s failed (%d):\n%s\n%s" % (" ".join(args), code, out, err))
    return out


def json_lines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class LogHistoryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ordo-log-e2e-")
        self.data = os.path.join(self.tmp, "data")
        self.repo = os.path.join(self.tmp, "repo")
        self.server = OrdoServer(data_dir=self.data, extra_args=["--segment-size", "262144"])
        self.server.start()
        client = self.server.client()
        # Enough SETs for several segments, with three versions of "color".
        client.set("color", "red")
        for i in range(600):
            client.set("filler:%d" % i, "f" * 1000)
        client.set("color", "green")
        client.set(b"bin\xff", b"\x00\x01")
        client.set("ttl", "soon", px=3600 * 1000)
        client.delete("filler:7")
        self.before_flush = time.time()
        client.flushall()
        self.after_flush = time.time()
        client.set("color", "blue")
        for i in range(10):
            client.set("after:%d" % i, "a" * 10)
        client.close()

    def tearDown(self):
        self.server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_log(self, source):
        commits = json_lines(ordo_ok("log", *source, "--json"))
        lsns = [c["lsn"] for c in commits]
        self.assertEqual(lsns, list(range(1, len(lsns) + 1)), "every LSN once, in order")
        clears = [c for c in commits if c["clear"]]
        self.assertEqual(len(clears), 1, "exactly one FLUSHALL")
        flush = clears[0]
        self.assertEqual(flush["ops"], [{"op": "clear"}])
        self.assertEqual(flush["live_keys"], 0)
        # The commit just before the FLUSHALL is the one to restore to: all keys still there.
        before = commits[flush["lsn"] - 2]
        self.assertEqual(before["live_keys"], 600 + 3 - 1)
        self.assertLessEqual(before["commit_time_micros"], flush["commit_time_micros"])
        self.assertGreaterEqual(flush["commit_time_micros"], int(self.before_flush * 1e6) - 2000000)
        self.assertLessEqual(flush["commit_time_micros"], int(self.after_flush * 1e6) + 2000000)
        self.assertTrue(flush["time"].endswith("Z"))
        self.assertEqual(len(flush["digest"]), 32)
        binary = [c for c in commits
                  if any(op.get("key_base64") == base64.b64encode(b"bin\xff").decode()
                         for op in c["ops"])]
        self.assertEqual(len(binary), 1, "a binary key shows as key_base64")
        self.assertEqual(commits[-1]["live_keys"], 11)

        # Text: a header, one line per commit, FLUSHALL named, a closing summary.
        text = ordo_ok("log", *source).splitlines()
        self.assertTrue(text[0].startswith("LSN"))
        self.assertEqual(len(text), len(commits) + 2)
        flush_line = [line for line in text if "FLUSHALL (all keys)" in line]
        self.assertEqual(len(flush_line), 1)
        self.assertTrue(flush_line[0].startswith(str(flush["lsn"]) + " "))

        # --key: the commits touching it, the FLUSHALL included.
        keyed = json_lines(ordo_ok("log", *source, "--key", "color", "--json"))
        self.assertEqual(len(keyed), 4)
        self.assertEqual(keyed[2]["lsn"], flush["lsn"])
        # --since / --until (Unix seconds and RFC 3339) and --limit.
        since = "%.6f" % (flush["commit_time_micros"] / 1e6)
        after = json_lines(ordo_ok("log", *source, "--since", since, "--json"))
        self.assertEqual(after[0]["lsn"], flush["lsn"])
        self.assertEqual(after[-1]["lsn"], lsns[-1])
        until = flush["time"]  # millisecond precision: at most the flush's own millisecond
        upto = json_lines(ordo_ok("log", *source, "--until", until, "--json"))
        self.assertLessEqual(upto[-1]["commit_time_micros"], flush["commit_time_micros"])
        self.assertGreaterEqual(upto[-1]["lsn"], 1)
        limited = json_lines(ordo_ok("log", *source, "--limit", "3", "--json"))
        self.assertEqual([c["lsn"] for c in limited], [1, 2, 3])
        newest = json_lines(ordo_ok("log", *source, "--last", "2", "--json"))
        self.assertEqual([c["lsn"] for c in newest], lsns[-2:])
        newest_flush = json_lines(ordo_ok("log", *source, "--key", "color", "--last", "2",
                                          "--json"))
        self.assertEqual([c["lsn"] for c in newest_flush], [flush["lsn"], lsns[-11]])
        return flush

    def check_history(self, source, flush):
        versions = json_lines(ordo_ok("history", *source, "color", "--json"))
        self.assertEqual([v["op"] for v in versions], ["set", "set", "clear", "set"])
        self.assertEqual([v.get("value") for v in versions], ["red", "green", None, "blue"])
        self.assertEqual(versions[2]["lsn"], flush["lsn"])
        self.assertEqual(versions[0]["value_bytes"], 3)
        text = ordo_ok("history", *source, "color").splitlines()
        self.assertTrue(text[0].startswith("LSN"))
        self.assertIn('"green"', text[2])
        self.assertIn("clear", text[3])
        self.assertIn("4 versions", text[-1])
        ttl = json_lines(ordo_ok("history", *source, "ttl", "--json"))
        self.assertEqual([v["op"] for v in ttl], ["set", "clear"])
        self.assertGreater(ttl[0]["expire_at_ms"], int(time.time() * 1000))
        deleted = json_lines(ordo_ok("history", *source, "filler:7", "--json"))
        self.assertEqual([v["op"] for v in deleted], ["set", "delete"])
        # A FLUSHALL is not a version of a key that was gone already.
        self.assertEqual(json_lines(ordo_ok("history", *source, "nope", "--json")), [])

    def test_live_directory_then_repository(self):
        source = ["--data", self.data]
        flush = self.check_log(source)
        self.check_history(source, flush)

        ordo_ok("repo", "init", "--repo", self.repo)
        ordo_ok("backup", "--data", self.data, "--repo", self.repo)
        repo_source = ["--repo", self.repo]
        self.assertEqual(self.check_log(repo_source)["lsn"], flush["lsn"])
        self.check_history(repo_source, flush)
        live = ordo_ok("log", "--data", self.data, "--json")
        backed_up = ordo_ok("log", "--repo", self.repo, "--json")
        strip = lambda out: [{k: v for k, v in c.items() if k not in ("segment_id", "offset")}
                             for c in json_lines(out)]
        self.assertEqual(strip(live), strip(backed_up))
        # The closing summary names where the commits came from.
        self.assertIn("with the archive after it", ordo_ok("log", *repo_source).splitlines()[-1])
        self.assertIn(self.data + " holds LSN 1..", ordo_ok("log", "--data", self.data).splitlines()[-1])

    def test_encrypted_repository_needs_its_key(self):
        key = os.path.join(self.tmp, "k")
        ordo_ok("keygen", "--out", key)
        ordo_ok("repo", "init", "--repo", self.repo, "--encryption", "key",
                "--key-file", key + ".key")
        ordo_ok("backup", "--data", self.data, "--repo", self.repo, "--key-file", key + ".key")
        code, _, err = ordo("log", "--repo", self.repo)
        self.assertEqual(code, 1)
        self.assertIn("--key-file", err)
        flush = self.check_log(["--repo", self.repo, "--key-file", key + ".key"])
        self.check_history(["--repo", self.repo, "--key-file", key + ".key"], flush)

    def test_bad_arguments_and_missing_directories(self):
        cases = [
            (["log"], "--data DIR or --repo REPO"),
            (["log", "--data", self.data, "--repo", self.repo], "excludes"),
            (["log", "--data", os.path.join(self.tmp, "missing")], "missing"),
            (["log", "--data", self.tmp], "not an ordo data directory"),
            (["log", "--repo", os.path.join(self.tmp, "no-repo")], "no-repo"),
            (["log", "--data", self.data, "--since", "yesterday"], "--since yesterday"),
            (["log", "--data", self.data, "--until", "2024-13-01"], "--until"),
            (["log", "--data", self.data, "--key-file", "k"], "--key-file"),
            (["log", "--data", self.data, "--limit", "1", "--last", "1"], "excludes"),
            (["history", "--data", self.data], "KEY"),
            (["history", os.path.join(self.tmp, "x")], "--data DIR or --repo REPO"),
            (["history", "--data", os.path.join(self.tmp, "missing"), "k"], "missing"),
        ]
        for args, needle in cases:
            code, out, err = ordo(*args)
            self.assertNotEqual(code, 0, args)
            self.assertIn(needle, out + err, args)
        # --json failures: one JSON object saying what went wrong.
        code, out, _ = ordo("log", "--data", os.path.join(self.tmp, "missing"), "--json")
        self.assertEqual(code, 1)
        failure = json_lines(out)
        self.assertEqual(len(failure), 1)
        self.assertFalse(failure[0]["ok"])
        self.assertEqual(failure[0]["code"], "not-found")
        # An empty repository holds no log.
        ordo_ok("repo", "init", "--repo", self.repo)
        code, _, err = ordo("history", "--repo", self.repo, "color")
        self.assertEqual(code, 1)
        self.assertIn("no backup", err)


if __name__ == "__main__":
    ordo_harness.main()
