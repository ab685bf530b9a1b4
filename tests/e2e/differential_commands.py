"""The random command generator of test_differential.py: seeded sequences of the string and
keyspace commands ordo supports, over a small key space so that commands collide.

Each step is (check, args): `args` the command as bytes, `check` how its replies are compared
(see test_differential.py): EXACT byte for byte, UNORDERED for KEYS (an unordered array),
TTL for TTL/PTTL/EXPIRETIME/PEXPIRETIME (time-dependent), SCAN for a whole SCAN iteration (the
runner drives it), PRESENCE for RANDOMKEY (it returns some key: only whether it returned one,
or an error, is compared).
A script step runs one generated command (or it and a GET) inside EVAL through redis.call or
redis.pcall, its arguments in ARGV. Two kinds of step name their connection (the runner draws one for the others): ON_CONNECTION,
args = (connection, command), and TRANSACTION, args = (connection, commands): MULTI, the
commands, EXEC or DISCARD, sent as one pipeline, every reply compared byte for byte. A
transaction may follow a WATCH (ON_CONNECTION) of keys that the commands between, on either
connection, may change; its commands are ones whose replies compare exactly (no KEYS, SCAN or
TTL inside an EXEC's reply), now and then with one refused while queuing (EXECABORT).

Time. Every expiry is either in the past (deleting at once, on both servers alike) or at
least 1000 s away, so no key expires during a run. EXPIRE/PEXPIRE with GT or LT compare a
new relative expiry (now + amount) with the current one; two relative expiries of the same
amount set a few milliseconds apart would compare differently on the two servers. So every
future expiry is drawn from distinct "slots" 1000 s apart, never reused within a sequence,
whether given relative (EX 1000*k) or absolute (EXAT base + 1000*k): any two differ by far
more than a sequence lasts.

Left out on purpose, each a difference by design or no behaviour of ordo's:
- SCAN cursors other than 0: ordo's cursor encodes the next key, Redis's a hash-table
  position; neither server's numbers mean anything to the other (docs/OPERATIONS-server.md).
- Keys over 64 KiB and values near 512 MiB: ordo refuses keys over 64 KiB (its limit, not
  Redis's), and half-GiB values would make a run slow. SETRANGE offsets stay below 1 MiB
  except at the 512 MiB limit itself, with a patch that is refused or empty.
- Commands ordo does not implement (HSET, SADD, ...), CONFIG SET, DEBUG, SHUTDOWN: Redis
  would run them. Databases beyond DATABASES: the state compared covers those used.
- OBJECT ENCODING and REFCOUNT of a key not just SET: Redis's encoding depends on the command
  that wrote the value (APPEND and SETRANGE leave "raw", INCRBYFLOAT "embstr" even for an
  integer, and a restart re-encodes them), ordo's on the value alone, as SET stores it
  (docs/OPERATIONS-server.md). So they are drawn right after a plain SET of the key, on the
  same connection. OBJECT IDLETIME (ordo keeps no access clock: always 0) and FREQ (an error
  on both, maxmemory-policy being noeviction) are compared only for absent keys and by
  test_commands.py.
- HELLO: the runner sets each connection's protocol once (one RESP2, one RESP3); HELLO's reply
  names each server's own version and client id (test_protocol.py compares its shape).
"""
import random

EXACT = "exact"
UNORDERED = "unordered"
TTL = "ttl"
SCAN = "scan"
PRESENCE = "presence"
ON_CONNECTION = "on-connection"
TRANSACTION = "transaction"

CONNECTIONS = 2  # to each server
DATABASES = 4  # SELECT, MOVE and SWAPDB use databases 0 to 3 (and refused indexes)

# Eleven keys: short ones, ones with ':' and with glob's special characters for patterns, one
# of binary bytes, the empty key.
KEYS = [b"k0", b"k1", b"k2", b"k3", b"k4", b"k5", b"key:10", b"key:2", b"k[*]?\\", b"\xff\x00\r\nb",
        b""]
