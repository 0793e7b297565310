// Read-your-writes: every response carries a fresh `upstash-sync-token`, which the client
// exposes as `readYourWritesSyncToken` and echoes on later requests.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CONFIGS, makeRedis, uniquePrefix } from "./helpers.mjs";

for (const { name, opts } of CONFIGS) {
  describe(`read-your-writes [${name}]`, () => {
    test("readYourWritesSyncToken is exposed and changes after a set, a pipeline and an eval", async () => {
      const redis = makeRedis(opts);
      const p = uniquePrefix("ryw");
      assert.equal(redis.readYourWritesSyncToken, "", "a fresh client starts with an empty token");

      await redis.set(`${p}k`, "v1");
      const t1 = redis.readYourWritesSyncToken;
      assert.equal(typeof t1, "string");
      assert.ok(t1.length > 0, "no upstash-sync-token header on the response");

      await redis.set(`${p}k`, "v2");
      const t2 = redis.readYourWritesSyncToken;
      assert.ok(t2.length > 0);
      assert.notEqual(t2, t1, "token did not change after SET");

      await redis.pipeline().set(`${p}k`, "v3").get(`${p}k`).exec();
      const t3 = redis.readYourWritesSyncToken;
      assert.notEqual(t3, t2, "token did not change after a pipeline");

      await redis.multi().set(`${p}k`, "v4").exec();
      const t4 = redis.readYourWritesSyncToken;
      assert.notEqual(t4, t3, "token did not change after a transaction");

      await redis.eval("return redis.call('SET', KEYS[1], ARGV[1])", [`${p}k`], ["v5"]);
      const t5 = redis.readYourWritesSyncToken;
      assert.notEqual(t5, t4, "token did not change after EVAL");

      assert.equal(await redis.get(`${p}k`), "v5");
    });

    test("a token handed to another client instance is accepted", async () => {
      const writer = makeRedis(opts);
      const reader = makeRedis(opts);
      const p = uniquePrefix("ryw");
      await writer.set(`${p}k`, "shared");
      reader.readYourWritesSyncToken = writer.readYourWritesSyncToken;
      assert.equal(await reader.get(`${p}k`), "shared");
      // A stale / unknown token must be accepted silently too.
      reader.readYourWritesSyncToken = "not-a-real-token";
      assert.equal(await reader.get(`${p}k`), "shared");
    });

    test("readYourWrites:false still works (no header sent)", async () => {
      const redis = makeRedis({ ...opts, readYourWrites: false });
      const p = uniquePrefix("ryw");
      assert.equal(await redis.set(`${p}k`, "x"), "OK");
      assert.equal(await redis.get(`${p}k`), "x");
      assert.equal(redis.readYourWritesSyncToken, "");
    });
  });
}
