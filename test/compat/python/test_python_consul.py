#!/usr/bin/python3
"""Debian's python3-consul (python-consul 0.7.1) against real Cairn agents, in one of two modes.

CAIRN_COMPAT_MODE=dev (the default): one `cairn agent -dev`. CAIRN_COMPAT_MODE=cluster: three servers
(-bootstrap-expect 3) and two client agents, joined with -retry-join; the tests talk to client agent
`compat1` and, where two parties are involved (a blocking read woken by another client's write, a lock
contended by a second session, an event fired elsewhere), the second party talks to client agent
`compat2`. In dev mode both parties talk to the one agent, so every test runs in both modes.

Run by CTest (label `compat`) as `python3 test_python_consul.py` with $CAIRN_BIN set. Every process
runs on 127.0.0.1 ephemeral ports with its data under one temporary directory of the module's, and is
stopped by PID at the end (SIGTERM, then SIGKILL if it lingers), also when a test or the start fails.
Every call goes through the client's public API exactly as 0.7.1 defines it; the few requests the
client refuses to build (a TTL under 10 s) or whose headers a test reads go through its own HTTP layer
(`c.http`) so the server, not the client, is what is checked.

Where Consul's documented behaviour and Cairn differ, the test asserts Consul's behaviour and is
marked @unittest.expectedFailure with a comment naming the difference (none at the moment).
"""

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

try:
    import consul
    from consul.base import CB
except ImportError as e:  # never skip silently: the suite is useless without the client
    sys.stderr.write(
        "FAIL: the python3-consul Debian package is not installed for %s (%s); "
        "run `bash packaging/deps.sh`\n" % (sys.executable, e))
    sys.exit(1)

MODE = os.environ.get("CAIRN_COMPAT_MODE", "dev")
if MODE not in ("dev", "cluster"):
    sys.stderr.write("FAIL: CAIRN_COMPAT_MODE must be dev or cluster (got %r)\n" % MODE)
    sys.exit(1)
NODE = "compat1"  # the agent the tests talk to
OTHER_NODE = "compat2" if MODE == "cluster" else NODE  # the agent a second party talks to
AGENT = None  # the deployment of this module (Dev or Cluster), started in setUpModule


def die_with_parent():
    """In the child before exec: SIGKILL it when this process dies, even by SIGKILL (a CTest
    timeout), so no agent outlives the suite. prctl(PR_SET_PDEATHSIG = 1, SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


class AgentProcess:
    """One real `cairn agent` process, its output in <tmp>/<node>.log; stop() ends it by PID."""

    def __init__(self, binary, tmp, node, args, server):
        self.node, self.server = node, server
        self.log_path = os.path.join(tmp, node + ".log")
        env = dict(os.environ, TMPDIR=tmp)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "agent", "-node", node, "-bind", "127.0.0.1", "-http-port", "0",
                 "-serf-lan-port", "0", "-server-port", "0"] + args,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                preexec_fn=die_with_parent)

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_for_log(self, pattern, timeout):
        """The first group of `pattern` once it appears in the log."""
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        while time.monotonic() < deadline:
            m = compiled.search(self.log())
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                raise RuntimeError("cairn %s exited with %s before logging %r:\n%s"
                                   % (self.node, self.proc.returncode, pattern, self.log()))
            time.sleep(0.05)
        raise RuntimeError("cairn %s did not log %r within %ss:\n%s"
                           % (self.node, pattern, timeout, self.log()))

    def learn_addresses(self, timeout):
        self.port = int(self.wait_for_log(r"Started HTTP server on 127\.0\.0\.1:([0-9]+)", timeout))
        self.gossip = self.wait_for_log(r"gossip=(\S+)", timeout)
        self.rpc = self.wait_for_log(r"RPC and Raft on (\S+)", timeout) if self.server else None

    def client(self, **kwargs):
        return consul.Consul(host="127.0.0.1", port=self.port, **kwargs)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Deployment:
    """The agents of one mode. `client()` talks to agent NODE, `other_client()` to OTHER_NODE;
    `agents` are every process, `servers` those that are Raft servers."""

    START_TIMEOUT = 30.0

    def __init__(self):
        self.binary = os.environ.get("CAIRN_BIN")
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise RuntimeError("CAIRN_BIN must name the cairn binary (got %r)" % self.binary)
        self.tmp = tempfile.mkdtemp(prefix="cairn-compat-py-")
        self.agents = []
        try:
            self.start()
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def launch(self, node, args, server):
        agent = AgentProcess(self.binary, self.tmp, node, args, server)
        self.agents.append(agent)
        agent.learn_addresses(self.START_TIMEOUT)
        return agent

    def agent(self, node):
        return [a for a in self.agents if a.node == node][0]

    @property
    def servers(self):
        return [a for a in self.agents if a.server]

    @property
    def nodes(self):
        return sorted(a.node for a in self.agents)

    def client(self, **kwargs):
        return self.agent(NODE).client(**kwargs)

    def other_client(self, **kwargs):
        return self.agent(OTHER_NODE).client(**kwargs)

    def logs(self):
        return "\n".join("--- %s\n%s" % (a.node, a.log()) for a in self.agents)

    def eventually(self, what, probe):
        """Polls probe() (errors count as "not yet") until it is true or START_TIMEOUT passes."""
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if probe():
                    return
            except Exception:  # not serving yet: retry until the deadline
                pass
            time.sleep(0.05)
        raise RuntimeError("no %s within %ss:\n%s" % (what, self.START_TIMEOUT, self.logs()))

    def wait_until_ready(self):
        """Every server names the same leader, every agent knows it, and every agent's node is in
        the catalog with a passing serfHealth (a session on it needs that)."""
        def one_leader():
            leaders = {s.client().status.leader() for s in self.servers}
            return len(leaders) == 1 and "" not in leaders
        self.eventually("agreed leader", one_leader)
        self.eventually("leader known to every agent",
                        lambda: all(a.client().status.leader() for a in self.agents))

        def every_node_passing():
            checks = self.client().health.state("passing")[1]
            return {c["Node"] for c in checks if c["CheckID"] == "serfHealth"} >= set(self.nodes)
        self.eventually("passing serfHealth on every node", every_node_passing)

    def stop(self):
        for agent in reversed(self.agents):
            agent.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Dev(Deployment):
    """One `cairn agent -dev` (its -dev data directory goes to its TMPDIR, our directory)."""

    def start(self):
        self.launch(NODE, ["-dev", "-dns-port", "0"], server=True)


class Cluster(Deployment):
    """Three servers and two client agents (NODE and OTHER_NODE), joined to the first server."""

    def start(self):
        fast_raft = os.path.join(self.tmp, "fast-raft.json")
        with open(fast_raft, "w") as f:
            json.dump({"performance": {"raft_multiplier": 1}}, f)
        join = None
        for node in ("compat-s1", "compat-s2", "compat-s3", NODE, OTHER_NODE):
            server = node.startswith("compat-s")
            args = ["-data-dir", os.path.join(self.tmp, node), "-dns-port", "-1"]
            if server:
                args += ["-server", "-bootstrap-expect", "3", "-config-file", fast_raft]
            if join:
                args += ["-retry-join", join, "-retry-interval", "200ms"]
            agent = self.launch(node, args, server)
            join = join or agent.gossip


def on_termination(signum, _frame):
    """SIGTERM/SIGINT (a runner giving up): stop the agents and remove their directory first."""
    if AGENT is not None:
        AGENT.stop()
    os._exit(128 + signum)


def setUpModule():
    global AGENT
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_termination)
    AGENT = Cluster() if MODE == "cluster" else Dev()
    sys.stderr.write("mode %s: %s\n" % (MODE, ", ".join(
        "%s (%s, http 127.0.0.1:%d)" % (a.node, "server" if a.server else "client", a.port)
        for a in AGENT.agents)))


def tearDownModule():
    if AGENT is not None:
        AGENT.stop()


def unique(prefix):
    """A key or name no other test uses, so tests share one agent without seeing each other."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def read_across_a_write(read, write, writer_client=None):
    """Runs the blocking `read` while another thread performs `write` 0.3 s later, on a client
    of its own: `writer_client()`, by default one talking to the other agent (cluster mode: the
    other client agent); returns what `read` returned. A blocking read that ignored its index
    would return before the write, so the caller's check of the new value proves the read waited
    for it."""
    writer = threading.Timer(0.3, lambda: write((writer_client or AGENT.other_client)()))
    writer.start()
    try:
        return read()
    finally:
        writer.join()


