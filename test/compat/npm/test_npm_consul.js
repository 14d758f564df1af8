// The npm `consul` client (2.0.1, pinned by package-lock.json) against real Cairn agents, in one of
// two modes. CAIRN_COMPAT_MODE=dev (the default): one `cairn agent -dev`. CAIRN_COMPAT_MODE=cluster:
// three servers (-bootstrap-expect 3) and two client agents joined with -retry-join; the tests talk
// to client agent `compat-npm1` and, where two parties are involved (a blocking read or watch woken by
// another client's write, a contended lock, an event fired elsewhere), the second party talks to
// client agent `compat-npm2`. In dev mode both parties talk to the one agent.
//
// Run by CTest (label `compat`) as `node --test test_npm_consul.js` with $CAIRN_BIN set and
// NODE_PATH naming the node_modules that the `compat_npm_install` fixture filled with `npm ci`.
// Every agent runs on 127.0.0.1 ephemeral ports with its data under one temporary directory of the
// file's, and is stopped by PID at the end (SIGTERM, then SIGKILL), also when a start fails.
//
// Where Cairn differs from Consul's documented behaviour the test asserts Consul's behaviour and is
// marked `{ todo: "..." }` naming the difference (none at the moment).
"use strict";

const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const events = require("node:events");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, afterEach, before, beforeEach, describe, test } = require("node:test");

let Consul;
try {
  Consul = require("consul");
} catch (err) {
  // Never skip silently: without the client this suite checks nothing.
  throw new Error(
    "the npm consul package is not installed (NODE_PATH=" + process.env.NODE_PATH +
      "); the compat_npm_install test runs `npm ci` in the build dir: " + err.message);
}

