// Pub/sub over the SSE endpoints (POST /subscribe/<ch>, POST /psubscribe/<pat>) through the
// client's Subscriber API: events "subscribe"/"psubscribe" (count), "message" ({channel, message})
// and "pmessage" ({pattern, channel, message}).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CONFIGS,
  collectEvents,
  eventually,
  makeRedis,
  nextEvent,
  uniquePrefix,
} from "./helpers.mjs";

const TIMEOUT = 5000;

/** Number of Redis-side subscribers of `channel` (PUBSUB NUMSUB). */
async function numsub(redis, channel) {
  const res = await redis.exec(["pubsub", "numsub", channel]);
  assert.ok(Array.isArray(res) && res.length === 2, `PUBSUB NUMSUB reply ${JSON.stringify(res)}`);
  assert.equal(String(res[0]), channel);
  return Number(res[1]);
}

for (const { name, opts } of CONFIGS) {
  describe(`subscribe [${name}]`, () => {
    const redis = makeRedis(opts);

    test("subscribe receives published messages with their channel, then unsubscribe", async () => {
      const channel = `${uniquePrefix("sub")}chan`;
      const sub = redis.subscribe([channel]);
      try {
        const subscribed = nextEvent(sub, "subscribe", TIMEOUT);
        const messages = collectEvents(sub, "message", 4, TIMEOUT);
        const perChannel = nextEvent(sub, `message:${channel}`, TIMEOUT);
        assert.equal(await subscribed, 1, "first event must be subscribe,<ch>,1");
        assert.deepEqual(sub.getSubscribedChannels(), [channel]);

        // Values that look like base64 must arrive raw (SSE payloads are never base64-encoded).
        assert.equal(await redis.publish(channel, "hello"), 1);
        assert.equal(await redis.publish(channel, "test"), 1);
        assert.equal(await redis.publish(channel, { a: 1, b: "x" }), 1);
        assert.equal(await redis.publish(channel, "héllo ✓"), 1);

        const got = await messages;
        assert.deepEqual(got, [
          { channel, message: "hello" },
          { channel, message: "test" },
          { channel, message: { a: 1, b: "x" } },
          { channel, message: "héllo ✓" },
        ]);
        assert.deepEqual(await perChannel, { channel, message: "hello" });
      } finally {
        await sub.unsubscribe();
      }
      assert.deepEqual(sub.getSubscribedChannels(), []);
    });

    test("unsubscribe releases the Redis-side subscription", async () => {
      const channel = `${uniquePrefix("sub")}gone`;
      const sub = redis.subscribe([channel]);
      try {
        assert.equal(await nextEvent(sub, "subscribe", TIMEOUT), 1);
        assert.equal(await numsub(redis, channel), 1);
      } finally {
        await sub.unsubscribe();
      }
      // The gateway has to notice the aborted stream; there is no event for that, so poll (bounded).
      await eventually(async () => (await numsub(redis, channel)) === 0, TIMEOUT, "PUBSUB NUMSUB to drop to 0");
      assert.equal(await redis.publish(channel, "nobody"), 0);
    });
  });
}

