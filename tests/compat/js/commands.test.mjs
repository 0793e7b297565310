// Basic commands through the unmodified @upstash/redis client, under every combination of
// auto-pipelining (on = POST /pipeline batches, off = POST / per command) and response
// encoding (base64 = `Upstash-Encoding: base64`, off = plain JSON).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { CONFIGS, makeRedis, uniquePrefix } from "./helpers.mjs";

for (const { name, opts } of CONFIGS) {
  describe(`basic commands [${name}]`, () => {
    const redis = makeRedis(opts);
    const p = uniquePrefix("cmd");

    test("set/get strings that look like base64 or 'OK'", async () => {
      // "test", "PONG", "abcd" are valid base64: a gateway ignoring Upstash-Encoding mangles them.
      for (const [i, v] of ["test", "PONG", "abcd", "OK", "T0s=", "hello world"].entries()) {
        const key = `${p}str:${i}`;
        assert.equal(await redis.set(key, v), "OK");
        assert.equal(await redis.get(key), v, `value ${JSON.stringify(v)}`);
      }
    });

    test("set/get unicode", async () => {
      const key = `${p}unicode`;
      assert.equal(await redis.set(key, "héllo ✓ 日本 🚀"), "OK");
      assert.equal(await redis.get(key), "héllo ✓ 日本 🚀");
      assert.equal(await redis.strlen(key), Buffer.byteLength("héllo ✓ 日本 🚀", "utf8"));
    });

    test("empty values, unicode keys and large values", async () => {
      const empty = `${p}empty`;
      assert.equal(await redis.set(empty, ""), "OK");
      assert.equal(await redis.get(empty), "");
      assert.equal(await redis.strlen(empty), 0);

      const ukey = `${p}clé ✓/日本?#%`;
      assert.equal(await redis.set(ukey, "v"), "OK");
      assert.equal(await redis.get(ukey), "v");
      assert.equal(await redis.exists(ukey), 1);

      // ~1 MiB of text (well below the 10 MB request limit) round-trips intact.
      const big = "abcd✓".repeat(200_000);
      const bkey = `${p}large`;
      assert.equal(await redis.set(bkey, big), "OK");
      assert.equal(await redis.get(bkey), big);
      assert.equal(await redis.strlen(bkey), Buffer.byteLength(big, "utf8"));
    });

    test("set/get JSON objects and arrays (auto-serialized)", async () => {
      const key = `${p}json`;
      const obj = { a: 1, b: "two", c: [1, 2, { d: null }], e: true, f: "héllo" };
      assert.equal(await redis.set(key, obj), "OK");
      assert.deepEqual(await redis.get(key), obj);
      const key2 = `${p}jsonarr`;
      assert.equal(await redis.set(key2, [1, "x", false]), "OK");
      assert.deepEqual(await redis.get(key2), [1, "x", false]);
    });

    test("set/get numbers and booleans keep their JSON text", async () => {
      const cases = [
        [42, 42],
        [-7, -7],
        [1.5, 1.5],
        [1e-7, 1e-7], // gateway must forward "1e-7" verbatim, not "0.0000001" / "1e-07"
        [0, 0],
        [true, true],
        [false, false],
      ];
      for (const [i, [input, expected]] of cases.entries()) {
        const key = `${p}num:${i}`;
        assert.equal(await redis.set(key, input), "OK");
        assert.equal(await redis.get(key), expected, `value ${JSON.stringify(input)}`);
      }
      // The raw stored text is the JSON text of the number.
      const raw = makeRedis({ ...opts, automaticDeserialization: false });
      assert.equal(await raw.get(`${p}num:2`), "1.5");
      assert.equal(await raw.get(`${p}num:3`), "1e-7");
      assert.equal(await raw.get(`${p}num:5`), "true");
      // Integers beyond 2^53 come back as strings (client keeps precision).
      const big = `${p}big`;
      await redis.set(big, "12345678901234567890");
      assert.equal(await redis.get(big), "12345678901234567890");
    });

    test("get of a missing key is null", async () => {
      assert.equal(await redis.get(`${p}missing`), null);
    });

    test("incr / incrby / decr / incrbyfloat", async () => {
      const key = `${p}counter`;
      assert.equal(await redis.incr(key), 1);
      assert.equal(await redis.incr(key), 2);
      assert.equal(await redis.incrby(key, 40), 42);
      assert.equal(await redis.decr(key), 41);
      assert.equal(await redis.incrbyfloat(key, 0.5), 41.5);
      assert.equal(await redis.get(key), 41.5);
    });

    test("mget returns values in order with null for missing (array elements base64-decoded)", async () => {
      const k1 = `${p}mget:1`;
      const k2 = `${p}mget:2`;
      const k3 = `${p}mget:3`;
      await redis.set(k1, "test");
      await redis.set(k2, { x: 1 });
      await redis.set(k3, "OK"); // inside an array the client base64-decodes every string
      assert.deepEqual(await redis.mget(k1, `${p}mget:none`, k2, k3), ["test", null, { x: 1 }, "OK"]);
    });

    test("hset / hget / hgetall (object) and empty hash -> null", async () => {
      const key = `${p}hash`;
      assert.equal(await redis.hset(key, { f1: "v1", f2: 2, f3: { nested: true }, f4: "PONG" }), 4);
      assert.equal(await redis.hget(key, "f1"), "v1");
      assert.equal(await redis.hget(key, "f2"), 2);
      assert.deepEqual(await redis.hgetall(key), {
        f1: "v1",
        f2: 2,
        f3: { nested: true },
        f4: "PONG",
      });
      assert.equal(await redis.hgetall(`${p}nohash`), null);
      assert.equal(await redis.hlen(key), 4);
    });

    test("lpush / rpush / lrange", async () => {
      const key = `${p}list`;
      assert.equal(await redis.lpush(key, "a", "test", "c"), 3);
      assert.equal(await redis.rpush(key, "z"), 4);
      assert.deepEqual(await redis.lrange(key, 0, -1), ["c", "test", "a", "z"]);
      assert.deepEqual(await redis.lrange(`${p}nolist`, 0, -1), []);
      assert.equal(await redis.llen(key), 4);
    });

    test("sadd / smembers / sismember", async () => {
      const key = `${p}set`;
      assert.equal(await redis.sadd(key, "x", "abcd", "y"), 3);
      assert.equal(await redis.sadd(key, "x"), 0);
      const members = await redis.smembers(key);
      assert.deepEqual([...members].sort(), ["abcd", "x", "y"]);
      assert.equal(await redis.sismember(key, "abcd"), 1);
      assert.equal(await redis.sismember(key, "nope"), 0);
    });

    test("zadd / zrange withScores / zscore", async () => {
      const key = `${p}zset`;
      assert.equal(
        await redis.zadd(key, { score: 1, member: "a" }, { score: 2.5, member: "b" }, { score: -3, member: "c" }),
        3,
      );
      assert.deepEqual(await redis.zrange(key, 0, -1), ["c", "a", "b"]);
      assert.deepEqual(await redis.zrange(key, 0, -1, { withScores: true }), ["c", -3, "a", 1, "b", 2.5]);
      assert.equal(await redis.zscore(key, "b"), 2.5);
      assert.equal(await redis.zscore(key, "none"), null);
      assert.equal(await redis.zcard(key), 3);
    });

    test("expire / ttl / persist", async () => {
      const key = `${p}ttl`;
      await redis.set(key, "v");
      assert.equal(await redis.ttl(key), -1);
      assert.equal(await redis.expire(key, 100), 1);
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 90 && ttl <= 100, `ttl=${ttl}`);
      assert.equal(await redis.ttl(`${p}nottl`), -2);
      await redis.set(`${p}ex`, "v", { ex: 50 });
      const ttl2 = await redis.ttl(`${p}ex`);
      assert.ok(ttl2 > 40 && ttl2 <= 50, `ttl=${ttl2}`);
      assert.equal(await redis.persist(key), 1);
      assert.equal(await redis.ttl(key), -1);
    });

    test("del / exists", async () => {
      const a = `${p}del:a`;
      const b = `${p}del:b`;
      await redis.set(a, 1);
      await redis.set(b, 2);
      assert.equal(await redis.exists(a, b, `${p}del:none`), 2);
      assert.equal(await redis.del(a, b, `${p}del:none`), 2);
      assert.equal(await redis.exists(a, b), 0);
      assert.equal(await redis.get(a), null);
    });

    test("scan returns a [cursor, keys] pair with a string cursor", async () => {
      const sp = `${p}scan:`;
      const keys = [`${sp}1`, `${sp}2`, `${sp}3`];
      for (const k of keys) await redis.set(k, "v");
      const first = await redis.scan(0, { match: `${sp}*`, count: 100 });
      assert.ok(Array.isArray(first) && first.length === 2, `scan result ${JSON.stringify(first)}`);
      assert.equal(typeof first[0], "string");
      assert.ok(Array.isArray(first[1]));
      // Iterate to completion and check every key was seen.
      const seen = new Set(first[1]);
      let cursor = first[0];
      for (let i = 0; cursor !== "0" && i < 10000; i++) {
        const [next, batch] = await redis.scan(cursor, { match: `${sp}*`, count: 100 });
        assert.equal(typeof next, "string");
        batch.forEach((k) => seen.add(k));
        cursor = next;
      }
      assert.equal(cursor, "0");
      assert.deepEqual([...seen].sort(), keys.sort());
    });

    test("eval returns strings, integers and tables", async () => {
      assert.equal(await redis.eval("return ARGV[1]", [], ["hello"]), "hello");
      assert.equal(await redis.eval("return ARGV[1]", [], ["test"]), "test");
      const key = `${p}eval`;
      assert.deepEqual(
        await redis.eval("redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], redis.call('GET', KEYS[1]), 42}", [key], ["abcd"]),
        [key, "abcd", 42],
      );
      assert.equal(await redis.get(key), "abcd");
      assert.equal(await redis.eval("return 7", [], []), 7);
    });

    test("createScript: EVALSHA, falling back to EVAL on NOSCRIPT", async () => {
      // A random comment makes the script text unique, so it is not cached yet.
      const nonce = randomBytes(8).toString("hex");
      const source = `-- ${nonce}\nreturn {ARGV[1], tonumber(ARGV[2]) + 1}`;
      const sha = createHash("sha1").update(source).digest("hex");
      assert.deepEqual(await redis.scriptExists(sha), [0]);

      const script = redis.createScript(source);
      assert.deepEqual(await script.exec([], ["first", "1"]), ["first", 2]);
      // The fallback EVAL loaded the script: EVALSHA now works directly.
      assert.deepEqual(await redis.scriptExists(sha), [1]);
      assert.deepEqual(await redis.evalsha(sha, [], ["second", "10"]), ["second", 11]);
      assert.deepEqual(await script.exec([], ["third", "20"]), ["third", 21]);
    });

    test("ping and echo", async () => {
      assert.equal(await redis.ping(), "PONG");
      assert.equal(await redis.ping(["hi there"]), "hi there");
      assert.equal(await redis.echo("abcd"), "abcd");
      assert.equal(await redis.echo("héllo ✓"), "héllo ✓");
    });

    test("concurrent commands issued in the same tick resolve to their own results", async () => {
      const keys = Array.from({ length: 20 }, (_, i) => `${p}conc:${i}`);
      const sets = await Promise.all(keys.map((k, i) => redis.set(k, `value-${i}`)));
      assert.deepEqual(sets, keys.map(() => "OK"));
      const gets = await Promise.all(keys.map((k) => redis.get(k)));
      assert.deepEqual(gets, keys.map((_, i) => `value-${i}`));
    });
  });
}