const MODE = process.env.CAIRN_COMPAT_MODE || "dev";
if (!["dev", "cluster"].includes(MODE)) {
  throw new Error("CAIRN_COMPAT_MODE must be dev or cluster (got " + MODE + ")");
}
const NODE = "compat-npm1"; // the agent the tests talk to
const OTHER_NODE = MODE === "cluster" ? "compat-npm2" : NODE; // the agent a second party talks to
const START_TIMEOUT_MS = 30000;
const SETPRIV = "/usr/bin/setpriv"; // util-linux, essential on Debian

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One real `cairn agent` process, its output in <tmp>/<node>.log; stop() ends it by PID.
class AgentProcess {
  constructor(binary, tmp, node, args, server) {
    this.node = node;
    this.server = server;
    this.logPath = path.join(tmp, node + ".log");
    const log = fs.openSync(this.logPath, "w");
    const all = ["agent", "-node", node, "-bind", "127.0.0.1", "-http-port", "0",
      "-serf-lan-port", "0", "-server-port", "0", ...args];
    // setpriv --pdeathsig: the agent dies with this process even if a timeout SIGKILLs it.
    const [command, ...argv] = fs.existsSync(SETPRIV)
      ? [SETPRIV, "--pdeathsig", "KILL", "--", binary, ...all] : [binary, ...all];
    this.proc = spawn(command, argv,
      { stdio: ["ignore", log, log], env: { ...process.env, TMPDIR: tmp } });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once("exit", resolve));
  }

  log() {
    return fs.readFileSync(this.logPath, "utf8");
  }

  running() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // The first group of `pattern` once it appears in the log.
  async waitForLog(pattern) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const m = pattern.exec(this.log());
      if (m) return m[1];
      if (!this.running()) {
        throw new Error("cairn " + this.node + " exited with " + this.proc.exitCode +
          " before logging " + pattern + ":\n" + this.log());
      }
      await sleep(50);
    }
    throw new Error("cairn " + this.node + " did not log " + pattern + " within " +
      START_TIMEOUT_MS + " ms:\n" + this.log());
  }

  async learnAddresses() {
    this.port = Number(await this.waitForLog(/Started HTTP server on 127\.0\.0\.1:([0-9]+)/));
    this.gossip = await this.waitForLog(/gossip=(\S+)/);
    this.rpc = this.server ? await this.waitForLog(/RPC and Raft on (\S+)/) : undefined;
  }

  client(opts = {}) {
    return new Consul({ host: "127.0.0.1", port: this.port, ...opts });
  }

  async stop() {
    if (this.running()) {
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

// The agents of one mode: client() talks to NODE, otherClient() to OTHER_NODE.
class Deployment {
  async start() {
    const binary = process.env.CAIRN_BIN;
    if (!binary || !fs.existsSync(binary)) {
      throw new Error("CAIRN_BIN must name the cairn binary (got " + binary + ")");
    }
    this.binary = binary;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-compat-npm-"));
    this.agents = [];
    try {
      if (MODE === "cluster") await this.startCluster();
      else await this.launch(NODE, ["-dev", "-dns-port", "0"], true);
      await this.waitUntilReady();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async launch(node, args, server) {
    const agent = new AgentProcess(this.binary, this.tmp, node, args, server);
    this.agents.push(agent);
    await agent.learnAddresses();
    return agent;
  }

  // Three servers and two client agents, joined to the first server.
  async startCluster() {
    const fastRaft = path.join(this.tmp, "fast-raft.json");
    fs.writeFileSync(fastRaft, JSON.stringify({ performance: { raft_multiplier: 1 } }));
    let join;
    for (const node of ["compat-npm-s1", "compat-npm-s2", "compat-npm-s3", NODE, OTHER_NODE]) {
      const server = node.startsWith("compat-npm-s");
      const args = ["-data-dir", path.join(this.tmp, node), "-dns-port", "-1"];
      if (server) args.push("-server", "-bootstrap-expect", "3", "-config-file", fastRaft);
      if (join) args.push("-retry-join", join, "-retry-interval", "200ms");
      const agent = await this.launch(node, args, server);
      join = join || agent.gossip;
    }
  }

  agent(node) {
    return this.agents.find((a) => a.node === node);
  }

  get servers() {
    return this.agents.filter((a) => a.server);
  }

  get nodes() {
    return this.agents.map((a) => a.node).sort();
  }

  client(opts = {}) {
    return this.agent(NODE).client(opts);
  }

  otherClient(opts = {}) {
    return this.agent(OTHER_NODE).client(opts);
  }

  logs() {
    return this.agents.map((a) => "--- " + a.node + "\n" + a.log()).join("\n");
  }

  // Polls probe() (a rejection counts as "not yet") until it is true or the start timeout passes.
  async eventually(what, probe) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        if (await probe()) return;
      } catch {
        // not serving yet: retry until the deadline
      }
      await sleep(50);
    }
    throw new Error("no " + what + " within " + START_TIMEOUT_MS + " ms:\n" + this.logs());
  }

  // Runs fn(consul) with a client of `agent`, destroying the client afterwards.
  static async using(agent, fn) {
    const c = agent.client();
    try {
      return await fn(c);
    } finally {
      c.destroy();
    }
  }

  // Every server names the same leader, every agent knows it, and every agent's node is in the
  // catalog with a passing serfHealth (a session on it needs that).
  async waitUntilReady() {
    const leaderOf = (a) => Deployment.using(a, (c) => c.status.leader());
    await this.eventually("agreed leader", async () => {
      const leaders = new Set(await Promise.all(this.servers.map(leaderOf)));
      return leaders.size === 1 && !leaders.has("");
    });
    await this.eventually("leader known to every agent",
      async () => (await Promise.all(this.agents.map(leaderOf))).every((l) => l !== ""));
    await this.eventually("passing serfHealth on every node", async () => {
      const checks = await Deployment.using(this.agent(NODE), (c) => c.health.state("passing"));
      const serf = new Set(checks.filter((c) => c.CheckID === "serfHealth").map((c) => c.Node));
      return this.nodes.every((n) => serf.has(n));
    });
  }

  async stop() {
    for (const agent of [...(this.agents || [])].reverse()) await agent.stop();
    if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

const agent = new Deployment();
// If the runner ends the file early (a test timeout, an uncaught error), `after` may not run:
// end the agents and remove their directory on the way out all the same.
process.on("exit", () => {
  for (const a of agent.agents || []) if (a.running()) a.proc.kill("SIGKILL");
  if (agent.tmp) fs.rmSync(agent.tmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
let consul, other, set, del;
before(async () => {
  await agent.start();
  process.stderr.write("mode " + MODE + ": " + agent.agents.map((a) =>
    a.node + " (" + (a.server ? "server" : "client") + ", http 127.0.0.1:" + a.port + ")")
    .join(", ") + "\n");
  consul = agent.client();
  other = agent.otherClient();
  set = consul.kv.set.bind(consul.kv);
  del = consul.kv.del.bind(consul.kv);
});
after(async () => {
  if (consul) consul.destroy();
  if (other) other.destroy();
  await agent.stop();
});

// A key or name no other test uses, so tests share one agent without seeing each other.
function unique(prefix) {
  return prefix + "-" + crypto.randomBytes(4).toString("hex");
}

// Options that make a call resolve to [response, data], so a test can read X-Consul-Index.
function withResponse(opts) {
  const ctx = new events.EventEmitter();
  ctx.includeResponse = true;
  return { ...opts, ctx };
}

// A kv set/del's JSON answer as sent. Through the plain call the client 2.0.1 turns `false` into
// `undefined` (papi's `!value && maybeValue`), so a refused cas could not be told from a lost one.
async function answer(method, opts) {
  const [res, body] = await method(withResponse(opts));
  assert.equal(res.statusCode, 200);
  return body;
}

async function indexOf(method, opts) {
  const [res] = await method(withResponse(opts));
  return Consul.parseQueryMeta(res).LastIndex;
}

// Runs the blocking `read` while `write` happens 300 ms later on a client of its own that talks to
// the other agent (cluster mode: the other client agent); returns what `read` returned. A read that
// ignored its index would return before the write, so the caller's check of the new value proves
// that it waited for it.
async function readAcrossAWrite(read, write) {
  const writer = agent.otherClient();
  const delayed = new Promise((resolve) => setTimeout(resolve, 300)).then(() => write(writer));
  try {
    const [result] = await Promise.all([read(), delayed]);
    return result;
  } finally {
    writer.destroy();
  }
}

// Watches `method` with `options` and records each change as `view(data)`. Returns the watch,
// what it saw, its errors, and `changed(n)`, which resolves once n changes were seen. One listener
// from the start: a change may arrive before the write that caused it has resolved.
function watchChanges(method, options, view) {
  const watch = consul.watch({ method, options });
  const seen = [];
  const errors = [];
  const waiters = [];
  watch.on("error", (err) => errors.push(err));
  watch.on("change", (data) => {
    seen.push(view(data));
    for (const w of waiters.filter((w) => seen.length >= w.n)) w.resolve();
  });
  const changed = (n) => new Promise((resolve) => {
    if (seen.length >= n) resolve();
    else waiters.push({ n, resolve });
  });
  return { watch, seen, errors, changed };
}

// Calls `method` (a bound client method) with `opts` as a blocking query, from no index, until
// done(data) or `timeoutMs` passes; returns the last data. For state that reaches an agent
// asynchronously (anti-entropy, gossip, replication to a stale server): no polling loop.
async function blockUntil(method, opts, done, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let [res, data] = await method(withResponse(opts));
  while (!done(data) && Date.now() < deadline) {
    const index = Consul.parseQueryMeta(res).LastIndex;
    [res, data] = await method(withResponse({ ...opts, index, wait: "5s" }));
  }
  return data;
}

// Blocks on read(staleClient) (a bound method) with `opts` against each server's own HTTP API with
// ?stale until done(data); returns the data by server node. A stale read may be served by any
// server and may lag the leader (Consul documents it so), so a test that reads its own write with
// ?stale first waits for the write to reach every server.
async function onEveryServer(read, opts, done = (data) => data !== undefined) {
  const seen = {};
  for (const server of agent.servers) {
    const c = server.client({ defaults: { stale: true } });
    try {
      seen[server.node] = await blockUntil(read(c), opts, done);
    } finally {
      c.destroy();
    }
    assert.ok(done(seen[server.node]), server.node + " never saw " + JSON.stringify(opts));
  }
  return seen;
}

describe("kv", () => {
  test("set then get returns the value and indexes", async () => {
    const key = unique("kv/single");
    assert.equal(await consul.kv.set(key, "hello"), true);
    const [res, item] = await consul.kv.get(withResponse({ key }));
    assert.equal(item.Key, key);
    assert.equal(item.Value, "hello");
    assert.equal(item.Flags, 0);
    assert.equal(item.CreateIndex, item.ModifyIndex);
    assert.match(res.headers["content-type"], /^application\/json/);
    const meta = Consul.parseQueryMeta(res);
    assert.equal(Number(meta.LastIndex), item.ModifyIndex);
    assert.equal(meta.KnownLeader, true);
    assert.equal(typeof meta.LastContact, "number");
  });

  test("keys with a slash travel percent-encoded and are decoded by the server", async () => {
    // node-consul encodes path parameters: this key arrives as /v1/kv/kv%2Fslash-...%2Fa%20b.
    const key = unique("kv/slash") + "/a b";
    assert.equal(await consul.kv.set(key, "encoded"), true);
    assert.equal((await consul.kv.get(key)).Value, "encoded");
    assert.deepEqual(await consul.kv.keys(key.slice(0, key.lastIndexOf("/") + 1)), [key]);
  });

  test("get of a missing key resolves to undefined with an index", async () => {
    const key = unique("kv/missing");
    const [res, item] = await consul.kv.get(withResponse({ key }));
    assert.equal(item, undefined);
    assert.equal(res.statusCode, 404);
    assert.ok(Number(Consul.parseQueryMeta(res).LastIndex) > 0);
  });

  test("recurse, keys and separator", async () => {
    const prefix = unique("kv/tree") + "/";
    for (const suffix of ["b", "a", "d/e"]) await consul.kv.set(prefix + suffix, suffix);
    const items = await consul.kv.get({ key: prefix, recurse: true });
    assert.deepEqual(items.map((i) => [i.Key, i.Value]),
      [[prefix + "a", "a"], [prefix + "b", "b"], [prefix + "d/e", "d/e"]]);
    assert.deepEqual(await consul.kv.keys(prefix), [prefix + "a", prefix + "b", prefix + "d/e"]);
    assert.deepEqual(await consul.kv.keys({ key: prefix, separator: "/" }),
      [prefix + "a", prefix + "b", prefix + "d/"]);
  });

  test("raw get returns the bytes", async () => {
    const key = unique("kv/raw");
    await consul.kv.set(key, "raw-bytes");
    const raw = await consul.kv.get({ key, raw: true });
    assert.ok(Buffer.isBuffer(raw));
    assert.equal(raw.toString(), "raw-bytes");
  });

  test("flags and cas", async () => {
    const key = unique("kv/cas");
    assert.equal(await consul.kv.set({ key, value: "first", cas: 0, flags: 7 }), true);
    assert.equal(await answer(set, { key, value: "again", cas: 0 }), false);
    const item = await consul.kv.get(key);
    assert.equal(item.Flags, 7);
    assert.equal(await answer(set, { key, value: "stale", cas: item.ModifyIndex + 1000 }), false);
    assert.equal(await consul.kv.set({ key, value: "second", cas: item.ModifyIndex }), true);
    assert.equal((await consul.kv.get(key)).Value, "second");
  });

  test("delete with cas and recurse", async () => {
    const prefix = unique("kv/del") + "/";
    await consul.kv.set(prefix + "a", "1");
    await consul.kv.set(prefix + "b/c", "2");
    const item = await consul.kv.get(prefix + "a");
    assert.equal(await answer(del, { key: prefix + "a", cas: item.ModifyIndex + 1000 }), false);
    assert.equal(await consul.kv.del({ key: prefix + "a", cas: item.ModifyIndex }), true);
    assert.equal(await consul.kv.del({ key: prefix, recurse: true }), true);
    assert.equal(await consul.kv.get({ key: prefix, recurse: true }), undefined);
  });

  test("blocking get returns after a write from another client", async () => {
    const key = unique("kv/block");
    await consul.kv.set(key, "before");
    const index = await indexOf(consul.kv.get.bind(consul.kv), { key });
    const item = await readAcrossAWrite(
      () => consul.kv.get({ key, index, wait: "20s" }),
      (c) => c.kv.set(key, "after"));
    assert.equal(item.Value, "after");
    assert.ok(item.ModifyIndex > Number(index));
  });

  test("a bad flags value is an error whose message names the parameter", async () => {
    await assert.rejects(consul.kv.set({ key: unique("kv/badflags"), value: "v", flags: "x" }),
      (err) => {
        assert.equal(err.response.statusCode, 400);
        assert.match(err.message, /flags/);
        return true;
      });
  });
});

describe("txn", () => {
  const b64 = (text) => Buffer.from(text).toString("base64");

  test("a transaction sets keys atomically and returns their entries without values", async () => {
    const a = unique("txn/a"), b = unique("txn/b");
    const res = await consul.transaction.create([
      { KV: { Verb: "set", Key: a, Value: b64("one") } },
      { KV: { Verb: "set", Key: b, Value: b64("two"), Flags: 5 } },
      { KV: { Verb: "get", Key: a } },
    ]);
    assert.equal(res.Errors, null);
    assert.equal(res.Results.length, 3);
    assert.equal(res.Results[0].KV.Key, a);
    assert.equal(res.Results[0].KV.Value, null);
    assert.equal(res.Results[1].KV.Flags, 5);
    assert.equal(res.Results[2].KV.Value, b64("one"));
    assert.equal(res.Results[0].KV.ModifyIndex, res.Results[1].KV.ModifyIndex);
    assert.equal((await consul.kv.get(b)).Value, "two");
  });

  test("a failing op rolls the whole transaction back with 409 and Consul's errors", async () => {
    const kept = unique("txn/kept"), fresh = unique("txn/fresh");
    await consul.kv.set(kept, "old");
    await assert.rejects(
      consul.transaction.create([
        { KV: { Verb: "set", Key: kept, Value: b64("new") } },
        { KV: { Verb: "set", Key: fresh, Value: b64("x") } },
        { KV: { Verb: "check-index", Key: kept, Index: 1 } },
      ]),
      (err) => {
        assert.equal(err.response.statusCode, 409);
        assert.equal(err.response.body.Results, null);
        assert.equal(err.response.body.Errors.length, 1);
        assert.equal(err.response.body.Errors[0].OpIndex, 2);
        assert.match(err.response.body.Errors[0].What, /^failed index check for key/);
        return true;
      });
    assert.equal((await consul.kv.get(kept)).Value, "old");
    assert.equal(await consul.kv.get(fresh), undefined);
  });

  test("a read-only transaction honours ?stale and reports KnownLeader", async () => {
    const key = unique("txn/read");
    await consul.kv.set(key, "v");
    await onEveryServer((c) => c.kv.get.bind(c.kv), { key });
    const [res, body] = await consul.transaction.create(
      [{ KV: { Verb: "get", Key: key } }, { KV: { Verb: "check-not-exists", Key: key + "-no" } }],
      withResponse({ stale: true }));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["x-consul-knownleader"], "true");
    assert.equal(body.Results.length, 1);
    assert.equal(body.Results[0].KV.Value, b64("v"));
  });

  test("catalog ops register a node and service in one transaction", async () => {
    const node = unique("txn-node");
    const res = await consul.transaction.create([
      { Node: { Verb: "set", Node: { Node: node, Address: "10.9.9.9" } } },
      { Service: { Verb: "set", Node: node, Service: { ID: "web1", Service: "txnweb", Port: 8080 } } },
    ]);
    assert.equal(res.Results[0].Node.Node, node);
    assert.equal(res.Results[1].Service.Port, 8080);
    const nodes = await consul.catalog.service.nodes("txnweb");
    assert.ok(nodes.some((n) => n.Node === node));
  });

  test("more than 64 ops are refused with 413", async () => {
    const ops = [];
    for (let i = 0; i < 65; i++) ops.push({ KV: { Verb: "get", Key: "k" + i } });
    await assert.rejects(consul.transaction.create(ops), (err) => {
      assert.equal(err.response.statusCode, 413);
      return true;
    });
  });
});

describe("watch", () => {
  test("a kv watch emits the current value, then each change", async () => {
    const key = unique("watch/key");
    await consul.kv.set(key, "v1");
    const { watch, seen, errors, changed } = watchChanges(
      consul.kv.get, { key, wait: "20s" }, (data) => data && data.Value);
    try {
      await changed(1);
      await other.kv.set(key, "v2"); // through the other agent
      await changed(2);
      assert.deepEqual(seen, ["v1", "v2"]);
      assert.deepEqual(errors, []);
    } finally {
      watch.end();
    }
  });
});

describe("session and locks", () => {
  test("create with ttl, behavior and lock delay, then info, list, node, renew, destroy", async () => {
    const name = unique("sess");
    const { ID: id } = await consul.session.create(
      { name, ttl: "15s", behavior: "delete", lockdelay: "3s" });
    try {
      const info = await consul.session.info(id);
      assert.equal(info.ID, id);
      assert.equal(info.Name, name);
      assert.equal(info.Node, NODE);
      assert.equal(info.Behavior, "delete");
      assert.equal(info.TTL, "15s");
      assert.equal(info.LockDelay, 3e9);
      assert.ok((await consul.session.list()).some((s) => s.ID === id));
      assert.ok((await consul.session.node(NODE)).some((s) => s.ID === id));
      const [renewed] = await consul.session.renew(id);
      assert.equal(renewed.ID, id);
    } finally {
      await consul.session.destroy(id);
    }
    assert.equal(await consul.session.info(id), undefined);
  });

  test("renew of an unknown session is a 404 error", async () => {
    await assert.rejects(consul.session.renew(crypto.randomUUID()), (err) => {
      assert.equal(err.response.statusCode, 404);
      return true;
    });
  });

  test("a TTL under 10s is a 400 error naming the TTL", async () => {
    await assert.rejects(consul.session.create({ ttl: "5s" }), (err) => {
      assert.equal(err.response.statusCode, 400);
      assert.match(err.message, /TTL/);
      return true;
    });
  });

  test("acquire and release", async () => {
    const key = unique("lock/key");
    const { ID: holder } = await consul.session.create({ lockdelay: "0s" });
    const { ID: other } = await consul.session.create({ lockdelay: "0s" });
    try {
      assert.equal(await consul.kv.set({ key, value: "l1", acquire: holder }), true);
      assert.equal(await answer(set, { key, value: "l2", acquire: other }), false);
      const item = await consul.kv.get(key);
      assert.equal(item.Session, holder);
      assert.equal(item.LockIndex, 1);
      assert.equal(await consul.kv.set({ key, value: "free", release: holder }), true);
      assert.equal((await consul.kv.get(key)).Session, undefined);
      assert.equal(await consul.kv.set({ key, value: "l2", acquire: other }), true);
    } finally {
      await consul.session.destroy(holder);
      await consul.session.destroy(other);
    }
  });

  test("acquire with an unknown session is an error naming the session", async () => {
    const bogus = crypto.randomUUID();
    await assert.rejects(consul.kv.set({ key: unique("lock/bogus"), value: "v", acquire: bogus }),
      (err) => {
        // Consul: 500; Cairn: 400 (docs/compatibility.md). Both reject with the text.
        assert.ok(err.response.statusCode >= 400);
        assert.match(err.message, /invalid session/i);
        return true;
      });
  });
});

describe("catalog and health", () => {
  const service = unique("web");
  const node1 = unique("ext1");
  const node2 = unique("ext2");
  before(async () => {
    await consul.catalog.register({
      node: node1, address: "10.1.2.3",
      service: { service, id: "web1", tags: ["v1", "primary"], port: 8080, meta: { v: "1" } },
      check: { checkid: "service:web1", name: "web1 alive", status: "passing", serviceid: "web1" },
    });
    await consul.catalog.register({
      node: node2, address: "10.1.2.4",
      service: { service, id: "web2", tags: ["v2"], port: 8081 },
      check: { checkid: "service:web2", name: "web2 alive", status: "critical", serviceid: "web2" },
    });
  });
  after(async () => {
    await consul.catalog.deregister(node1);
    await consul.catalog.deregister(node2);
  });

  test("nodes, services, service with tag, node", async () => {
    const nodes = await consul.catalog.nodes();
    assert.deepEqual(nodes.filter((n) => n.Node === node1).map((n) => n.Address), ["10.1.2.3"]);
    const services = await consul.catalog.services();
    assert.deepEqual([...services[service]].sort(), ["primary", "v1", "v2"]);
    const instances = await consul.catalog.service.nodes(service);
    assert.deepEqual(instances.map((i) => i.ServiceID).sort(), ["web1", "web2"]);
    const web1 = instances.find((i) => i.ServiceID === "web1");
    assert.equal(web1.ServicePort, 8080);
    assert.deepEqual(web1.ServiceMeta, { v: "1" });
    const tagged = await consul.catalog.service.nodes({ service, tag: "v2" });
    assert.deepEqual(tagged.map((i) => i.ServiceID), ["web2"]);
    const node = await consul.catalog.node.services(node1);
    assert.equal(node.Node.Address, "10.1.2.3");
    assert.deepEqual(Object.keys(node.Services), ["web1"]);
    assert.deepEqual(await consul.catalog.datacenters(), ["dc1"]);
  });

  test("health service, checks, state and node", async () => {
    const all = await consul.health.service(service);
    assert.deepEqual(all.map((e) => e.Service.ID).sort(), ["web1", "web2"]);
    const passing = await consul.health.service({ service, passing: true });
    assert.deepEqual(passing.map((e) => e.Service.ID), ["web1"]);
    const checks = await consul.health.checks(service);
    assert.deepEqual(checks.map((c) => [c.CheckID, c.Status]).sort(),
      [["service:web1", "passing"], ["service:web2", "critical"]]);
    const critical = await consul.health.state("critical");
    assert.ok(critical.some((c) => c.Node === node2 && c.CheckID === "service:web2"));
    assert.ok(!critical.some((c) => c.Node === node1));
    const onNode = await consul.health.node(node1);
    assert.deepEqual(onNode.map((c) => c.CheckID), ["service:web1"]);
  });

  test("a health.service watch sees an instance turn passing", async () => {
    const { watch, seen, errors, changed } = watchChanges(
      consul.health.service, { service, passing: true, wait: "20s" },
      (data) => data.map((e) => e.Service.ID).sort());
    try {
      await changed(1);
      await other.catalog.register({ // through the other agent
        node: node2, address: "10.1.2.4",
        check: { checkid: "service:web2", name: "web2 alive", status: "passing", serviceid: "web2" },
      });
      await changed(2);
      assert.deepEqual(seen, [["web1"], ["web1", "web2"]]);
      assert.deepEqual(errors, []);
    } finally {
      watch.end();
    }
  });

  test("deregister a service", async () => {
    await consul.catalog.deregister({ node: node2, serviceid: "web2" });
    const instances = await consul.catalog.service.nodes(service);
    assert.deepEqual(instances.map((i) => i.ServiceID), ["web1"]);
  });
});

describe("agent services and checks", () => {
  // The agent's own state (in cluster mode a client agent's); deregistered after each test.
  let id;
  const register = () => consul.agent.service.register({
    name: "local-web", id, address: "10.0.0.5", port: 80, tags: ["a", "b"], check: { ttl: "30s" },
  });
  const checkOf = async (checkId) => (await consul.agent.check.list())[checkId];
  beforeEach(() => {
    id = unique("local");
  });
  afterEach(async () => {
    // Consul answers 404 for a service the test did not register (or already removed).
    await consul.agent.service.deregister(id).catch((err) => {
      if (!err.response || err.response.statusCode !== 404) throw err;
    });
  });

  test("a registered service and its ttl check are listed by the agent", async () => {
    await register();
    const service = (await consul.agent.service.list())[id];
    assert.deepEqual([service.ID, service.Service, service.Address, service.Port, service.Tags],
      [id, "local-web", "10.0.0.5", 80, ["a", "b"]]);
    const check = await checkOf("service:" + id);
    // A TTL check starts critical until its first update, as in Consul.
    assert.deepEqual([check.Node, check.Status, check.ServiceID, check.ServiceName],
      [NODE, "critical", id, "local-web"]);
  });

  test("pass, warn and fail set the status and output", async () => {
    await register();
    for (const [update, status] of [["pass", "passing"], ["warn", "warning"], ["fail", "critical"]]) {
      await consul.agent.check[update]({ id: "service:" + id, note: "note " + status });
      const check = await checkOf("service:" + id);
      assert.deepEqual([check.Status, check.Output], [status, "note " + status]);
    }
  });

  test("a pass of an unknown check is a 404 error", async () => {
    await assert.rejects(consul.agent.check.pass(unique("absent")), (err) => {
      assert.equal(err.response.statusCode, 404);
      return true;
    });
  });

  test("a standalone check is registered and deregistered", async () => {
    const checkId = unique("mem");
    await consul.agent.check.register({ name: "memory", id: checkId, ttl: "10s", notes: "watch" });
    try {
      const check = await checkOf(checkId);
      assert.deepEqual([check.Name, check.Notes, check.Status, check.ServiceID],
        ["memory", "watch", "critical", ""]);
    } finally {
      await consul.agent.check.deregister(checkId);
    }
    assert.equal(await checkOf(checkId), undefined);
  });

  test("service and node maintenance add and remove a critical check", async () => {
    await register();
    const serviceMaintenance = "_service_maintenance:" + id;
    await consul.agent.service.maintenance({ id, enable: true, reason: "upgrading" });
    const check = await checkOf(serviceMaintenance);
    assert.deepEqual([check.Status, check.Notes, check.ServiceID], ["critical", "upgrading", id]);
    await consul.agent.service.maintenance({ id, enable: false });
    assert.equal(await checkOf(serviceMaintenance), undefined);
    await consul.agent.maintenance({ enable: true, reason: "node work" });
    try {
      const node = await checkOf("_node_maintenance");
      assert.deepEqual([node.Status, node.Notes], ["critical", "node work"]);
    } finally {
      await consul.agent.maintenance(false);
    }
    assert.equal(await checkOf("_node_maintenance"), undefined);
  });

  test("deregister removes the service and its checks", async () => {
    await register();
    await consul.agent.service.deregister(id);
    assert.ok(!(id in (await consul.agent.service.list())));
    assert.equal(await checkOf("service:" + id), undefined);
  });
});

describe("status, agent, events, consistency", () => {
  test("leader is one of the peers, which are the servers", async () => {
    const leader = await consul.status.leader();
    assert.match(leader, /^127\.0\.0\.1:[0-9]+$/);
    const peers = await consul.status.peers();
    assert.deepEqual([...peers].sort(), agent.servers.map((s) => s.rpc).sort());
    assert.ok(peers.includes(leader));
  });

  test("join and force-leave (PUT) report errors", async () => {
    await assert.rejects(consul.agent.join("127.0.0.1:1"), /join/);
    await assert.rejects(consul.agent.forceLeave(unique("nobody")), /No node found/);
  });

  test("agent self and members", async () => {
    const self = await consul.agent.self();
    assert.equal(self.Config.NodeName, NODE);
    assert.equal(self.Config.Datacenter, "dc1");
    assert.equal(self.Config.Server, agent.agent(NODE).server);
    const members = await consul.agent.members();
    assert.deepEqual(members.map((m) => [m.Name, m.Status]).sort(),
      agent.nodes.map((n) => [n, 1]));
    assert.deepEqual(Object.fromEntries(members.map((m) => [m.Name, m.Tags.role])),
      Object.fromEntries(agent.agents.map((a) => [a.node, a.server ? "consul" : "node"])));
  });

  test("event fire then list", async () => {
    const name = unique("deploy");
    const fired = await consul.event.fire(name, "payload-1");
    assert.equal(fired.Name, name);
    const listed = await consul.event.list({ name });
    assert.deepEqual(listed.map((e) => [e.ID, e.Payload]), [[fired.ID, "payload-1"]]);
  });

  for (const mode of ["consistent", "stale"]) {
    test(mode + " reads, per call and as client defaults", async () => {
      const key = unique("consistency/" + mode);
      await consul.kv.set(key, "v");
      await onEveryServer((c) => c.kv.get.bind(c.kv), { key });
      assert.equal((await consul.kv.get({ key, [mode]: true })).Value, "v");
      const defaulted = agent.client({ defaults: { [mode]: true } });
      try {
        assert.equal((await defaulted.kv.get(key)).Value, "v");
        assert.ok((await defaulted.catalog.nodes()).some((n) => n.Node === NODE));
        assert.ok(Array.isArray(await defaulted.session.list()));
      } finally {
        defaulted.destroy();
      }
    });
  }
});

// Two parties on two agents: `consul` talks to client agent NODE and `other` to client agent
// OTHER_NODE (in dev mode both talk to the one agent); the servers' own HTTP APIs are read too.
describe("two agents", () => {
  const withClient = (a, opts, fn) => {
    const c = a.client(opts);
    return fn(c).finally(() => c.destroy());
  };

  test("every agent answers reads with a known leader in every consistency mode", async () => {
    const key = unique("two/leader");
    await consul.kv.set(key, "v");
    await onEveryServer((c) => c.kv.get.bind(c.kv), { key });
    for (const a of agent.agents) {
      for (const mode of [{}, { stale: true }, { consistent: true }]) {
        const [res, item] = await withClient(a, {}, (c) => c.kv.get(withResponse({ key, ...mode })));
        const where = a.node + " " + JSON.stringify(mode);
        assert.equal(item.Value, "v", where);
        const meta = Consul.parseQueryMeta(res);
        assert.equal(meta.KnownLeader, true, where);
        assert.equal(Number(meta.LastIndex), item.ModifyIndex, where);
        assert.equal(typeof meta.LastContact, "number", where);
      }
    }
  });

  test("a write through one agent is read consistent through the other", async () => {
    const key = unique("two/consistent");
    await consul.kv.set(key, "written-on-one");
    assert.equal((await other.kv.get({ key, consistent: true })).Value, "written-on-one");
    assert.equal((await other.kv.get(key)).Value, "written-on-one");
    const res = await other.transaction.create(
      [{ KV: { Verb: "set", Key: key, Value: Buffer.from("txn-on-two").toString("base64") } }]);
    assert.equal(res.Errors, null);
    assert.equal((await consul.kv.get({ key, consistent: true })).Value, "txn-on-two");
  });

  test("a write through a client agent reaches every server for stale reads", async () => {
    const key = unique("two/stale");
    await consul.kv.set(key, "replicated");
    const { ModifyIndex: modify } = await consul.kv.get(key);
    const seen = await onEveryServer((c) => c.kv.get.bind(c.kv), { key });
    assert.deepEqual(
      Object.fromEntries(Object.entries(seen).map(([n, item]) => [n, [item.Value, item.ModifyIndex]])),
      Object.fromEntries(agent.servers.map((s) => [s.node, ["replicated", modify]])));
  });

  test("blocking reads in every consistency mode wake on a write through the other agent",
    async () => {
      for (const mode of [{}, { stale: true }, { consistent: true }]) {
        const key = unique("two/block");
        await consul.kv.set(key, "before");
        await onEveryServer((c) => c.kv.get.bind(c.kv), { key });
        const index = await indexOf(other.kv.get.bind(other.kv), { key, ...mode });
        const release = sleep(300).then(() => consul.kv.set(key, "after"));
        const [item] = await Promise.all([other.kv.get({ key, index, wait: "20s", ...mode }),
          release]);
        assert.equal(item.Value, "after", JSON.stringify(mode));
        assert.ok(item.ModifyIndex > Number(index), JSON.stringify(mode));
      }
    });

  test("the catalog lists every agent node with a passing serfHealth", async () => {
    for (const node of [...new Set([NODE, OTHER_NODE])]) {
      for (const mode of ["default", "consistent", "stale"]) {
        const defaults = mode === "default" ? {} : { [mode]: true };
        await withClient(agent.agent(node), { defaults }, async (c) => {
          const where = node + " " + mode;
          const nodes = (await c.catalog.nodes()).map((n) => n.Node);
          assert.ok(agent.nodes.every((n) => nodes.includes(n)), where + ": " + nodes);
          const serf = (await c.health.state("passing"))
            .filter((check) => check.CheckID === "serfHealth").map((check) => check.Node);
          assert.ok(agent.nodes.every((n) => serf.includes(n)), where + ": " + serf);
          const servers = (await c.catalog.service.nodes("consul")).map((i) => i.Node).sort();
          assert.deepEqual(servers, agent.servers.map((s) => s.node).sort(), where);
        });
      }
    }
  });

  test("an agent service registered on one agent is seen through the other", async () => {
    const name = unique("agentsvc");
    const checkId = "service:" + name;
    await consul.agent.service.register(
      { name, id: name, port: 9090, tags: ["blue"], check: { ttl: "30s" } });
    try {
      assert.ok(name in (await consul.agent.service.list()));
      if (OTHER_NODE !== NODE) assert.ok(!(name in (await other.agent.service.list())));
      // Anti-entropy carries the registration to the catalog; read it through the other agent.
      const instances = await blockUntil(other.catalog.service.nodes.bind(other.catalog.service),
        { service: name }, (list) => list.length === 1);
      assert.deepEqual(instances.map((i) => [i.Node, i.ServiceID, i.ServicePort, i.ServiceTags]),
        [[NODE, name, 9090, ["blue"]]]);
      const entries = await other.health.service(name);
      assert.deepEqual(entries.map((e) => [e.Node.Node, e.Service.ID]), [[NODE, name]]);
      assert.deepEqual(entries[0].Checks.map((c) => [c.CheckID, c.Status]).sort(),
        [["serfHealth", "passing"], [checkId, "critical"]]);
      // Passing the TTL check on its agent turns the instance healthy for the other agent.
      await consul.agent.check.pass({ id: checkId, note: "all good" });
      const passing = await blockUntil(other.health.service.bind(other.health),
        { service: name, passing: true }, (list) => list.length === 1);
      assert.deepEqual(passing.map((e) => e.Service.ID), [name]);
      const check = passing[0].Checks.find((c) => c.CheckID === checkId);
      assert.deepEqual([check.Status, check.Output], ["passing", "all good"]);
    } finally {
      await consul.agent.service.deregister(name);
    }
    const gone = await blockUntil(other.catalog.service.nodes.bind(other.catalog.service),
      { service: name }, (list) => list.length === 0);
    assert.deepEqual(gone, []);
  });

  test("sessions are bound to the node of the agent that made them", async () => {
    const { ID: mine } = await consul.session.create({ name: unique("mine") });
    const { ID: theirs } = await other.session.create({ name: unique("theirs") });
    try {
      assert.equal((await consul.session.info(mine)).Node, NODE);
      assert.equal((await consul.session.info(theirs)).Node, OTHER_NODE);
      assert.ok((await consul.session.node(OTHER_NODE)).some((s) => s.ID === theirs));
      assert.ok((await other.session.node(NODE)).some((s) => s.ID === mine));
    } finally {
      await consul.session.destroy(mine);
      await other.session.destroy(theirs);
    }
  });

  test("a session made through one agent is renewed and destroyed through the other", async () => {
    const { ID: id } = await consul.session.create({ ttl: "30s" });
    try {
      const [renewed] = await other.session.renew(id);
      assert.deepEqual([renewed.ID, renewed.Node, renewed.TTL], [id, NODE, "30s"]);
    } finally {
      await other.session.destroy(id);
    }
    assert.equal(await consul.session.info({ id, consistent: true }), undefined);
  });

  test("a lock held through one agent is contended through the other", async () => {
    const key = unique("two/lock");
    const { ID: holder } = await consul.session.create({ lockdelay: "0s" });
    const { ID: contender } = await other.session.create({ lockdelay: "0s" });
    const otherSet = other.kv.set.bind(other.kv);
    try {
      assert.equal(await consul.kv.set({ key, value: "held", acquire: holder }), true);
      assert.equal(await answer(otherSet, { key, value: "mine?", acquire: contender }), false);
      const [res, item] = await other.kv.get(withResponse({ key }));
      assert.deepEqual([item.Session, item.Value], [holder, "held"]);
      // The contender waits on the key (as a lock loop does) and sees the release made through
      // the first agent.
      const index = Consul.parseQueryMeta(res).LastIndex;
      const release = sleep(300).then(() => consul.kv.set({ key, value: "free", release: holder }));
      const [freed] = await Promise.all([other.kv.get({ key, index, wait: "20s" }), release]);
      assert.ok(freed.ModifyIndex > Number(index));
      assert.equal(freed.Session, undefined);
      assert.equal(await other.kv.set({ key, value: "taken", acquire: contender }), true);
      const taken = await consul.kv.get(key);
      assert.deepEqual([taken.Session, taken.LockIndex, taken.Value], [contender, 2, "taken"]);
    } finally {
      await consul.session.destroy(holder);
      await other.session.destroy(contender);
    }
  });

  test("an event fired on one agent is seen on the other", async () => {
    const name = unique("two-event");
    const fired = await consul.event.fire(name, "from-one");
    // Events travel by gossip: block on the other agent's list until it arrives.
    await blockUntil(other.event.list.bind(other.event), { name }, (list) => list.length > 0);
    // Listed again without the response: only then does the client decode the payload.
    const listed = await other.event.list({ name });
    assert.deepEqual(listed.map((e) => [e.ID, e.Payload]), [[fired.ID, "from-one"]]);
  });
});