def block_until(read, done, timeout=30):
    """Calls read(index) -> (index, data) as a blocking query, from index None, until done(data)
    or `timeout` seconds pass; returns the last data. For state that reaches an agent
    asynchronously (anti-entropy, gossip, replication to a stale server): no polling loop."""
    deadline = time.monotonic() + timeout
    index, data = read(None)
    while not done(data) and time.monotonic() < deadline:
        index, data = read(index)
    return data


def on_every_server(read, done=lambda data: data is not None):
    """Blocks on read(stale_client, index) -> (index, data) against each server's own HTTP API
    with ?stale until done(data); returns {server node: data}. A stale read may be served by any
    server and may lag the leader (Consul documents it so), so a test that reads its own write
    with ?stale first waits for the write to reach every server."""
    seen = {}
    for server in AGENT.servers:
        stale = server.client(consistency="stale")
        seen[server.node] = block_until(lambda index: read(stale, index), done)
        assert done(seen[server.node]), "%s never saw it: %r" % (server.node, seen[server.node])
    return seen


class CompatTestCase(unittest.TestCase):
    def setUp(self):
        self.c = AGENT.client()
        self.other = AGENT.other_client()  # the second party's agent (dev mode: the same one)


class KVTest(CompatTestCase):
    def test_put_then_get_returns_value_and_indexes(self):
        key = unique("kv/single")
        self.assertIs(self.c.kv.put(key, "hello"), True)
        index, item = self.c.kv.get(key)
        self.assertEqual(item["Key"], key)
        self.assertEqual(item["Value"], b"hello")
        self.assertEqual(item["Flags"], 0)
        self.assertEqual(item["LockIndex"], 0)
        self.assertNotIn("Session", item)
        self.assertGreater(item["CreateIndex"], 0)
        self.assertEqual(item["CreateIndex"], item["ModifyIndex"])
        # A single key's X-Consul-Index is the key's ModifyIndex.
        self.assertEqual(int(index), item["ModifyIndex"])

    def test_binary_and_empty_values_round_trip(self):
        key = unique("kv/bin")
        blob = bytes(range(256))
        self.assertTrue(self.c.kv.put(key, blob))
        self.assertEqual(self.c.kv.get(key)[1]["Value"], blob)
        self.assertTrue(self.c.kv.put(key, None))
        self.assertIsNone(self.c.kv.get(key)[1]["Value"])

    def test_get_of_missing_key_returns_index_and_none(self):
        index, item = self.c.kv.get(unique("kv/missing"))
        self.assertIsNone(item)
        self.assertGreater(int(index), 0)

    def test_recurse_lists_every_key_under_the_prefix_in_order(self):
        prefix = unique("kv/tree") + "/"
        for suffix, value in (("b", "2"), ("a", "1"), ("d/e", "3")):
            self.assertTrue(self.c.kv.put(prefix + suffix, value))
        self.assertTrue(self.c.kv.put(prefix[:-1] + "-sibling", "not under the prefix"))
        index, items = self.c.kv.get(prefix, recurse=True)
        self.assertEqual([i["Key"] for i in items], [prefix + "a", prefix + "b", prefix + "d/e"])
        self.assertEqual([i["Value"] for i in items], [b"1", b"2", b"3"])
        # A list's index is the highest ModifyIndex under the prefix.
        self.assertEqual(int(index), max(i["ModifyIndex"] for i in items))

    def test_recurse_on_empty_prefix_returns_none(self):
        self.assertIsNone(self.c.kv.get(unique("kv/nothing") + "/", recurse=True)[1])

    def test_keys_with_and_without_separator(self):
        prefix = unique("kv/keys") + "/"
        for suffix in ("a", "b/c", "b/d", "e/f/g"):
            self.assertTrue(self.c.kv.put(prefix + suffix, "x"))
        _, keys = self.c.kv.get(prefix, keys=True)
        self.assertEqual(keys, [prefix + s for s in ("a", "b/c", "b/d", "e/f/g")])
        _, keys = self.c.kv.get(prefix, keys=True, separator="/")
        self.assertEqual(keys, [prefix + "a", prefix + "b/", prefix + "e/"])

    def test_flags_are_stored_and_returned(self):
        key = unique("kv/flags")
        self.assertTrue(self.c.kv.put(key, "v", flags=42))
        self.assertEqual(self.c.kv.get(key)[1]["Flags"], 42)
        self.assertTrue(self.c.kv.put(key, "v", flags=2 ** 64 - 1))
        self.assertEqual(self.c.kv.get(key)[1]["Flags"], 2 ** 64 - 1)

    def test_cas_put_only_succeeds_on_the_current_modify_index(self):
        key = unique("kv/cas")
        self.assertIs(self.c.kv.put(key, "first", cas=0), True)
        self.assertIs(self.c.kv.put(key, "again", cas=0), False)  # cas=0: only if absent
        modify = self.c.kv.get(key)[1]["ModifyIndex"]
        self.assertIs(self.c.kv.put(key, "stale", cas=modify + 1000), False)
        self.assertEqual(self.c.kv.get(key)[1]["Value"], b"first")
        self.assertIs(self.c.kv.put(key, "second", cas=modify), True)
        self.assertEqual(self.c.kv.get(key)[1]["Value"], b"second")

    def test_cas_delete_only_succeeds_on_the_current_modify_index(self):
        key = unique("kv/casdel")
        self.assertTrue(self.c.kv.put(key, "v"))
        modify = self.c.kv.get(key)[1]["ModifyIndex"]
        self.assertIs(self.c.kv.delete(key, cas=modify + 1000), False)
        self.assertIsNotNone(self.c.kv.get(key)[1])
        self.assertIs(self.c.kv.delete(key, cas=modify), True)
        self.assertIsNone(self.c.kv.get(key)[1])

    def test_delete_recurse_removes_the_prefix_only(self):
        prefix = unique("kv/del") + "/"
        for suffix in ("a", "b/c"):
            self.assertTrue(self.c.kv.put(prefix + suffix, "x"))
        keep = prefix[:-1] + "-keep"
        self.assertTrue(self.c.kv.put(keep, "x"))
        self.assertIs(self.c.kv.delete(prefix, recurse=True), True)
        self.assertIsNone(self.c.kv.get(prefix, recurse=True)[1])
        self.assertEqual(self.c.kv.get(keep)[1]["Value"], b"x")

    def test_delete_of_a_single_key_leaves_its_children(self):
        key = unique("kv/one")
        self.assertTrue(self.c.kv.put(key, "x"))
        self.assertTrue(self.c.kv.put(key + "/child", "y"))
        self.assertIs(self.c.kv.delete(key), True)
        self.assertIsNone(self.c.kv.get(key)[1])
        self.assertEqual(self.c.kv.get(key + "/child")[1]["Value"], b"y")

    def test_blocking_get_returns_after_a_write_from_another_thread(self):
        key = unique("kv/block")
        self.assertTrue(self.c.kv.put(key, "before"))
        index, _ = self.c.kv.get(key)
        new_index, item = read_across_a_write(
            lambda: self.c.kv.get(key, index=index, wait="20s"),
            lambda c: c.kv.put(key, "after"))
        self.assertEqual(item["Value"], b"after")
        self.assertGreater(int(new_index), int(index))

    def test_blocking_get_on_a_missing_key_wakes_when_it_is_created(self):
        key = unique("kv/blockmissing")
        index, item = self.c.kv.get(key)
        self.assertIsNone(item)
        new_index, item = read_across_a_write(
            lambda: self.c.kv.get(key, index=index, wait="20s"),
            lambda c: c.kv.put(key, "born"))
        self.assertEqual(item["Value"], b"born")
        self.assertGreater(int(new_index), int(index))

    def test_blocking_recurse_wakes_on_a_write_under_the_prefix(self):
        prefix = unique("kv/blockprefix") + "/"
        self.assertTrue(self.c.kv.put(prefix + "a", "1"))
        index, _ = self.c.kv.get(prefix, recurse=True)
        new_index, items = read_across_a_write(
            lambda: self.c.kv.get(prefix, recurse=True, index=index, wait="20s"),
            lambda c: c.kv.put(prefix + "b", "2"))
        self.assertEqual([i["Key"] for i in items], [prefix + "a", prefix + "b"])
        self.assertGreater(int(new_index), int(index))

    def test_blocking_get_times_out_with_the_same_index_and_value(self):
        key = unique("kv/timeout")
        self.assertTrue(self.c.kv.put(key, "still"))
        index, _ = self.c.kv.get(key)
        new_index, item = self.c.kv.get(key, index=index, wait="200ms")
        self.assertEqual(new_index, index)
        self.assertEqual(item["Value"], b"still")

    def test_keys_with_spaces_unicode_and_url_characters_round_trip(self):
        # The client percent-quotes the path (safe "/:"); the server must decode it exactly once.
        prefix = unique("kv/odd") + "/"
        key = prefix + "sp ace/ü?&=#%41"
        self.assertTrue(self.c.kv.put(key, "odd"))
        self.assertEqual(self.c.kv.get(key)[1]["Key"], key)
        self.assertEqual(self.c.kv.get(prefix, keys=True)[1], [key])

    def test_values_up_to_512_kib_are_stored_and_larger_ones_refused_with_413(self):
        key = unique("kv/size")
        self.assertTrue(self.c.kv.put(key, b"x" * 524288))
        self.assertEqual(len(self.c.kv.get(key)[1]["Value"]), 524288)
        # python3-consul cannot surface a 413 (it tries to parse the text as JSON), so read the
        # answer through its own transport with a callback that returns the raw response.
        response = self.c.http.put(lambda r: r, "/v1/kv/" + key, data=b"y" * 524289)
        self.assertEqual(response.code, 413)
        self.assertIn("too large", response.body)
        self.assertEqual(len(self.c.kv.get(key)[1]["Value"]), 524288)

    def test_wait_without_a_unit_is_a_bad_request(self):
        # Consul parses ?wait with Go's time.ParseDuration: "10" lacks a unit, a 400 there. (Cairn
        # used to read it as 10 ns, turning a watch loop into a busy loop.)
        key = unique("kv/waitunit")
        self.assertTrue(self.c.kv.put(key, "v"))
        index, _ = self.c.kv.get(key)
        for wait in ("10", "2000", "1.5"):
            with self.assertRaises(consul.base.BadRequest) as ctx:
                self.c.kv.get(key, index=index, wait=wait)
            self.assertIn("Invalid wait time", str(ctx.exception))

    def test_the_root_is_listed_but_not_read_as_a_key(self):
        prefix = unique("kv/root")
        self.assertTrue(self.c.kv.put(prefix, "x"))
        self.assertIn(prefix, [i["Key"] for i in self.c.kv.get("", recurse=True)[1]])
        self.assertIn(prefix, self.c.kv.get("", keys=True)[1])
        # Consul: GET /v1/kv/ without ?recurse or ?keys is 400 "Missing key name".
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.c.kv.get("")
        self.assertIn("Missing key name", str(ctx.exception))
        with self.assertRaises(consul.base.BadRequest):
            self.c.kv.put("", "x")

    def test_bad_flags_are_a_bad_request_naming_the_parameter(self):
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.c.kv.put(unique("kv/badflags"), "v", flags=-1)
        self.assertIn("flags", str(ctx.exception))