describe("auto-pipelining batches commands into /pipeline", () => {
  test("several same-tick commands go out as one pipeline per read/write batch", async () => {
    const redis = makeRedis();
    const p = uniquePrefix("ap");
    const before = redis.pipelineCounter;
    const results = await Promise.all([
      redis.set(`${p}a`, "test"),
      redis.set(`${p}b`, 5),
      redis.incr(`${p}b`),
    ]);
    assert.deepEqual(results, ["OK", "OK", 6]);
    assert.equal(redis.pipelineCounter - before, 1, "the three writes should share one pipeline");

    const before2 = redis.pipelineCounter;
    const reads = await Promise.all([redis.get(`${p}a`), redis.get(`${p}b`), redis.get(`${p}none`)]);
    assert.deepEqual(reads, ["test", 6, null]);
    assert.equal(redis.pipelineCounter - before2, 1, "the three reads should share one pipeline");
  });

  test("more than 1000 same-tick commands are split into several pipelines and all resolve", async () => {
    const redis = makeRedis();
    const p = uniquePrefix("ap");
    const n = 1500;
    const before = redis.pipelineCounter;
    // The client caps a pipeline at 1000 commands and sends the batches concurrently (no ordering
    // between batches), so use independent keys and check every promise got its own result.
    const sets = await Promise.all(Array.from({ length: n }, (_, i) => redis.set(`${p}k:${i}`, `v${i}`)));
    assert.ok(redis.pipelineCounter - before >= 2, "expected the writes to span several pipelines");
    assert.equal(sets.length, n);
    assert.ok(sets.every((r) => r === "OK"));
    const gets = await Promise.all(Array.from({ length: n }, (_, i) => redis.get(`${p}k:${i}`)));
    gets.forEach((v, i) => assert.equal(v, `v${i}`, `result ${i}`));
  });

  test("a failing command in an auto-pipeline rejects only its own promise", async () => {
    const redis = makeRedis();
    const p = uniquePrefix("ap");
    await redis.set(`${p}str`, "not-a-number");
    const [ok1, bad, ok2] = await Promise.allSettled([
      redis.set(`${p}x`, "1"),
      redis.incr(`${p}str`),
      redis.set(`${p}y`, "2"),
    ]);
    assert.equal(ok1.status, "fulfilled");
    assert.equal(ok1.value, "OK");
    assert.equal(bad.status, "rejected");
    assert.equal(bad.reason.name, "UpstashError");
    assert.match(bad.reason.message, /ERR value is not an integer or out of range/);
    assert.equal(ok2.status, "fulfilled");
    assert.equal(ok2.value, "OK");
    assert.equal(await redis.get(`${p}y`), 2);
  });
});
