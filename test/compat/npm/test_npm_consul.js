// The npm `consul` client (2.0.1, pinned by package-lock.json) against a real `cairn agent -dev`.
//
// Run by CTest (label `compat`) as `node --test test_npm_consul.js` with $CAIRN_BIN set and
// NODE_PATH naming the node_modules that the `compat_npm_install` fixture filled with `npm ci`.
// One agent serves the whole file: 127.0.0.1 ephemeral ports, its own TMPDIR (so its -dev data
// directory is ours to remove), stopped by PID at the end (SIGTERM, then SIGKILL).
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
const { after, before, describe, test } = require("node:test");

let Consul;
try {
  Consul = require("consul");
} catch (err) {
  // Never skip silently: without the client this suite checks nothing.
  throw new Error(
    "the npm consul package is not installed (NODE_PATH=" + process.env.NODE_PATH +
      "); the compat_npm_install test runs `npm ci` in the build dir: " + err.message);
}

const NODE = "compat-npm1";
const START_TIMEOUT_MS = 20000;
const SETPRIV = "/usr/bin/setpriv"; // util-linux, essential on Debian

// A real `cairn agent -dev` process; stop() ends it by PID.
class Agent {
  async start() {
    const binary = process.env.CAIRN_BIN;
    if (!binary || !fs.existsSync(binary)) {
      throw new Error("CAIRN_BIN must name the cairn binary (got " + binary + ")");
    }
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cairn-compat-npm-"));
    this.logPath = path.join(this.tmp, "agent.log");
    const log = fs.openSync(this.logPath, "w");
    const args = ["agent", "-dev", "-node", NODE, "-http-port", "0", "-serf-lan-port", "0",
      "-server-port", "0", "-dns-port", "0"];
    // setpriv --pdeathsig: the agent dies with this process even if a timeout SIGKILLs it.
    const [command, ...argv] = fs.existsSync(SETPRIV)
      ? [SETPRIV, "--pdeathsig", "KILL", "--", binary, ...args] : [binary, ...args];
    this.proc = spawn(command, argv,
      { stdio: ["ignore", log, log], env: { ...process.env, TMPDIR: this.tmp } });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once("exit", resolve));
    try {
      this.port = await this.waitFor(() => {
        const m = /Started HTTP server on 127\.0\.0\.1:([0-9]+)/.exec(this.log());
        return m && Number(m[1]);
      }, "its HTTP address");
      const consul = this.client();
      await this.waitFor(async () => {
        try {
          return (await consul.status.leader()) !== "";
        } catch {
          return false; // not serving yet: retry until the deadline
        }
      }, "a leader");
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  log() {
    return fs.readFileSync(this.logPath, "utf8");
  }

  async waitFor(probe, what) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        throw new Error("cairn exited with " + this.proc.exitCode + " before " + what + ":\n" +
          this.log());
      }
      const value = await probe();
      if (value) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("cairn did not show " + what + " within " + START_TIMEOUT_MS + " ms:\n" +
      this.log());
  }

  client(opts = {}) {
    return new Consul({ host: "127.0.0.1", port: this.port, ...opts });
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

const agent = new Agent();
// If the runner ends the file early (a test timeout, an uncaught error), `after` may not run:
// end the agent and remove its directory on the way out all the same.
process.on("exit", () => {
  if (agent.proc && agent.proc.exitCode === null) agent.proc.kill("SIGKILL");
  if (agent.tmp) fs.rmSync(agent.tmp, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
let consul, set, del;
before(async () => {
  await agent.start();
  consul = agent.client();
  set = consul.kv.set.bind(consul.kv);
  del = consul.kv.del.bind(consul.kv);
});
after(async () => {
  if (consul) consul.destroy();
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

// Runs the blocking `read` while `write` happens 300 ms later on a client of its own; returns what
// `read` returned. A read that ignored its index would return before the write, so the caller's
// check of the new value proves that it waited for it.
async function readAcrossAWrite(read, write) {
  const writer = agent.client();
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
      await consul.kv.set(key, "v2");
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
      await consul.catalog.register({
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

describe("status, agent, events, consistency", () => {
  test("leader is the only peer", async () => {
    const leader = await consul.status.leader();
    assert.match(leader, /^127\.0\.0\.1:[0-9]+$/);
    assert.deepEqual(await consul.status.peers(), [leader]);
  });

  test("join and force-leave (PUT) report errors", async () => {
    await assert.rejects(consul.agent.join("127.0.0.1:1"), /join/);
    await assert.rejects(consul.agent.forceLeave(unique("nobody")), /No node found/);
  });

  test("agent self and members", async () => {
    const self = await consul.agent.self();
    assert.equal(self.Config.NodeName, NODE);
    assert.equal(self.Config.Datacenter, "dc1");
    const members = await consul.agent.members();
    assert.deepEqual(members.map((m) => [m.Name, m.Status]), [[NODE, 1]]);
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
