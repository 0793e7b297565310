// The same database reached through the path-prefix form of the URL (REDISGATE_PREFIXED_URL,
// e.g. http://host:port/db/default): single commands go to POST /db/default, pipelines to
// /db/default/pipeline, transactions to /db/default/multi-exec, SSE to /db/default/subscribe/<ch>.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { CONFIGS, PREFIXED_URL, TOKEN, makeRedis, nextEvent, uniquePrefix } from "./helpers.mjs";

for (const { name, opts } of CONFIGS) {
  describe(`prefixed URL [${name}]`, () => {
    const pre = new Redis({ url: PREFIXED_URL, token: TOKEN, retry: false, ...opts });
    const plain = makeRedis(opts);

    test("single commands work and hit the same Redis as the plain URL", async () => {
      const p = uniquePrefix("pre");
      assert.equal(await pre.set(`${p}k`, "test"), "OK");
      assert.equal(await pre.get(`${p}k`), "test");
      assert.equal(await plain.get(`${p}k`), "test");
      await plain.set(`${p}k2`, { from: "plain" });
      assert.deepEqual(await pre.get(`${p}k2`), { from: "plain" });
      assert.equal(await pre.incr(`${p}n`), 1);
      assert.deepEqual(await pre.hgetall(`${p}none`), null);
      assert.equal(await pre.ping(), "PONG");
    });

    test("a trailing slash on the prefixed URL is tolerated (client strips one)", async () => {
      const p = uniquePrefix("pre");
      const slash = new Redis({ url: `${PREFIXED_URL}/`, token: TOKEN, retry: false, ...opts });
      assert.equal(await slash.set(`${p}k`, "abcd"), "OK");
      assert.equal(await slash.get(`${p}k`), "abcd");
    });

    test("explicit pipeline", async () => {
      const p = uniquePrefix("pre");
      const res = await pre
        .pipeline()
        .set(`${p}a`, "PONG")
        .incr(`${p}c`)
        .get(`${p}a`)
        .lpush(`${p}l`, "x")
        .lrange(`${p}l`, 0, -1)
        .exec();
      assert.deepEqual(res, ["OK", 1, "PONG", 1, ["x"]]);
      assert.equal(await plain.get(`${p}a`), "PONG");
    });

    test("multi / transaction", async () => {
      const p = uniquePrefix("pre");
      const res = await pre.multi().set(`${p}a`, "1").incr(`${p}a`).get(`${p}a`).exec();
      assert.deepEqual(res, ["OK", 2, 2]);
      assert.equal(await plain.get(`${p}a`), 2);
    });

    test("errors are reported the same way", async () => {
      const p = uniquePrefix("pre");
      await pre.set(`${p}s`, "x");
      await assert.rejects(() => pre.incr(`${p}s`), (err) => {
        assert.equal(err.name, "UpstashError");
        assert.match(err.message, /ERR value is not an integer or out of range/);
        return true;
      });
      const bad = new Redis({ url: PREFIXED_URL, token: "wrong-token", retry: false, ...opts });
      await assert.rejects(() => bad.get(`${p}s`), (err) => {
        assert.equal(err.name, "UpstashError");
        assert.match(err.message, /WRONGPASS|unauthori[sz]ed|invalid or missing auth token|auth/i);
        return true;
      });
    });
  });
}

describe("prefixed URL: subscribe", () => {
  test("SSE subscribe through the prefix receives messages", async () => {
    const pre = new Redis({ url: PREFIXED_URL, token: TOKEN, retry: false });
    const channel = `${uniquePrefix("pre")}chan`;
    const sub = pre.subscribe([channel]);
    try {
      assert.equal(await nextEvent(sub, "subscribe", 5000), 1);
      const msg = nextEvent(sub, "message", 5000);
      assert.equal(await makeRedis().publish(channel, "via-prefix"), 1);
      assert.deepEqual(await msg, { channel, message: "via-prefix" });
    } finally {
      await sub.unsubscribe();
    }
  });
});