# What random KEYS / SCAN MATCH patterns are made of.
PATTERN_BYTES = b"k*?[]^-\\:0123e!y\xff"

SMALL_INTEGERS = [b"0", b"1", b"-1", b"2", b"3", b"7", b"10", b"-5", b"100", b"12345"]
LIMIT_INTEGERS = [
    b"9223372036854775807", b"-9223372036854775808", b"9223372036854775806",
    b"-9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
    b"18446744073709551615", b"18446744073709551616", b"99999999999999999999",
    b"4294967296", b"-4294967297", b"2147483648",
]
# Texts that are not canonical integers, some of them floats: where a hand-written number
# parser most easily differs from Redis's string2ll / string2ld.
ODD_NUMBERS = [
    b"1.5", b"1e3", b"inf", b"-inf", b"+inf", b"-0", b" 1", b"1 ", b"0x10", b"", b"+1",
    b"01", b"00", b"-", b"+", b"3.0e0", b"10.50", b".5", b"5.", b"1e308", b"1e309",
    b"-1e-320", b"nan", b"NaN", b"1e-5", b"0.1", b"-1.6", b"1.7976931348623157e308",
    b"2.5e-3", b"1_000", b"\x001", b"infinity", b"-.0", b"0e0", b"1E2", b"12a", b"\t2",
    b"0x1p3", b"1e-400", b"-1e4933", b"1e4932", b"1.0000000000000000001", b"5e-324",
]
WORDS = [b"hello", b"v", b"world", b"\x00\xff\r\n", b"a b", b"*", b"k1", b"OK", b"$3"]


