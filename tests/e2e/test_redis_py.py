"""redis-py's getting-started, as its README (4.3.4, Debian 12's python3-redis) shows it, run
against a real redis-server (the reference that the expectations are right) and against ordo:
connecting by URL to database 1, strings, a pipeline (a MULTI/EXEC transaction by default),
WATCH with a transaction function, pub/sub, a registered Lua script, and a Lock.

redis-py 4.3.4 speaks RESP2 only (RESP3 arrived in redis-py 5.0, which Debian 12 does not
package and PyPI is out of reach here); RESP3 clients are tested with node-redis and ioredis
(test_node_clients.py)."""
import unittest

import redis

import ordo_harness
from ordo_harness import OrdoServer, RedisServer


def quick_start(port, check):
    """The README's steps; check(actual, expected, what) records each comparison."""
    r = redis.from_url("redis://127.0.0.1:%d/1" % port)
    check(r.connection_pool.connection_kwargs["db"], 1, "database from the URL")
    check(r.set("foo", "bar"), True, "set")
    check(r.get("foo"), b"bar", "get")
    check(r.execute_command("CLIENT", "INFO").split(b" db=")[1][:1], b"1", "client's database")

    pipe = r.pipeline()
    pipe.set("foo", 5).set("bar", 18.5).set("blee", "hello world!").get("blee")
    check(pipe.execute(), [True, True, True, b"hello world!"], "pipeline")
    pipe = r.pipeline(transaction=False)
    check(pipe.incr("foo").incrbyfloat("bar", 1.5).execute(), [6, 20.0], "plain pipeline")
    with r.pipeline() as pipe:
        pipe.set("a", 1).incr("blee").set("b", 2)
        try:
            pipe.execute()
            check("no error", "an error", "transaction with a failing command")
        except redis.ResponseError as error:
            check(str(error).startswith("Command # 2 (INCRBY blee 1) of pipeline caused error: "
                                        "value is not an integer"), True, "its error")
    check(r.mget("a", "b"), [b"1", b"2"], "the other commands of the transaction ran")

    def increment(pipe):
        value = int(pipe.get("counter") or 0)
        pipe.multi()
        pipe.set("counter", value + 1)
    check(r.transaction(increment, "counter"), [True], "transaction with WATCH")
    check(r.get("counter"), b"1", "its result")
    other = redis.from_url("redis://127.0.0.1:%d/1" % port)
    with r.pipeline() as pipe:
        pipe.watch("counter")
        other.set("counter", 10)
        pipe.multi()
        pipe.incr("counter")
        try:
            pipe.execute()
            check("executed", "WatchError", "a watched key changed")
        except redis.WatchError:
            pass
    check(r.get("counter"), b"10", "the other client's write stands")

    pubsub = r.pubsub()
    pubsub.subscribe("my-first-channel", "my-second-channel")
    for channel in (b"my-first-channel", b"my-second-channel"):
        message = pubsub.get_message(timeout=10)
        check((message["type"], message["channel"]), ("subscribe", channel), "subscribed")
    check(other.publish("my-first-channel", "some data"), 1, "publish")
    message = pubsub.get_message(timeout=10)
    check((message["type"], message["data"]), ("message", b"some data"), "message")
    pubsub.psubscribe("my-*")
    pubsub.get_message(timeout=10)
    check(other.publish("my-second-channel", "more"), 2, "publish to channel and pattern")
    got = sorted((pubsub.get_message(timeout=10)["type"]) for _ in range(2))
    check(got, ["message", "pmessage"], "both deliveries")
    pubsub.close()

    multiply = r.register_script("local value = redis.call('GET', KEYS[1])\n"
                                 "value = tonumber(value)\n"
                                 "return value * ARGV[1]")
    r.set("foo", 2)
    check(multiply(keys=["foo"], args=[5]), 10, "registered script (EVALSHA, then EVAL)")
    check(multiply(keys=["foo"], args=[7]), 14, "registered script again")

    lock = r.lock("resource", timeout=60)
    check(lock.acquire(blocking=False), True, "lock taken")
    check(r.lock("resource", timeout=60).acquire(blocking=False), False, "lock held")
    lock.release()
    check(r.exists("resource"), 0, "lock released")
    check(r.flushdb(), True, "flushdb")
    r.close()
    other.close()


class RedisPyTest(unittest.TestCase):
    def run_against(self, port):
        seen = []
        quick_start(port, lambda actual, expected, what: seen.append((what, actual, expected)))
        return seen

    def test_readme_against_redis_and_ordo(self):
        real = RedisServer()
        try:
            real.start()
            reference = self.run_against(real.port)
        finally:
            real.stop()
        for what, actual, expected in reference:
            self.assertEqual(actual, expected, "redis-server: " + what)
        ordo = OrdoServer().start()
        try:
            for what, actual, expected in self.run_against(ordo.port):
                self.assertEqual(actual, expected, "ordo: " + what)
            ordo.stop()
        finally:
            ordo.cleanup()


if __name__ == "__main__":
    ordo_harness.main()
