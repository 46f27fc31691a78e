// The client against a real gossip-node: the happy path, a node that is down, a node that
// stalls (through a proxy), and an event stream that resumes after its connection is cut.
// Run: tsc -p clients/typescript && node --test clients/typescript/test/
// GOSSIP_NODE_BIN names the binary (default: .build/debug/gossip-node of this checkout).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { GossipClient, ChainedMemoryStore, LocalMemoryStore } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.GOSSIP_NODE_BIN ?? join(here, "..", "..", "..", ".build", "debug", "gossip-node");
const host = "127.0.0.51";
const port = 30000 + 2 * Math.floor(Math.random() * 4000);
const apiUrl = `http://${host}:${port + 1}`;
let node;
let author;

/** Resolves once `check` holds, polling every 20 ms; rejects after `ms`. */
async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  const data = mkdtempSync(join(tmpdir(), "gossip-ts-"));
  author = execFileSync(binary, ["init", "--data", data], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  node = spawn(binary, ["run", "--data", data, "--bind", `${host}:${port}`, "--api", `${host}:${port + 1}`, "--profile", "fast",
    "--restore-grace", "0", "--discover", "off", "--host-name", "ts-test", "--log-level", "warning"], { stdio: "ignore" });
  await until(async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.status === 200, 30_000, "the node to be ready");
});

after(() => node?.kill("SIGTERM"));

/** A TCP proxy to the node's API that can pass, stall (accept and never answer), refuse, and cut. */
function proxy() {
  const sockets = new Set();
  const state = { mode: "pass" };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (state.mode === "refuse") return client.destroy();
    if (state.mode === "stall") return;
    const upstream = net.connect(port + 1, host);
    sockets.add(upstream);
    upstream.on("close", () => { sockets.delete(upstream); client.destroy(); });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    set mode(m) { state.mode = m; },
    cut() { for (const s of sockets) s.destroy(); },
    close() { this.cut(); server.close(); },
  })));
}

test("happy path: writes, recall with provenance, a key of any characters, breakers, benchmarks, status", async () => {
  const c = new GossipClient({ baseUrl: apiUrl });
  const key = "a/b c%🦊";
  const w = await c.remember({ category: "outage", content: "Provider X drops requests at 03:00 UTC", key, tags: ["provider-x"] });
  assert.ok(w && !w.pending && w.id.length === 64, `write answered ${JSON.stringify(w)}`);
  const found = await c.recall({ q: "provider drops" });
  assert.equal(found[0]?.content, "Provider X drops requests at 03:00 UTC");
  assert.equal(found[0].author, author);
  assert.equal(found[0].host, "ts-test");
  assert.equal(found[0].trusted, true);
  const one = await c.memory(author, key);
  assert.equal(one?.key, key);
  assert.ok(await c.openBreaker("kimi", "k2", 3_600_000, "503s"));
  const b = (await c.breakers({ provider: "kimi" }))[0];
  assert.equal(b?.state, "open");
  assert.ok(await c.recordBenchmark({ provider: "kimi", model: "k2", metric: "latency_ms", value: 840 }));
  const bench = (await c.benchmarks({ provider: "kimi" }))[0];
  assert.deepEqual(bench?.authors, [author]);
  assert.equal(bench.newest_author, author);
  assert.equal(bench.trusted, true);
  assert.equal((await c.status())?.author, author);
  assert.ok(await c.forget(key));
  assert.equal(await c.memory(author, key), undefined);
});

test("node down: recall is [], writes are undefined, nothing throws, and it is quick", async () => {
  const errors = [];
  const c = new GossipClient({ baseUrl: "http://127.0.0.1:9", onError: (op) => errors.push(op) });
  const t0 = Date.now();
  assert.deepEqual(await c.recall({ q: "anything" }), []);
  assert.equal(await c.remember({ category: "c", content: "lost" }), undefined);
  assert.deepEqual(await c.breakers(), []);
  assert.equal(await c.status(), undefined);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  assert.deepEqual(errors, ["recall", "remember", "breakers", "status"]);
});

test("node slow: a stalled node costs a recall its 150 ms timeout, not more", async () => {
  const p = await proxy();
  p.mode = "stall";
  try {
    const c = new GossipClient({ baseUrl: p.url });
    let t0 = Date.now();
    assert.deepEqual(await c.recall({ q: "x" }), []);
    const recallMs = Date.now() - t0;
    assert.ok(recallMs >= 140 && recallMs < 1000, `recall took ${recallMs} ms`);
    t0 = Date.now();
    assert.equal(await c.remember({ category: "c", content: "slow" }), undefined);
    assert.ok(Date.now() - t0 < 1500, `remember took ${Date.now() - t0} ms`);
  } finally {
    p.close();
  }
});

test("event stream: resumes after a cut from its last event id, nothing lost, nothing twice", async () => {
  const direct = new GossipClient({ baseUrl: apiUrl, writeTimeoutMs: 5000 });
  const p = await proxy();
  const seen = [];
  const c = new GossipClient({ baseUrl: p.url });
  const sub = c.subscribe((e) => seen.push(e.entry.id), { kinds: ["memory"], reconnectDelayMs: 100 });
  try {
    // The stream starts at the log's end when it opens: write until one of the writes reaches it
    // (an event follows its write's answer, it need not come before it).
    const warm = [];
    await until(async () => {
      warm.push((await direct.remember({ category: "sse", content: "warm-up" })).id);
      return warm.some((id) => seen.includes(id));
    }, 10_000, "the stream to open");
    const before = [(await direct.remember({ category: "sse", content: "before the cut" })).id];
    await until(() => seen.includes(before[0]), 10_000, "the second event");
    p.mode = "refuse";
    p.cut();
    const during = [];
    for (let i = 0; i < 3; i++) during.push((await direct.remember({ category: "sse", content: `while cut ${i}` })).id);
    p.mode = "pass";
    await until(() => during.every((id) => seen.includes(id)), 10_000, "the events written while cut");
    assert.deepEqual(seen.filter((id) => !warm.includes(id)), [...before, ...during]);
    assert.ok(sub.lastEventId);
  } finally {
    sub.close();
    p.close();
  }
});

test("memory-store chain: remote first, local when the node is away", async () => {
  const local = new LocalMemoryStore();
  const away = new ChainedMemoryStore(new GossipClient({ baseUrl: "http://127.0.0.1:9" }), local);
  await away.remember({ category: "lesson", content: "kept locally while the node is away" });
  const fallback = await away.recall("locally");
  assert.equal(fallback[0]?.source, "local");
  const chain = new ChainedMemoryStore(new GossipClient({ baseUrl: apiUrl, writeTimeoutMs: 5000 }));
  await chain.remember({ category: "lesson", content: "shared through the gossip node", key: "chain-1" });
  await until(async () => (await chain.recall("shared gossip")).length > 0, 5000, "the remote memory");
  const remote = await chain.recall("shared gossip");
  assert.equal(remote[0].source, "remote");
  assert.equal(remote[0].author, author);
});
