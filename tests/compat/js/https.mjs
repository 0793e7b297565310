// @upstash/redis over HTTPS, trusting the gateway's CA through NODE_EXTRA_CA_CERTS (no client option:
// exactly how a user of a private CA would run it). Run by tests/integration/compat.rs, not by `node --test`.
// Prints the SHA-256 fingerprint of the certificate a fresh TLS connection is served, for the harness to
// compare with the file it expects.
import assert from "node:assert/strict";
import tls from "node:tls";
import { Redis } from "@upstash/redis";

const url = process.env.REDISGATE_URL;
const token = process.env.REDISGATE_TOKEN;
assert.ok(url?.startsWith("https://") && token && process.env.NODE_EXTRA_CA_CERTS, "REDISGATE_URL (https), REDISGATE_TOKEN and NODE_EXTRA_CA_CERTS are needed");

const redis = new Redis({ url, token, retry: false });
const key = `rgjs:https:${process.pid}`;
assert.equal(await redis.set(key, "over https"), "OK");
assert.equal(await redis.get(key), "over https");
const [a, b] = await redis.pipeline().incr(`${key}:n`).incr(`${key}:n`).exec();
assert.deepEqual([a, b], [1, 2]);

const { hostname, port } = new URL(url);
const fingerprint = await new Promise((resolve, reject) => {
  const socket = tls.connect({ host: hostname, port: Number(port), servername: "localhost" }, () => {
    resolve(socket.getPeerCertificate().fingerprint256);
    socket.end();
  });
  socket.on("error", reject);
});
console.log(`served ${fingerprint}`);
