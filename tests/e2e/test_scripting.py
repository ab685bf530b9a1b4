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


# Lua helpers for the struct and cmsgpack scenarios: hex(s) is a string's bytes in hex; show(...)
# turns every value (nil included, tables with sorted keys) into a string, numbers with 17
# digits, so a reply shows what Lua held, not what the Lua-to-RESP conversion makes of it.
LUA_SHOW = (
    "local function hex(s) return (string.gsub(s, '.', function(c) "
    "return string.format('%02x', string.byte(c)) end)) end "
    "local function dump(v) "
    "if type(v) == 'number' then return string.format('%.17g', v) end "
    "if type(v) == 'string' then return string.format('%q', v) end "
    "if type(v) ~= 'table' then return tostring(v) end "
    "local keys = {} for k in pairs(v) do keys[#keys + 1] = k end "
    "table.sort(keys, function(a, b) return dump(a) < dump(b) end) "
    "local parts = {} for _, k in ipairs(keys) do "
    "parts[#parts + 1] = '[' .. dump(k) .. ']=' .. dump(v[k]) end "
    "return '{' .. table.concat(parts, ',') .. '}' end "
    "local function show(...) local t = {} for i = 1, select('#', ...) do "
    "t[i] = dump((select(i, ...))) end return t end ")


def lua_hex(expression):
    """EVAL of the hex of a Lua expression that makes a string."""
    return script(LUA_SHOW + "return hex(" + expression + ")")


def lua_show(expression):
    """EVAL of every value of a Lua expression (a call), shown."""
    return script(LUA_SHOW + "return show(" + expression + ")")


def lua_round_trip(expression):
    """EVAL that packs a value with cmsgpack, and shows its bytes and what unpacks from them."""
    return script(LUA_SHOW + "local p = cmsgpack.pack(" + expression + ") "
                  "return {hex(p), show(cmsgpack.unpack(p))}")


