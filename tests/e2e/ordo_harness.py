"""Shared helpers for the end-to-end tests: start `ordo serve` (and, for comparisons, a real
redis-server) on a free loopback port in a temporary directory, wait until it answers PING,
and stop it with SIGTERM asserting a clean exit.

Every test file runs as `python3 tests/e2e/test_X.py --binary PATH_TO_ORDO`; main() strips the
--binary argument and runs unittest.
"""
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import redis

BINARY = None
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def main():
    global BINARY
    argv = list(sys.argv)
    if "--binary" in argv:
        i = argv.index("--binary")
        BINARY = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    else:
        BINARY = os.environ.get("ORDO_BINARY")
    if not BINARY or not os.path.exists(BINARY):
        sys.exit("usage: %s --binary PATH_TO_ORDO" % argv[0])
    unittest.main(argv=argv)


def free_port():
    """A port the kernel just handed out; used for redis-server, which cannot bind port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_ping(port, process, password=None):
    """Bounded retry: PING until it answers or the process dies or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("server exited with %s before answering PING" % process.returncode)
        try:
            client = redis.Redis(port=port, password=password, socket_timeout=5)
            if client.ping():
                client.close()
                return
        except (redis.ConnectionError, redis.TimeoutError) as error:
            last_error = error
        time.sleep(0.02)  # retry pacing only; readiness is decided by PING
    raise AssertionError("server did not answer PING: %s" % last_error)


class OrdoServer:
    """`ordo serve` on port 0 (the server picks a free port and names it in its ready line)."""

    def __init__(self, data_dir=None, extra_args=(), password=None, open_files_limit=None):
        self.owns_dir = data_dir is None
        self.open_files_limit = open_files_limit  # RLIMIT_NOFILE (soft and hard) of the server
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="ordo-e2e-")
        self.extra_args = list(extra_args)
        self.password = password
        self.process = None
        self.port = None
        self.output = []

    def start(self):
        args = [BINARY, "serve", "--data", self.data_dir, "--port", "0"] + self.extra_args
        if self.password:
            args += ["--requirepass", self.password]
        limit = self.open_files_limit
        preexec = None
        if limit is not None:
            preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, preexec_fn=preexec)
        # The ready line names the port; reading stdout blocks until it is printed or the
        # process exits, so no sleeping is needed.
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("ready to accept connections on "):
                self.port = int(line.rsplit(":", 1)[1])
                break
        if self.port is None:
            self.process.wait(timeout=STOP_TIMEOUT_S)
            raise AssertionError("ordo serve did not become ready:\n" + "".join(self.output))
        wait_for_ping(self.port, self.process, self.password)
        return self

    def client(self, **kwargs):
        kwargs.setdefault("socket_timeout", 30)
        return redis.Redis(port=self.port, password=self.password, **kwargs)

    def stop(self, expect_code=0):
        """SIGTERM and wait; asserts the exit code (graceful shutdown exits 0)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        self.output.extend(self.process.stdout.readlines())
        self.process.stdout.close()
        self.process = None
        if expect_code is not None and code != expect_code:
            raise AssertionError("ordo exited with %s, expected %s:\n%s"
                                 % (code, expect_code, "".join(self.output)))

    def kill(self):
        """kill -9: no shutdown of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self.process.stdout.close()
        self.process = None

    def cleanup(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdout.close()
            self.process = None
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class AckedWriter(threading.Thread):
    """Alternates SET of a fresh key and INCR of its own counter until the server goes away,
    recording what was acknowledged: acked_sets (key -> value) and acked_incrs (the last INCR
    reply). Keys are PREFIX + "w<index>:key:<n>", the counter PREFIX + "w<index>:counter";
    with `pad`, values grow by up to 199 bytes so records vary in size.

    With `mixed`, every 7th SET also sets a far expiry (acked_ttls: keys that must keep one) and
    every 5th step deletes the key set 3 steps before (acked_deletes: keys that must be gone).
    A key whose DEL was sent is taken out of acked_sets first: if the DEL is never acknowledged
    the key may or may not survive, so it is checked neither way."""

    def __init__(self, port, index, prefix="", pad=False, mixed=False):
        super().__init__(daemon=True)
        self.port = port
        self.index = index
        self.prefix = prefix
        self.pad = pad
        self.mixed = mixed
        self.counter_key = "%sw%d:counter" % (prefix, index)
        self.acked_sets = {}
        self.acked_ttls = set()
        self.acked_deletes = set()
        self.acked_incrs = 0
        self.error = None

    def key(self, n):
        return "%sw%d:key:%d" % (self.prefix, self.index, n)

    def run(self):
        client = redis.Redis(port=self.port, socket_timeout=30)
        n = 0
        try:
            while True:
                key = self.key(n)
                value = "value-%d-%d" % (self.index, n)
                if self.pad:
                    value += "-" + "x" * (n % 200)
                with_ttl = self.mixed and n % 7 == 3
                if client.set(key, value, ex=1000000 if with_ttl else None):
                    self.acked_sets[key] = value
                    if with_ttl:
                        self.acked_ttls.add(key)
                self.acked_incrs = client.incr(self.counter_key)
                victim = self.key(n - 3)
                if self.mixed and n % 5 == 4 and victim in self.acked_sets:
                    del self.acked_sets[victim]
                    self.acked_ttls.discard(victim)
                    if client.delete(victim) == 1:
                        self.acked_deletes.add(victim)
                n += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionError) as error:
            self.error = error  # the server was killed: expected


