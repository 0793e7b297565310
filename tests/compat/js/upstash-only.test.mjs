// Upstash-only behaviour that code written for Upstash relies on (protocol.md §M), through the real client.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CONFIGS, makeRedis, uniquePrefix } from "./helpers.mjs";

for (const { name, opts } of CONFIGS) {
  describe(`upstash-only [${name}]`, () => {
    const redis = makeRedis(opts);

    test("scan with withType answers keys and their types", async () => {
      const p = uniquePrefix("scan");
      await redis.set(`${p}s`, "v");
      await redis.hset(`${p}h`, { f: "v" });
      let cursor = "0";
      const seen = [];
      do {
        const [next, items] = await redis.scan(cursor, { match: `${p}*`, count: 100, withType: true });
        cursor = String(next);
        seen.push(...items);
      } while (cursor !== "0");
      seen.sort((a, b) => a.key.localeCompare(b.key));
      assert.deepEqual(seen, [
        { key: `${p}h`, type: "hash" },
        { key: `${p}s`, type: "string" },
      ]);
    });

    test("allow-key-locking scripts run through createScript (EVALSHA, then EVAL)", async () => {
      const p = uniquePrefix("lock");
      const script = redis.createScript("#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])");
      assert.equal(await script.exec([`${p}n`], []), 1);
      assert.equal(await script.exec([`${p}n`], []), 2);
      assert.equal(await redis.evalsha(script.sha1, [`${p}n`], []), 3);
    });

    test("unlink with no keys is 0", async () => {
      assert.equal(await redis.unlink(), 0);
    });
  });
}