class LockTest(CompatTestCase):
    def test_acquire_and_release_with_a_session(self):
        key = unique("lock/key")
        sid = self.c.session.create(name="holder", lock_delay=0)
        other = self.c.session.create(name="contender", lock_delay=0)
        try:
            self.assertIs(self.c.kv.put(key, "leader-1", acquire=sid), True)
            item = self.c.kv.get(key)[1]
            self.assertEqual(item["Session"], sid)
            self.assertEqual(item["LockIndex"], 1)
            self.assertEqual(item["Value"], b"leader-1")
            # Another session cannot take a held lock, nor release it.
            self.assertIs(self.c.kv.put(key, "leader-2", acquire=other), False)
            self.assertIs(self.c.kv.put(key, "x", release=other), False)
            self.assertEqual(self.c.kv.get(key)[1]["Session"], sid)
            # The holder may re-acquire (updating the value) without bumping LockIndex.
            self.assertIs(self.c.kv.put(key, "leader-1b", acquire=sid), True)
            item = self.c.kv.get(key)[1]
            self.assertEqual((item["LockIndex"], item["Value"]), (1, b"leader-1b"))
            self.assertIs(self.c.kv.put(key, "released", release=sid), True)
            item = self.c.kv.get(key)[1]
            self.assertNotIn("Session", item)
            self.assertEqual(item["Value"], b"released")
            # Free again: the other session takes it and LockIndex counts the new holder.
            self.assertIs(self.c.kv.put(key, "leader-2", acquire=other), True)
            item = self.c.kv.get(key)[1]
            self.assertEqual((item["Session"], item["LockIndex"]), (other, 2))
        finally:
            self.c.session.destroy(sid)
            self.c.session.destroy(other)

    def test_acquire_with_an_unknown_session_is_an_error_naming_the_session(self):
        # Consul answers 500 "invalid session" (hashicorp/consul#1139); Cairn answers 400 with the
        # same text (docs/compatibility.md). Both surface as ConsulException in this client.
        bogus = str(uuid.uuid4())
        key = unique("lock/bogus")
        with self.assertRaises(consul.ConsulException) as ctx:
            self.c.kv.put(key, "v", acquire=bogus)
        self.assertIn("invalid session", str(ctx.exception).lower())
        self.assertIn(bogus, str(ctx.exception))
        self.assertIsNone(self.c.kv.get(key)[1])

    def test_destroying_a_release_session_releases_its_locks(self):
        key = unique("lock/release")
        sid = self.c.session.create(behavior="release", lock_delay=0)
        self.assertTrue(self.c.kv.put(key, "v", acquire=sid))
        self.assertTrue(self.c.session.destroy(sid))
        item = self.c.kv.get(key)[1]
        self.assertIsNotNone(item)
        self.assertNotIn("Session", item)
        self.assertEqual(item["Value"], b"v")

    def test_destroying_a_delete_session_deletes_its_keys(self):
        key = unique("lock/delete")
        sid = self.c.session.create(behavior="delete", lock_delay=0)
        self.assertTrue(self.c.kv.put(key, "ephemeral", acquire=sid))
        self.assertTrue(self.c.session.destroy(sid))
        self.assertIsNone(self.c.kv.get(key)[1])

    def reacquire_after_the_holder_dies(self, lock_delay):
        """Session A holds a lock and is destroyed; returns whether session B may take it at
        once. Both sessions get `lock_delay` seconds (15, the default, is sent by omission)."""
        key = unique("lock/delay%d" % lock_delay)
        first = self.c.session.create(lock_delay=lock_delay)
        second = self.c.session.create(lock_delay=lock_delay)
        try:
            self.assertTrue(self.c.kv.put(key, "v", acquire=first))
            self.assertTrue(self.c.session.destroy(first))
            return self.c.kv.put(key, "v", acquire=second)
        finally:
            self.c.session.destroy(second)

    def test_lock_delay_blocks_reacquisition_after_invalidation(self):
        # Within the 15 s lock-delay nobody may take the lock a dead session held.
        self.assertIs(self.reacquire_after_the_holder_dies(15), False)

    def test_zero_lock_delay_allows_immediate_reacquisition(self):
        self.assertIs(self.reacquire_after_the_holder_dies(0), True)


