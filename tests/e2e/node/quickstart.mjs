// The quick starts of node-redis and ioredis, with string commands only, against the server on
// 127.0.0.1 at the port given as the first argument. Both clients open their connection with
// HELLO 3 (RESP3 is their default); each checks that the server agreed (CLIENT INFO's resp=3),
// so a client that fell back to RESP2 fails here. Run by tests/e2e/test_node_clients.py, which
// runs it against ordo and against a real redis-server; exits non-zero at the first surprise.
import assert from "node:assert/strict";

import Redis from "ioredis";
import { createClient } from "redis";

const port = Number(process.argv[2]);
assert.ok(port > 0, "usage: node quickstart.mjs PORT");

async function nodeRedis() {
  const errors = [];
  const client = await createClient({ url: `redis://127.0.0.1:${port}` })
    .on("error", (error) => errors.push(error))
    .connect();
  assert.match(await client.sendCommand(["CLIENT", "INFO"]), / resp=3\n$/);

  await client.set("node-redis:key", "value");
  assert.equal(await client.get("node-redis:key"), "value");
  assert.equal(await client.get("node-redis:missing"), null);
  assert.deepEqual(await client.mGet(["node-redis:key", "node-redis:missing"]), ["value", null]);
  assert.equal(await client.set("node-redis:key", "other", { NX: true }), null);
  assert.equal(await client.set("node-redis:key", "new", { GET: true }), "value");
  assert.equal(await client.getDel("node-redis:key"), "new");
  assert.equal(await client.getDel("node-redis:key"), null);
  assert.equal(await client.incr("node-redis:counter"), 1);
  assert.equal(await client.incrByFloat("node-redis:counter", 0.5), "1.5");
  assert.equal(await client.append("node-redis:counter", "x"), 4);
  assert.equal(await client.exists("node-redis:counter"), 1);
  assert.equal(await client.expire("node-redis:counter", 100), 1);
  assert.ok((await client.ttl("node-redis:counter")) > 90);
  assert.deepEqual(await client.configGet("databases"), { databases: "16" });
  assert.match(await client.info("server"), /^# Server\r\nredis_version:7\.0\./);
  assert.equal(await client.del(["node-redis:counter"]), 1);

  client.destroy();
  assert.deepEqual(errors, []);
  console.log("node-redis: ok");
}

async function ioredis() {
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
  await redis.connect();
  assert.match(await redis.client("INFO"), / resp=3\n$/);

  await redis.set("ioredis:key", "value");
  assert.equal(await redis.get("ioredis:key"), "value");
  assert.equal(await redis.get("ioredis:missing"), null);
  assert.deepEqual(await redis.mget("ioredis:key", "ioredis:missing"), ["value", null]);
  assert.equal(await redis.set("ioredis:key", "other", "NX"), null);
  assert.equal(await redis.getdel("ioredis:key"), "value");
  assert.equal(await redis.incrbyfloat("ioredis:float", "2.5"), "2.5");
  assert.equal(await redis.strlen("ioredis:float"), 3);
  assert.equal(await redis.del("ioredis:float", "ioredis:missing"), 1);

  await redis.quit();
  console.log("ioredis: ok");
}

await nodeRedis();
await ioredis();
