// Two libraries built on Lua scripts, run as their READMEs show, against the server on
// 127.0.0.1 at the port given as the first argument: redlock 4 (what `npm install redlock`
// installs) with an ioredis client, and rate-limiter-flexible's RateLimiterRedis with ioredis
// (EVALSHA through defineCommand, falling back to EVAL) and with node-redis 6 in RESP3 (EVAL).
// Run by tests/e2e/test_node_clients.py against ordo and against a real redis-server; exits
// non-zero at the first surprise.
import assert from "node:assert/strict";

import Redis from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { createClient } from "redis";
import Redlock from "redlock";

const port = Number(process.argv[2]);
assert.ok(port > 0, "usage: node locks.mjs PORT");

async function redlock() {
  const client = new Redis({ port, host: "127.0.0.1" });
  // retryCount 0: a lock that is held is refused at once instead of after retries.
  const locks = new Redlock([client], { driftFactor: 0.01, retryCount: 0 });
  const resource = "locks:account:322456";

  const lock = await locks.lock(resource, 10000);
  assert.equal(await client.get(resource), lock.value);
  const ttl = await client.pttl(resource);
  assert.ok(ttl > 9000 && ttl <= 10000, `pttl ${ttl}`);
  await assert.rejects(locks.lock(resource, 10000), Redlock.LockError);

  const extended = await lock.extend(60000);
  assert.ok((await client.pttl(resource)) > 50000);
  // Someone else's value: neither its unlock nor its extend touches the lock (both are scripts
  // that compare the value first).
  const stranger = new Redlock.Lock(locks, [resource], "not-the-holder", Date.now() + 10000, 1, 0);
  await assert.rejects(stranger.unlock(), Redlock.LockError);
  await assert.rejects(stranger.extend(1000), Redlock.LockError);
  assert.equal(await client.get(resource), extended.value);

  await extended.unlock();
  assert.equal(await client.exists(resource), 0);
  const again = await locks.lock(resource, 1000);
  await again.unlock();
  // Several resources at once: one script call locks all or none.
  const both = await locks.lock(["locks:a", "locks:b"], 10000);
  await assert.rejects(locks.lock(["locks:b", "locks:c"], 10000), Redlock.LockError);
  assert.equal(await client.exists("locks:c"), 0);
  await both.unlock();
  assert.equal(await client.exists("locks:a", "locks:b"), 0);

  await locks.quit();
  console.log("redlock: ok");
}

// Five points per 100 s: five consumes pass, the sixth is refused with the time to wait.
async function checkLimiter(limiter, name) {
  for (let consumed = 1; consumed <= 5; consumed++) {
    const result = await limiter.consume("user:7");
    assert.equal(result.consumedPoints, consumed, name);
    assert.equal(result.remainingPoints, 5 - consumed, name);
    assert.ok(result.msBeforeNext > 90000 && result.msBeforeNext <= 100000, name);
  }
  const refusal = await limiter.consume("user:7").then(
    () => assert.fail(`${name}: the sixth consume passed`), (rejection) => rejection);
  assert.equal(refusal.consumedPoints, 6, name);
  assert.equal(refusal.remainingPoints, 0, name);
  assert.ok(refusal.msBeforeNext > 90000, name);

  assert.equal((await limiter.get("user:7")).consumedPoints, 6, name);
  assert.equal(await limiter.get("user:8"), null, name);
  await limiter.reward("user:7", 4);
  assert.equal((await limiter.consume("user:7")).remainingPoints, 2, name);
  await limiter.penalty("user:7", 2);
  assert.equal((await limiter.get("user:7")).consumedPoints, 5, name);
  assert.equal(await limiter.delete("user:7"), true, name);
  assert.equal(await limiter.get("user:7"), null, name);

  // A block: after the points run out, the key is blocked for blockDuration seconds.
  const blocking = new RateLimiterRedis({
    storeClient: limiter.client, useRedisPackage: limiter.useRedisPackage,
    keyPrefix: `${name}-block`, points: 1, duration: 100, blockDuration: 500,
  });
  await blocking.consume("ip");
  const blocked = await blocking.consume("ip").then(() => assert.fail(name), (rejection) => rejection);
  assert.ok(blocked.msBeforeNext > 400000, `${name}: ${blocked.msBeforeNext}`);
}

async function rateLimiterFlexible() {
  const ioredis = new Redis({ port, host: "127.0.0.1", enableOfflineQueue: false });
  await new Promise((resolve) => ioredis.once("ready", resolve));
  await checkLimiter(new RateLimiterRedis({
    storeClient: ioredis, keyPrefix: "io", points: 5, duration: 100,
  }), "ioredis");
  await ioredis.quit();

  const nodeRedis = await createClient({ url: `redis://127.0.0.1:${port}` }).connect();
  await checkLimiter(new RateLimiterRedis({
    storeClient: nodeRedis, useRedisPackage: true, keyPrefix: "node", points: 5, duration: 100,
  }), "node-redis");
  nodeRedis.destroy();
  console.log("rate-limiter-flexible: ok");
}

await redlock();
await rateLimiterFlexible();
