"""End-to-end tests of `ordo keygen` and `ordo repo init|info`: exit codes, the files created and
their modes, refusal to overwrite, and the error texts of a wrong or missing key."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ordo_harness  # noqa: E402


def run(*args):
    return subprocess.run([ordo_harness.BINARY] + list(args), capture_output=True, text=True,
                          timeout=60)


class RepoKeygenTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ordo-e2e-repo-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_keygen_symmetric_writes_a_private_key_and_refuses_to_overwrite(self):
        result = run("keygen", "--out", self.path("k"))
        self.assertEqual(result.returncode, 0, result.stderr)
        key = self.path("k.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertFalse(os.path.exists(self.path("k.pub")))
        with open(key) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "ordo-key-v1 symmetric")
        self.assertEqual(len(lines), 2)
        before = open(key).read()
        again = run("keygen", "--out", self.path("k"))
        self.assertEqual(again.returncode, 1)
        self.assertIn("refusing to overwrite", again.stderr)
        self.assertEqual(open(key).read(), before)

    def test_keygen_pair_writes_secret_and_public_halves(self):
        result = run("keygen", "--out", self.path("p"), "--public-key")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(self.path("p.key")).st_mode), 0o600)
        self.assertTrue(open(self.path("p.key")).read().startswith("ordo-key-v1 secret-key\n"))
        self.assertTrue(open(self.path("p.pub")).read().startswith("ordo-key-v1 public-key\n"))
        again = run("keygen", "--out", self.path("p"), "--public-key")
        self.assertEqual(again.returncode, 1)

    def test_init_plain_repository(self):
        repo = self.path("repo")
        result = run("repo", "init", "--repo", repo)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("encryption none", result.stdout)
        self.assertEqual(sorted(os.listdir(repo)), ["data", "manifests", "ordo-repository.json"])
        description = os.path.join(repo, "ordo-repository.json")
        self.assertEqual(stat.S_IMODE(os.stat(description).st_mode), 0o444)
        info = json.load(open(description))
        self.assertEqual(info["format"], "ordo-repository")
        self.assertEqual(info["version"], 1)
        self.assertEqual(info["encryption"], "none")
        self.assertEqual(info["compression"], "zstd")
        self.assertEqual(len(info["repository_id"]), 32)
        again = run("repo", "init", "--repo", repo)
        self.assertEqual(again.returncode, 1)
        self.assertIn("a repository exists already", again.stderr)
        os.mkdir(self.path("full"))
        open(self.path("full/x"), "w").close()
        full = run("repo", "init", "--repo", self.path("full"))
        self.assertEqual(full.returncode, 1)
        self.assertIn("is not empty", full.stderr)

    def test_symmetric_repository_checks_the_key(self):
        self.assertEqual(run("keygen", "--out", self.path("k")).returncode, 0)
        self.assertEqual(run("keygen", "--out", self.path("other")).returncode, 0)
        repo = self.path("repo")
        missing = run("repo", "init", "--repo", repo, "--encryption", "key")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("needs --key-file", missing.stderr)
        self.assertFalse(os.path.exists(repo))
        made = run("repo", "init", "--repo", repo, "--encryption", "key",
                   "--key-file", self.path("k.key"))
        self.assertEqual(made.returncode, 0, made.stderr)
        info = json.load(open(os.path.join(repo, "ordo-repository.json")))
        self.assertEqual(info["encryption"], "key")
        self.assertEqual(len(info["key_id"]), 16)
        good = run("repo", "info", "--repo", repo, "--key-file", self.path("k.key"))
        self.assertEqual(good.returncode, 0, good.stderr)
        self.assertIn("can read:      yes", good.stdout)
        wrong = run("repo", "info", "--repo", repo, "--key-file", self.path("other.key"))
        self.assertEqual(wrong.returncode, 1)
        self.assertIn("wrong key for repository", wrong.stderr)
        keyless = run("repo", "info", "--repo", repo)
        self.assertEqual(keyless.returncode, 0)
        self.assertIn("can read:      no", keyless.stdout)

    def test_public_key_repository(self):
        self.assertEqual(run("keygen", "--out", self.path("p"), "--public-key").returncode, 0)
        self.assertEqual(run("keygen", "--out", self.path("q"), "--public-key").returncode, 0)
        self.assertEqual(run("keygen", "--out", self.path("k")).returncode, 0)
        repo = self.path("repo")
        symmetric = run("repo", "init", "--repo", repo, "--encryption", "public-key",
                        "--public-key", self.path("k.key"))
        self.assertEqual(symmetric.returncode, 1)
        self.assertIn("not half of a key pair", symmetric.stderr)
        made = run("repo", "init", "--repo", repo, "--encryption", "public-key",
                   "--public-key", self.path("p.pub"))
        self.assertEqual(made.returncode, 0, made.stderr)
        writer = run("repo", "info", "--repo", repo, "--key-file", self.path("p.pub"))
        self.assertEqual(writer.returncode, 0, writer.stderr)
        self.assertIn("can write:     yes", writer.stdout)
        self.assertIn("can read:      no", writer.stdout)
        reader = run("repo", "info", "--repo", repo, "--key-file", self.path("p.key"))
        self.assertIn("can read:      yes", reader.stdout)
        wrong = run("repo", "info", "--repo", repo, "--key-file", self.path("q.key"))
        self.assertEqual(wrong.returncode, 1)
        self.assertIn("wrong key for repository", wrong.stderr)

    def test_no_repository_and_bad_key_file(self):
        nothing = run("repo", "info", "--repo", self.path("nothing"))
        self.assertEqual(nothing.returncode, 1)
        self.assertIn("no repository at", nothing.stderr)
        with open(self.path("bad.key"), "w") as f:
            f.write("hello\n")
        bad = run("repo", "init", "--repo", self.path("r"), "--encryption", "key",
                  "--key-file", self.path("bad.key"))
        self.assertEqual(bad.returncode, 1)
        self.assertIn("not an ordo key file", bad.stderr)
        self.assertIn("bad.key", bad.stderr)
        usage = run("repo", "init", "--repo", self.path("r"), "--encryption", "rot13")
        self.assertNotEqual(usage.returncode, 0)


if __name__ == "__main__":
    ordo_harness.main()
