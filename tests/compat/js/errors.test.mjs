// Error surfaces: Redis errors, authentication failures and the read-only token.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis, errors } from "@upstash/redis";
import {
  CONFIGS,
  GATEWAY_URL,
  READONLY_TOKEN,
  captureError,
  makeRedis,
  uniquePrefix,
} from "./helpers.mjs";

test("the installed client exposes the generic redis.exec([...]) API", () => {
  const redis = makeRedis();
  assert.equal(typeof redis.exec, "function");
});

for (const { name, opts } of CONFIGS) {
  describe(`errors [${name}]`, () => {
    const redis = makeRedis(opts);

    test("generic exec runs arbitrary commands", async () => {
      const p = uniquePrefix("err");
      assert.equal(await redis.exec(["SET", `${p}k`, "test"]), "OK");
      assert.equal(await redis.exec(["get", `${p}k`]), "test");
      assert.equal(await redis.exec(["StrLen", `${p}k`]), 4);
    });

    test("unknown command -> UpstashError carrying the Redis message", async () => {
      const err = await captureError(() => redis.exec(["foo", "bar"]));
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      assert.ok(!(err instanceof errors.UpstashJSONParseError), `non-JSON error body: ${err.message}`);
      assert.match(err.message, /ERR unknown command/i);
      assert.match(err.message, /foo/);
    });

    test("wrong number of arguments -> UpstashError", async () => {
      const err = await captureError(() => redis.exec(["get"]));
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      assert.match(err.message, /ERR wrong number of arguments for 'get' command/i);
    });

    test("WRONGTYPE error from a typed command", async () => {
      const p = uniquePrefix("err");
      await redis.set(`${p}str`, "v");
      const err = await captureError(() => redis.lpush(`${p}str`, "x"));
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      assert.match(err.message, /WRONGTYPE Operation against a key holding the wrong kind of value/);
    });

    test("incr on a non-integer string -> UpstashError", async () => {
      const p = uniquePrefix("err");
      await redis.set(`${p}str`, "abc");
      const err = await captureError(() => redis.incr(`${p}str`));
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      assert.match(err.message, /ERR value is not an integer or out of range/);
      assert.equal(await redis.get(`${p}str`), "abc");
    });

    test("wrong token -> UpstashError mentioning the auth failure (401 JSON body)", async () => {
      const bad = new Redis({ url: GATEWAY_URL, token: "definitely-not-the-token", retry: false, ...opts });
      const err = await captureError(() => bad.get("rgjs:any-key"));
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      assert.ok(!(err instanceof errors.UpstashJSONParseError), `401 body is not JSON: ${err.message}`);
      assert.match(err.message, /WRONGPASS|unauthori[sz]ed|invalid or missing auth token|auth/i);

      const err2 = await captureError(() => bad.set("rgjs:any-key", "v"));
      assert.ok(err2 instanceof errors.UpstashError);
      assert.match(err2.message, /WRONGPASS|unauthori[sz]ed|invalid or missing auth token|auth/i);
    });

    test("read-only token: reads work, writes are refused with NOPERM", async () => {
      const p = uniquePrefix("ro");
      await redis.set(`${p}k`, "written-by-standard");
      const ro = new Redis({ url: GATEWAY_URL, token: READONLY_TOKEN, retry: false, ...opts });
      assert.equal(await ro.get(`${p}k`), "written-by-standard");
      assert.equal(await ro.exists(`${p}k`), 1);
      assert.equal(await ro.ping(), "PONG");

      const err = await captureError(() => ro.set(`${p}k`, "overwritten"));
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      assert.match(err.message, /NOPERM/);
      const err2 = await captureError(() => ro.del(`${p}k`));
      assert.match(err2.message, /NOPERM/);
      const err3 = await captureError(() => ro.exec(["FLUSHALL"]));
      assert.match(err3.message, /NOPERM/);

      // Nothing was written.
      assert.equal(await redis.get(`${p}k`), "written-by-standard");
    });

    test("read-only token cannot write through a script", async () => {
      const p = uniquePrefix("ro");
      const ro = new Redis({ url: GATEWAY_URL, token: READONLY_TOKEN, retry: false, ...opts });
      await captureError(() =>
        ro.eval("return redis.call('SET', KEYS[1], 'x')", [`${p}k`], []),
      );
      assert.equal(await redis.get(`${p}k`), null, "the read-only token wrote through EVAL");
    });
  });
}

describe("read-only token in explicit pipelines / transactions", () => {
  const redis = makeRedis({ enableAutoPipelining: false });
  const ro = new Redis({ url: GATEWAY_URL, token: READONLY_TOKEN, retry: false, enableAutoPipelining: false });

  test("pipeline: the write is refused with NOPERM and not applied", async () => {
    const p = uniquePrefix("ro");
    await redis.set(`${p}k`, "orig");
    // The gateway may refuse the write per command or refuse the whole request; both must carry NOPERM.
    let text;
    try {
      const res = await ro.pipeline().get(`${p}k`).set(`${p}k`, "new").exec({ keepErrors: true });
      assert.equal(res[0].result, "orig");
      text = res[1].error;
    } catch (err) {
      assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
      text = err.message;
    }
    assert.match(String(text), /NOPERM/);
    assert.equal(await redis.get(`${p}k`), "orig");
  });

  test("multi: the write is refused with NOPERM and not applied", async () => {
    const p = uniquePrefix("ro");
    await redis.set(`${p}k`, "orig");
    const err = await captureError(() => ro.multi().get(`${p}k`).set(`${p}k`, "new").exec());
    assert.ok(err instanceof errors.UpstashError, `got ${err?.name}: ${err?.message}`);
    // Redis rejects the queued SET with NOPERM and then aborts EXEC (EXECABORT); either text is acceptable.
    assert.match(err.message, /NOPERM|EXECABORT/);
    assert.equal(await redis.get(`${p}k`), "orig");
  });
});