describe("subscribe: multiple streams", () => {
  const redis = makeRedis();

  test("two subscribers on the same channel each see subscribe count 1 and every message", async () => {
    const channel = `${uniquePrefix("sub")}shared`;
    const s1 = redis.subscribe([channel]);
    const s2 = redis.subscribe(channel);
    try {
      const [c1, c2] = await Promise.all([
        nextEvent(s1, "subscribe", TIMEOUT),
        nextEvent(s2, "subscribe", TIMEOUT),
      ]);
      assert.equal(c1, 1);
      assert.equal(c2, 1);
      const m1 = nextEvent(s1, "message", TIMEOUT);
      const m2 = nextEvent(s2, "message", TIMEOUT);
      // 2 when each stream holds its own Redis subscription (Upstash); a multiplexing gateway may say 1.
      assert.ok((await redis.publish(channel, "both")) >= 1);
      assert.deepEqual(await m1, { channel, message: "both" });
      assert.deepEqual(await m2, { channel, message: "both" });
    } finally {
      await s1.unsubscribe();
      await s2.unsubscribe();
    }
  });

  test("one subscriber on several channels gets messages tagged with the right channel", async () => {
    const p = uniquePrefix("sub");
    const a = `${p}a`;
    const b = `${p}b`;
    const sub = redis.subscribe([a, b]);
    try {
      const counts = collectEvents(sub, "subscribe", 2, TIMEOUT);
      assert.deepEqual(await counts, [1, 1]); // one stream (and one subscription) per channel
      const msgs = collectEvents(sub, "message", 2, TIMEOUT);
      assert.equal(await redis.publish(a, "to-a"), 1);
      assert.equal(await redis.publish(b, "to-b"), 1);
      const got = await msgs;
      const byChannel = Object.fromEntries(got.map((m) => [m.channel, m.message]));
      assert.deepEqual(byChannel, { [a]: "to-a", [b]: "to-b" });

      // Unsubscribing one channel keeps the other.
      await sub.unsubscribe([a]);
      assert.deepEqual(sub.getSubscribedChannels(), [b]);
      const next = nextEvent(sub, "message", TIMEOUT);
      await redis.publish(b, "still-here");
      assert.deepEqual(await next, { channel: b, message: "still-here" });
    } finally {
      await sub.unsubscribe();
    }
  });
});

describe("subscribe: channel names that need URL encoding", () => {
  const redis = makeRedis();

  // The client appends the channel to the URL without percent-encoding it; fetch then encodes
  // spaces and non-ASCII, and "/" stays a path separator. The gateway must recover the name.
  for (const suffix of ["héllo wörld ✓", "a/b/c", "x:y.z-1_2"]) {
    test(`channel ${JSON.stringify(suffix)}`, async () => {
      const channel = `${uniquePrefix("sub")}${suffix}`;
      const sub = redis.subscribe([channel]);
      try {
        assert.equal(await nextEvent(sub, "subscribe", TIMEOUT), 1);
        const msg = nextEvent(sub, "message", TIMEOUT);
        assert.equal(await redis.publish(channel, "hi"), 1);
        assert.deepEqual(await msg, { channel, message: "hi" });
      } finally {
        await sub.unsubscribe();
      }
    });
  }
});

describe("psubscribe", () => {
  for (const { name, opts } of CONFIGS) {
    test(`pattern subscription receives pmessage events [${name}]`, async () => {
      const redis = makeRedis(opts);
      assert.equal(typeof redis.psubscribe, "function", "this client version has psubscribe");
      const p = uniquePrefix("psub");
      const pattern = `${p}news.*`;
      const sub = redis.psubscribe([pattern]);
      try {
        assert.equal(await nextEvent(sub, "psubscribe", TIMEOUT), 1);
        const msgs = collectEvents(sub, "pmessage", 3, TIMEOUT);
        const perPattern = nextEvent(sub, `pmessage:${pattern}`, TIMEOUT);
        // The client JSON.parses pmessage payloads strictly (no raw-string fallback, unlike
        // "message"), so only JSON payloads are published here.
        assert.equal(await redis.publish(`${p}news.sports`, { goal: 1 }), 1);
        assert.equal(await redis.publish(`${p}other`, { ignored: true }), 0);
        assert.equal(await redis.publish(`${p}news.tech`, 42), 1);
        assert.equal(await redis.publish(`${p}news.x`, JSON.stringify("test")), 1);
        assert.deepEqual(await msgs, [
          { pattern, channel: `${p}news.sports`, message: { goal: 1 } },
          { pattern, channel: `${p}news.tech`, message: 42 },
          { pattern, channel: `${p}news.x`, message: "test" },
        ]);
        assert.deepEqual(await perPattern, { pattern, channel: `${p}news.sports`, message: { goal: 1 } });
      } finally {
        await sub.unsubscribe();
      }
    });
  }
});
