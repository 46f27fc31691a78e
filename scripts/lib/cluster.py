"""A local gossip-node cluster inside a private network namespace.

Used by `scripts/cluster` (the command line), `scripts/reliability` and `scripts/bench`. Every
node runs inside the namespace `gossip-<name>`, on its own address 127.0.0.(i+1), gossip on port
7420 (UDP and TCP) and its API on port 7421 of the same address. Partitions and packet loss are
nftables rules inside that namespace only, so nothing outside it is touched.

The Python process joins the namespace with setns(2) (via ctypes) before it opens a socket or
starts a node, so the API calls and the nodes it starts all live in the namespace.
"""

from __future__ import annotations

import collections
import ctypes
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOSSIP_PORT = 7420
API_PORT = 7421
CLONE_NEWNET = 0x40000000
NFT_TABLE = "gossip_cluster"
# How long a write accepted during a node's start-up check may stay pending (its restore grace
# is 60 s; a node with a peer up is confirmed within a second).
PAUSE_WAIT = 70


class ClusterError(Exception):
    """A harness failure with a message that says what to do."""


def binary() -> str:
    """The gossip-node binary: $GOSSIP_NODE_BIN, else the release build (built when missing)."""
    env = os.environ.get("GOSSIP_NODE_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise ClusterError(f"GOSSIP_NODE_BIN={env} is not an executable")
        return os.path.abspath(env)
    path = os.path.join(ROOT, ".build", "release", "gossip-node")
    if not os.access(path, os.X_OK):
        print("building gossip-node (release)...", file=sys.stderr)
        subprocess.run([os.path.join(ROOT, "scripts", "build-release"), "gossip-node"], cwd=ROOT, check=True,
                       stdout=sys.stderr)
    return path


_libc = ctypes.CDLL(None, use_errno=True)
_home_ns = None


def enter_namespace(ns: str) -> None:
    """Moves this thread (and every process it starts from now on) into network namespace `ns`."""
    global _home_ns
    if _home_ns is None:
        _home_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    path = f"/run/netns/{ns}"
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise ClusterError(f"cannot enter network namespace {ns}: {os.strerror(err)} (run as root)")
    finally:
        os.close(fd)


def leave_namespace() -> None:
    """Returns this thread to the network namespace it started in."""
    if _home_ns is not None:
        _libc.setns(_home_ns, CLONE_NEWNET)


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class Cluster:
    """N nodes in namespace gossip-<name>, state under .local/cluster-<name>/."""

    def __init__(self, name: str = "gn", state_root: str | None = None):
        if not name.replace("-", "").isalnum() or len(name) > 20:
            raise ClusterError(f"cluster name {name!r}: use up to 20 letters, digits and dashes")
        self.name = name
        self.ns = f"gossip-{name}"
        self.dir = os.path.join(state_root or os.path.join(ROOT, ".local"), f"cluster-{name}")
        self.meta_path = os.path.join(self.dir, "cluster.json")
        self.meta = json.load(open(self.meta_path)) if os.path.exists(self.meta_path) else None

    # ----- layout

    @staticmethod
    def address(i: int) -> str:
        return f"127.0.0.{i + 1}"

    def node_dir(self, i: int) -> str:
        return os.path.join(self.dir, f"node{i}")

    @property
    def size(self) -> int:
        if not self.meta:
            raise ClusterError(f"no cluster {self.name!r} here; start one with: scripts/cluster up 3")
        return self.meta["nodes"]

    def nodes(self) -> range:
        return range(1, self.size + 1)

    # ----- namespace

    def namespace_exists(self) -> bool:
        return os.path.exists(f"/run/netns/{self.ns}")

    def create_namespace(self) -> None:
        if not shutil.which("ip"):
            raise ClusterError("`ip` (iproute2) is missing: apt-get install -y iproute2")
        if not self.namespace_exists():
            r = run(["ip", "netns", "add", self.ns], check=False)
            if r.returncode != 0:
                raise ClusterError(
                    f"cannot create network namespace {self.ns}: {r.stderr.strip()}\n"
                    "scripts/cluster needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) to create a private "
                    "network namespace; run it with sudo, or use `scripts/run --cluster N` for a cluster "
                    "without partitions or loss.")
        run(["ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up"])

    def enter(self) -> None:
        if not self.namespace_exists():
            raise ClusterError(f"the namespace {self.ns} is gone; start the cluster again: scripts/cluster up N")
        enter_namespace(self.ns)

    # ----- lifecycle

    def up(self, n: int, extra: list[str] | None = None, profile: str = "fast", seeds: bool = True) -> None:
        if not 1 <= n <= 200:
            raise ClusterError("a cluster has 1 to 200 nodes")
        if self.meta and any(self.alive(i) for i in self.nodes()):
            raise ClusterError(f"cluster {self.name!r} is already up; `scripts/cluster down` first")
        bin_path = binary()
        self.create_namespace()
        os.makedirs(self.dir, exist_ok=True)
        key = os.path.join(self.dir, "network.key")
        if not os.path.exists(key):
            out = run([bin_path, "network-key"]).stdout
            with open(key, "w") as f:
                f.write(out)
            os.chmod(key, 0o600)
        self.meta = {"nodes": n, "bin": bin_path, "profile": profile, "extra": extra or [], "seeds": seeds}
        self.save()
        self.enter()
        self.heal()
        for i in self.nodes():
            self.init_node(i)
        for i in self.nodes():
            self.start(i)
        for i in self.nodes():
            self.wait_healthy(i)

    def save(self) -> None:
        with open(self.meta_path, "w") as f:
            json.dump(self.meta, f, indent=1)

    def init_node(self, i: int, network_key: str | None = None) -> None:
        d = self.node_dir(i)
        if os.path.exists(os.path.join(d, "identity")):
            return
        key = network_key or os.path.join(self.dir, "network.key")
        r = run([self.meta["bin"], "init", "--data", d, "--network-key-file", key], check=False)
        if r.returncode != 0:
            raise ClusterError(f"init of node{i} failed: {r.stderr.strip()}")

    def run_args(self, i: int) -> list[str]:
        a = self.address(i)
        args = [self.meta["bin"], "run", "--data", self.node_dir(i), "--bind", f"{a}:{GOSSIP_PORT}",
                "--api", f"{a}:{API_PORT}", "--profile", self.meta.get("profile", "fast"), "--host-name", f"node{i}"]
        if not self.meta.get("seeds", True):
            pass  # the nodes find each other by discovery
        elif i != 1:
            args += ["--seed", f"{self.address(1)}:{GOSSIP_PORT}"]
        elif self.size > 1:
            args += ["--seed", f"{self.address(2)}:{GOSSIP_PORT}"]
        return args + list(self.meta.get("extra", []))

    def start(self, i: int) -> int:
        """Starts node i in the background (in the namespace); returns its pid."""
        if self.alive(i):
            raise ClusterError(f"node{i} is already running (pid {self.pid(i)})")
        d = self.node_dir(i)
        log = open(os.path.join(d, "node.log"), "ab")
        p = subprocess.Popen(self.run_args(i), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True, cwd=ROOT)
        log.close()
        with open(os.path.join(d, "node.pid"), "w") as f:
            f.write(str(p.pid))
        self._children = getattr(self, "_children", {})
        self._children[i] = p
        return p.pid

    def pid(self, i: int) -> int | None:
        try:
            return int(open(os.path.join(self.node_dir(i), "node.pid")).read().strip())
        except (OSError, ValueError):
            return None

    def alive(self, i: int) -> bool:
        pid = self.pid(i)
        if pid is None:
            return False
        child = getattr(self, "_children", {}).get(i)
        if child is not None and child.pid == pid:
            return child.poll() is None  # reaps it when it exited
        # Started by another process (the CLI, an earlier script): the pid is this node's while
        # the process there runs with this node's data directory. (Matching the binary's name
        # missed nodes run from a binary named otherwise, GOSSIP_NODE_BIN=/tmp/x, which `down`
        # then left running.)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            return False
        return os.fsencode(self.node_dir(i)) in args

    def signal(self, i: int, sig: int, wait: float = 10) -> None:
        pid = self.pid(i)
        if pid is None or not self.alive(i):
            raise ClusterError(f"node{i} is not running")
        os.kill(pid, sig)
        deadline = time.time() + wait
        while self.alive(i):
            if time.time() > deadline:
                raise ClusterError(f"node{i} (pid {pid}) did not exit within {wait} s of signal {sig}")
            time.sleep(0.01)

    def kill(self, i: int) -> None:
        self.signal(i, signal.SIGKILL)

    def stop(self, i: int) -> None:
        self.signal(i, signal.SIGTERM, wait=30)

    def restart(self, i: int) -> None:
        if self.alive(i):
            self.stop(i)
        self.start(i)
        self.wait_healthy(i)

    def down(self) -> None:
        if self.meta:
            for i in self.nodes():
                if self.alive(i):
                    try:
                        self.stop(i)
                    except ClusterError:
                        self.kill(i)
        leave_namespace()
        if self.namespace_exists():
            run(["ip", "netns", "del", self.ns], check=False)

    def destroy(self) -> None:
        """Stops everything and removes the cluster's state."""
        self.down()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ----- API

    def api(self, i: int, method: str, path: str, body: object | None = None, timeout: float = 10) -> tuple[int, object]:
        conn = http.client.HTTPConnection(self.address(i), API_PORT, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, raw.decode(errors="replace")
        finally:
            conn.close()

    def status(self, i: int) -> dict | None:
        try:
            code, body = self.api(i, "GET", "/v1/status", timeout=3)
            return body if code == 200 else None
        except OSError:
            return None

    def metrics(self, i: int) -> dict[str, float]:
        conn = http.client.HTTPConnection(self.address(i), API_PORT, timeout=5)
        try:
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
        finally:
            conn.close()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out

    def wait_healthy(self, i: int, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive(i):
                raise ClusterError(f"node{i} exited; see {self.node_dir(i)}/node.log:\n" + self.log_tail(i))
            try:
                conn = http.client.HTTPConnection(self.address(i), API_PORT, timeout=1)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.02)
        raise ClusterError(f"node{i} not healthy after {timeout} s:\n" + self.log_tail(i))

    def log_tail(self, i: int, lines: int = 15) -> str:
        try:
            return "".join(open(os.path.join(self.node_dir(i), "node.log"), errors="replace").readlines()[-lines:])
        except OSError:
            return "(no log)"

    # ----- writes

    def write_memory(self, i: int, content: str, key: str | None = None, category: str = "lesson") -> dict:
        body = {"category": category, "content": content}
        if key:
            body["key"] = key
        code, answer = self.api(i, "POST", "/v1/memories", body)
        if code == 202:
            # Accepted during the node's start-up check: durable in its outbox, signed once the
            # node knows its own latest seq. Wait for that, as a caller wanting the id would.
            deadline = time.time() + PAUSE_WAIT
            while time.time() < deadline:
                c2, m = self.api(i, "GET", f"/v1/memories/{answer['author']}/{answer['key']}")
                if c2 == 200 and not m.get("pending"):
                    return {"id": m["id"], "seq": m["seq"], "key": m["key"], "author": m["author"], "was_pending": True}
                time.sleep(0.05)
            raise ClusterError(f"write on node{i} still pending after {PAUSE_WAIT} s: {answer}")
        if code != 201:
            raise ClusterError(f"write on node{i} answered {code}: {answer}")
        return answer

    def write_breaker(self, i: int, provider: str, model: str, minutes: int = 15) -> dict:
        resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + minutes * 60))
        code, answer = self.api(i, "POST", "/v1/breakers", {"provider": provider, "model": model, "state": "open",
                                                             "reason": "harness", "resets_at": resets})
        if code != 201:
            raise ClusterError(f"breaker on node{i} answered {code}: {answer}")
        return answer

    def write_many(self, count: int, nodes: list[int] | None = None, kind: str = "memory", threads: int = 4,
                   prefix: str = "harness") -> int:
        """Writes `count` entries spread round-robin over `nodes`, several connections at once."""
        import concurrent.futures

        targets = nodes or [i for i in self.nodes() if self.alive(i)]
        if not targets:
            raise ClusterError("no running node to write to")
        stamp = f"{prefix}-{int(time.time() * 1000) % 10_000_000}"

        def worker(w: int) -> int:
            conns: dict[int, http.client.HTTPConnection] = {}
            done = 0
            try:
                for n in range(w, count, threads):
                    i = targets[n % len(targets)]
                    c = conns.get(i) or http.client.HTTPConnection(self.address(i), API_PORT, timeout=30)
                    conns[i] = c
                    if kind == "breaker" or (kind == "mixed" and n % 5 == 4):
                        resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 900))
                        path, body = "/v1/breakers", {"provider": f"p{n % 7}", "model": f"m{n % 11}", "state": "open",
                                                      "reason": f"{stamp} #{n}", "resets_at": resets}
                    else:
                        path, body = "/v1/memories", {"category": "lesson", "key": f"{stamp}-{n}",
                                                      "content": f"{stamp} lesson {n}: " + "provider drops requests at night " * 5}
                    c.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    answer = r.read()
                    # 202: accepted during the node's start-up check, signed soon after.
                    if r.status not in (201, 202):
                        raise ClusterError(f"write on node{i} answered {r.status}: {answer[:200]!r}")
                    done += 1
            finally:
                for c in conns.values():
                    c.close()
            return done

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            # Threads do not inherit setns: each one joins the namespace first.
            def run_worker(w: int) -> int:
                enter_namespace(self.ns)
                return worker(w)
            return sum(pool.map(run_worker, range(threads)))

    # ----- network faults (nftables, inside the namespace only)

    def _nft(self, script: str) -> None:
        r = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
        if r.returncode != 0:
            raise ClusterError(f"nft failed: {r.stderr.strip()}\n(is nftables installed? apt-get install -y nftables)")

    def _rules(self) -> dict:
        path = os.path.join(self.dir, "faults.json")
        return json.load(open(path)) if os.path.exists(path) else {"partition": [], "loss": 0}

    def _apply(self, rules: dict) -> None:
        with open(os.path.join(self.dir, "faults.json"), "w") as f:
            json.dump(rules, f)
        lines = [f"table inet {NFT_TABLE} {{}}", f"delete table inet {NFT_TABLE}",
                 f"table inet {NFT_TABLE} {{", "  chain in {", "    type filter hook input priority 0; policy accept;"]
        groups = rules["partition"]
        for a in range(len(groups)):
            for b in range(len(groups)):
                if a != b:
                    src = ", ".join(self.address(i) for i in groups[a])
                    dst = ", ".join(self.address(i) for i in groups[b])
                    lines.append(f"    ip saddr {{ {src} }} ip daddr {{ {dst} }} drop")
        if rules["loss"] > 0:
            lines.append(f"    meta l4proto udp udp dport {GOSSIP_PORT} numgen random mod 100 < {rules['loss']} drop")
        lines += ["  }", "}"]
        self._nft("\n".join(lines) + "\n")

    def partition(self, groups: list[list[int]]) -> None:
        seen = [i for g in groups for i in g]
        if len(groups) < 2 or len(set(seen)) != len(seen) or any(not 1 <= i <= self.size for i in seen):
            raise ClusterError(f"partition takes two or more disjoint groups of node numbers 1..{self.size}, e.g. 1,2,3 4,5,6")
        r = self._rules()
        r["partition"] = groups
        self._apply(r)

    def loss(self, percent: int) -> None:
        if not 0 <= percent <= 100:
            raise ClusterError("loss takes a percentage from 0 to 100")
        r = self._rules()
        r["loss"] = percent
        self._apply(r)

    def heal(self) -> None:
        self._apply({"partition": [], "loss": 0})

    # ----- convergence

    def snapshot(self) -> dict[int, dict | None]:
        return {i: (self.status(i) if self.alive(i) else None) for i in self.nodes()}

    def converged(self, nodes: list[int] | None = None) -> bool:
        """Every node of the cluster (or `nodes`) answers with one digest; a node that is down is
        not converged (a scenario that means to leave one out names the others)."""
        ids = nodes or list(self.nodes())
        digests = set()
        for i in ids:
            s = self.status(i)
            if s is None:
                return False
            digests.add(s["digest"])
        return len(digests) == 1

    def retention_settled(self, nodes: list[int]) -> bool:
        """Every node in `nodes` answers one digest and stores as many entries, has deleted
        everything a checkpoint declared dead, and waits for no checkpoint."""
        digests, stored = set(), set()
        for i in nodes:
            s = self.status(i)
            r = (s or {}).get("retention")
            if not r or r["dead_entries"] != 0 or r["checkpoints_pending"] != 0:
                return False
            digests.add(s["digest"])
            stored.add(r["stored_entries"])
        return len(digests) == 1 and len(stored) == 1

    def wait_converged(self, timeout: float = 60, nodes: list[int] | None = None) -> float:
        """Seconds until every node of the cluster (or `nodes`) reports the same digest."""
        t0 = time.time()
        while True:
            if self.converged(nodes):
                return time.time() - t0
            if time.time() - t0 > timeout:
                snap = self.snapshot()
                detail = ", ".join(f"node{i}: {s['entries'] if s else 'down'}" for i, s in snap.items())
                raise ClusterError(f"not converged after {timeout:.0f} s ({detail})")
            time.sleep(0.05)

    def table(self) -> str:
        snap = self.snapshot()
        counts = collections.Counter(s["digest"] for s in snap.values() if s)
        majority = counts.most_common(1)[0][0] if counts else None
        rows = [("node", "address", "pid", "author", "entries", "digest", "peers a/s/d", "converged")]
        for i, s in snap.items():
            if s is None:
                rows.append((f"node{i}", self.address(i), "-", "-", "-", "-", "-", "down"))
                continue
            p = s["peers"]
            rows.append((f"node{i}", self.address(i), str(self.pid(i)), s["author"][:12], str(s["entries"]), s["digest"][:12],
                         f"{p['alive']}/{p['suspect']}/{p['dead']}", "yes" if s["digest"] == majority and len(counts) == 1 else
                         ("majority" if s["digest"] == majority else "no")))
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        out = ["  ".join(v.ljust(widths[c]) for c, v in enumerate(r)) for r in rows]
        faults = self._rules()
        if faults["partition"] or faults["loss"]:
            out.append("faults: " + (" | ".join(",".join(map(str, g)) for g in faults["partition"]) or "no partition")
                       + f"; UDP loss {faults['loss']} %")
        return "\n".join(out)

