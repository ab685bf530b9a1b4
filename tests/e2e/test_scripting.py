"""Lua scripting end to end.

Scripts run against ordo and a real redis-server 7.0, replies compared byte for byte: every
conversion both ways, errors and their positions, pcall, the sandbox, EVAL_RO's refusal, NOSCRIPT,
SCRIPT LOAD/EXISTS/FLUSH, numkeys errors, a script past busy-reply-threshold (BUSY to another
connection, SCRIPT KILL, UNKILLABLE). Then what ordo adds: a script's writes are one commit in the
log, a script that writes nothing logs nothing, and the memory limit. Last, redis-py's Lock, whose
release is a script.
"""
import os
import time
import unittest

import redis

import ordo_harness
from ordo_harness import OrdoServer, RawClient, RedisServer

EVAL = "EVAL"


def script(body, *keys_and_args, numkeys=None):
    keys = keys_and_args if numkeys is None else keys_and_args[:numkeys]
    count = len(keys) if numkeys is None else numkeys
    return [EVAL, body, str(count)] + list(keys_and_args)


# Each: a list of commands on one connection of a flushed server with an empty script cache.
SCENARIOS = {
    "lua to reply": [
        script("return 1"), script("return 3.99"), script("return -3.9"), script("return 'x'"),
        script("return true"), script("return false"), script("return nil"),
        script("return {1,2,3,nil,4}"), script("return {a=1}"), script("return 1e100"),
        script("return {1,'a',{2,{3}},true,false,3.7,{ok='k'},{err='e'}}"),
        script("return {ok='fine'}"), script("return {err='bad thing'}"),
        script("return {err='XYZ bad'}"), script("return {err='x\\ny'}"),
        script("return {ok='a\\r\\nb'}"), script("return {map={a=1}}"),
        script("return {double=3.5}"), script("return redis.error_reply('My Error')"),
        script("return redis.error_reply('')"), script("return redis.status_reply('FOO')"),
        script("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "k", "a", "b", numkeys=1),
    ],
    "reply to lua": [
        ["SET", "s", "text"], ["SET", "n", "41"],
        script("return redis.call('GET', KEYS[1])", "s"),
        script("return redis.call('INCR', KEYS[1])", "n"),
        script("return redis.call('get', 'missing')"),
        script("return type(redis.call('get', 'missing'))"),
        script("return redis.call('set', 'x', 'y')"),
        script("return redis.call('set', 'x', 'y')['ok']"),
        script("return redis.call('mget', 's', 'missing', 'n')"),
        script("return redis.call('ping')"),
        script("return redis.call('exists', 's', 'n', 'nope')"),
        script("return redis.call('ttl', 's')"),
        script("redis.call('set', 'f', 0.1) return redis.call('get', 'f')"),
        script("redis.call('set', 'f', 3) return redis.call('get', 'f')"),
        script("redis.call('set', 'f', 1e20) return redis.call('get', 'f')"),
        script("return redis.call('incrbyfloat', 'f', '1.5')"),
        script("local k = redis.call('keys', '*') table.sort(k) return k"),
    ],
    "errors": [
        ["SET", "s", "text"],
        script("error('boom')"), script("error({err='custom'})"), script("error()"),
        script("error(123)"), script("error('a\\nb')"),
        script("return redis.call('nosuch')"), script("return redis.call('incr', 'x', 'y')"),
        script("return redis.call('incr', 's')"), script("return redis.call()"),
        script("return redis.call('set', 'k', true)"), script("return redis.call({})"),
        script("return redis.call('multi')"), script("return redis.call('eval', 'return 1', 0)"),
        script("return redis.call('save')"), script("return redis.call('watch', 'x')"),
        script("return redis.call('set', 'x', '1', 'ex', '-1')"),
        script("return ("), script("return redis.setresp(4)"),
        script("redis.log(9, 'x')"), script("return redis.sha1hex()"),
        script("return 1", "a", numkeys=2), script("return 1", numkeys=-1),
        [EVAL, "return 1", "abc"], [EVAL, "return 1"], ["EVALSHA", "abc", "0"],
        ["EVALSHA", "0" * 40, "0"],
    ],
    "pcall": [
        ["SET", "s", "text"],
        script("return redis.pcall('nosuch')"), script("return redis.pcall('incr', 's')"),
        script("return redis.pcall()"), script("return redis.pcall('set', 'k', {})"),
        script("local ok, e = pcall(redis.call, 'nosuch') return e"),
        script("local ok, e = pcall(function() redis.call('incr', 's') end) return {ok, e}"),
        script("local ok, e = pcall(error, {err='x'}) return type(e)"),
        script("local ok, e = pcall(function() x = 1 end) return e"),
        script("return redis.pcall('nosuch')['err']"),
    ],
    "sandbox": [
        script("x = 1"), script("string.x = 1"), script("redis.call = 1"),
        script("rawset(_G, 'x', 1) return 1"), script("setmetatable(_G, nil) return 1"),
        script("return os"), script("return io"), script("return print"), script("return a"),
        script("return dofile"), script("return loadfile"), script("return require"),
        script("return _VERSION"), script("KEYS[1] = 'a' return KEYS[1]", "k"),
        script("local t = {} t.x = 1 return t.x"), script("return loadstring('return 1')()"),
        script("return cjson.encode({1,2,{a=1}})"), script("return cjson.decode('[1,2]')[2]"),
        script("return bit.band(7, 3)"), script("return bit.tohex(255)"),
        script("return ('abc'):upper()"), script("return string.format('%d', 5)"),
        script("return redis.sha1hex('')"), script("return tostring(math.huge)"),
        script("return #string"), script("return getmetatable('').__index == string"),
        script("local t = {} for k in pairs(redis) do t[#t + 1] = k end table.sort(t) "
               "local n = {} for i, k in ipairs(t) do if k ~= 'acl_check_cmd' then n[#n+1] = k end"
               " end return n"),
        script("return redis.acl_check_cmd('get', 'x')"),
        script("return redis.acl_check_cmd('nosuch')"),
        script("return redis.REDIS_VERSION ~= nil"),
    ],
    "read only scripts": [
        ["SET", "r", "1"],
        ["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "r"],
        ["EVAL_RO", "return redis.call('set', KEYS[1], '2')", "1", "r"],
        ["EVAL_RO", "return redis.pcall('del', KEYS[1])", "1", "r"],
        ["GET", "r"],
        ["SCRIPT", "LOAD", "return redis.call('incr', KEYS[1])"],
        ["EVALSHA_RO", "e7f9ab2bd2c6d5f1de5a9a7bb2c8b5b0c1c1a4ff", "1", "r"],
    ],
    "script cache": [
        ["SCRIPT", "LOAD", "return 1"], ["SCRIPT", "LOAD", "return ("],
        ["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc"],
        ["SCRIPT", "EXISTS", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"],
        ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        ["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
        ["EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        script("return 2"), ["SCRIPT", "EXISTS", "7f923f79fe76194c868d7e1d0820de36700eb649"],
        ["SCRIPT", "FLUSH"], ["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
        ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        ["SCRIPT", "FLUSH", "ASYNC"], ["SCRIPT", "FLUSH", "bad"], ["SCRIPT", "KILL"],
        ["SCRIPT", "HELP"], ["SCRIPT", "foo"], ["SCRIPT", "LOAD"], ["SCRIPT", "EXISTS"],
        ["SCRIPT"],
    ],
    "scripts inside transactions": [
        ["MULTI"], script("return redis.call('incr', KEYS[1])", "c"), ["INCR", "c"],
        script("return redis.call('get', KEYS[1])", "c"), ["EXEC"],
    ],
    "settings": [
        ["CONFIG", "GET", "lua-time-limit"], ["CONFIG", "GET", "busy-reply-threshold"],
        ["CONFIG", "SET", "lua-time-limit", "abc"], ["CONFIG", "SET", "busy-reply-threshold", "-5"],
        ["CONFIG", "SET", "lua-time-limit", "4000"], ["CONFIG", "GET", "busy-reply-threshold"],
        ["CONFIG", "SET", "busy-reply-threshold", "5000"],
    ],
    # Redis's generator is the server's: both servers start it fresh and draw in the same
    # order here; SCRIPT FLUSH does not restart it, math.randomseed does.
    "random numbers": [
        script("return {math.random(1000), math.random(1000), tostring(math.random())}"),
        ["SCRIPT", "FLUSH"], script("return {math.random(5, 10), math.random(-3, -3)}"),
        script("math.randomseed(-42) return {math.random(1000), math.random(3, 4)}"),
        script("math.randomseed(7) local t = {} for i = 1, 50 do t[i] = math.random(100) end "
               "return t"),
        script("return math.random(0)"), script("return math.random(3, 2)"),
        script("return math.random(1, 2, 3)"), script("return math.random('x')"),
        script("math.randomseed() return 1"), script("return math.random(2147483647)"),
    ],
    "shebang": [
        script("#!lua\nreturn redis.call('set', KEYS[1], 'v')", "s"),
        script("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'w')", "s"),
        script("#!lua flags=no-writes\nreturn redis.pcall('del', KEYS[1])", "s"),
        script("#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\n"
               "return redis.call('get', KEYS[1])", "s"),
        ["EVAL_RO", "#!lua\nreturn 1", "0"], ["EVAL_RO", "#!lua flags=no-writes\nreturn 2", "0"],
        ["EVAL_RO", "return 3", "0"], ["EVAL_RO", "#!lua flags=allow-oom\nreturn 4", "0"],
        script("#!lua name=x\nreturn 1"), script("#!notlua\nreturn 1"), script("#!lua"),
        script("#!lua flags=no-writes,bad\nreturn 1"), script("#!lua flags=\nreturn 2"),
        script("#!lua flags=a,\nreturn 2"), script("#!lua flags=no-writes,\nreturn 2"),
        script("#!lua \"flags=no-writes\"\nreturn redis.call('get', KEYS[1])", "s"),
        script("#!lua 'unbalanced\nreturn 1"), script("#!\nreturn 1"), script("#! lua\nreturn 1"),
        script("#!lua\nerror('on line 2')"), script("#!lua\n\nreturn (("),
        script("#!LUA\nreturn 1"), script("#!lua   flags=no-writes   \nreturn 5"),
        ["SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"],
        ["SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn redis.call('incr', KEYS[1])"],
        ["EVALSHA", "488952d80b8b3db1a5cd3a846af8367ef607d66e", "1", "s"],
        ["EVALSHA_RO", "488952d80b8b3db1a5cd3a846af8367ef607d66e", "1", "s"],
        ["GET", "s"],
    ],
}


def run_scenario(port, commands):
    client = RawClient(port)
    try:
        client.command("FLUSHALL")
        client.command("SCRIPT", "FLUSH")
        return [client.command(*command) for command in commands]
    finally:
        client.close()


def busy_scenario(port):
    """A looping script past busy-reply-threshold: the other connection's replies."""
    runner, other = RawClient(port), RawClient(port)
    replies = [other.command("CONFIG", "SET", "busy-reply-threshold", "100")]
    runner.send(ordo_harness.raw_command(EVAL, "while true do end", "0"))
    deadline = time.monotonic() + 10
    while True:  # the script becomes busy after 100 ms by the clock: poll, bounded
        reply = other.command("GET", "x")
        if reply.startswith(b"-BUSY"):
            break
        assert time.monotonic() < deadline, reply
        time.sleep(0.02)
    replies.append(reply)
    for command in (["MULTI"], ["SET", "x", "1"], ["DISCARD"], ["SHUTDOWN"],
                    ["SCRIPT", "LOAD", "return 1"], [EVAL, "return 1", "0"], ["PING"],
                    ["SCRIPT", "KILL"]):
        replies.append(other.command(*command))
    replies.append(runner.read_reply())
    replies.append(other.command("SCRIPT", "KILL"))
    replies.append(runner.command("PING"))
    # A script that wrote cannot be killed: it ends by itself.
    runner.send(ordo_harness.raw_command(
        EVAL, "redis.call('set', KEYS[1], '1') "
        "local n = 0 while n < 3e7 do n = n + 1 end return n", "1", "w"))
    while True:
        reply = other.command("SCRIPT", "KILL")
        if not reply.startswith(b"-NOTBUSY"):
            break
        assert time.monotonic() < deadline + 10, reply
        time.sleep(0.02)
    replies.append(reply)
    replies.append(runner.read_reply())
    replies.append(other.command("GET", "w"))
    replies.append(other.command("CONFIG", "SET", "busy-reply-threshold", "5000"))
    runner.close()
    other.close()
    return replies


class CompareWithRedisTest(unittest.TestCase):
    def test_same_replies_as_redis(self):
        ordo = OrdoServer().start()
        real = RedisServer()
        try:
            real.start()
            for name, commands in SCENARIOS.items():
                mine = run_scenario(ordo.port, commands)
                theirs = run_scenario(real.port, commands)
                for command, a, b in zip(commands, mine, theirs):
                    self.assertEqual(a, b, "%s: %r" % (name, command))
            self.assertEqual(busy_scenario(ordo.port), busy_scenario(real.port))
            ordo.stop()
        finally:
            real.stop()
            ordo.cleanup()


class OrdoScriptingTest(unittest.TestCase):
    def setUp(self):
        self.server = OrdoServer().start()

    def tearDown(self):
        self.server.cleanup()

    def test_a_script_is_one_commit_of_its_effects(self):
        client = RawClient(self.server.port)
        client.command("SET", "before", "1")
        body = ("redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[1]) "
                "redis.call('set', KEYS[2], 'x') redis.call('del', 'before') "
                "return redis.call('get', KEYS[1])")
        self.assertEqual(client.command(EVAL, body, "2", "a", "b", "41"), b"$2\r\n42\r\n")
        # Reads only, a failed write and an error: nothing to log.
        self.assertEqual(client.command(EVAL, "return redis.call('get', 'a')", "0"),
                         b"$2\r\n42\r\n")
        client.command(EVAL, "redis.call('set', 'a', 'text') return redis.call('incr', 'a')", "0")
        client.command("SET", "after", "1")
        client.close()
        self.server.stop()
        commits = ordo_harness.ordo_log(self.server.data_dir)
        ops = [[(op["op"], op["key"]) for op in commit["ops"]] for commit in commits]
        self.assertEqual(ops, [
            [("set", "before")],
            [("set", "a"), ("set", "a"), ("set", "b"), ("delete", "before")],
            [("set", "a")],  # the failed script's SET stays, as in Redis: one commit
            [("set", "after")],
        ])

    def test_memory_limit(self):
        client = RawClient(self.server.port)
        if os.environ.get("ORDO_SANITIZE"):
            # A gigabyte of Lua strings under a sanitizer takes minutes, not seconds.
            client.sock.settimeout(600)
        body = ("local s = string.rep('x', 1024 * 1024) local t = {} "
                "for i = 1, 4096 do t[i] = s .. i end return #t")
        reply = client.command(EVAL, body, "0")
        self.assertTrue(reply.startswith(b"-ERR Error running script "), reply)
        self.assertIn(b"not enough memory", reply)
        self.assertEqual(client.command(EVAL, "return 1", "0"), b":1\r\n")
        self.assertEqual(client.command("PING"), b"+PONG\r\n")
        client.close()

    def test_functions_answer_a_clear_error(self):
        client = RawClient(self.server.port)
        for command in (["FUNCTION", "LOAD", "x"], ["FCALL", "f", "0"], ["FCALL_RO", "f", "0"],
                        ["FUNCTION", "LIST"]):
            self.assertIn(b"ordo does not have functions yet", client.command(*command))
        client.close()

    def test_redis_py_lock(self):
        first = self.server.client()
        second = self.server.client()
        lock = first.lock("resource", timeout=30)
        self.assertTrue(lock.acquire(blocking=False))
        other = second.lock("resource", timeout=30)
        self.assertFalse(other.acquire(blocking=False))
        self.assertTrue(lock.owned())
        lock.extend(10)
        lock.release()  # a script
        self.assertTrue(other.acquire(blocking=False))
        with self.assertRaises(redis.exceptions.LockNotOwnedError):
            lock.do_release(b"not the owner's token")
        other.release()
        self.assertIsNone(first.get("resource"))
        first.close()
        second.close()


if __name__ == "__main__":
    ordo_harness.main()