class SessionTest(CompatTestCase):
    def test_create_with_ttl_behavior_and_lock_delay_then_info(self):
        name = unique("sess")
        sid = self.c.session.create(name=name, ttl=10, behavior="delete", lock_delay=5)
        try:
            self.assertEqual(str(uuid.UUID(sid)), sid)
            index, info = self.c.session.info(sid)
            self.assertGreater(int(index), 0)
            self.assertEqual(info["ID"], sid)
            self.assertEqual(info["Name"], name)
            self.assertEqual(info["Node"], NODE)
            self.assertEqual(info["Behavior"], "delete")
            self.assertEqual(info["TTL"], "10s")
            self.assertEqual(info["LockDelay"], 5 * 10 ** 9)  # nanoseconds, as Consul
            self.assertEqual(info["NodeChecks"], ["serfHealth"])
        finally:
            self.c.session.destroy(sid)

    def test_create_with_defaults_sends_an_empty_body(self):
        sid = self.c.session.create()
        try:
            info = self.c.session.info(sid)[1]
            self.assertEqual(info["Behavior"], "release")
            self.assertEqual(info["LockDelay"], 15 * 10 ** 9)
            self.assertEqual(info["TTL"], "")
            self.assertEqual(info["Node"], NODE)
        finally:
            self.c.session.destroy(sid)

    def test_list_and_node_include_the_session(self):
        sid = self.c.session.create(name=unique("listed"))
        try:
            index, sessions = self.c.session.list()
            self.assertIn(sid, [s["ID"] for s in sessions])
            self.assertGreater(int(index), 0)
            _, on_node = self.c.session.node(NODE)
            self.assertIn(sid, [s["ID"] for s in on_node])
            self.assertTrue(all(s["Node"] == NODE for s in on_node))
            self.assertEqual(self.c.session.node("no-such-node")[1], [])
        finally:
            self.c.session.destroy(sid)

    def test_renew_returns_the_session(self):
        sid = self.c.session.create(ttl=30)
        try:
            renewed = self.c.session.renew(sid)
            self.assertEqual(renewed["ID"], sid)
            self.assertEqual(renewed["TTL"], "30s")
        finally:
            self.c.session.destroy(sid)

    def test_destroy_removes_the_session(self):
        sid = self.c.session.create()
        self.assertIs(self.c.session.destroy(sid), True)
        index, info = self.c.session.info(sid)
        self.assertIsNone(info)
        self.assertGreater(int(index), 0)
        self.assertNotIn(sid, [s["ID"] for s in self.c.session.list()[1]])
        with self.assertRaises(consul.base.NotFound):
            self.c.session.renew(sid)

    def test_renew_of_an_unknown_session_raises_not_found(self):
        with self.assertRaises(consul.base.NotFound):
            self.c.session.renew(str(uuid.uuid4()))

    def test_blocking_session_list_wakes_on_create(self):
        index, _ = self.c.session.list()
        created = []
        new_index, sessions = read_across_a_write(
            lambda: self.c.session.list(index=index, wait="20s"),
            lambda c: created.append(c.session.create()))
        try:
            self.assertGreater(int(new_index), int(index))
            self.assertIn(created[0], [s["ID"] for s in sessions])
        finally:
            self.c.session.destroy(created[0])

    def raw_create(self, body):
        """PUT /v1/session/create through the client's own HTTP layer, for bodies its create()
        refuses to build (it asserts 10 <= ttl <= 86400 before sending)."""
        return self.c.http.put(CB.json(is_id=True), "/v1/session/create", data=json.dumps(body))

    def test_ttl_below_the_minimum_is_a_bad_request(self):
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.raw_create({"ttl": "5s"})
        self.assertIn("TTL", str(ctx.exception))

    def test_unparsable_ttl_is_a_bad_request(self):
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.raw_create({"ttl": "soon"})
        self.assertIn("TTL", str(ctx.exception))

    def test_unknown_behavior_is_a_bad_request(self):
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.raw_create({"behavior": "explode"})
        self.assertIn("Behavior", str(ctx.exception))

    def test_session_on_an_unregistered_node_is_refused(self):
        # Consul: 500 "Missing node registration"; Cairn: 400 with the same text.
        with self.assertRaises(consul.ConsulException) as ctx:
            self.c.session.create(node=unique("ghost"))
        self.assertIn("Missing node registration", str(ctx.exception))


class SessionInvalidationTest(CompatTestCase):
    """A session ends when its TTL lapses or a check it names turns critical; its locks then
    follow its behavior. The guard check is a TTL check of the agent's own (registered through
    /v1/agent/check/register and set with ttl_pass/ttl_fail), so it lives on the agent's node,
    where serfHealth (which python3-consul keeps in a session by default) exists. (A check written
    straight into the catalog on an agent's node would be removed by the agent's next full
    anti-entropy sync, as in Consul.)"""

    def setUp(self):
        super().setUp()
        self.check = unique("guard")
        self.assertIs(self.c.agent.check.register(
            "guard", consul.Check.ttl("300s"), check_id=self.check), True)
        self.set_check("passing")

    def tearDown(self):
        self.c.agent.check.deregister(self.check)

    def set_check(self, status, client=None):
        """Sets the guard's status through its agent and waits until the catalog shows it (the
        agent syncs the change to the servers)."""
        c = client or self.c
        update = c.agent.check.ttl_pass if status == "passing" else c.agent.check.ttl_fail
        self.assertIs(update(self.check), True)
        checks = block_until(
            lambda index: self.c.health.node(NODE, index=index, wait="5s"),
            lambda checks: (self.check, status) in [(x["CheckID"], x["Status"]) for x in checks])
        self.assertIn((self.check, status), [(x["CheckID"], x["Status"]) for x in checks])

    def test_a_critical_check_invalidates_the_session_and_deletes_its_key(self):
        sid = self.c.session.create(checks=["serfHealth", self.check], behavior="delete")
        self.assertIn(self.check, self.c.session.info(sid)[1]["Checks"])
        key = unique("guarded")
        self.assertTrue(self.c.kv.put(key, "v", acquire=sid))
        index, _ = self.c.kv.get(key)
        _, item = read_across_a_write(
            lambda: self.other.kv.get(key, index=index, wait="20s"),
            lambda c: c.agent.check.ttl_fail(self.check), writer_client=AGENT.client)
        self.assertIsNone(item)
        self.assertIsNone(self.c.session.info(sid)[1])

    def test_a_session_cannot_name_a_missing_or_critical_check(self):
        with self.assertRaises(consul.ConsulException) as ctx:
            self.c.session.create(checks=["serfHealth", unique("absent")])
        self.assertIn("Missing check", str(ctx.exception))
        self.set_check("critical")
        with self.assertRaises(consul.ConsulException) as ctx:
            self.c.session.create(checks=["serfHealth", self.check])
        self.assertIn("critical", str(ctx.exception))

    def test_a_session_with_no_checks_on_an_external_node(self):
        node = unique("ext")
        self.assertTrue(self.c.catalog.register(node, "10.9.9.9"))
        try:
            sid = self.c.session.create(node=node, checks=[])
            info = self.c.session.info(sid)[1]
            self.assertEqual((info["Node"], info["NodeChecks"]), (node, []))
            # Deregistering the node ends its sessions.
            self.assertTrue(self.c.catalog.deregister(node))
            self.assertIsNone(self.c.session.info(sid)[1])
        finally:
            self.c.catalog.deregister(node)

    def test_a_lapsed_ttl_invalidates_the_session(self):
        # Consul invalidates a session between TTL and 2 x TTL after its last renewal; 10 s is the
        # shortest TTL, so this test waits up to ~20 s, blocked on the key, not polling.
        sid = self.c.session.create(ttl=10, behavior="delete")
        key = unique("ttl")
        self.assertTrue(self.c.kv.put(key, "v", acquire=sid))
        index, item = self.c.kv.get(key)
        deadline = time.monotonic() + 45
        while item is not None and time.monotonic() < deadline:
            index, item = self.c.kv.get(key, index=index, wait="25s")
        self.assertIsNone(item, "the TTL session's key outlived 45 s")
        self.assertIsNone(self.c.session.info(sid)[1])