class RedisServer:
    """A real redis-server, persistence off, for side-by-side comparisons."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="redis-e2e-")
        self.process = None
        self.port = None

    def start(self):
        for _ in range(5):  # the port may be taken between free_port() and bind
            self.port = free_port()
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for_ping(self.port, self.process)
                return self
            except AssertionError:
                self.process.kill()
                self.process.wait()
        raise AssertionError("redis-server did not start")

    def client(self, **kwargs):
        return redis.Redis(port=self.port, socket_timeout=30, **kwargs)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=STOP_TIMEOUT_S)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


def raw_command(*args):
    """Encodes one RESP multibulk request."""
    out = b"*%d\r\n" % len(args)
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


# RESP reply types by their first byte (RESP2's and RESP3's): one line; a length and that many
# bytes; a count of elements; a count of key/value pairs.
LINE_TYPES = (b"+", b"-", b":", b"_", b",", b"#", b"(")
SIZED_TYPES = (b"$", b"=", b"!")
AGGREGATE_TYPES = (b"*", b"~", b">")
PAIR_TYPES = (b"%", b"|")


class RawClient:
    """A socket speaking raw RESP: reads exactly one reply, returned as its raw bytes. It reads
    RESP3 as well (after HELLO 3); an attribute (|) is returned with the reply it precedes."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += chunk

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_reply(self):
        line = self._line()
        kind = line[:1]
        if kind in LINE_TYPES:
            return line
        count = int(line[1:-2])
        if kind in SIZED_TYPES:
            if count < 0:  # RESP2's null bulk
                return line
            while len(self.buffer) < count + 2:
                self._fill()
            data, self.buffer = self.buffer[:count + 2], self.buffer[count + 2:]
            return line + data
        if kind in AGGREGATE_TYPES:  # a count of -1 is RESP2's null array
            return line + b"".join(self.read_reply() for _ in range(max(count, 0)))
        if kind in PAIR_TYPES:
            elements = b"".join(self.read_reply() for _ in range(2 * count))
            return line + elements + (self.read_reply() if kind == b"|" else b"")
        raise AssertionError("bad reply line %r" % line)

    def command(self, *args):
        self.send(raw_command(*args))
        return self.read_reply()

    def is_closed(self):
        """True when the server closed the connection (EOF after any buffered bytes)."""
        try:
            self.sock.settimeout(10)
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def ordo_log(data_dir):
    """`ordo log --data DIR --json`: one dict per commit."""
    result = subprocess.run([BINARY, "log", "--data", data_dir, "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def run_on_connections(port, steps, connections=2):
    """Runs (connection index, command) steps on a flushed server over `connections` raw
    connections; returns every raw reply."""
    clients = [RawClient(port) for _ in range(connections)]
    try:
        clients[0].command("FLUSHALL")
        return [clients[index].command(*command) for index, command in steps]
    finally:
        for client in clients:
            client.close()


def compare_scenarios_with_redis(test, scenarios):
    """Runs each scenario ({name: [(connection, command)]}) on a fresh ordo and a real
    redis-server, asserting every reply the same bytes."""
    ordo = OrdoServer().start()
    real = RedisServer()
    try:
        real.start()
        for name, steps in scenarios.items():
            mine = run_on_connections(ordo.port, steps)
            theirs = run_on_connections(real.port, steps)
            for (index, command), a, b in zip(steps, mine, theirs):
                test.assertEqual(a, b, "%s: connection %d, %r" % (name, index, command))
        ordo.stop()
    finally:
        real.stop()
        ordo.cleanup()