STRUCT_CASES = [
    # Every option, both byte orders.
    lua_hex("struct.pack('b', -1)"), lua_hex("struct.pack('B', 255)"),
    lua_hex("struct.pack('>h', -2)"), lua_hex("struct.pack('<H', 65535)"),
    lua_hex("struct.pack('>l', -3)"), lua_hex("struct.pack('<L', 2^53)"),
    lua_hex("struct.pack('>T', 12345)"), lua_hex("struct.pack('i', -4)"),
    lua_hex("struct.pack('>I', 4000000000)"), lua_hex("struct.pack('>i1i2i3i4i5i6i7i8', 1, 2, 3, "
                                                      "4, 5, 6, 7, 8)"),
    lua_hex("struct.pack('<I3', -1)"), lua_hex("struct.pack('>i16', -1)"),
    lua_hex("struct.pack('<i9', -2)"), lua_hex("struct.pack('>i32', 7)"),
    lua_hex("struct.pack('i0', 5)"), lua_hex("struct.pack('>f', 0.5)"),
    lua_hex("struct.pack('<f', 0.1)"), lua_hex("struct.pack('>d', 0.1)"),
    lua_hex("struct.pack('<d', -1/0)"), lua_hex("struct.pack('>f', 1e300)"),
    lua_hex("struct.pack('>f', -1e39)"), lua_hex("struct.pack('>f', 0/0)"),
    lua_hex("struct.pack('c5', 'hello')"), lua_hex("struct.pack('c3', 'hello')"),
    lua_hex("struct.pack('c0', 'abc')"), lua_hex("struct.pack('c', 'xyz')"),
    lua_hex("struct.pack('s', 'abc')"), lua_hex("struct.pack('s', 'a\\0b')"),
    lua_hex("struct.pack('x b x', 1)"), lua_hex("struct.pack('>i2 <i2 >i2', 1, 1, 1)"),
    lua_hex("struct.pack('i', '12')"), lua_hex("struct.pack('B', 300)"),
    lua_hex("struct.pack('>b', -129)"), lua_hex("struct.pack('>L', 2^64)"),
    lua_hex("struct.pack('>L', 1/0)"), lua_hex("struct.pack('>L', 0/0)"),
    lua_hex("struct.pack('>l', -1e300)"), lua_hex("struct.pack('>L', 2^63 + 4096)"),
    lua_hex("struct.pack('>l', 2^63)"), lua_hex("struct.pack('>L', -1.5)"),
    lua_hex("struct.pack('>L', 2.9)"), lua_hex("struct.pack('')"),
    # Alignment.
    lua_hex("struct.pack('!4 b i4', 1, 2)"), lua_hex("struct.pack('! b d', 1, 2)"),
    lua_hex("struct.pack('!2 b h b i', 1, 2, 3, 4)"), lua_hex("struct.pack('!8 b d b l', 1, 2, 3, 4)"),
    lua_hex("struct.pack('! b c3 i', 1, 'abc', 2)"), lua_hex("struct.pack('!4 b i3 b i3', 1, 2, 3, 4)"),
    lua_hex("struct.pack('!16 b i16', 1, 2)"), lua_hex("struct.pack('!1 b i', 1, 2)"),
    lua_hex("struct.pack('!4 b s i', 1, 'ab', 2)"), lua_hex("struct.pack('!4 b f h d', 1, 2, 3, 4)"),
    # Errors.
    lua_hex("struct.pack('X', 1)"), lua_hex("struct.pack('i40', 1)"),
    lua_hex("struct.pack('i99999999999', 1)"), lua_hex("struct.pack('c99999999999', 'a')"),
    lua_hex("struct.pack('!3 i', 1)"), lua_hex("struct.pack('!0 i', 1)"),
    lua_hex("struct.pack('c5', 'ab')"), lua_hex("struct.pack('i')"), lua_hex("struct.pack('i i', 1)"),
    lua_hex("struct.pack('i', 'abc')"), lua_hex("struct.pack('c', {})"), lua_hex("struct.pack()"),
    lua_hex("struct.pack('4')"), lua_hex("struct.pack('\\255', 1)"),
    # unpack: values, then the next position.
    lua_show("struct.unpack('>b B h H', '\\255\\255\\255\\254\\255\\255')"),
    lua_show("struct.unpack('<l L T', string.rep('\\255', 16) .. '\\1' .. string.rep('\\0', 7))"),
    lua_show("struct.unpack('>i3 I3 i', '\\255\\255\\254\\255\\255\\254\\0\\0\\1\\0')"),
    lua_show("struct.unpack('>i9', string.rep('\\255', 9))"),
    lua_show("struct.unpack('>i16', string.rep('\\255', 16))"),
    lua_show("struct.unpack('<i9', '\\1\\0\\0\\0\\0\\0\\0\\0\\128')"),
    lua_show("struct.unpack('>I9', '\\1\\0\\0\\0\\0\\0\\0\\0\\128')"),
    lua_show("struct.unpack('i0', 'abc')"),
    lua_show("struct.unpack('>f <d', struct.pack('>f <d', 0.1, 0.1))"),
    lua_show("struct.unpack('c3 c2', 'abcde')"), lua_show("struct.unpack('b c0', '\\3abcdef')"),
    lua_show("struct.unpack('c1 c0', '2xyz')"), lua_show("struct.unpack('s s', 'ab\\0\\0c')"),
    lua_show("struct.unpack('x b', '\\1\\2')"), lua_show("struct.unpack('b', 'abc', 2)"),
    lua_show("struct.unpack('!4 b i', struct.pack('!4 b i', 7, 8))"),
    lua_show("struct.unpack('!4 b i', '\\0\\1\\2\\3\\4\\5\\6\\7', 2)"),
    lua_show("struct.unpack('', 'abc', 3)"), lua_show("struct.unpack('', 'abc', -1)"),
    lua_show("struct.unpack('b', 'abc', 4)"), lua_show("struct.unpack('b', 'abc', 0)"),
    lua_show("struct.unpack('b', 'abc', -1)"), lua_show("struct.unpack('!4i4', 'abcdefgh', -1)"),
    lua_show("struct.unpack('i', 'abc')"), lua_show("struct.unpack('c0', 'abc')"),
    lua_show("struct.unpack('b c0', '\\255abc')"), lua_show("struct.unpack('b c0', '\\9abc')"),
    lua_show("struct.unpack('c2 c0', 'ababc')"),
    lua_show("struct.unpack('s', 'abc')"), lua_show("struct.unpack('X', 'abc')"),
    lua_show("struct.unpack('i')"), lua_show("struct.unpack('b', 'a', 'x')"),
    lua_show("struct.unpack(string.rep('b', 9000), string.rep('a', 9000))"),
    # size
    lua_show("struct.size('i')"), lua_show("struct.size('b h l i d f T')"),
    lua_show("struct.size('!8 b d')"), lua_show("struct.size('! b i2 b')"),
    lua_show("struct.size('c10 x')"), lua_show("struct.size('X Z 4 <>')"),
    lua_show("struct.size('s')"), lua_show("struct.size('c0')"), lua_show("struct.size('!3')"),
    lua_show("struct.size('#')"), lua_show("struct.size('i33')"),
    # The library table: what it holds, and that scripts cannot change it.
    script("local k = {} for n in pairs(struct) do k[#k + 1] = n end table.sort(k) return k"),
    script("struct.pack = nil"), script("struct.foo = 1"), script("return type(struct)"),
    script("rawset(struct, 'x', 1)"),
]