class CatalogHealthTest(CompatTestCase):
    """Registers two external nodes of one service: web1 passing, web2 critical."""

    def setUp(self):
        super().setUp()
        self.service = unique("web")
        self.node1, self.node2 = unique("ext1"), unique("ext2")
        ok = self.c.catalog.register(
            self.node1, "10.1.2.3",
            service={"Service": self.service, "ID": "web1", "Tags": ["v1", "primary"],
                     "Port": 8080, "Meta": {"version": "1.2"}},
            check={"CheckID": "service:web1", "Name": "web1 alive", "Status": "passing",
                   "ServiceID": "web1", "Notes": "registered by the compat suite"})
        self.assertIs(ok, True)
        ok = self.c.catalog.register(
            self.node2, "10.1.2.4",
            service={"Service": self.service, "ID": "web2", "Tags": ["v2"], "Port": 8081},
            check={"CheckID": "service:web2", "Name": "web2 alive", "Status": "critical",
                   "ServiceID": "web2"})
        self.assertIs(ok, True)

    def tearDown(self):
        for node in (self.node1, self.node2):
            self.c.catalog.deregister(node)

    def test_nodes_lists_the_agent_and_the_registered_nodes(self):
        index, nodes = self.c.catalog.nodes()
        by_name = {n["Node"]: n for n in nodes}
        self.assertEqual(by_name[self.node1]["Address"], "10.1.2.3")
        self.assertEqual(by_name[self.node2]["Address"], "10.1.2.4")
        self.assertIn(NODE, by_name)
        self.assertGreater(int(index), 0)

    def test_services_maps_names_to_tags(self):
        _, services = self.c.catalog.services()
        self.assertEqual(sorted(services[self.service]), ["primary", "v1", "v2"])
        self.assertEqual(services["consul"], [])  # the server's own service

    def test_service_lists_instances_with_port_tags_and_meta(self):
        index, instances = self.c.catalog.service(self.service)
        by_id = {i["ServiceID"]: i for i in instances}
        self.assertEqual(set(by_id), {"web1", "web2"})
        web1 = by_id["web1"]
        self.assertEqual(web1["Node"], self.node1)
        self.assertEqual(web1["Address"], "10.1.2.3")
        self.assertEqual(web1["ServiceName"], self.service)
        self.assertEqual(web1["ServicePort"], 8080)
        self.assertEqual(web1["ServiceTags"], ["v1", "primary"])
        self.assertEqual(web1["ServiceMeta"], {"version": "1.2"})
        self.assertEqual(int(index), max(i["ModifyIndex"] for i in instances))

    def test_service_with_tag_filters_instances(self):
        _, instances = self.c.catalog.service(self.service, tag="v1")
        self.assertEqual([i["ServiceID"] for i in instances], ["web1"])
        self.assertEqual(self.c.catalog.service(self.service, tag="absent")[1], [])

    def test_service_of_unknown_name_is_an_empty_list(self):
        self.assertEqual(self.c.catalog.service(unique("nobody"))[1], [])

    def test_node_returns_the_node_and_its_services(self):
        _, node = self.c.catalog.node(self.node1)
        self.assertEqual(node["Node"]["Node"], self.node1)
        self.assertEqual(node["Node"]["Address"], "10.1.2.3")
        self.assertEqual(list(node["Services"]), ["web1"])
        self.assertEqual(node["Services"]["web1"]["Service"], self.service)
        self.assertEqual(node["Services"]["web1"]["Port"], 8080)

    def test_node_of_unknown_name_is_none(self):
        index, node = self.c.catalog.node(unique("nowhere"))
        self.assertIsNone(node)
        self.assertGreater(int(index), 0)

    def test_health_service_passing_only_returns_healthy_instances(self):
        _, entries = self.c.health.service(self.service)
        self.assertEqual(sorted(e["Service"]["ID"] for e in entries), ["web1", "web2"])
        _, entries = self.c.health.service(self.service, passing=True)
        self.assertEqual([e["Service"]["ID"] for e in entries], ["web1"])
        entry = entries[0]
        self.assertEqual(entry["Node"]["Node"], self.node1)
        self.assertEqual(entry["Service"]["Port"], 8080)
        self.assertEqual([(c["CheckID"], c["Status"]) for c in entry["Checks"]],
                         [("service:web1", "passing")])

    def test_health_service_with_tag(self):
        _, entries = self.c.health.service(self.service, tag="v2")
        self.assertEqual([e["Service"]["ID"] for e in entries], ["web2"])

    def test_health_checks_lists_the_service_checks(self):
        _, checks = self.c.health.checks(self.service)
        by_id = {c["CheckID"]: c for c in checks}
        self.assertEqual(set(by_id), {"service:web1", "service:web2"})
        web1 = by_id["service:web1"]
        self.assertEqual(web1["Node"], self.node1)  # filled in: the client sent no Node
        self.assertEqual(web1["Name"], "web1 alive")
        self.assertEqual(web1["Notes"], "registered by the compat suite")
        self.assertEqual(web1["ServiceName"], self.service)
        self.assertEqual(by_id["service:web2"]["Status"], "critical")

    def test_health_state_filters_by_status(self):
        def ids(state):
            return {(c["Node"], c["CheckID"]) for c in self.c.health.state(state)[1]}
        critical, passing, any_ = ids("critical"), ids("passing"), ids("any")
        self.assertIn((self.node2, "service:web2"), critical)
        self.assertNotIn((self.node1, "service:web1"), critical)
        self.assertIn((self.node1, "service:web1"), passing)
        self.assertIn((NODE, "serfHealth"), passing)
        self.assertTrue({(self.node1, "service:web1"), (self.node2, "service:web2")} <= any_)
        self.assertEqual(self.c.health.state("warning")[1], [])

    def test_health_node_lists_the_node_checks(self):
        _, checks = self.c.health.node(self.node2)
        self.assertEqual([(c["CheckID"], c["Status"]) for c in checks],
                         [("service:web2", "critical")])
        _, checks = self.c.health.node(NODE)
        self.assertIn("serfHealth", [c["CheckID"] for c in checks])

    def test_blocking_health_service_wakes_when_a_check_turns_passing(self):
        index, _ = self.c.health.service(self.service, passing=True)

        new_index, entries = read_across_a_write(
            lambda: self.c.health.service(self.service, passing=True, index=index, wait="20s"),
            lambda c: c.catalog.register(
                self.node2, "10.1.2.4",
                check={"CheckID": "service:web2", "Name": "web2 alive", "Status": "passing",
                       "ServiceID": "web2"}))
        self.assertGreater(int(new_index), int(index))
        self.assertEqual(sorted(e["Service"]["ID"] for e in entries), ["web1", "web2"])

    def test_deregister_a_service_then_a_check_then_the_node(self):
        self.assertIs(self.c.catalog.deregister(self.node2, service_id="web2"), True)
        self.assertEqual([i["ServiceID"] for i in self.c.catalog.service(self.service)[1]],
                         ["web1"])
        self.assertIs(self.c.catalog.deregister(self.node1, check_id="service:web1"), True)
        self.assertEqual(self.c.health.node(self.node1)[1], [])
        self.assertEqual(list(self.c.catalog.node(self.node1)[1]["Services"]), ["web1"])
        self.assertIs(self.c.catalog.deregister(self.node1), True)
        self.assertIsNone(self.c.catalog.node(self.node1)[1])
        self.assertNotIn(self.node1, [n["Node"] for n in self.c.catalog.nodes()[1]])

    def test_a_critical_node_check_fails_every_service_on_the_node(self):
        self.assertTrue(self.c.catalog.register(
            self.node1, "10.1.2.3",
            check={"CheckID": "node-down", "Name": "node", "Status": "critical"}))
        _, entries = self.c.health.service(self.service, passing=True)
        self.assertEqual(entries, [])
        _, entries = self.c.health.service(self.service)
        web1 = [e for e in entries if e["Service"]["ID"] == "web1"][0]
        self.assertEqual(sorted(c["CheckID"] for c in web1["Checks"]),
                         ["node-down", "service:web1"])

    def test_near_agent_is_accepted(self):
        _, nodes = self.c.catalog.nodes(near="_agent")
        self.assertIn(self.node1, [n["Node"] for n in nodes])
        _, entries = self.c.health.service(self.service, near="_agent")
        self.assertEqual(len(entries), 2)

    def test_register_without_address_is_a_bad_request(self):
        with self.assertRaises(consul.base.BadRequest):
            self.c.http.put(CB.bool(), "/v1/catalog/register",
                            data=json.dumps({"node": unique("noaddr")}))

    def test_datacenters(self):
        self.assertEqual(self.c.catalog.datacenters(), ["dc1"])


