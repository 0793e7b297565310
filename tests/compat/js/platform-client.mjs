// Used by tests/integration/platform/journey.rs: the unmodified @upstash/redis client against an instance
// created through the management API. Exits non-zero (with the reason) on any mismatch.
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";

const url = process.env.REDISGATE_URL;
const token = process.env.REDISGATE_TOKEN;
assert.ok(url && token, "REDISGATE_URL and REDISGATE_TOKEN are required");

const redis = new Redis({ url, token, retry: false, enableTelemetry: false });
assert.equal(await redis.set("journey", { step: 1 }), "OK");
assert.deepEqual(await redis.get("journey"), { step: 1 });
assert.equal(await redis.incr("journey:count"), 1);
const [a, b] = await redis.pipeline().incr("journey:count").get("journey:count").exec();
assert.equal(a, 2);
assert.equal(b, 2);
const tx = await redis.multi().set("journey:tx", "v").get("journey:tx").exec();
assert.deepEqual(tx, ["OK", "v"]);
console.log("@upstash/redis journey ok");