class CommandGenerator:
    """Yields the steps of one sequence. `now_s` is the wall clock (seconds) when the
    sequence starts: absolute expiries are computed from it."""

    def __init__(self, seed, now_s):
        self.rng = random.Random(seed)
        self.now_s = now_s
        self.used_slots = set()
        self.follow_up = []  # steps the current command needs right after it
        self.amount_was_past = False  # whether expiry_amount's last answer was in the past
        self.handlers = [
            (12, self.get), (14, self.set), (2, self.setnx), (3, self.setex), (2, self.getset),
            (2, self.getdel), (5, self.getex), (3, self.mget), (3, self.mset), (4, self.append),
            (2, self.strlen), (3, self.getrange), (3, self.setrange), (8, self.incr),
            (4, self.incrbyfloat), (3, self.delete), (2, self.exists), (2, self.type_),
            (2, self.keys), (2, self.scan), (1, self.dbsize), (1, self.flush),
            (8, self.expire), (5, self.ttl), (2, self.persist), (2, self.wrong_arity),
            (1, self.unknown), (3, self.select), (2, self.move), (1, self.swapdb),
            (4, self.rename), (3, self.copy), (1, self.touch), (2, self.expiretime),
            (1, self.randomkey), (2, self.object_after_set), (1, self.object_other),
        ]
        # What a transaction or a script may hold (not a transaction itself).
        self.queued_handlers = list(self.handlers)
        self.handlers.append((6, self.transaction))
        self.handlers.append((4, self.script))

    def steps(self, count):
        produced = 0
        while produced < count:
            self.follow_up = []
            command = self.weighted(self.handlers)
            for step in [command] + self.follow_up:
                if produced < count:
                    yield step
                    produced += 1

    # ---- Argument values.

    def chance(self, p):
        return self.rng.random() < p

    def cased(self, name):
        """A command or option name in random letter case (Redis ignores case)."""
        if self.chance(0.7):
            return name.upper() if self.chance(0.7) else name.lower()
        return bytes(c ^ 0x20 if chr(c).isalpha() and self.chance(0.5) else c for c in name)

    def key(self):
        return self.rng.choice(KEYS)

    def weighted(self, choices):
        """One pick from `choices`, (weight, source) pairs: a source is a list to choose an
        item from or a function that makes one."""
        source = self.rng.choices([c for _, c in choices], weights=[w for w, _ in choices])[0]
        return source() if callable(source) else self.rng.choice(source)

    def integer(self):
        return self.weighted([
            (55, SMALL_INTEGERS), (15, LIMIT_INTEGERS), (20, ODD_NUMBERS),
            (10, lambda: b"%d" % self.rng.randrange(-(1 << 64), 1 << 64))])

    def float_text(self):
        """A float as clients write it: fixed, exponent or %.17g form."""
        number = self.rng.uniform(-1000, 1000) * 10 ** self.rng.randrange(-20, 20)
        form = self.rng.choice([b"%.3f", b"%e", b"%.17g", b"%g"])
        return form % number

    def value(self):
        return self.weighted([
            (35, SMALL_INTEGERS), (10, LIMIT_INTEGERS), (15, ODD_NUMBERS), (20, WORDS),
            (15, lambda: bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(12)))),
            (5, lambda: bytes([self.rng.randrange(97, 123)]) * self.rng.randrange(100, 3000))])

    def slot_seconds(self):
        """A future offset in seconds, >= 1000 and unused in this sequence (see the top)."""
        while True:
            slot = 1000 * self.rng.randrange(1, 100000)
            if slot not in self.used_slots:
                self.used_slots.add(slot)
                return slot

    def expiry_amount(self, unit):
        """An expiry argument for `unit` (EX, PX, EXAT or PXAT): mostly valid and far in the
        future, sometimes in the past, sometimes invalid."""
        kind = self.rng.random()
        self.amount_was_past = 0.7 <= kind < 0.8
        if kind < 0.7:
            seconds = self.slot_seconds()
            if unit in (b"EXAT", b"PXAT"):
                seconds += self.now_s
            if unit in (b"PX", b"PXAT"):
                return b"%d" % (seconds * 1000 + self.rng.randrange(1000))
            return b"%d" % seconds
        if kind < 0.8:  # the past: an absolute time long gone, or a relative one below zero
            if unit in (b"EXAT", b"PXAT"):
                return self.rng.choice([b"1", b"%d" % (self.now_s - 100000), b"1000"])
            return self.rng.choice([b"-1", b"-1000", b"0"])
        return self.rng.choice([b"0", b"-1", b"abc", b"9223372036854775807",
                                b"9223372036854775", b"92233720368547758", b"-9223372036854775808",
                                b"1.5", b"", b" 100"])

    # ---- Commands.

    def get(self):
        return EXACT, [self.cased(b"get"), self.key()]

    def set(self):
        args = [self.cased(b"set"), self.key(), self.value()]
        options = [b"NX", b"XX", b"GET", b"KEEPTTL", b"EX", b"PX", b"EXAT", b"PXAT", b"BOGUS"]
        for _ in range(self.rng.choice([0, 0, 1, 1, 1, 2, 2, 3])):
            option = self.rng.choice(options)
            args.append(self.cased(option))
            if option in (b"EX", b"PX", b"EXAT", b"PXAT") and not self.chance(0.03):
                args.append(self.expiry_amount(option))
                if self.amount_was_past:
                    # SET with a time in the past stores a key that is already expired; it
                    # stays in Redis 7.0 (and in ordo) until it is read or the active expiry
                    # cycle (every 100 ms) finds it. DBSIZE and SCAN TYPE none see it until
                    # then: timing, not behaviour. Reading it at once, as both reclaim an
                    # expired key on access, makes the state deterministic. On every
                    # connection: the SET ran on one of them, in its SELECTed database.
                    self.follow_up = [(ON_CONNECTION, (connection, [b"EXISTS", args[1]]))
                                      for connection in range(CONNECTIONS)]
        return EXACT, args

    def setnx(self):
        return EXACT, [self.cased(b"setnx"), self.key(), self.value()]

    def setex(self):
        name = self.rng.choice([b"setex", b"psetex"])
        unit = b"EX" if name == b"setex" else b"PX"
        return EXACT, [self.cased(name), self.key(), self.expiry_amount(unit), self.value()]

    def getset(self):
        return EXACT, [self.cased(b"getset"), self.key(), self.value()]

    def getdel(self):
        return EXACT, [self.cased(b"getdel"), self.key()]

    def getex(self):
        args = [self.cased(b"getex"), self.key()]
        for _ in range(self.rng.choice([0, 1, 1, 1, 2])):
            option = self.rng.choice([b"EX", b"PX", b"EXAT", b"PXAT", b"PERSIST", b"NX"])
            args.append(self.cased(option))
            if option not in (b"PERSIST", b"NX") and not self.chance(0.03):
                args.append(self.expiry_amount(option))
        return EXACT, args

    def mget(self):
        return EXACT, [self.cased(b"mget")] + [self.key() for _ in range(self.rng.randrange(1, 5))]

    def mset(self):
        name = self.rng.choice([b"mset", b"msetnx"])
        args = [self.cased(name)]
        for _ in range(self.rng.randrange(1, 4)):
            args += [self.key(), self.value()]
        if self.chance(0.05):
            args.pop()  # an odd number of arguments
        return EXACT, args

    def append(self):
        return EXACT, [self.cased(b"append"), self.key(), self.value()]

    def strlen(self):
        return EXACT, [self.cased(b"strlen"), self.key()]

    def range_bound(self):
        if self.chance(0.8):
            return b"%d" % self.rng.randrange(-20, 20)
        return self.integer()

    def getrange(self):
        name = self.rng.choice([b"getrange", b"substr"])
        return EXACT, [self.cased(name), self.key(), self.range_bound(), self.range_bound()]

    def setrange(self):
        # Offsets stay small (< 1 MiB) so no run builds large values; the two at the 512 MiB
        # limit come with a patch that takes the string past it (refused) or an empty one.
        offset = self.rng.choice([b"%d" % self.rng.randrange(0, 30), b"%d" % self.rng.randrange(
            0, 1 << 20), b"-1", b"536870911", b"536870912", b"x", b""])
        patch = self.value()
        if offset.startswith(b"53687091"):
            patch = self.rng.choice([b"", b"xx" + patch])
        return EXACT, [self.cased(b"setrange"), self.key(), offset, patch]

    def incr(self):
        name = self.rng.choice([b"incr", b"decr", b"incrby", b"decrby"])
        args = [self.cased(name), self.key()]
        if name.endswith(b"by"):
            args.append(self.integer())
        return EXACT, args

    def incrbyfloat(self):
        amount = self.rng.choice([self.integer(), self.integer(), self.rng.choice(ODD_NUMBERS),
                                  self.float_text(), b"%.3f" % self.rng.uniform(-100, 100)])
        return EXACT, [self.cased(b"incrbyfloat"), self.key(), amount]

    def delete(self):
        name = self.rng.choice([b"del", b"unlink"])
        return EXACT, [self.cased(name)] + [self.key() for _ in range(self.rng.randrange(1, 4))]

    def exists(self):
        return EXACT, [self.cased(b"exists")] + [self.key() for _ in range(self.rng.randrange(1, 4))]

    def type_(self):
        return EXACT, [self.cased(b"type"), self.key()]

    def pattern(self):
        if self.chance(0.5):
            return bytes(self.rng.choice(PATTERN_BYTES) for _ in range(self.rng.randrange(8)))
        return self.rng.choice([b"*", b"k*", b"k?", b"k[0-3]", b"k[^0]", b"*:*", b"key:?",
                                b"\\*", b"[", b"k[", b"*1*", b"", b"?", b"\xff*", b"[a-", b"k\\1"])

    def keys(self):
        return UNORDERED, [self.cased(b"keys"), self.pattern()]

    def scan(self):
        """A SCAN iteration from the first cursor to 0, with the options after the cursor.
        Cursors are each server's own (ordo's encode the next key; a number Redis would take
        as a hash-table position is no cursor of ordo's): so the first cursor is 0, written
        in one of the ways Redis reads as 0, or a text that is no number at all."""
        args = [self.cased(b"scan"), self.rng.choice([
            b"0", b"0", b"0", b"", b"+0", b"-0", b"00", b"x", b"-x", b" 0", b"+", b"--0",
            b"18446744073709551616"])]
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            option = self.rng.choice([b"COUNT", b"MATCH", b"TYPE", b"BOGUS"])
            args.append(self.cased(option))
            if option == b"COUNT":
                args.append(self.rng.choice([b"%d" % self.rng.randrange(1, 20), b"0", b"-1",
                                             b"x", b"1000", b"9223372036854775807", b""]))
            elif option == b"MATCH":
                args.append(self.pattern())
            elif option == b"TYPE":
                args.append(self.rng.choice([b"string", b"STRING", b"list", b"none"]))
        return SCAN, args

    def dbsize(self):
        return EXACT, [self.cased(b"dbsize")]

    def flush(self):
        args = [self.cased(self.rng.choice([b"flushdb", b"flushall"]))]
        if self.chance(0.3):
            args.append(self.cased(self.rng.choice([b"async", b"sync", b"bogus"])))
        return EXACT, args

    def expire(self):
        name = self.rng.choice([b"expire", b"pexpire", b"expireat", b"pexpireat"])
        unit = {b"expire": b"EX", b"pexpire": b"PX", b"expireat": b"EXAT",
                b"pexpireat": b"PXAT"}[name]
        args = [self.cased(name), self.key(), self.expiry_amount(unit)]
        for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
            args.append(self.cased(self.rng.choice([b"NX", b"XX", b"GT", b"LT", b"FOO"])))
        return EXACT, args

    def ttl(self):
        return TTL, [self.cased(self.rng.choice([b"ttl", b"pttl"])), self.key()]

    def persist(self):
        return EXACT, [self.cased(b"persist"), self.key()]

    def exact_step(self):
        """A step whose reply compares exactly and that needs nothing after it."""
        saved = self.follow_up
        while True:
            self.follow_up = []
            check, args = self.weighted(self.queued_handlers)
            if check == EXACT and not self.follow_up:
                break
        self.follow_up = saved
        return check, args

    def script(self):
        """A script running one generated command through redis.call or redis.pcall (its
        arguments in ARGV, so any bytes pass), or two, the second reading what the first did:
        the reply goes through both conversions, Redis to Lua and back."""
        _, args = self.exact_step()
        call = self.rng.choice([b"call", b"pcall"])
        if self.chance(0.3):
            body = (b"redis." + call + b"(unpack(ARGV)) return redis." + call +
                    b"('GET', ARGV[2] or 'k0')")
        else:
            body = b"return redis." + call + b"(unpack(ARGV))"
        return EXACT, [self.cased(b"eval"), body, b"0"] + args

    def transaction(self):
        connection = self.rng.randrange(CONNECTIONS)
        steps = []
        if self.chance(0.5):
            keys = [self.key() for _ in range(self.rng.randrange(1, 4))]
            steps.append((ON_CONNECTION, (connection, [self.cased(b"watch")] + keys)))
            steps += [self.exact_step() for _ in range(self.rng.randrange(3))]
        body = [[self.cased(b"multi")]]
        body += [self.exact_step()[1] for _ in range(self.rng.randrange(6))]
        if self.chance(0.1):
            refused = self.rng.choice([[b"nosuchcommand"], [b"get"], [b"set", b"k1"]])
            body.insert(self.rng.randrange(1, len(body) + 1), refused)
        body.append([self.cased(b"exec" if self.chance(0.85) else b"discard")])
        steps.append((TRANSACTION, (connection, body)))
        self.follow_up += steps[1:]
        return steps[0]

    def database(self):
        """A database index: mostly one the generator uses, sometimes one refused."""
        if self.chance(0.9):
            return b"%d" % self.rng.randrange(DATABASES)
        return self.rng.choice([b"16", b"-1", b"x", b"3000000000", b""])

    def select(self):
        return EXACT, [self.cased(b"select"), self.database()]

    def move(self):
        return EXACT, [self.cased(b"move"), self.key(), self.database()]

    def swapdb(self):
        # Redis swaps along keys whose time ran out but that nothing has reclaimed yet (and
        # counts them in DBSIZE until something does), where ordo leaves them out at once. No
        # such key outlives its step here: a SET with a past expiry is followed by an EXISTS on
        # every connection, which reclaims it on both servers (see set()).
        return EXACT, [self.cased(b"swapdb"), self.database(), self.database()]

    def rename(self):
        name = self.rng.choice([b"rename", b"renamenx"])
        key = self.key()
        target = key if self.chance(0.1) else self.key()
        return EXACT, [self.cased(name), key, target]

    def copy(self):
        args = [self.cased(b"copy"), self.key(), self.key()]
        for _ in range(self.rng.choice([0, 0, 1, 1, 2])):
            option = self.rng.choice([b"DB", b"DB", b"REPLACE", b"BOGUS"])
            args.append(self.cased(option))
            if option == b"DB" and not self.chance(0.05):
                args.append(self.database())
        return EXACT, args

    def touch(self):
        return EXACT, [self.cased(b"touch")] + [self.key() for _ in range(self.rng.randrange(1, 4))]

    def expiretime(self):
        return TTL, [self.cased(self.rng.choice([b"expiretime", b"pexpiretime"])), self.key()]

    def randomkey(self):
        return PRESENCE, [self.cased(b"randomkey")]

    def object_after_set(self):
        """A plain SET, then OBJECT ENCODING or REFCOUNT of the key on the same connection
        (see the top: Redis's encoding depends on the command that wrote the value)."""
        connection = self.rng.randrange(CONNECTIONS)
        key = self.key()
        subcommand = self.cased(self.rng.choice([b"encoding", b"encoding", b"refcount"]))
        self.follow_up = [(ON_CONNECTION, (connection, [self.cased(b"object"), subcommand, key]))]
        return ON_CONNECTION, (connection, [self.cased(b"set"), key, self.value()])

    def object_other(self):
        """OBJECT's errors and HELP, whatever the key holds."""
        return EXACT, self.rng.choice([
            [self.cased(b"object"), self.cased(b"help")],
            [self.cased(b"object"), self.cased(b"help"), self.key()],
            [self.cased(b"object"), self.cased(b"bogus"), self.key()],
            [self.cased(b"object"), self.cased(b"encoding")],
            [self.cased(b"object"), self.cased(b"freq"), self.key(), self.key()],
            [self.cased(b"object"), self.cased(b"idletime")],
        ])

    def wrong_arity(self):
        """A supported command with too few or too many arguments."""
        name, arity = self.rng.choice([
            (b"get", 2), (b"set", -3), (b"setnx", 3), (b"setex", 4), (b"psetex", 4),
            (b"getset", 3), (b"getdel", 2), (b"getex", -2), (b"mget", -2), (b"mset", -3),
            (b"msetnx", -3), (b"append", 3), (b"strlen", 2), (b"getrange", 4),
            (b"setrange", 4), (b"incr", 2), (b"decr", 2), (b"incrby", 3), (b"decrby", 3),
            (b"incrbyfloat", 3), (b"del", -2), (b"unlink", -2), (b"exists", -2), (b"type", 2),
            (b"keys", 2), (b"scan", -2), (b"dbsize", 1), (b"expire", -3), (b"pexpire", -3),
            (b"expireat", -3), (b"pexpireat", -3), (b"ttl", 2), (b"pttl", 2), (b"persist", 2),
            (b"rename", 3), (b"renamenx", 3), (b"copy", -3), (b"touch", -2), (b"expiretime", 2),
            (b"pexpiretime", 2), (b"randomkey", 1), (b"object", -2), (b"move", 3),
        ])
        if arity > 0:
            count = self.rng.choice([n for n in range(0, arity + 3) if n != arity - 1])
        else:
            count = self.rng.randrange(0, -arity - 1)
        return EXACT, [self.cased(name)] + [self.key() for _ in range(count)]

    def unknown(self):
        name = self.rng.choice([b"foo", b"GETT", b"sett", b"x" * 200, b"\xff", b" get", b"",
                                b"get\x00", b"ge"])
        return EXACT, [name] + [self.value()[:150] for _ in range(self.rng.randrange(4))]