class AgentServicesChecksTest(CompatTestCase):
    """The agent's own services and checks (`/v1/agent/service/*`, `/v1/agent/check/*`), several of
    which python3-consul 0.7.1 sends as GET (service and check deregister, ttl_pass/warn/fail), as
    Consul before 1.0 took them. In cluster mode the agent is a client agent."""

    def setUp(self):
        super().setUp()
        self.service = unique("local")
        self.check_id = "service:" + self.service

    def tearDown(self):
        self.c.agent.service.deregister(self.service)

    def register(self, **extra):
        self.assertIs(self.c.agent.service.register(
            "local-web", service_id=self.service, address="10.0.0.5", port=80, tags=["a", "b"],
            check=consul.Check.ttl("30s"), **extra), True)

    def test_a_registered_service_and_its_ttl_check_are_listed_by_the_agent(self):
        self.register()
        service = self.c.agent.services()[self.service]
        self.assertEqual((service["ID"], service["Service"], service["Address"], service["Port"],
                          service["Tags"]), (self.service, "local-web", "10.0.0.5", 80, ["a", "b"]))
        check = self.c.agent.checks()[self.check_id]
        # A TTL check starts critical until its first update, as in Consul.
        self.assertEqual((check["Node"], check["Status"], check["ServiceID"], check["ServiceName"]),
                         (NODE, "critical", self.service, "local-web"))

    def test_ttl_updates_travel_as_get_and_set_status_and_output(self):
        self.register()
        for update, status in ((self.c.agent.check.ttl_pass, "passing"),
                               (self.c.agent.check.ttl_warn, "warning"),
                               (self.c.agent.check.ttl_fail, "critical")):
            self.assertIs(update(self.check_id, "note " + status), True)
            check = self.c.agent.checks()[self.check_id]
            self.assertEqual((check["Status"], check["Output"]), (status, "note " + status))

    def test_a_ttl_update_of_an_unknown_check_is_refused(self):
        self.assertIs(self.c.agent.check.ttl_pass(unique("absent")), False)

    def test_a_standalone_check_is_registered_and_deregistered(self):
        check_id = unique("mem")
        self.assertIs(self.c.agent.check.register(
            "memory", consul.Check.ttl("10s"), check_id=check_id, notes="watch memory"), True)
        try:
            check = self.c.agent.checks()[check_id]
            self.assertEqual((check["Name"], check["Notes"], check["Status"], check["ServiceID"]),
                             ("memory", "watch memory", "critical", ""))
        finally:
            self.assertIs(self.c.agent.check.deregister(check_id), True)
        self.assertNotIn(check_id, self.c.agent.checks())

    def test_service_maintenance_adds_and_removes_a_critical_check(self):
        self.register()
        maintenance = "_service_maintenance:" + self.service
        self.assertIs(self.c.agent.service.maintenance(self.service, True, "upgrading"), True)
        check = self.c.agent.checks()[maintenance]
        self.assertEqual((check["Status"], check["Notes"], check["ServiceID"]),
                         ("critical", "upgrading", self.service))
        self.assertIs(self.c.agent.service.maintenance(self.service, False), True)
        self.assertNotIn(maintenance, self.c.agent.checks())

    def test_node_maintenance_adds_and_removes_a_critical_check(self):
        self.assertIs(self.c.agent.maintenance(True, "node work"), True)
        try:
            check = self.c.agent.checks()["_node_maintenance"]
            self.assertEqual((check["Status"], check["Notes"], check["ServiceID"]),
                             ("critical", "node work", ""))
        finally:
            self.assertIs(self.c.agent.maintenance(False), True)
        self.assertNotIn("_node_maintenance", self.c.agent.checks())

    def test_deregister_travels_as_get_and_removes_the_service_and_its_checks(self):
        self.register()
        self.assertIs(self.c.agent.service.deregister(self.service), True)
        self.assertNotIn(self.service, self.c.agent.services())
        self.assertNotIn(self.check_id, self.c.agent.checks())

    def test_a_check_without_a_type_is_a_bad_request(self):
        # 0.7.1's Check.script sends the pre-1.1 "Script" field, which Consul no longer knows.
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.c.agent.check.register(unique("script"), consul.Check.script("/bin/true", "10s"))
        self.assertIn("Check is not valid", str(ctx.exception))


class StatusAgentTest(CompatTestCase):
    def test_leader_is_one_of_the_peers(self):
        leader = self.c.status.leader()
        self.assertRegex(leader, r"^127\.0\.0\.1:[0-9]+$")
        peers = self.c.status.peers()
        self.assertEqual(sorted(peers), sorted(s.rpc for s in AGENT.servers))
        self.assertIn(leader, peers)

    def test_agent_self_names_the_node_and_datacenter(self):
        me = self.c.agent.self()
        self.assertEqual(me["Config"]["NodeName"], NODE)
        self.assertEqual(me["Config"]["Datacenter"], "dc1")
        self.assertEqual(me["Config"]["Server"], AGENT.agent(NODE).server)
        self.assertEqual(me["Member"]["Name"], NODE)

    def test_agent_members_lists_every_agent_alive_with_its_role(self):
        members = self.c.agent.members()
        self.assertEqual(sorted((m["Name"], m["Status"]) for m in members),
                         [(node, 1) for node in AGENT.nodes])
        roles = {m["Name"]: m["Tags"]["role"] for m in members}
        self.assertEqual(roles, {a.node: "consul" if a.server else "node" for a in AGENT.agents})

    def test_force_leave_and_join_travel_as_get_and_report_errors(self):
        # python3-consul 0.7.1 sends GET for these (Consul before 1.0 took GET; Cairn still does).
        with self.assertRaises(consul.ConsulException) as ctx:
            self.c.agent.force_leave(unique("nobody"))
        self.assertIn("No node found", str(ctx.exception))
        with self.assertRaises(consul.ConsulException) as ctx:
            self.c.agent.join("127.0.0.1:1")  # nothing listens on port 1
        self.assertIn("join", str(ctx.exception))
        self.assertEqual(sorted(m["Name"] for m in self.c.agent.members()), AGENT.nodes)

    def test_raft_configuration_has_every_server_voting_and_one_leader(self):
        servers = self.c.operator.raft_config()["Servers"]
        self.assertEqual(sorted((s["Node"], s["Address"], s["Voter"]) for s in servers),
                         sorted((a.node, a.rpc, True) for a in AGENT.servers))
        leaders = [s["Address"] for s in servers if s["Leader"]]
        self.assertEqual(leaders, [self.c.status.leader()])


class ConsistencyTest(CompatTestCase):
    def check_reads(self, client, **kwargs):
        key = unique("consistency/" + (kwargs.get("consistency") or client.consistency))
        self.assertTrue(self.c.kv.put(key, "v"))
        on_every_server(lambda c, index: c.kv.get(key, index=index, wait="5s"))
        index, item = client.kv.get(key, **kwargs)
        self.assertEqual(item["Value"], b"v")
        self.assertEqual(int(index), item["ModifyIndex"])
        self.assertIn(NODE, [n["Node"] for n in client.catalog.nodes(**kwargs)[1]])
        self.assertIn("consul", client.catalog.services(**kwargs)[1])
        sid = self.c.session.create()
        try:
            on_every_server(lambda c, index: c.session.info(sid, index=index, wait="5s"))
            self.assertIn(sid, [s["ID"] for s in client.session.list(**kwargs)[1]])
            self.assertEqual(client.session.info(sid, **kwargs)[1]["ID"], sid)
        finally:
            self.c.session.destroy(sid)

    def test_client_wide_consistent_mode(self):
        self.check_reads(AGENT.client(consistency="consistent"))

    def test_client_wide_stale_mode(self):
        self.check_reads(AGENT.client(consistency="stale"))

    def test_per_call_consistency(self):
        self.check_reads(self.c, consistency="consistent")
        self.check_reads(self.c, consistency="stale")

    def test_an_unknown_datacenter_has_no_path(self):
        # Consul: 500 "No path to datacenter".
        with self.assertRaises(consul.ConsulException) as ctx:
            AGENT.client(dc="dc-elsewhere").kv.get("x")
        self.assertIn("No path to datacenter", str(ctx.exception))
        self.assertIsNone(AGENT.client(dc="dc1").kv.get(unique("dc/x"))[1])

    def test_stale_with_consistent_is_a_bad_request(self):
        with self.assertRaises(consul.base.BadRequest) as ctx:
            self.c.http.get(CB.json(index=True), "/v1/kv/x",
                            params={"stale": "1", "consistent": "1"})
        self.assertIn("stale", str(ctx.exception))


