// Limits: the client shows Upstash's own error texts for an instance's limits (the harness serves the
// instance `limited` with max_key_size = 8, max_record_size = 64 and max_requests_per_second = 50).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { LIMITED_URL, TOKEN, captureError, uniquePrefix } from "./helpers.mjs";

for (const enableAutoPipelining of [true, false]) {
  describe(`limits [autopipeline=${enableAutoPipelining}]`, () => {
    const redis = new Redis({ url: LIMITED_URL, token: TOKEN, retry: false, enableAutoPipelining });

    test("a key over the size limit is refused with the key size error", async () => {
      const err = await captureError(() => redis.set("a-key-of-23-bytes-long!", "v"));
      assert.match(err.message, /ERR max key size exceeded\. Limit: 8 bytes, Actual: 23 bytes/);
    });

    test("a value over the record size is refused; smaller ones still work", async () => {
      const err = await captureError(() => redis.set("k", "x".repeat(65)));
      assert.match(err.message, /ERR max single record size exceeded/);
      assert.equal(await redis.set("k", "x".repeat(64)), "OK");
    });

    test("a pipeline over the rate is refused as a whole", async () => {
      const p = uniquePrefix("lim").slice(0, 4);
      const pipeline = redis.pipeline();
      for (let i = 0; i < 51; i++) pipeline.incr(`${p}${i % 4}`);
      const err = await captureError(() => pipeline.exec());
      assert.match(err.message, /ERR max requests limit exceeded/);
    });
  });
}