CMSGPACK_CASES = [
    # Every kind and size boundary the encoder chooses between.
    lua_round_trip("nil"), lua_round_trip("true"), lua_round_trip("false"),
    lua_round_trip("0"), lua_round_trip("127"), lua_round_trip("128"), lua_round_trip("255"),
    lua_round_trip("256"), lua_round_trip("65535"), lua_round_trip("65536"),
    lua_round_trip("2^32 - 1"), lua_round_trip("2^32"), lua_round_trip("2^53"),
    lua_round_trip("2^63"), lua_round_trip("-2^63"), lua_round_trip("-1"),
    lua_round_trip("-32"), lua_round_trip("-33"), lua_round_trip("-128"), lua_round_trip("-129"),
    lua_round_trip("-32768"), lua_round_trip("-32769"), lua_round_trip("-2^31"),
    lua_round_trip("-2^31 - 1"), lua_round_trip("0.5"), lua_round_trip("0.1"),
    lua_round_trip("-0.0"), lua_round_trip("1/0"), lua_round_trip("-1/0"), lua_round_trip("0/0"),
    lua_round_trip("1e300"), lua_round_trip("3.4028234663852886e38"), lua_round_trip("1e39"),
    lua_round_trip("1.5e-45"), lua_round_trip("2^-149"), lua_round_trip("123456789.5"),
    lua_round_trip("''"), lua_round_trip("'abc'"), lua_round_trip("string.rep('a', 31)"),
    lua_round_trip("string.rep('b', 32)"), lua_round_trip("string.rep('c', 255)"),
    lua_round_trip("'a\\0b\\255'"),
    script(LUA_SHOW + "local r = {} for _, n in ipairs({256, 65535, 65536, 70000}) do "
           "local s = string.rep('x', n) local p = cmsgpack.pack(s) "
           "r[#r + 1] = {hex(p:sub(1, 6)), #p, cmsgpack.unpack(p) == s} end return r"),
    # Tables: arrays (keys 1..n, no hole) and maps.
    lua_round_trip("{}"), lua_round_trip("{1, 2, 3}"), lua_round_trip("{1, 2, nil, 4}"),
    lua_round_trip("{[1] = 1, [3] = 3}"), lua_round_trip("{a = 1}"),
    lua_round_trip("{1, a = 2}"), lua_round_trip("{[1.5] = 1}"), lua_round_trip("{[0] = 1}"),
    lua_round_trip("{[-1] = 1}"), lua_round_trip("{[2^31] = 1}"), lua_round_trip("{[true] = 1}"),
    lua_round_trip("{[{}] = 1}"), lua_round_trip("{{1, {2, {3}}}, {x = {y = 'z'}}}"),
    lua_round_trip("{string.len, true}"),
    script(LUA_SHOW + "local r = {} for _, n in ipairs({15, 16, 65535, 65536}) do "
           "local t = {} for i = 1, n do t[i] = i % 7 end local p = cmsgpack.pack(t) "
           "r[#r + 1] = {hex(p:sub(1, 6)), #p, redis.sha1hex(p), #cmsgpack.unpack(p)} end "
           "return r"),
    script(LUA_SHOW + "local r = {} for _, n in ipairs({15, 16, 65536}) do "
           "local t = {} for i = 1, n do t['k' .. i] = i end local p = cmsgpack.pack(t) "
           "local u = cmsgpack.unpack(p) local c = 0 for k, v in pairs(u) do "
           "assert(t[k] == v) c = c + 1 end r[#r + 1] = {hex(p:sub(1, 3)), #p, c} end return r"),
    lua_round_trip("{b = 2, a = 1, c = {1}}"),
    # Nesting: the 17th table down (depth 16) is nil; a cycle ends there too.
    script(LUA_SHOW + "local r = {} for _, depth in ipairs({15, 16, 17, 20}) do "
           "local t = 'leaf' for i = 1, depth do t = {t} end "
           "r[#r + 1] = hex(cmsgpack.pack(t)) end return r"),
    script(LUA_SHOW + "local t = {1} t[2] = t return hex(cmsgpack.pack(t))"),
    script(LUA_SHOW + "local t = {} t.self = t return hex(cmsgpack.pack(t))"),
    script(LUA_SHOW + "local t = {1} t[2] = t return hex(cmsgpack.pack(1, t, t))"),
    # Several values: one concatenated string; unpack gives them all back.
    lua_round_trip("1, 'two', {3}, nil, false, 0.25"),
    lua_hex("cmsgpack.pack()"),
    script(LUA_SHOW + "local t = {} for i = 1, 4001 do t[i] = i end "
           "return hex(cmsgpack.pack(unpack(t)))"),
    script(LUA_SHOW + "local t = {} for i = 1, 3000 do t[i] = i end "
           "return redis.sha1hex(cmsgpack.pack(unpack(t)))"),
    script(LUA_SHOW + "local t = {} for i = 1, 100 do t[i] = string.rep(string.char(i), 1000 + i) "
           "end t.big = string.rep('z', 100000) local p = cmsgpack.pack(t, t, 'end') "
           "return {#p, redis.sha1hex(p)}"),
    # unpack: what Redis decodes, and what it refuses.
    lua_show("cmsgpack.unpack('')"), lua_show("cmsgpack.unpack('\\1\\2\\3')"),
    lua_show("cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')"),
    lua_show("cmsgpack.unpack('\\207\\128\\0\\0\\0\\0\\0\\0\\0')"),
    lua_show("cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\1')"),
    lua_show("cmsgpack.unpack('\\206\\255\\255\\255\\255\\210\\128\\0\\0\\0')"),
    lua_show("cmsgpack.unpack('\\205\\1\\0\\209\\255\\0\\204\\200\\208\\156')"),
    lua_show("cmsgpack.unpack('\\202\\63\\128\\0\\0\\203\\63\\240\\0\\0\\0\\0\\0\\0')"),
    lua_show("cmsgpack.unpack('\\217\\3abc\\218\\0\\2de\\219\\0\\0\\0\\1f\\161g')"),
    lua_show("cmsgpack.unpack('\\220\\0\\2\\1\\2\\221\\0\\0\\0\\1\\3\\145\\4')"),
    lua_show("cmsgpack.unpack('\\222\\0\\1\\1\\2\\223\\0\\0\\0\\1\\3\\4\\129\\161a\\192')"),
    lua_show("cmsgpack.unpack('\\147\\192\\1\\192')"), lua_show("cmsgpack.unpack('\\224\\255')"),
    lua_show("cmsgpack.unpack('\\196\\1a')"), lua_show("cmsgpack.unpack('\\197\\0\\1a')"),
    lua_show("cmsgpack.unpack('\\199\\1\\1a')"), lua_show("cmsgpack.unpack('\\212\\1\\1')"),
    lua_show("cmsgpack.unpack('\\193')"), lua_show("cmsgpack.unpack('\\1\\193')"),
    lua_show("cmsgpack.unpack('\\205\\1')"), lua_show("cmsgpack.unpack('\\163ab')"),
    lua_show("cmsgpack.unpack('\\219\\0\\0\\1\\0abc')"), lua_show("cmsgpack.unpack('\\147\\1')"),
    lua_show("cmsgpack.unpack('\\221\\255\\255\\255\\255\\1')"),
    lua_show("cmsgpack.unpack('\\129\\192\\1')"),
    lua_show("cmsgpack.unpack('\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1')"),
    lua_show("cmsgpack.unpack()"), lua_show("cmsgpack.unpack({})"), lua_show("cmsgpack.unpack(12)"),
    lua_show("cmsgpack.unpack('\\1', 'ignored')"),
    script("return #{cmsgpack.unpack(string.rep('\\1', 7000))}"),
    script("return #{cmsgpack.unpack(string.rep('\\1', 8000))}"),
    script("return #{cmsgpack.unpack(string.rep('\\145', 5000) .. '\\1')}"),
    script("return #{cmsgpack.unpack(string.rep('\\129', 9000) .. '\\1')}"),
    script("return #{cmsgpack.unpack(string.rep('\\145', 3000) .. '\\1')}"),
    # unpack_one and unpack_limit: the next offset first (-1 at the end), then the values.
    lua_show("cmsgpack.unpack_one(cmsgpack.pack(1, 'two', {3}))"),
    lua_show("cmsgpack.unpack_one(cmsgpack.pack(1, 'two', {3}), 1)"),
    lua_show("cmsgpack.unpack_one(cmsgpack.pack(1, 'two', {3}), 5)"),
    lua_show("cmsgpack.unpack_one(cmsgpack.pack(1, 'two', {3}), 6)"),
    lua_show("cmsgpack.unpack_one(cmsgpack.pack(1, 'two', {3}), 7)"),
    lua_show("cmsgpack.unpack_one('\\1', -1)"), lua_show("cmsgpack.unpack_one('\\1\\2', 9)"),
    lua_show("cmsgpack.unpack_one('\\1', 'x')"), lua_show("cmsgpack.unpack_one('')"),
    lua_show("cmsgpack.unpack_one('\\1', 0.9)"), lua_show("cmsgpack.unpack_one()"),
    lua_show("cmsgpack.unpack_one('\\1\\205', 1)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), 2)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), 2, 2)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), 9)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), 0)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), 0, 1)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), -1)"),
    lua_show("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3, 4), 1, -2)"),
    lua_show("cmsgpack.unpack_limit('abc')"), lua_show("cmsgpack.unpack_limit('\\1', 'x')"),
    lua_show("cmsgpack.unpack_limit(nil, 1)"),
    # The library table: what it holds, and that scripts cannot change it.
    script("local k = {} for n in pairs(cmsgpack) do k[#k + 1] = n end table.sort(k) return k"),
    script("return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, "
           "cmsgpack._DESCRIPTION}"),
    script("cmsgpack.pack = nil"), script("cmsgpack.x = 1"),
    script("return cmsgpack.unpack(cmsgpack.pack(cjson.decode('[1,{\"a\":2.5}]')))[2].a * 2"),
]


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
    "struct": STRUCT_CASES,
    "cmsgpack": CMSGPACK_CASES,
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
