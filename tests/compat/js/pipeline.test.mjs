// Explicit pipelines (POST /pipeline) and transactions (POST /multi-exec).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { makeRedis, uniquePrefix, captureError } from "./helpers.mjs";

const ENCODINGS = [
  { name: "base64=on", opts: {} },
  { name: "base64=off", opts: { responseEncoding: false } },
];

for (const { name, opts } of ENCODINGS) {
  describe(`explicit pipeline [${name}]`, () => {
    const redis = makeRedis({ enableAutoPipelining: false, ...opts });

    test("exec returns every result in order", async () => {
      const p = uniquePrefix("pl");
      const res = await redis
        .pipeline()
        .set(`${p}a`, "test")
        .set(`${p}b`, { n: 1 })
        .incr(`${p}c`)
        .incrby(`${p}c`, 9)
        .get(`${p}a`)
        .get(`${p}b`)
        .get(`${p}none`)
        .hset(`${p}h`, { f: "PONG" })
        .hgetall(`${p}h`)
        .lpush(`${p}l`, "x", "y")
        .lrange(`${p}l`, 0, -1)
        .zadd(`${p}z`, { score: 1.5, member: "m" })
        .zrange(`${p}z`, 0, -1, { withScores: true })
        .ping()
        .echo("OK")
        .exec();
      assert.deepEqual(res, [
        "OK",
        "OK",
        1,
        10,
        "test",
        { n: 1 },
        null,
        1,
        { f: "PONG" },
        2,
        ["y", "x"],
        1,
        ["m", 1.5],
        "PONG",
        "OK",
      ]);
    });

    test("a failing command in the middle: exec() rejects naming the command, the rest still ran", async () => {
      const p = uniquePrefix("pl");
      await redis.set(`${p}str`, "not-a-number");
      const err = await captureError(() =>
        redis.pipeline().set(`${p}before`, "1").incr(`${p}str`).set(`${p}after`, "2").exec(),
      );
      assert.equal(err.name, "UpstashError");
      assert.match(err.message, /Command 2 \[ incr \] failed: ERR value is not an integer or out of range/);
      // Pipelines are not atomic and per-command errors do not abort the rest.
      assert.equal(await redis.get(`${p}before`), 1);
      assert.equal(await redis.get(`${p}after`), 2);
    });

    test("exec({keepErrors:true}) gives a per-command error and the other results", async () => {
      const p = uniquePrefix("pl");
      await redis.set(`${p}str`, "abcd");
      const res = await redis
        .pipeline()
        .set(`${p}a`, "test")
        .incr(`${p}str`)
        .get(`${p}a`)
        .get(`${p}str`)
        .exec({ keepErrors: true });
      assert.equal(res.length, 4);
      assert.equal(res[0].error, undefined);
      assert.equal(res[0].result, "OK");
      // The error text is the plain Redis message, never base64-encoded.
      assert.equal(typeof res[1].error, "string");
      assert.match(res[1].error, /^ERR value is not an integer or out of range/);
      assert.equal(res[2].error, undefined);
      assert.equal(res[2].result, "test");
      assert.equal(res[3].error, undefined);
      assert.equal(res[3].result, "abcd");
    });

    test("a script error reply inside a pipeline is a per-command error with its exact text", async () => {
      const p = uniquePrefix("pl");
      const res = await redis
        .pipeline()
        .set(`${p}a`, "v")
        .eval("return redis.error_reply('MYERR custom failure')", [], [])
        .get(`${p}a`)
        .exec({ keepErrors: true });
      assert.equal(res[0].result, "OK");
      assert.equal(res[1].error, "MYERR custom failure");
      assert.equal(res[2].result, "v");
    });
  });

  describe(`multi / transaction [${name}]`, () => {
    const redis = makeRedis({ enableAutoPipelining: false, ...opts });

    test("multi().exec() returns the results array", async () => {
      const p = uniquePrefix("tx");
      const res = await redis
        .multi()
        .set(`${p}k`, "test")
        .incr(`${p}n`)
        .incr(`${p}n`)
        .get(`${p}k`)
        .hset(`${p}h`, { a: 1, b: "abcd" })
        .hgetall(`${p}h`)
        .sadd(`${p}s`, "m")
        .smembers(`${p}s`)
        .exec();
      assert.deepEqual(res, ["OK", 1, 2, "test", 2, { a: 1, b: "abcd" }, 1, ["m"]]);
      assert.equal(await redis.get(`${p}n`), 2);
    });

    test("a runtime error inside EXEC is per-element; the other commands still ran", async () => {
      const p = uniquePrefix("tx");
      await redis.set(`${p}str`, "x");
      const res = await redis
        .multi()
        .set(`${p}a`, "1")
        .incr(`${p}str`)
        .set(`${p}b`, "2")
        .exec({ keepErrors: true });
      assert.equal(res.length, 3);
      assert.equal(res[0].result, "OK");
      assert.match(res[1].error, /^ERR value is not an integer or out of range/);
      assert.equal(res[2].result, "OK");
      assert.equal(await redis.get(`${p}a`), 1);
      assert.equal(await redis.get(`${p}b`), 2);

      const err = await captureError(() => redis.multi().set(`${p}c`, "1").incr(`${p}str`).exec());
      assert.equal(err.name, "UpstashError");
      assert.match(err.message, /Command 2 \[ incr \] failed: ERR value is not an integer/);
    });

    test("concurrent transactions do not interfere", async () => {
      const p = uniquePrefix("tx");
      const N = 10;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          redis.multi().incr(`${p}ctr`).set(`${p}k:${i}`, `v${i}`).get(`${p}k:${i}`).exec(),
        ),
      );
      const counters = results.map((r) => r[0]).sort((a, b) => a - b);
      assert.deepEqual(counters, Array.from({ length: N }, (_, i) => i + 1));
      results.forEach((r, i) => {
        assert.equal(r[1], "OK");
        assert.equal(r[2], `v${i}`);
      });
    });
  });
}