class EventTest(CompatTestCase):
    def test_fire_then_list_by_name(self):
        name = unique("deploy")
        fired = self.c.event.fire(name, "payload-1")
        self.assertEqual(fired["Name"], name)
        self.assertEqual(str(uuid.UUID(fired["ID"])), fired["ID"])
        index, events = self.c.event.list(name=name)
        self.assertEqual([(e["ID"], e["Payload"]) for e in events], [(fired["ID"], b"payload-1")])
        self.assertGreater(int(index), 0)



class TwoAgentsTest(CompatTestCase):
    """Two parties on two agents: in cluster mode `self.c` talks to client agent NODE and
    `self.other` to client agent OTHER_NODE (in dev mode both talk to the one agent), and the
    servers' own HTTP APIs are read too."""

    def raw_get(self, agent, path, **params):
        """GET through the client's own HTTP layer, returning the whole response (headers too)."""
        return agent.client().http.get(lambda r: r, path, params=params)

    def test_every_agent_answers_reads_with_a_known_leader_in_every_consistency_mode(self):
        key = unique("two/leader")
        self.assertTrue(self.c.kv.put(key, "v"))
        on_every_server(lambda c, index: c.kv.get(key, index=index, wait="5s"))
        for agent in AGENT.agents:
            for mode in ({}, {"stale": "1"}, {"consistent": "1"}):
                response = self.raw_get(agent, "/v1/kv/" + key, **mode)
                self.assertEqual(response.code, 200, (agent.node, mode, response.body))
                self.assertEqual(json.loads(response.body)[0]["Key"], key)
                self.assertEqual(response.headers.get("X-Consul-KnownLeader"), "true",
                                 (agent.node, mode))
                self.assertGreater(int(response.headers["X-Consul-Index"]), 0)
                self.assertIn("X-Consul-LastContact", response.headers)

    def test_a_write_through_one_agent_is_read_consistent_through_the_other(self):
        key = unique("two/consistent")
        self.assertTrue(self.c.kv.put(key, "written-on-one"))
        # consistent: the leader confirms its leadership; the write is applied by then.
        index, item = self.other.kv.get(key, consistency="consistent")
        self.assertEqual(item["Value"], b"written-on-one")
        self.assertEqual(int(index), item["ModifyIndex"])
        # default mode: read by the leader, which applied the write before acknowledging it.
        self.assertEqual(self.other.kv.get(key)[1]["Value"], b"written-on-one")

    def test_a_write_through_a_client_agent_reaches_every_server_for_stale_reads(self):
        key = unique("two/stale")
        self.assertTrue(self.c.kv.put(key, "replicated"))
        modify = self.c.kv.get(key)[1]["ModifyIndex"]
        seen = on_every_server(lambda c, index: c.kv.get(key, index=index, wait="5s"))
        self.assertEqual({node: (item["Value"], item["ModifyIndex"]) for node, item in seen.items()},
                         {s.node: (b"replicated", modify) for s in AGENT.servers})

    def test_blocking_reads_in_every_consistency_mode_wake_on_a_write_through_the_other(self):
        for consistency in ("default", "consistent", "stale"):
            key = unique("two/block-" + consistency)
            self.assertTrue(self.c.kv.put(key, "before"))
            on_every_server(lambda c, index: c.kv.get(key, index=index, wait="5s"))
            index, _ = self.other.kv.get(key, consistency=consistency)
            new_index, item = read_across_a_write(
                lambda: self.other.kv.get(key, index=index, wait="20s", consistency=consistency),
                lambda c: c.kv.put(key, "after"), writer_client=AGENT.client)
            self.assertEqual(item["Value"], b"after", consistency)
            self.assertGreater(int(new_index), int(index), consistency)

    def test_the_catalog_lists_every_agent_node_with_a_passing_serf_health(self):
        for node in sorted({NODE, OTHER_NODE}):
            for consistency in ("default", "consistent", "stale"):
                client = AGENT.agent(node).client(consistency=consistency)
                where = (node, consistency)
                nodes = [n["Node"] for n in client.catalog.nodes()[1]]
                self.assertTrue(set(AGENT.nodes) <= set(nodes), (where, nodes))
                passing = client.health.state("passing")[1]
                serf = {c["Node"] for c in passing if c["CheckID"] == "serfHealth"}
                self.assertTrue(set(AGENT.nodes) <= serf, (where, serf))
                servers = [i["Node"] for i in client.catalog.service("consul")[1]]
                self.assertEqual(sorted(servers), sorted(s.node for s in AGENT.servers), where)

    def test_an_agent_service_registered_on_one_agent_is_seen_through_the_other(self):
        name = unique("agentsvc")
        check_id = "service:" + name
        self.assertTrue(self.c.agent.service.register(
            name, service_id=name, port=9090, tags=["blue"], check=consul.Check.ttl("30s")))
        try:
            self.assertIn(name, self.c.agent.services())
            if OTHER_NODE != NODE:  # the agent endpoints are the agent's own state
                self.assertNotIn(name, self.other.agent.services())
            # Anti-entropy carries the registration to the catalog; read it through the other.
            instances = block_until(
                lambda index: self.other.catalog.service(name, index=index, wait="5s"),
                lambda instances: len(instances) == 1)
            self.assertEqual([(i["Node"], i["ServiceID"], i["ServicePort"], i["ServiceTags"])
                              for i in instances], [(NODE, name, 9090, ["blue"])])
            # A TTL check starts critical; passing it on its agent turns the instance healthy
            # for a reader on the other agent.
            _, entries = self.other.health.service(name)
            self.assertEqual([(e["Node"]["Node"], e["Service"]["ID"]) for e in entries],
                             [(NODE, name)])
            self.assertEqual(sorted((c["CheckID"], c["Status"]) for c in entries[0]["Checks"]),
                             [("serfHealth", "passing"), (check_id, "critical")])
            self.assertTrue(self.c.agent.check.ttl_pass(check_id, "all good"))
            entries = block_until(
                lambda index: self.other.health.service(name, passing=True, index=index,
                                                        wait="5s"),
                lambda entries: len(entries) == 1)
            self.assertEqual([e["Service"]["ID"] for e in entries], [name])
            check = [c for c in entries[0]["Checks"] if c["CheckID"] == check_id][0]
            self.assertEqual((check["Status"], check["Output"]), ("passing", "all good"))
        finally:
            self.assertTrue(self.c.agent.service.deregister(name))
        instances = block_until(
            lambda index: self.other.catalog.service(name, index=index, wait="5s"),
            lambda instances: instances == [])
        self.assertEqual(instances, [])

    def test_sessions_are_bound_to_the_node_of_the_agent_that_made_them(self):
        mine = self.c.session.create(name=unique("mine"))
        theirs = self.other.session.create(name=unique("theirs"))
        try:
            self.assertEqual(self.c.session.info(mine)[1]["Node"], NODE)
            self.assertEqual(self.c.session.info(theirs)[1]["Node"], OTHER_NODE)
            self.assertIn(theirs, [s["ID"] for s in self.c.session.node(OTHER_NODE)[1]])
            self.assertIn(mine, [s["ID"] for s in self.other.session.node(NODE)[1]])
            for client in (self.c, self.other):
                listed = {s["ID"]: s["Node"] for s in client.session.list()[1]}
                self.assertEqual((listed[mine], listed[theirs]), (NODE, OTHER_NODE))
        finally:
            self.c.session.destroy(mine)
            self.other.session.destroy(theirs)

    def test_a_session_made_through_one_agent_is_renewed_and_destroyed_through_the_other(self):
        sid = self.c.session.create(ttl=30)
        try:
            renewed = self.other.session.renew(sid)
            self.assertEqual((renewed["ID"], renewed["Node"], renewed["TTL"]), (sid, NODE, "30s"))
        finally:
            self.assertIs(self.other.session.destroy(sid), True)
        self.assertIsNone(self.c.session.info(sid, consistency="consistent")[1])

    def test_a_lock_held_through_one_agent_is_contended_through_the_other(self):
        key = unique("two/lock")
        holder = self.c.session.create(name="holder", lock_delay=0)
        contender = self.other.session.create(name="contender", lock_delay=0)
        try:
            self.assertIs(self.c.kv.put(key, "held", acquire=holder), True)
            self.assertIs(self.other.kv.put(key, "mine?", acquire=contender), False)
            index, item = self.other.kv.get(key)
            self.assertEqual((item["Session"], item["Value"]), (holder, b"held"))
            # The contender waits on the key (as a lock loop does) and sees the release made
            # through the first agent.
            new_index, item = read_across_a_write(
                lambda: self.other.kv.get(key, index=index, wait="20s"),
                lambda c: c.kv.put(key, "free", release=holder), writer_client=AGENT.client)
            self.assertGreater(int(new_index), int(index))
            self.assertNotIn("Session", item)
            self.assertIs(self.other.kv.put(key, "taken", acquire=contender), True)
            item = self.c.kv.get(key)[1]
            self.assertEqual((item["Session"], item["LockIndex"], item["Value"]),
                             (contender, 2, b"taken"))
        finally:
            self.c.session.destroy(holder)
            self.other.session.destroy(contender)

    def test_an_event_fired_on_one_agent_is_seen_on_the_other(self):
        name = unique("two-event")
        fired = self.c.event.fire(name, "from-one")
        # Events travel by gossip: block on the other agent's list until it arrives.
        events = block_until(lambda index: self.other.event.list(name=name, index=index,
                                                                 wait="5s"),
                             lambda events: len(events) > 0)
        self.assertEqual([(e["ID"], e["Payload"]) for e in events], [(fired["ID"], b"from-one")])


