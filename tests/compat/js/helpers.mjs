// Shared helpers for the @upstash/redis compatibility suite.
//
// The environment is provided by the Rust test harness (see ../README.md). A missing
// variable is a hard failure: importing this module throws, so every test file fails
// instead of being silently skipped.

import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";

function requireEnv(name) {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `environment variable ${name} is not set: the compat suite needs REDISGATE_URL, ` +
        "REDISGATE_TOKEN, REDISGATE_READONLY_TOKEN, REDISGATE_PREFIXED_URL and REDISGATE_LIMITED_URL",
    );
  }
  return value;
}

export const GATEWAY_URL = requireEnv("REDISGATE_URL");
export const TOKEN = requireEnv("REDISGATE_TOKEN");
export const READONLY_TOKEN = requireEnv("REDISGATE_READONLY_TOKEN");
export const PREFIXED_URL = requireEnv("REDISGATE_PREFIXED_URL");
/** An instance with limits (see limits.test.mjs). */
export const LIMITED_URL = requireEnv("REDISGATE_LIMITED_URL");

/** Whether the gateway serves a Redis Cluster: see uniquePrefix. */
export const CLUSTER = process.env.REDISGATE_CLUSTER === "1";

/**
 * A fresh key prefix, unique per call, so tests never collide (the Redis is shared and never flushed).
 * On a Redis Cluster it is a hash tag, `{rgjs:…}:`, so that a test's keys share one slot, as a cluster's
 * users write multi-key commands and transactions; different tests still land on different masters.
 */
export function uniquePrefix(tag = "t") {
  const id = `rgjs:${tag}:${randomBytes(6).toString("hex")}`;
  return CLUSTER ? `{${id}}:` : `${id}:`;
}

/**
 * Client factory. Retries are disabled so a gateway bug shows up as a failure right away
 * instead of after the client's exponential back-off (retries only apply to network errors).
 */
export function makeRedis(opts = {}) {
  return new Redis({ url: GATEWAY_URL, token: TOKEN, retry: false, ...opts });
}

/** The four transport configurations every basic command is run under. */
export const CONFIGS = [
  { name: "autopipeline=on base64=on", opts: {} },
  { name: "autopipeline=on base64=off", opts: { responseEncoding: false } },
  { name: "autopipeline=off base64=on", opts: { enableAutoPipelining: false } },
  {
    name: "autopipeline=off base64=off",
    opts: { enableAutoPipelining: false, responseEncoding: false },
  },
];

/** Rejects after `ms` with a descriptive error unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  const raced = Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  // Tests often create the waiting promise before triggering the event and await it later:
  // mark it handled so an early rejection is reported by the `await`, not as an unhandled rejection.
  raced.catch(() => {});
  return raced;
}

/**
 * Resolves with the first event `type` emitted by an @upstash/redis Subscriber
 * (optionally the first one satisfying `predicate`), or rejects after `ms`.
 * An "error" event from the subscriber rejects immediately.
 */
export function nextEvent(subscriber, type, ms = 5000, predicate = () => true) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let done = false;
      subscriber.on(type, (data) => {
        if (!done && predicate(data)) {
          done = true;
          resolve(data);
        }
      });
      subscriber.on("error", (err) => {
        if (!done) {
          done = true;
          reject(err);
        }
      });
    }),
    ms,
    `subscriber event "${type}"`,
  );
}

/** Collects the next `n` events of `type` (in arrival order), or rejects after `ms`. */
export function collectEvents(subscriber, type, n, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const got = [];
      let done = false;
      subscriber.on(type, (data) => {
        if (done) return;
        got.push(data);
        if (got.length === n) {
          done = true;
          resolve(got);
        }
      });
      subscriber.on("error", (err) => {
        if (!done) {
          done = true;
          reject(err);
        }
      });
    }),
    ms,
    `${n} subscriber events "${type}"`,
  );
}

/**
 * Polls `check` (async, returns truthy when the condition holds) until it holds or
 * `ms` elapse. Used only where there is no event to await (e.g. the server noticing a
 * client disconnect); the loop is bounded in time.
 */
export async function eventually(check, ms = 5000, what = "condition", intervalMs = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs `fn` and returns the error it throws/rejects with; fails if it does not throw. */
export async function captureError(fn) {
  try {
    const value = await fn();
    throw Object.assign(new Error(`expected an error, got result ${JSON.stringify(value)}`), {
      __noError: true,
    });
  } catch (err) {
    if (err && err.__noError) throw err;
    return err;
  }
}
