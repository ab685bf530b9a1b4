"""Differential test: the same seeded random command sequences go to `ordo serve` and to a real
redis-server, and every reply must be the same bytes. Now and then ordo is killed (SIGKILL)
between two commands and started again on its data directory; the sequence goes on. After each
sequence the whole state of the two servers is compared, then ordo is stopped gracefully and
started again and must come back with exactly that state (its log replays to what it
acknowledged).

The commands come from differential_commands.py (which says what is generated, what is left
out and why). Runs of them are pipelined, 1 to 8 commands written before the replies are read. Each server
has two connections, one speaking RESP2 and one RESP3 (HELLO 3 first), and each run goes
through one of them drawn at random: both protocols' replies are compared byte for byte.
Replies are compared byte for byte except: KEYS (an unordered array: compared sorted), SCAN
(cursors are each server's own: each server is scanned to cursor 0 and the key sets compared),
TTL/PTTL/EXPIRETIME/PEXPIRETIME (time-dependent: -1/-2 exactly, a positive value within a
tolerance) and RANDOMKEY (some key or none: only whether each returned a key is compared).

CI runs the fixed seeds below. To run longer by hand:
    DIFF_SEEDS=1-200 DIFF_COMMANDS=5000 /usr/bin/python3 tests/e2e/test_differential.py \
        --binary build/ordo
DIFF_SEEDS is a comma-separated list of seeds and ranges ("7", "1-50,99"); DIFF_COMMANDS the
number of commands per seed; DIFF_ORDO_ARGS extra arguments of `ordo serve` (for example
"--segment-size 65536", so that a run spans many log segments; not --sync: the kills rely on
the default, always). A failure names the seed and the command's index; rerun that seed
alone with DIFF_COMMANDS set to the index + 1 to reproduce it.
"""
import os
import random
import time
import unittest

import ordo_harness
from differential_commands import (CONNECTIONS, DATABASES, KEYS, ON_CONNECTION, PRESENCE, SCAN,
                                    TRANSACTION, TTL, UNORDERED, CommandGenerator)
from ordo_harness import OrdoServer, RawClient, RedisServer, raw_command

CI_SEEDS = [1, 2, 3, 4, 5]
CI_COMMANDS = 2000
HISTORY_SHOWN = 40  # preceding commands printed with a mismatch
PIPELINE_SIZES = [1, 1, 1, 2, 3, 8]  # commands sent together, drawn for each run
# The protocol of each connection to each server (their count is the number of connections);
# each run of commands goes through one of them. The final state is read on the first.
PROTOCOLS = [2, 3]
assert len(PROTOCOLS) == CONNECTIONS  # the generator names connections 0 and 1
HELLO3_REPLY_START = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"
KILL_CHANCE = 1 / 1000  # before each run of commands: kill ordo and start it again
SCAN_CALLS_MAX = 10000  # a SCAN iteration that has not reached cursor 0 by then is a failure
# Allowed difference between the two servers' TTL (s) and PTTL (ms) replies: the command that
# set the expiry reached Redis after ordo had replied to it (a slow fsync on a loaded machine
# takes seconds), and TTL rounds to the nearest second. Expiries are 1000 s apart, so this
# cannot hide a wrong one.
TTL_TOLERANCE = {b"ttl": 10, b"pttl": 10000, b"expiretime": 10, b"pexpiretime": 10000}
# Allowed PTTL difference across ordo's restart: the restart's own duration, with slack.
RESTART_PTTL_TOLERANCE_MS = 30000


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def parse_reply(raw):
    """Decodes one raw RESP2 or RESP3 reply (as RawClient returns it) into Python values: bytes
    for bulks, verbatim and simple strings, int, float, bool, None, lists (arrays, sets and
    pushes), lists of (key, value) pairs for maps; an error is ("error", text)."""
    value, rest = _parse(raw)
    assert rest == b"", "trailing bytes after reply %r" % raw
    return value


def _parse(raw):
    line, rest = raw.split(b"\r\n", 1)
    kind, body = line[:1], line[1:]
    if kind == b"+":
        return body, rest
    if kind == b"-":
        return ("error", body), rest
    if kind in (b":", b"("):
        return int(body), rest
    if kind == b"_":
        return None, rest
    if kind == b",":
        return float(body), rest
    if kind == b"#":
        return body == b"t", rest
    count = int(body)
    if kind in (b"$", b"="):
        if count < 0:
            return None, rest
        return rest[:count], rest[count + 2:]
    assert kind in (b"*", b"~", b">", b"%"), "bad reply %r" % raw
    items = []
    for _ in range(max(count, 0) * (2 if kind == b"%" else 1)):
        item, rest = _parse(rest)
        items.append(item)
    if kind == b"%":
        items = list(zip(items[0::2], items[1::2]))
    return (items if count >= 0 else None), rest