class PreparedQueryTest(CompatTestCase):
    """Prepared queries over two external nodes of one service: web1 passing with tags v1 and
    primary, web2 critical. python-consul always sends Template.Type name_prefix_match, so every
    query it makes is a template, resolved by name (Consul refuses templates by ID)."""

    def setUp(self):
        super().setUp()
        self.service = unique("pqweb")
        self.node1, self.node2 = unique("pq1"), unique("pq2")
        for node, address, sid, tags, status in ((self.node1, "10.2.0.1", "web1", ["v1", "primary"], "passing"),
                                                 (self.node2, "10.2.0.2", "web2", ["v2"], "critical")):
            ok = self.c.catalog.register(
                node, address, service={"Service": self.service, "ID": sid, "Tags": tags, "Port": 9090},
                check={"CheckID": "service:" + sid, "Name": sid, "Status": status, "ServiceID": sid})
            self.assertIs(ok, True)
        self.created = []

    def tearDown(self):
        for query_id in self.created:
            self.c.query.delete(query_id)
        for node in (self.node1, self.node2):
            self.c.catalog.deregister(node)

    def create(self, **kwargs):
        made = self.c.query.create(**kwargs)
        self.created.append(made["ID"])
        return made["ID"]

    def test_create_get_update_list_and_delete(self):
        name = unique("pq")
        query_id = self.create(service=self.service, name=name, ttl="10s", tags=["primary"])
        [query] = self.c.query.get(query_id)
        self.assertEqual(query["ID"], query_id)
        self.assertEqual(query["Name"], name)
        self.assertEqual(query["Service"]["Service"], self.service)
        self.assertEqual(query["Service"]["Tags"], ["primary"])
        self.assertEqual(query["DNS"]["TTL"], "10s")
        self.assertEqual(query["Template"]["Type"], "name_prefix_match")
        self.assertEqual(query["CreateIndex"], query["ModifyIndex"])
        self.assertIs(self.c.query.update(query_id, service=self.service, name=name, onlypassing=True), True)
        [updated] = self.c.query.get(query_id)
        self.assertTrue(updated["Service"]["OnlyPassing"])
        self.assertGreater(updated["ModifyIndex"], updated["CreateIndex"])
        self.assertIn(query_id, [q["ID"] for q in self.c.query.list()])
        self.assertIs(self.c.query.delete(query_id), True)
        self.assertIsNone(self.c.query.get(query_id)[1])  # a 404: (index, None)
        self.assertNotIn(query_id, [q["ID"] for q in self.c.query.list()])

    def test_execute_by_name_answers_the_healthy_instances(self):
        name = unique("pq")
        self.create(service=self.service, name=name, ttl="15s")
        result = self.c.query.execute(name)
        self.assertEqual(result["Service"], self.service)
        self.assertEqual([n["Service"]["ID"] for n in result["Nodes"]], ["web1"])
        self.assertEqual(result["Nodes"][0]["Node"]["Node"], self.node1)
        self.assertEqual(result["Nodes"][0]["Checks"][0]["Status"], "passing")
        self.assertEqual(result["DNS"]["TTL"], "15s")
        self.assertEqual(result["Failovers"], 0)
        self.assertEqual(result["Datacenter"], "dc1")

    def test_execute_filters_by_tags_and_applies_the_limit(self):
        name = unique("pq")
        self.create(service=self.service, name=name, tags=["!v1"])
        self.assertEqual(self.c.query.execute(name)["Nodes"], [])
        other = unique("pq")
        self.create(service=self.service, name=other, tags=["PRIMARY"])
        self.assertEqual(len(self.c.query.execute(other, near="_agent", limit=1)["Nodes"]), 1)

    def test_a_template_renders_the_service_from_the_regexp(self):
        prefix = unique("pqt") + "-"
        self.create(service="${match(1)}", name=prefix, regexp="^" + prefix + "(.*)$")
        result = self.c.query.execute(prefix + self.service)
        self.assertEqual(result["Service"], self.service)
        self.assertEqual([n["Service"]["ID"] for n in result["Nodes"]], ["web1"])
        explained = self.c.query.explain(prefix + self.service)
        self.assertEqual(explained["Query"]["Service"]["Service"], self.service)
        self.assertEqual(explained["Query"]["Name"], prefix)

    def test_an_unknown_query_is_not_found(self):
        # 0.7.1 answers a 404 of a JSON call with (X-Consul-Index, None); an execute's 404 carries
        # no index (as Consul's), so read that one's status through the client's plain HTTP.
        index, query = self.c.query.get("8f246b77-f3e1-ff88-5b48-8ec93abf3e05")
        self.assertIsNone(query)
        self.assertGreater(int(index), 0)
        self.assertIs(self.c.http.get(consul.base.CB.bool(), "/v1/query/%s/execute" % unique("nothing")), False)

    def test_a_query_without_a_service_or_with_a_bad_ttl_is_a_bad_request(self):
        with self.assertRaises(consul.base.BadRequest) as bad:
            self.c.query.create(service="", name=unique("pq"))
        self.assertIn("Service.Service", str(bad.exception))
        with self.assertRaises(consul.base.BadRequest) as bad:
            self.c.query.create(service=self.service, name=unique("pq"), ttl="ten")
        self.assertIn("DNS.TTL", str(bad.exception))

    def test_names_are_unique(self):
        name = unique("pq")
        self.create(service=self.service, name=name)
        with self.assertRaises(consul.base.BadRequest) as bad:
            self.c.query.create(service=self.service, name=name.upper())
        self.assertIn("aliases an existing query name", str(bad.exception))

    def test_a_query_made_through_one_agent_executes_through_the_other(self):
        name = unique("pq")
        self.create(service=self.service, name=name)
        result = self.other.query.execute(name)
        self.assertEqual([n["Service"]["ID"] for n in result["Nodes"]], ["web1"])

if __name__ == "__main__":
    runner = unittest.TextTestRunner(verbosity=2)
    result = unittest.main(testRunner=runner, exit=False).result
    # unittest exits 0 on unexpected successes before 3.12; a fixed difference must be noticed.
    ok = result.wasSuccessful() and not result.unexpectedSuccesses
    sys.exit(0 if ok else 1)