def ttl_replies_agree(name, mine, theirs):
    mine, theirs = parse_reply(mine), parse_reply(theirs)
    if not isinstance(mine, int) or not isinstance(theirs, int) or mine < 0 or theirs < 0:
        return mine == theirs
    return abs(mine - theirs) <= TTL_TOLERANCE[name]


def scan_all(client, args):
    """SCAN from args' cursor to cursor 0 with args' options. Returns the raw error reply, or
    the sorted set of keys seen."""
    options = args[2:]
    cursor = args[1]
    seen = set()
    for _ in range(SCAN_CALLS_MAX):
        raw = client.command(args[0], cursor, *options)
        if raw.startswith(b"-"):
            return raw
        cursor, keys = parse_reply(raw)
        seen.update(keys)
        if cursor == b"0":
            return sorted(seen)
    raise AssertionError("SCAN %r did not reach cursor 0 in %d calls" % (args, SCAN_CALLS_MAX))


def connect(port):
    """One connection to the server at `port` per entry of PROTOCOLS, each switched to its
    protocol."""
    clients = [RawClient(port) for _ in PROTOCOLS]
    for client, protocol in zip(clients, PROTOCOLS):
        if protocol == 3:
            reply = client.command("HELLO", "3")
            assert reply.startswith(HELLO3_REPLY_START), "HELLO 3 replied %r" % reply
    return clients


def pipeline(client, batch):
    """Sends every command of `batch` at once, then reads their replies."""
    client.send(b"".join(raw_command(*args) for args in batch))
    return [client.read_reply() for _ in batch]


def state(client):
    """Everything a client can see of the key space, in each database the generator uses
    (SELECTed in turn): KEYS *, and for every key listed or in the generator's key space its
    GET, TYPE and TTL class (-2, -1 or positive), then DBSIZE. PTTL values are kept apart (they
    are compared with a tolerance)."""
    exact = {}
    pttl = {}
    for db in range(DATABASES):
        assert client.command("SELECT", str(db)) == b"+OK\r\n"
        listed = sorted(parse_reply(client.command("KEYS", "*")))
        exact[(db, "keys")] = listed
        for key in sorted(set(listed) | set(KEYS)):
            ttl = parse_reply(client.command("PTTL", key))
            exact[(db, key)] = (client.command("GET", key), client.command("TYPE", key),
                                ttl if ttl < 0 else "positive")
            pttl[(db, key)] = ttl
        exact[(db, "dbsize")] = client.command("DBSIZE")
    return exact, pttl


def pttl_differences(mine, theirs, tolerance_ms):
    return {key: (mine[key], theirs[key]) for key in mine
            if abs(mine[key] - theirs[key]) > tolerance_ms}


class DifferentialTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ordo = OrdoServer(extra_args=os.environ.get("DIFF_ORDO_ARGS", "").split()).start()
        cls.real = RedisServer()
        try:
            cls.real.start()
        except AssertionError:
            cls.ordo.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ordo.stop()
        finally:
            cls.real.stop()
            cls.ordo.cleanup()

    def test_random_sequences_reply_as_redis_does(self):
        seeds = parse_seeds(os.environ.get("DIFF_SEEDS", ",".join(map(str, CI_SEEDS))))
        commands = int(os.environ.get("DIFF_COMMANDS", CI_COMMANDS))
        for seed in seeds:
            with self.subTest(seed=seed):
                self.run_sequence(seed, commands)

    def run_sequence(self, seed, commands):
        steps = list(CommandGenerator(seed, int(time.time())).steps(commands))
        # Runs of commands go out as pipelines (all sent, then all replies read), as clients
        # send them: ordo commits a pipeline's writes together and must reply the same. Each
        # run goes through one of the connections per server (one RESP2, one RESP3), drawn at
        # random: a connection must see what the other's acknowledged commands wrote.
        # Now and then ordo is killed (SIGKILL) between two runs and started again: with
        # --sync always every acknowledged write is on disk, so the sequence goes on as if
        # nothing happened.
        draws = random.Random(seed)
        self.kills = set()  # indexes of the commands ordo was killed before
        ordo_clients = connect(self.ordo.port)
        redis_clients = connect(self.real.port)
        try:
            mine, theirs = ordo_clients[0], redis_clients[0]
            self.assertEqual(mine.command("FLUSHALL"), theirs.command("FLUSHALL"))
            index = 0
            while index < len(steps):
                if draws.random() < KILL_CHANCE:
                    for client in ordo_clients + redis_clients:
                        client.close()
                    self.ordo.kill()
                    self.ordo.start()
                    # New connections to both: a WATCH before the kill is gone on both.
                    ordo_clients = connect(self.ordo.port)
                    redis_clients = connect(self.real.port)
                    self.kills.add(index)
                if steps[index][0] in (ON_CONNECTION, TRANSACTION):
                    connection, batch = steps[index][1]
                    if steps[index][0] == ON_CONNECTION:
                        batch = [batch]
                    for ours, real in zip(pipeline(ordo_clients[connection], batch),
                                          pipeline(redis_clients[connection], batch)):
                        self.check_replies(seed, steps, index, len(batch), ours, real)
                    index += 1
                    continue
                connection = draws.randrange(len(PROTOCOLS))
                mine, theirs = ordo_clients[connection], redis_clients[connection]
                if steps[index][0] == SCAN:
                    ours, real = scan_all(mine, steps[index][1]), scan_all(theirs, steps[index][1])
                    self.check_replies(seed, steps, index, 1, ours, real)
                    index += 1
                    continue
                size = 1
                limit = draws.choice(PIPELINE_SIZES)
                while (size < limit and index + size < len(steps)
                       and steps[index + size][0] not in (SCAN, ON_CONNECTION, TRANSACTION)):
                    size += 1
                batch = [args for _, args in steps[index:index + size]]
                for offset, (ours, real) in enumerate(zip(pipeline(mine, batch),
                                                          pipeline(theirs, batch))):
                    self.check_replies(seed, steps, index + offset, size, ours, real)
                index += size
            # On the first connection, whose protocol a fresh client after the restart speaks.
            ordo_state, ordo_pttl = state(ordo_clients[0])
            redis_state, redis_pttl = state(redis_clients[0])
            self.assertEqual(ordo_state, redis_state, "seed %d: final state differs" % seed)
            self.assertEqual(pttl_differences(ordo_pttl, redis_pttl, TTL_TOLERANCE[b"pttl"]), {},
                             "seed %d: final PTTLs differ" % seed)
        finally:
            for client in ordo_clients + redis_clients:
                client.close()
        self.check_restart_keeps_state(seed, ordo_state, ordo_pttl)

    def check_replies(self, seed, steps, index, pipelined, ours, real):
        check, args = steps[index]
        if index in self.kills:
            pipelined = "%d, the first after kill -9 and restart" % pipelined
        if check == UNORDERED and ours.startswith(b"*") and real.startswith(b"*"):
            same = sorted(parse_reply(ours)) == sorted(parse_reply(real))
        elif check == TTL:
            same = ttl_replies_agree(args[0].lower(), ours, real)
        elif check == PRESENCE and not ours.startswith(b"-") and not real.startswith(b"-"):
            same = (parse_reply(ours) is None) == (parse_reply(real) is None)
        else:  # EXACT, SCAN's key sets, or an UNORDERED reply that is an error
            same = ours == real
        if not same:
            shown = "\n".join("  #%d %r%s" % (i, steps[i][1], "  (after kill -9, restart)"
                                                if i in self.kills else "")
                              for i in range(max(0, index - HISTORY_SHOWN), index))
            self.fail("seed %d, command #%d %r (%s, in a pipeline of %s)\n  ordo:  %r\n"
                      "  redis: %r\npreceding commands:\n%s\n"
                      "reproduce: DIFF_SEEDS=%d DIFF_COMMANDS=%d"
                      % (seed, index, args, check, pipelined, ours, real, shown, seed, index + 1))

    def check_restart_keeps_state(self, seed, before, before_pttl):
        """Graceful stop and start on the same data directory: the same state comes back."""
        self.ordo.stop()
        self.ordo.start()
        client = RawClient(self.ordo.port)
        try:
            after, after_pttl = state(client)
        finally:
            client.close()
        self.assertEqual(after, before, "seed %d: ordo's state changed across a restart" % seed)
        self.assertEqual(pttl_differences(after_pttl, before_pttl, RESTART_PTTL_TOLERANCE_MS), {},
                         "seed %d: PTTLs changed across a restart" % seed)


if __name__ == "__main__":
    ordo_harness.main()
