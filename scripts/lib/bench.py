"""scripts/bench: gossip-node side by side with HashiCorp Serf and with the machine's own limits.

Every part runs real processes (release builds) inside a private network namespace on loopback,
records what it measured into docs/benchmarks.json, and docs/benchmarks.md (with PNG plots under
docs/plots/) is regenerated from that file after every run, so running one part alone keeps the
figures of the others (each with its own date).
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import API_PORT, GOSSIP_PORT, ROOT, Cluster, binary, enter_namespace, leave_namespace  # noqa: E402

DOCS = os.path.join(ROOT, "docs")
RESULTS = os.path.join(DOCS, "benchmarks.json")
PLOTS = os.path.join(DOCS, "plots")
WORK = os.path.join(ROOT, ".local", "bench")
BENCH = os.path.join(ROOT, ".build", "release", "gossip-bench")
SERF_PORT = 7946
SERF_RPC = 7373
# Serf encrypts its gossip when given a key, as gossip-node always does (a fixed 32-byte key, base64).
SERF_KEY = "cg8StVXbQJ0gPvMd9o7yrg+1YPimC6tYXh6yYVKQZfE="


def serf_agent(i: int, extra: list[str] | None = None, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """Starts Serf agent i at 127.0.0.(i + 1) in the current namespace: Serf's defaults (LAN),
    encrypted like gossip-node; every agent after the first joins the first."""
    a = f"127.0.0.{i + 1}"
    args = ["serf", "agent", f"-node=serf{i}", f"-bind={a}:{SERF_PORT}", f"-rpc-addr={a}:{SERF_RPC}", f"-encrypt={SERF_KEY}",
            "-log-level=err"] + (extra or [])
    if i > 1:
        args.append(f"-join=127.0.0.2:{SERF_PORT}")
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to all, then waits for each (SIGKILL after 10 s)."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(p / 100 * (len(v) - 1)))))
    return v[k]


def machine() -> dict:
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 1024 / 1024
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    serf = subprocess.run(["serf", "version"], capture_output=True, text=True).stdout.splitlines()
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "kernel": platform.release(),
            "os": " ".join(open("/etc/os-release").read().split("PRETTY_NAME=")[1].splitlines()[0].strip('"').split()),
            "swift": swift[0] if swift else "?", "serf": serf[0] if serf else "?"}


def proc_cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident MiB (VmRSS), or one part of it: RssAnon (the process's own memory), RssFile."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True, capture_output=True)


def port_counters(ports: list[int]) -> None:
    """(Re)creates byte counters for traffic to and from `ports` in the current namespace."""
    rules = []
    for p in ports:
        rules += [f"    udp dport {p} counter", f"    tcp dport {p} counter", f"    tcp sport {p} counter"]
    nft("table inet gossip_bench {}\ndelete table inet gossip_bench\ntable inet gossip_bench {\n  chain in {\n"
        "    type filter hook input priority -10; policy accept;\n" + "\n".join(rules) + "\n  }\n}\n")


def counted_bytes() -> int:
    out = subprocess.run(["nft", "list", "table", "inet", "gossip_bench"], capture_output=True, text=True).stdout
    return sum(int(b) for b in re.findall(r"bytes (\d+)", out))


class Namespace:
    """A namespace for Serf agents (gossip-node clusters come with their own)."""

    def __init__(self, name: str):
        self.name = name
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)

    def close(self) -> None:
        leave_namespace()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


# ----------------------------------------------------------------------------------------------
# Serf


class SerfCluster:
    def __init__(self, n: int, events_dir: str, handler: bool = True):
        self.n = n
        self.ns = Namespace("gossip-bench-serf")
        enter_namespace("gossip-bench-serf")
        self.dir = events_dir
        shutil.rmtree(events_dir, ignore_errors=True)
        os.makedirs(events_dir)
        self.handler = os.path.join(events_dir, "handler.sh")
        with open(self.handler, "w") as f:
            # What a Serf user does with an event: a handler process per event, per agent.
            f.write('#!/bin/sh\nread -r payload\necho "$(date +%s.%N) $payload" >> "' + events_dir + '/$SERF_SELF_NAME.events"\n')
        os.chmod(self.handler, 0o755)
        self.procs = []
        for i in range(1, n + 1):
            self.procs.append(serf_agent(i, [f"-event-handler=user:prop={self.handler}"] if handler else [],
                                         stderr=open(os.path.join(events_dir, f"serf{i}.log"), "w")))
            if i == 1:
                self.wait_rpc(1)
        deadline = time.time() + 60
        while self.alive_members() < n:
            if time.time() > deadline:
                raise RuntimeError(f"Serf: only {self.alive_members()} of {n} members alive after 60 s")
            time.sleep(0.2)

    def wait_rpc(self, i: int) -> None:
        deadline = time.time() + 20
        while subprocess.run(["serf", "members", f"-rpc-addr=127.0.0.{i + 1}:{SERF_RPC}"], capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("Serf agent did not start")
            time.sleep(0.1)

    def alive_members(self) -> int:
        r = subprocess.run(["serf", "members", f"-rpc-addr=127.0.0.2:{SERF_RPC}", "-status=alive"], capture_output=True, text=True)
        return len([l for l in r.stdout.splitlines() if l.strip()])

    def event(self, origin: int, payload: str) -> None:
        subprocess.run(["serf", "event", f"-rpc-addr=127.0.0.{origin + 1}:{SERF_RPC}", "-coalesce=false", "prop", payload],
                       check=True, capture_output=True)

    def deliveries(self, payload: str) -> dict[int, float]:
        out = {}
        for i in range(1, self.n + 1):
            path = os.path.join(self.dir, f"serf{i}.events")
            if os.path.exists(path):
                for line in open(path):
                    t, _, p = line.strip().partition(" ")
                    if p == payload:
                        out[i] = float(t)
        return out

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        stop_processes(self.procs)
        self.ns.close()


# ----------------------------------------------------------------------------------------------
# gossip-node helpers


class ArrivalLoop:
    """Many kept connections read by one thread with epoll; each arrival is stamped when its bytes
    are read. (A reader thread per connection, as before, made 128 threads contend for the
    interpreter lock: at N = 128 stamps lagged by tens of ms and an origin's own delivery was
    stamped up to 130 ms after other nodes'.) Used for gossip-node and Serf alike."""

    def __init__(self):
        import selectors
        self.sel = selectors.DefaultSelector()
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def add(self, sock, on_bytes) -> None:
        """Registers a connected socket (before ``start``); `on_bytes(data, t)` gets what it reads."""
        import selectors
        sock.setblocking(False)
        self.sel.register(sock, selectors.EVENT_READ, on_bytes)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        while not self.stopped:
            for key, _ in self.sel.select(0.2):
                t = time.time()
                try:
                    data = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(key.fileobj)
                    continue
                key.data(data, t)

    def close(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


class Events:
    """SSE subscriptions to /v1/events on every node (one ``ArrivalLoop``); records when each key
    arrived where."""

    def __init__(self, c: Cluster, nodes: list[int]):
        import socket
        self.c, self.seen, self.lock = c, {}, threading.Lock()
        self.loop = ArrivalLoop()
        enter_namespace(c.ns)  # where the cluster's `up` put the caller's thread already
        for i in nodes:
            sock = socket.create_connection((c.address(i), API_PORT), timeout=30)
            sock.sendall(b"GET /v1/events?kinds=memory HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:  # the response's head: the subscription is open
                chunk = sock.recv(4096)
                if not chunk:
                    raise RuntimeError(f"node{i}: /v1/events closed before answering")
                head += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"node{i}: /v1/events answered {head.splitlines()[0]!r}")
            rest = head.split(b"\r\n\r\n", 1)[1]
            self.loop.add(sock, self.reader(i, rest))
        self.loop.start()

    def reader(self, i: int, initial: bytes):
        buf = [initial]

        def on_bytes(data: bytes, t: float) -> None:
            lines = (buf[0] + data).split(b"\n")
            buf[0] = lines.pop()
            for line in lines:
                m = re.search(rb'"key":"(prop-[^"]+)"', line) if b"data: " in line else None
                if m:
                    with self.lock:
                        self.seen.setdefault(m.group(1).decode(), {}).setdefault(i, t)
        return on_bytes

    def deliveries(self, key: str) -> dict[int, float]:
        with self.lock:
            return dict(self.seen.get(key, {}))

    def close(self) -> None:
        self.loop.close()


def wait_members(c: Cluster, n: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while True:
        counts = [(c.status(i) or {"peers": {"alive": -1}})["peers"]["alive"] for i in c.nodes()]
        if all(x == n - 1 for x in counts):
            return
        if time.time() > deadline:
            raise RuntimeError(f"membership did not settle: alive counts {counts}")
        time.sleep(0.2)


def node_pids(c: Cluster) -> list[int]:
    return [c.pid(i) for i in c.nodes()]


def make_bundle(entries: int, authors: int, seed: int = 0) -> tuple[str, dict]:
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, f"bundle-{entries}-{authors}-{seed}")
    r = subprocess.run([BENCH, "bundle", "--entries", str(entries), "--authors", str(authors), "--seed", str(seed), "--out", path],
                       capture_output=True, text=True, check=True)
    return path, json.loads(r.stdout)


def import_bundle(c: Cluster, i: int, path: str) -> float:
    t0 = time.time()
    r = subprocess.run([binary(), "import", "--data", c.node_dir(i), path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"import into node{i} failed: {r.stdout}{r.stderr}")
    return time.time() - t0


def fresh_cluster(name: str, n: int, profile: str = "lan") -> Cluster:
    c = Cluster(name)
    c.destroy()
    c = Cluster(name)
    c.up(n, profile=profile)
    return c


# ----------------------------------------------------------------------------------------------
# Parts


def part_ingest() -> dict:
    """The machine's limit: verify+store, and LogStore ingest against it (gossip-bench ingest)."""
    return measure_ingest(full=True)


def measure_ingest(full: bool) -> dict:
    """`gossip-bench ingest`: the pipelined limit (the slower of verification on all cores and the
    raw insert), the store's commit alone and its whole ingest; with `full`, also recall, local
    appends and the offline verify (about 8 s more). The catch-up measures the limit this way
    right before each of its runs (about 14 s), so that a run's ratio compares the node with the
    machine as fast as it was then: over the hour of a full bench the machine's speed moves by
    more than the target's margin (the offline import of one bundle ran at 20,881 and 28,591
    entries/s in two runs of one build)."""
    env = dict(os.environ)
    if not full:
        env["GOSSIP_BENCH_ONLY_INGEST"] = "1"
    r = subprocess.run([BENCH, "ingest"], capture_output=True, text=True, check=True, env=env)
    out = r.stdout
    log(out)
    m = re.search(r"LogStore\.ingest .*= (\d+) /s", out)
    serial = re.search(r"limit \(verify then insert, serial\): (\d+) entries/s", out)
    recall = re.search(r"recall .*?: p50 ([\d.]+) ms, p99 ([\d.]+) ms", out)
    verify = re.search(r"raw verify \(libsodium, \d+ cores\): .*= (\d+) /s", out)
    insert = re.search(r"raw SQLite insert .*= (\d+) /s", out)
    if not (m and serial and verify and insert):
        raise RuntimeError(f"gossip-bench ingest printed no limit:\n{out}")
    # The pipeline's ceiling: verification on all cores and the insert run at once, so the
    # slower of the two stages bounds it (the serial limit adds their times).
    pipelined = min(int(verify.group(1)), int(insert.group(1)))
    commit = re.search(r"LogStore commit alone .*= (\d+) /s\n\s+CPU: ([\d.]+) µs per entry", out)
    return {"ingest_per_s": int(m.group(1)), "serial_limit_per_s": int(serial.group(1)), "limit_per_s": pipelined,
            "commit_alone_per_s": int(commit.group(1)) if commit else None, "commit_cpu_us": float(commit.group(2)) if commit else None,
            "verify_all_cores_per_s": int(verify.group(1)), "insert_per_s": int(insert.group(1)),
            "store_recall_p50_ms": float(recall.group(1)) if recall else None,
            "store_recall_p99_ms": float(recall.group(2)) if recall else None, "raw": out.strip().splitlines()}


def spread_times(n: int, send, deliveries, timeout: float, poll: float, events: int = 20) -> tuple[list[float], list[float], int]:
    """Sends `events` events from rotating origins; for each, the time from its delivery at the
    origin to the last node's, and every other node's delay (seconds). An event that has not
    reached every node within `timeout` counts as taking `timeout` (a lower bound; its missing
    nodes add nothing to the per-node delays) and is counted in the third value."""
    times, per_node, incomplete = [], [], 0
    for k in range(events):
        origin = 1 + (k * 7) % n
        send(origin, k)
        deadline = time.time() + timeout
        while len(deliveries(k)) < n:
            if time.time() > deadline:
                break
            time.sleep(poll)
        d = deliveries(k)
        if len(d) < n:
            incomplete += 1
            log(f"  event {k}: reached {len(d)} of {n} nodes in {timeout:.0f} s; counted as {timeout:.0f} s")
        if origin not in d:
            times.append(timeout)
            continue
        t0 = d[origin]
        times.append(max(d.values()) - t0 if len(d) == n else timeout)
        per_node += [t - t0 for i, t in d.items() if i != origin]
        time.sleep(0.1)
    return times, per_node, incomplete


def propagation_run(n: int) -> dict:
    """One run at N nodes: 20 events through gossip-node, then 20 through Serf, on the same machine."""
    log(f"propagation: gossip-node, {n} nodes")
    c = fresh_cluster("bench-prop", n)
    try:
        wait_members(c, n)
        ev = Events(c, list(c.nodes()))
        try:
            pids = node_pids(c)
            cpu0, w0 = sum(proc_cpu_seconds(p) for p in pids), time.time()
            times, per_node, g_incomplete = spread_times(
                n, lambda origin, k: c.write_memory(origin, f"propagation probe {k}", key=f"prop-{n}-{k}"),
                lambda k: ev.deliveries(f"prop-{n}-{k}"), timeout=30, poll=0.002)
            g_cpu, g_wall = sum(proc_cpu_seconds(p) for p in pids) - cpu0, time.time() - w0
        finally:
            ev.close()
    finally:
        c.destroy()
    log(f"propagation: Serf, {n} agents")
    serf = SerfCluster(n, os.path.join(WORK, "serf-events"), handler=False)
    try:
        stream = SerfEvents(n)
        spids = [p.pid for p in serf.procs]
        cpu0, w0 = sum(proc_cpu_seconds(p) for p in spids), time.time()
        s_times, s_per_node, s_incomplete = spread_times(n, lambda origin, k: serf.event(origin, f"p{n}-{k}"),
                                                         lambda k: stream.deliveries(f"p{n}-{k}"), timeout=30, poll=0.005)
        s_cpu, s_wall = sum(proc_cpu_seconds(p) for p in spids) - cpu0, time.time() - w0
        stream.close()
    finally:
        serf.close()
    g50, s50 = pct(times, 50), pct(s_times, 50)
    g99, s99 = pct(times, 99), pct(s_times, 99)
    log(f"  N={n}: gossip-node p50 {g50 * 1000:.1f} ms, Serf p50 {s50 * 1000:.1f} ms")
    return {"gossip_node_ms": [round(t * 1000, 2) for t in times], "serf_ms": [round(t * 1000, 2) for t in s_times],
            "gossip_node_per_node_ms": [round(t * 1000, 2) for t in per_node],
            "serf_per_node_ms": [round(t * 1000, 2) for t in s_per_node],
            "gossip_node_p50_ms": round(g50 * 1000, 2), "gossip_node_p99_ms": round(g99 * 1000, 2),
            "serf_p50_ms": round(s50 * 1000, 2), "serf_p99_ms": round(s99 * 1000, 2),
            "ratio_p50": round(g50 / s50, 4) if s50 else None, "ratio_p99": round(g99 / s99, 4) if s99 else None,
            # Events that had not reached every node within the timeout (counted as the timeout).
            "gossip_node_incomplete": g_incomplete, "serf_incomplete": s_incomplete,
            # CPU of all the nodes (agents) while the events spread, idle work included.
            "gossip_node_cpu_ms_per_event": round(g_cpu / len(times) * 1000, 1),
            "serf_cpu_ms_per_event": round(s_cpu / len(s_times) * 1000, 1),
            "gossip_node_cpu_busy": round(g_cpu / g_wall / (os.cpu_count() or 1), 3),
            "serf_cpu_busy": round(s_cpu / s_wall / (os.cpu_count() or 1), 3)}


def part_propagation() -> dict:
    """One small event written at one node, time until every node has it: gossip-node vs Serf.
    GOSSIP_BENCH_PROP_RUNS (3) runs at each size, each run both systems side by side; a size's
    figures are its median run by the p50 ratio (Serf's p50 alone varies by half between runs
    on this machine), every run's p50s, p99s and ratios kept."""
    result = {}
    runs_per_size = max(1, int(os.environ.get("GOSSIP_BENCH_PROP_RUNS", "3")))
    for n in [int(x) for x in os.environ.get("GOSSIP_BENCH_PROP_SIZES", "16,32,128").split(",")]:
        runs = [propagation_run(n) for _ in range(runs_per_size)]
        ranked = sorted(runs, key=lambda r: r["ratio_p50"] if r["ratio_p50"] is not None else float("inf"))
        out = dict(ranked[len(ranked) // 2])
        out["runs"] = [{k: r[k] for k in ("gossip_node_p50_ms", "gossip_node_p99_ms", "serf_p50_ms", "serf_p99_ms",
                                          "ratio_p50", "ratio_p99", "gossip_node_cpu_ms_per_event", "serf_cpu_ms_per_event")}
                       for r in runs]
        result[str(n)] = out
        log(f"  N={n} (median of {len(runs)} by p50 ratio): gossip-node p50 {out['gossip_node_p50_ms']} ms, Serf p50 "
            f"{out['serf_p50_ms']} ms; ratios {' / '.join(str(r['ratio_p50']) for r in runs)}")
    return result


def part_catchup() -> dict:
    """The catch-up, GOSSIP_BENCH_RUNS (3) times, each right after a measurement of the machine's
    limit. The part's limit is the median of those measurements (one alone moved by a fifth
    between two runs a minute apart) and the part's figures are the median run by rate against
    it; every run's rate and limit are kept."""
    runs = [catchup_run() for _ in range(int(os.environ.get("GOSSIP_BENCH_RUNS", "3")))]
    by_limit = sorted(runs, key=lambda r: r["limit"]["limit_per_s"])
    limits = by_limit[len(runs) // 2]["limit"]
    for r in runs:
        r["run_limit_per_s"] = r["limit"]["limit_per_s"]
        r["limit_per_s"] = limits["limit_per_s"]
        r["ratio"] = round(r["entries_per_s"] / limits["limit_per_s"], 3)
    median = sorted(runs, key=lambda r: r["entries_per_s"])[len(runs) // 2]
    out = dict(median)
    out["limit"] = limits
    out["runs"] = [{k: r[k] for k in ("seconds", "entries_per_s", "run_limit_per_s", "ratio", "cpu_seconds", "first_entry_s", "joiner_sessions")} for r in runs]
    log(f"  catch-up (median of {len(runs)}): {median['entries_per_s']} /s, limit {limits['limit_per_s']} /s (median of "
        f"{' / '.join(str(r['run_limit_per_s']) for r in runs)}), ratio {median['ratio']} (runs {' / '.join(str(r['ratio']) for r in runs)})")
    return out


def catchup_run() -> dict:
    """A fresh node joins two nodes holding 100,000 entries (10 authors, ~350-byte payloads); the
    machine's limit is measured first, with nothing else running (``measure_ingest``)."""
    limits = measure_ingest(full=False)
    path, info = make_bundle(100_000, 10)
    c = fresh_cluster("bench-catchup", 3)
    try:
        for i in c.nodes():
            c.stop(i)
        import_s = import_bundle(c, 1, path)
        import_bundle(c, 2, path)
        starts = []
        for i in (1, 2):
            t0 = time.time()
            c.start(i)
            c.wait_healthy(i)
            starts.append(time.time() - t0)
        c.wait_converged(60, nodes=[1, 2])
        target = c.status(1)
        holders_cpu0 = [proc_cpu_seconds(c.pid(i)) for i in (1, 2)]
        t0 = time.time()
        c.start(3)
        samples = []
        while True:
            s = c.status(3)
            now = time.time() - t0
            if s:
                samples.append((round(now, 3), s["entries"]))
                if s["digest"] == target["digest"]:
                    break
            if now > 300:
                raise RuntimeError(f"catch-up incomplete after 300 s: {s}")
            time.sleep(0.05)
        t = time.time() - t0
        # Start-up share: when the first entries were stored, and how the joiner's sessions went
        # (a session whose peer sent nothing shows as a broken promise and a later first entry).
        first_entry = next((at for at, n in samples if n > 0), t)
        jm = c.metrics(3)
        sessions = {"dials": int(jm.get("gossip_node_sync_dials_total", 0)),
                    "promises_broken": int(jm.get("gossip_node_promises_broken_total", 0))}
        holders_cpu = [proc_cpu_seconds(c.pid(i)) - a for i, a in zip((1, 2), holders_cpu0)]
        joiner_cpu = proc_cpu_seconds(c.pid(3))
        rss_after = [round(proc_rss_mib(c.pid(i)), 1) for i in c.nodes()]
        # A node hands back the page cache and buffers of a big session 5 s after it ended.
        released0 = {i: c.metrics(i).get("gossip_node_memory_releases_total", 0) for i in c.nodes()}
        deadline = time.time() + 30
        streamer = 1 if holders_cpu[0] >= holders_cpu[1] else 2
        while time.time() < deadline and any(c.metrics(i).get("gossip_node_memory_releases_total", 0) <= released0[i] for i in (streamer, 3)):
            time.sleep(0.5)
        rss_released = [round(proc_rss_mib(c.pid(i)), 1) for i in c.nodes()]
        rate = info["entries"] / t
        return {"entries": info["entries"], "authors": 10, "payload_bytes_avg": info["payload_bytes"] // info["entries"],
                "seconds": round(t, 2), "entries_per_s": round(rate),
                "limit": {k: v for k, v in limits.items() if k != "raw"},
                "first_entry_s": round(first_entry, 3), "joiner_sessions": sessions,
                "samples": samples,
                "import_entries_per_s": round(info["entries"] / import_s), "startup_with_100k_s": round(min(starts), 3),
                "cpu_seconds": {"joiner": round(joiner_cpu, 2), "holder1": round(holders_cpu[0], 2), "holder2": round(holders_cpu[1], 2)},
                "rss_mib_after": rss_after, "rss_mib_released": rss_released}
    finally:
        c.destroy()


def binaries_from_disk() -> None:
    """Drops the page cache of the gossip-node and serf binaries (POSIX_FADV_DONTNEED) before a
    part that compares resident memory, so that both are read back from disk by the same readahead,
    as at a host's boot. A file just written (scripts/bench links gossip-node right before it
    measures; Serf's was installed long before) sits in the page cache in the writer's large
    folios, and on this kernel (6.18, ext4) a fault maps the whole folio: one binary measured
    5,420 kB of resident code in a node when freshly copied and 5,084 kB when read from disk
    (another build 5,328-6,380 against 4,912). Only clean, unmapped pages are dropped: no process
    of either system is running when this is called; their own pages are never touched."""
    for path in (binary(), shutil.which("serf")):
        if not path:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        except OSError as e:
            log(f"note: the page cache of {path} was not dropped ({e}); its resident code may read high")


def process_figures(pids: list[int], cpu0: list[float], dt: float) -> dict:
    """CPU per process over `dt` seconds since `cpu0` (percent of a core), and RSS and RssAnon now."""
    cpu1 = [proc_cpu_seconds(p) for p in pids]
    rss = [proc_rss_mib(p) for p in pids]
    anon = [proc_rss_mib(p, "RssAnon") for p in pids]
    return {"cpu_percent_per_node": round(100 * sum(b - a for a, b in zip(cpu0, cpu1)) / dt / len(pids), 3),
            "rss_mib_mean": round(statistics.mean(rss), 1), "rss_mib_max": round(max(rss), 1),
            "rss_anon_mib_mean": round(statistics.mean(anon), 1)}


def idle_gossip_node(n: int, entries: int, window: float) -> dict:
    """n nodes idle for `window` seconds once they list each other alive and hold equal digests
    (and 5 s more). With `entries`, the cluster is stopped after its start, one node imports them,
    the others get a copy of its database, and all start again (a converged cluster holding
    them); without, the nodes are measured after their first start, as Serf's agents are."""
    log(f"idle: {n} gossip-node nodes holding {entries} entries, {window:.0f} s")
    c = fresh_cluster("bench-idle", n)
    try:
        if entries:
            path, _ = make_bundle(entries, 10, seed=1)
            for i in c.nodes():
                c.stop(i)
            import_bundle(c, 1, path)
            for i in range(2, n + 1):  # the same entries everywhere: a converged cluster
                for suffix in ("", "-wal", "-shm"):
                    src = os.path.join(c.node_dir(1), "node.db" + suffix)
                    dst = os.path.join(c.node_dir(i), "node.db" + suffix)
                    if os.path.exists(dst):
                        os.remove(dst)
                    if os.path.exists(src):
                        shutil.copyfile(src, dst)
            for i in c.nodes():
                c.start(i)
        for i in c.nodes():
            c.wait_healthy(i)
        wait_members(c, n, timeout=120)
        c.wait_converged(60)
        time.sleep(5)  # start-up syncs done
        port_counters([GOSSIP_PORT])
        pids = node_pids(c)
        cpu0 = [proc_cpu_seconds(p) for p in pids]
        m0 = [c.metrics(i) for i in c.nodes()]
        t0 = time.time()
        time.sleep(window)
        dt = time.time() - t0
        wire = counted_bytes()
        m1 = [c.metrics(i) for i in c.nodes()]
        procs = process_figures(pids, cpu0, dt)
        out_bytes = lambda m: sum(v for k, v in m.items() if k.startswith("gossip_node_bytes_total") and 'direction="out"' in k)
        tcp_out = lambda m: m.get('gossip_node_bytes_total{transport="tcp",direction="out"}', 0)
        payload = sum(out_bytes(b) - out_bytes(a) for a, b in zip(m0, m1))
        sessions = sum(b.get("gossip_node_sync_dials_total", 0) - a.get("gossip_node_sync_dials_total", 0) for a, b in zip(m0, m1))
        r = {"wire_bytes_per_s_per_node": round(wire / dt / n, 1),
             "payload_bytes_per_s_per_node": round(payload / dt / n, 1),
             "tcp_payload_bytes_per_s_per_node": round(sum(tcp_out(b) - tcp_out(a) for a, b in zip(m0, m1)) / dt / n, 1),
             "sessions": int(sessions), **procs}
        log(f"  {r}")
        return r
    finally:
        c.destroy()


def idle_serf(n: int, window: float) -> dict:
    """n Serf agents idle for `window` seconds, 5 s after all are alive members."""
    log(f"idle: {n} Serf agents, {window:.0f} s")
    serf = SerfCluster(n, os.path.join(WORK, "serf-idle"))
    try:
        time.sleep(5)
        port_counters([SERF_PORT])
        pids = serf.pids()
        cpu0 = [proc_cpu_seconds(p) for p in pids]
        t0 = time.time()
        time.sleep(window)
        dt = time.time() - t0
        r = {"wire_bytes_per_s_per_node": round(counted_bytes() / dt / n, 1), **process_figures(pids, cpu0, dt)}
        log(f"  serf: {r}")
        return r
    finally:
        serf.close()


def part_idle() -> dict:
    """16 nodes idle for 60 s with 1,000 and with 100,000 entries; 16 idle Serf agents. Then 128
    of each (issue 17's scale target), both from their first start, as a user starts a cluster:
    the nodes from 5 s after every node lists every other alive with equal digests, the agents
    from 5 s after all are alive members. (Restarted all at once, as the rows with entries are,
    128 nodes gossip every member's new record: measured at 7a11724, about 15 KB/s per node for
    5 s and 9 KB/s for 5 more after the digests were equal, then 200 bytes/s.)"""
    n, window = 16, float(os.environ.get("GOSSIP_BENCH_IDLE_SECONDS", "60"))
    result = {"nodes": n, "window_s": window}
    binaries_from_disk()
    for entries in (1_000, 100_000):
        result[str(entries)] = idle_gossip_node(n, entries, window)
    result["serf"] = idle_serf(n, window)
    big_n = int(os.environ.get("GOSSIP_BENCH_IDLE_LARGE", "128"))
    if big_n:
        result["large"] = {"nodes": big_n, "entries": 0, "gossip_node": idle_gossip_node(big_n, 0, window),
                           "serf": idle_serf(big_n, window)}
    return result


def part_memory() -> dict:
    """Memory under load, GOSSIP_BENCH_MEMORY_RUNS (3) runs: each figure is the median of the
    runs' figures (maxima: the largest), each run's kept."""
    runs = [memory_run() for _ in range(int(os.environ.get("GOSSIP_BENCH_MEMORY_RUNS", "3")))]
    out = dict(runs[0])
    for name in ("gossip_node", "serf"):
        out[name] = {k: round(max(r[name][k] for r in runs) if k.endswith("_max") else statistics.median(r[name][k] for r in runs), 2)
                     for k in runs[0][name]}
    out["ratio_p50"] = round(out["gossip_node"]["rss_mib_p50"] / out["serf"]["rss_mib_p50"], 3)
    out["runs"] = [{"gossip_node_rss_mib_p50": r["gossip_node"]["rss_mib_p50"], "serf_rss_mib_p50": r["serf"]["rss_mib_p50"],
                    "ratio_p50": r["ratio_p50"]} for r in runs]
    log(f"  memory (median of {len(runs)}): gossip-node {out['gossip_node']['rss_mib_p50']} MiB, Serf "
        f"{out['serf']['rss_mib_p50']} MiB; ratios {' / '.join(str(r['ratio_p50']) for r in runs)}")
    return out


def memory_run() -> dict:
    """Memory under load: 16 gossip-node nodes and 16 Serf agents side by side for 10 minutes,
    each system given 1 write a second spread over its nodes (gossip-node: a memory through the
    API; Serf: a user event over its RPC) and 10 reads a second (gossip-node: a recall; Serf: a
    members query, its nearest read). RSS and RssAnon of every process sampled every 10 s."""
    import random
    n = 16
    seconds = float(os.environ.get("GOSSIP_BENCH_MEMORY_SECONDS", "600"))
    binaries_from_disk()
    c = fresh_cluster("bench-memory", n)
    serf = None
    failures, stop = [], threading.Event()
    try:
        wait_members(c, n)
        c.wait_converged(60)
        serf = SerfCluster(n, os.path.join(WORK, "serf-memory"), handler=False)  # waits until all list all
        rpc = {i: SerfRPC(f"127.0.0.{i + 1}") for i in range(1, n + 1)}
        words = vocabulary()
        rng = random.Random(3)

        def paced(fn, per_s):
            """Calls fn(k) per_s times a second until stopped; a failure stops the run and fails it."""
            k, t0 = 0, time.time()
            while not stop.is_set():
                try:
                    fn(k)
                except Exception as e:  # noqa: BLE001 - recorded and raised in the main thread
                    failures.append(f"{fn.__name__}: {e}")
                    stop.set()
                    return
                k += 1
                wait = t0 + k / per_s - time.time()
                if wait > 0:
                    stop.wait(wait)

        def node_write(k):
            code, body = c.api(1 + k % n, "POST", "/v1/memories", {"category": "load", "content": f"memory under load {k}: "
                                                                    + " ".join(rng.choices(words, k=12))})
            if code not in (201, 202):
                raise RuntimeError(f"write answered {code}: {body}")

        def node_recall(k):
            q = "+".join(rng.choices(words, k=2))
            code, body = c.api(1 + k % n, "GET", f"/v1/memories?q={q}&limit=20")
            if code != 200:
                raise RuntimeError(f"recall answered {code}: {body}")

        serf_lock = threading.Lock()

        def serf_event(k):
            with serf_lock:
                rpc[1 + k % n]._call("event", {"Name": "load", "Payload": f"memory under load {k}".encode(), "Coalesce": False}, reply=False)

        def serf_read(k):
            with serf_lock:
                rpc[1 + k % n].alive()

        def in_ns(name, fn, per_s):
            def run():
                enter_namespace(name)
                paced(fn, per_s)
            t = threading.Thread(target=run, daemon=True)
            t.start()
            return t

        node_pids_ = node_pids(c)
        serf_pids = serf.pids()
        threads = [in_ns(c.ns, node_write, 1), in_ns(c.ns, node_recall, 10),
                   in_ns("gossip-bench-serf", serf_event, 1), in_ns("gossip-bench-serf", serf_read, 10)]
        samples = {"gossip_node": {"rss": [], "anon": []}, "serf": {"rss": [], "anon": []}}
        series = []
        t0 = time.time()
        while time.time() - t0 < seconds and not stop.is_set():
            stop.wait(10)
            row = {"t": round(time.time() - t0)}
            for name, pids in (("gossip_node", node_pids_), ("serf", serf_pids)):
                rss = [proc_rss_mib(p) for p in pids]
                anon = [proc_rss_mib(p, "RssAnon") for p in pids]
                samples[name]["rss"] += rss
                samples[name]["anon"] += anon
                row[name] = round(statistics.median(rss), 2)
            series.append(row)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        if failures:
            raise RuntimeError(f"memory: the load failed: {failures[0]}")
        enter_namespace(c.ns)
        writes = c.status(1)["entries"]
        result = {"nodes": n, "seconds": round(time.time() - t0), "sample_every_s": 10, "entries_at_end": writes, "series": series}
        for name in ("gossip_node", "serf"):
            rss, anon = samples[name]["rss"], samples[name]["anon"]
            result[name] = {"rss_mib_p50": round(statistics.median(rss), 2), "rss_mib_max": round(max(rss), 2),
                            "rss_anon_mib_p50": round(statistics.median(anon), 2), "rss_anon_mib_max": round(max(anon), 2)}
        result["ratio_p50"] = round(result["gossip_node"]["rss_mib_p50"] / result["serf"]["rss_mib_p50"], 3)
        log(f"  gossip-node {result['gossip_node']}, Serf {result['serf']}")
        return result
    finally:
        stop.set()
        if serf:
            serf.close()
        c.destroy()


def part_sync() -> dict:
    """Bytes on the wire to bring a node d = 1, 100, 10,000 entries behind up to date."""
    c = fresh_cluster("bench-sync", 2)
    result = {}
    try:
        wait_members(c, 2)
        author = c.status(1)["author"]
        for d in (1, 100, 10_000):
            c.wait_converged(30)
            c.stop(2)
            before = export_size(c, 1, author)
            c.write_many(d, nodes=[1], threads=4 if d > 10 else 1, prefix=f"sync{d}")
            size = export_size(c, 1, author) - before
            port_counters([GOSSIP_PORT])
            pushed0 = c.metrics(1).get("gossip_node_push_bytes_total", 0)
            c.start(2)
            c.wait_healthy(2)
            t = c.wait_converged(120)
            time.sleep(1)  # the last frames and the closing of the session
            wire = counted_bytes()
            # Datagrams node 1 sent carrying entries (its hinted handoff), as sealed, from its counter.
            push_bytes = int(c.metrics(1).get("gossip_node_push_bytes_total", 0) - pushed0)
            m2 = c.metrics(2)
            tcp = sum(m2.get(f'gossip_node_bytes_total{{transport="tcp",direction="{d_}"}}', 0) for d_ in ("in", "out"))
            sessions = m2.get('gossip_node_sync_exchanges_total', 0)
            udp = (m2.get('gossip_node_bytes_total{transport="udp",direction="in"}', 0)
                   + m2.get('gossip_node_bytes_total{transport="udp",direction="out"}', 0))
            hs = 352 * sessions
            session_bytes = tcp + hs
            # What brought the missing entries: sessions (TCP payload both ways and their handshakes)
            # and datagrams to node2 large enough to carry an entry (UDP payload).
            catch_up = session_bytes + push_bytes
            result[str(d)] = {"entries_bytes": size, "session_bytes": int(session_bytes), "sessions": int(sessions),
                              "push_bytes": push_bytes, "catch_up_bytes": int(catch_up),
                              "udp_bytes_during": int(udp), "wire_bytes_incl_headers": wire, "seconds": round(t, 3),
                              "ratio": round(catch_up / size, 3), "target_bytes": int(1.1 * size + 64)}
            log(f"  d={d}: {result[str(d)]}")
        # d = 1 while both nodes are up: the entry travels by eager push, one datagram.
        c.wait_converged(30)
        nft("table inet gossip_bench {}\ndelete table inet gossip_bench\ntable inet gossip_bench {\n  chain in {\n"
            "    type filter hook input priority -10; policy accept;\n"
            f"    ip daddr {c.address(2)} udp dport {GOSSIP_PORT} udp length > 300 counter\n  }}\n}}\n")
        before = export_size(c, 1, author)
        c.write_many(1, nodes=[1], threads=1, prefix="push")
        size = export_size(c, 1, author) - before
        c.wait_converged(10)
        time.sleep(0.3)
        out = subprocess.run(["nft", "list", "table", "inet", "gossip_bench"], capture_output=True, text=True).stdout
        m = re.search(r"packets (\d+) bytes (\d+)", out)
        packets, wire = int(m.group(1)), int(m.group(2))
        payload = wire - 28 * packets  # without the IP and UDP headers
        result["push1"] = {"entries_bytes": size, "datagrams": packets, "datagram_bytes": payload, "ratio": round(payload / size, 3),
                           "target_bytes": int(1.1 * size + 64)}
        log(f"  d=1 by push: {result['push1']}")
    finally:
        c.destroy()
    return result


def export_size(c: Cluster, i: int, author: str) -> int:
    """Bytes of the author's encoded entries on node i (an export, minus the bundle framing)."""
    r = subprocess.run([binary(), "export", "--data", c.node_dir(i), "--author", author], capture_output=True, check=True)
    body = r.stdout[len(b"gossip-node bundle 1\n"):]
    count, pos = 0, 0
    while pos + 4 <= len(body):
        n = int.from_bytes(body[pos:pos + 4], "big")
        if n == 0xFFFFFFFF:
            break
        pos += 4 + n
        count += 1
    return len(body) - 4 * count


def vocabulary() -> list[str]:
    """The words gossip-bench draws memories from (the same generator), for recall queries."""
    domain = ("provider model outage retry backoff timeout latency token budget rate limit drops requests night "
              "anti-pattern lesson breaker opens closes half-open kimi claude gpt mistral deepseek 503 429 context window "
              "prompt cache eviction slow fast flaky stable regression deploy rollback schema migration sqlite wal fsync").split(" ")
    syl = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dro", "fen", "gar", "hul", "jis"]
    words, n = list(domain), 0
    while len(words) < 20_050:
        x, s = n, ""
        while True:
            s += syl[x % len(syl)]
            x //= len(syl)
            if x == 0:
                break
        words.append(s + "x")
        n += 1
    return words


def part_api() -> dict:
    """API write and recall latency on a node holding 100,000 memories, two peers alive: the
    median of GOSSIP_BENCH_RUNS (3) runs for every figure, each run's figures kept."""
    runs = [api_run() for _ in range(int(os.environ.get("GOSSIP_BENCH_RUNS", "3")))]
    out = {k: v for k, v in runs[0].items() if not isinstance(v, (int, float)) or k == "memories"}
    for k, v in runs[0].items():
        if isinstance(v, (int, float)) and k != "memories":
            out[k] = round(statistics.median(r[k] for r in runs), 3)
    out["during_catch_up"] = {k: round(statistics.median(r["during_catch_up"][k] for r in runs), 3)
                              for k in runs[0]["during_catch_up"]}
    out["runs"] = runs
    log(f"  api (median of {len(runs)}): write p99 {out['write_p99_ms']} ms (runs "
        f"{' / '.join(str(r['write_p99_ms']) for r in runs)}), recall p99 {out['recall_p99_ms']} ms")
    return out


def api_run() -> dict:
    """One run of the API benchmark."""
    import random
    path, _ = make_bundle(100_000, 10)
    c = fresh_cluster("bench-api", 3)
    try:
        for i in c.nodes():
            c.stop(i)
        for i in c.nodes():
            import_bundle(c, i, path)
        starts = []
        for i in c.nodes():
            t0 = time.time()
            c.start(i)
            c.wait_healthy(i)
            starts.append(time.time() - t0)
        wait_members(c, 3)
        c.wait_converged(60)
        c.write_memory(1, "warm-up")  # the fence lifts after the first sync
        conn = http.client.HTTPConnection(c.address(1), API_PORT, timeout=10)
        writes, recalls, hits = [], [], 0
        for k in range(1000):
            body = json.dumps({"category": "lesson", "content": f"api benchmark write {k}: provider drops requests at night " * 3})
            t0 = time.perf_counter()
            conn.request("POST", "/v1/memories", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            writes.append(time.perf_counter() - t0)
            assert r.status == 201, r.status
        words = vocabulary()
        weights = [1 / (r + 1) for r in range(len(words))]
        rng = random.Random(7)
        for k in range(1000):
            q = "+".join(rng.choices(words, weights, k=2))
            t0 = time.perf_counter()
            conn.request("GET", f"/v1/memories?q={q}&limit=20")
            r = conn.getresponse()
            raw = r.read()
            recalls.append(time.perf_counter() - t0)
            assert r.status == 200, r.status
            hits += raw.count(b'"id"') > 0
        conn.close()
        pids = node_pids(c)
        rss = [proc_rss_mib(p) for p in pids]
        # The same, while a catch-up streams into node1: node2 comes back holding 50,000 entries
        # of 5 other authors; writes and recalls alternate on node1 until it holds them all.
        path2, info2 = make_bundle(50_000, 5, seed=10)  # authors 10-14: none of the first bundle's
        c.stop(2)
        import_bundle(c, 2, path2)
        before = c.status(1)["entries"]
        c.start(2)
        conn = http.client.HTTPConnection(c.address(1), API_PORT, timeout=10)
        cw, cr, k = [], [], 0
        t0 = time.time()
        while True:
            body = json.dumps({"category": "lesson", "content": f"api write during catch-up {k}: provider drops requests at night " * 3})
            a = time.perf_counter()
            conn.request("POST", "/v1/memories", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            cw.append(time.perf_counter() - a)
            assert r.status == 201, r.status
            q = "+".join(rng.choices(words, weights, k=2))
            a = time.perf_counter()
            conn.request("GET", f"/v1/memories?q={q}&limit=20")
            r = conn.getresponse()
            r.read()
            cr.append(time.perf_counter() - a)
            assert r.status == 200, r.status
            k += 1
            if k % 20 == 0:
                held = c.status(1)["entries"]
                if held >= before + info2["entries"] + k:
                    break
            if time.time() - t0 > 300:
                raise RuntimeError("api: the catch-up into node1 did not finish in 300 s")
        catch_up_s = time.time() - t0
        conn.close()
        # Once more with no client, the floor probe beside node 1 instead: what a durable write and
        # a recall-sized piece of CPU work meet during a catch-up on this machine, whatever the
        # node does (``FLOOR_PROBE``); its first 30 samples, before node 2 starts, are the idle ones.
        path3, info3 = make_bundle(50_000, 5, seed=20)  # authors 20-24: in neither bundle before
        c.stop(2)
        import_bundle(c, 2, path3)
        before = c.status(1)["entries"]
        probe, probe_log = floor_probe_start()
        try:
            i0 = time.time()
            while len(floor_probe_rows(probe_log, i0, time.time())) < 30:
                if probe.poll() is not None or time.time() - i0 > 30:
                    raise RuntimeError("api: the floor probe wrote no samples")
                time.sleep(0.05)
            idle = (i0, time.time())
            c.start(2)
            p0 = time.time()
            while c.status(1)["entries"] < before + info3["entries"]:
                if time.time() - p0 > 300:
                    raise RuntimeError("api: the second catch-up into node1 did not finish in 300 s")
                time.sleep(0.05)
            floor = floor_probe_figures(probe_log, idle, (p0, time.time()))
        finally:
            probe.kill()
            probe.wait()
        ms = lambda v: round(v * 1000, 2)
        return {"memories": 100_000, "write_p50_ms": ms(pct(writes, 50)), "write_p99_ms": ms(pct(writes, 99)),
                "recall_p50_ms": ms(pct(recalls, 50)), "recall_p99_ms": ms(pct(recalls, 99)), "recalls_with_hits": hits,
                "startup_s": round(min(starts), 3), "rss_mib_after": round(statistics.mean(rss), 1),
                "during_catch_up": {"entries": info2["entries"], "seconds": round(catch_up_s, 2), "pairs": k,
                                    "write_p50_ms": ms(pct(cw, 50)), "write_p99_ms": ms(pct(cw, 99)),
                                    "recall_p50_ms": ms(pct(cr, 50)), "recall_p99_ms": ms(pct(cr, 99)), **floor}}
    finally:
        c.destroy()


# The machine's own floor while a catch-up streams in: a process beside the node that, every
# 10 ms, appends 600 bytes to a file of its own and fsyncs it, commits one 600-byte row to a
# SQLite database of its own (WAL, synchronous=FULL), and runs a fixed piece of CPU work (SHA-256
# over 64 KiB, repeated to about 1.5 ms on an idle core, about what a recall costs), timing
# each. What it meets is the disk and the cores the catch-up leaves, with no store, no HTTP and
# no signature: a client's request could do no better. Lines: unix time, fsync ms, commit ms,
# CPU-work ms.
FLOOR_PROBE = """
import hashlib, os, sys, time, sqlite3
d, out = sys.argv[1], sys.argv[2]
f = os.open(os.path.join(d, "probe.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
db = sqlite3.connect(os.path.join(d, "probe.db"), isolation_level=None)
db.execute("pragma journal_mode=wal"); db.execute("pragma synchronous=full")
db.execute("create table if not exists j(id integer primary key, b blob)")
o = open(out, "w"); blob = os.urandom(600); chunk = os.urandom(65536)
def work(n):
    for _ in range(n): hashlib.sha256(chunk).digest()
t = []
for _ in range(21):
    a = time.perf_counter(); work(10); t.append(time.perf_counter() - a)
units = max(1, round(10 * 0.0015 / sorted(t)[10]))
while True:
    a = time.perf_counter(); os.write(f, blob); os.fsync(f); b = time.perf_counter()
    db.execute("begin immediate"); db.execute("insert into j(b) values (?)", (blob,)); db.execute("commit")
    e = time.perf_counter(); work(units); w = time.perf_counter()
    o.write(f"{time.time():.4f} {(b - a) * 1e3:.3f} {(e - b) * 1e3:.3f} {(w - e) * 1e3:.3f}\\n"); o.flush()
    time.sleep(0.01)
"""


def floor_probe_start() -> tuple[subprocess.Popen, str]:
    """Starts ``FLOOR_PROBE`` in a fresh directory on the nodes' file system; returns it and its log."""
    d = os.path.join(WORK, "floor-probe")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    out = os.path.join(d, "probe.log")
    return subprocess.Popen([sys.executable, "-c", FLOOR_PROBE, d, out]), out


def floor_probe_rows(out: str, start: float, end: float) -> list[tuple[float, float, float]]:
    """The probe's (fsync, commit, CPU work) times in ms between `start` and `end` (unix times)."""
    rows = []
    if not os.path.exists(out):  # the probe has not started writing yet
        return rows
    for line in open(out):
        f = line.split()
        if len(f) == 4 and start <= float(f[0]) <= end:
            rows.append((float(f[1]), float(f[2]), float(f[3])))
    return rows


def floor_probe_figures(out: str, idle: tuple[float, float], busy: tuple[float, float]) -> dict:
    """The probe's figures while the cluster was idle and while the catch-up streamed in."""
    quiet, rows = floor_probe_rows(out, *idle), floor_probe_rows(out, *busy)
    if len(rows) < 20 or len(quiet) < 20:
        raise RuntimeError(f"floor probe: {len(quiet)} idle and {len(rows)} catch-up samples, too few to say a p99")
    col = lambda rs, i: [r[i] for r in rs]
    return {"probe_samples": len(rows), "probe_fsync_p50_ms": round(pct(col(rows, 0), 50), 2), "probe_fsync_p99_ms": round(pct(col(rows, 0), 99), 2),
            "probe_commit_p50_ms": round(pct(col(rows, 1), 50), 2), "probe_commit_p99_ms": round(pct(col(rows, 1), 99), 2),
            "probe_cpu_idle_p50_ms": round(pct(col(quiet, 2), 50), 2), "probe_cpu_idle_p99_ms": round(pct(col(quiet, 2), 99), 2),
            "probe_cpu_p50_ms": round(pct(col(rows, 2), 50), 2), "probe_cpu_p99_ms": round(pct(col(rows, 2), 99), 2)}


def udp_receive_errors() -> int:
    """Datagrams the kernel dropped for a full receive buffer, in the current network namespace."""
    lines = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1]))["RcvbufErrors"])


def address_counters(addresses: list[str]) -> None:
    """Byte counters (nftables, whole IP packets) for gossip traffic *to* each address: datagrams
    to its gossip port, and both directions' TCP segments that arrive at it (its listener's and
    the replies to its own dials)."""
    rules = []
    for a in addresses:
        rules += [f"    ip daddr {a} udp dport {GOSSIP_PORT} counter comment \"{a} udp\"",
                  f"    ip daddr {a} tcp dport {GOSSIP_PORT} counter comment \"{a} tcp\"",
                  f"    ip daddr {a} tcp sport {GOSSIP_PORT} counter comment \"{a} tcp-replies\""]
    nft("table inet gossip_burst {}\ndelete table inet gossip_burst\ntable inet gossip_burst {\n  chain in {\n"
        "    type filter hook input priority -10; policy accept;\n" + "\n".join(rules) + "\n  }\n}\n")


def bytes_to(address: str) -> int:
    out = subprocess.run(["nft", "list", "table", "inet", "gossip_burst"], capture_output=True, text=True).stdout
    return sum(int(m.group(1)) for m in re.finditer(r"bytes (\d+) comment \"" + re.escape(address) + r" ", out))


def entry_bytes_by_author(c: Cluster, i: int, authors: list[str]) -> dict[str, int]:
    """Encoded bytes of the entries node i holds of each author (from `/v1/log`'s `size`)."""
    out: dict[str, int] = {}
    for a in authors:
        after = 0
        while True:
            code, body = c.api(i, "GET", f"/v1/log?author={a}&after_seq={after}&limit=1000")
            if code != 200 or not body["entries"]:
                break
            out[a] = out.get(a, 0) + sum(e["size"] for e in body["entries"])
            after = body["entries"][-1]["seq"]
    return out


def part_burst() -> dict:
    """A write burst: 3 nodes, 100,000 memories written through the API at full speed, spread
    over the three (6 kept connections). Time from the last acknowledged write until all three
    report one digest; bytes each node received (nftables, whole IP packets) against the size of
    the entries it had to receive (those written at the other two); what the quota deferred."""
    total = int(os.environ.get("GOSSIP_BENCH_BURST_WRITES", "100000"))
    c = fresh_cluster("bench-burst", 3)
    try:
        wait_members(c, 3)
        for i in c.nodes():
            c.write_memory(i, f"warm-up {i}")  # the start-up check lifts; every author exists everywhere
        c.wait_converged(30)
        addresses = {i: c.address(i) for i in c.nodes()}
        address_counters(list(addresses.values()))
        before = {i: c.metrics(i) for i in c.nodes()}
        drops0 = udp_receive_errors()
        t0 = time.time()
        written = c.write_many(total, threads=6, prefix="burst")
        t_last = time.time()
        write_s = t_last - t0
        log(f"burst: {written:,} writes in {write_s:.1f} s ({written / write_s:.0f}/s); waiting for equal digests")
        held_at_end = [(c.status(i) or {}).get("entries", 0) for i in c.nodes()]
        converge_s = c.wait_converged(600)
        received = {i: bytes_to(addresses[i]) for i in c.nodes()}
        kernel_drops = udp_receive_errors() - drops0
        after = {i: c.metrics(i) for i in c.nodes()}
        authors = {i: c.status(i)["author"] for i in c.nodes()}
        sizes = entry_bytes_by_author(c, 1, list(authors.values()))
        nodes = []
        for i in c.nodes():
            needed = sum(v for a, v in sizes.items() if a != authors[i])
            m0, m1 = before[i], after[i]
            d = lambda k: m1.get(k, 0) - m0.get(k, 0)
            node_in = d('gossip_node_bytes_total{transport="udp",direction="in"}') + d('gossip_node_bytes_total{transport="tcp",direction="in"}')
            nodes.append({"node": i, "received_bytes": received[i], "node_counted_bytes": int(node_in), "needed_bytes": needed,
                          "ratio": round(received[i] / needed, 3) if needed else None,
                          "entries_received": int(d("gossip_node_entries_received_total")),
                          "quota_deferred": int(d('gossip_node_entries_rejected_total{reason="quota_deferred"}')),
                          "sync_dials": int(d("gossip_node_sync_dials_total")),
                          "datagrams_in": int(d('gossip_node_packets_total{direction="in"}')),
                          "tcp_bytes_in": int(d('gossip_node_bytes_total{transport="tcp",direction="in"}')),
                          "entries_at_last_write": held_at_end[i - 1]})
        entries = c.status(1)["entries"]
        result = {"writes": written, "write_seconds": round(write_s, 1), "writes_per_s": round(written / write_s),
                  "converged_after_last_write_s": round(converge_s, 2), "entries": entries,
                  "entry_bytes": sum(sizes.values()), "nodes": nodes,
                  "max_ratio": max(n["ratio"] for n in nodes), "quota_deferred": sum(n["quota_deferred"] for n in nodes),
                  "udp_receive_buffer_drops": kernel_drops}
        log(f"  converged {converge_s:.2f} s after the last write; received/needed per node: "
            + ", ".join(f"node{n['node']} {n['received_bytes']:,}/{n['needed_bytes']:,} = {n['ratio']}" for n in nodes)
            + f"; quota deferred {result['quota_deferred']}")
        return result
    finally:
        subprocess.run(["nft", "delete", "table", "inet", "gossip_burst"], capture_output=True)
        c.destroy()


# ----------------------------------------------------------------------------------------------
# Report


def plots(results: dict) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plots (pip install matplotlib)")
        return []
    os.makedirs(PLOTS, exist_ok=True)
    made = []
    prop = results.get("propagation", {}).get("data")
    if prop:
        fig, ax = plt.subplots(figsize=(7, 4))
        for n, style in (("16", "-"), ("32", "--")):
            if n not in prop:
                continue
            for label, key, color in (("gossip-node", "gossip_node_per_node_ms", "tab:blue"), ("Serf", "serf_per_node_ms", "tab:orange")):
                v = sorted(prop[n][key])
                ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], style, color=color, label=f"{label}, N={n}")
        ax.set_xscale("log")
        ax.set_xlabel("time from the origin's delivery to a node's delivery (ms, log scale)")
        ax.set_ylabel("fraction of deliveries")
        ax.set_title("Propagation of one small event (20 events)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(PLOTS, "propagation-cdf.png"), dpi=110)
        plt.close(fig)
        made.append("propagation-cdf.png")
    cu = results.get("catchup", {}).get("data")
    if cu and cu.get("samples"):
        fig, ax = plt.subplots(figsize=(7, 4))
        ts = [s[0] for s in cu["samples"]]
        es = [s[1] for s in cu["samples"]]
        ax.plot(ts, es, color="tab:blue", label="entries held by the joining node")
        if cu.get("limit_per_s"):
            ax.plot([0, cu["entries"] / cu["limit_per_s"]], [0, cu["entries"]], "--", color="gray", label="pipelined limit (slower of verify, store)")
        ax.set_xlabel("seconds since the node started")
        ax.set_ylabel("entries")
        ax.set_title(f"Catch-up of {cu['entries']:,} entries")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(PLOTS, "catchup.png"), dpi=110)
        plt.close(fig)
        made.append("catchup.png")
    rt = results.get("retention", {}).get("data")
    if rt and rt.get("samples"):
        fig, ax = plt.subplots(figsize=(7, 4))
        ts = [x[0] for x in rt["samples"]]
        for k in range(3):
            ax.plot(ts, [x[1][k] / 2**20 for x in rt["samples"]], label=f"node{k + 1}: database, WAL and all")
        ax.axhline(rt["live_bytes"] / 2**20, color="gray", linestyle=":", label="live set (end of run)")
        ax.axhline(rt["disk_bound_bytes"] / 2**20, color="red", linestyle="--", label="target: 2 x live set + 8 MiB")
        ax.set_xlabel("seconds since the first write")
        ax.set_ylabel("MiB on disk")
        ax.set_title(f"Disk during {rt['writes']:,} writes rewriting {rt['keys']:,} keys")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(PLOTS, "retention-disk.png"), dpi=110)
        plt.close(fig)
        made.append("retention-disk.png")
    return made


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def git_commit() -> str:
    """The commit measured (short hash; `+changes` when tracked files differ from it)."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"],
                               capture_output=True, text=True, cwd=root).stdout.strip()
        return h + ("+changes" if dirty else "") if h else "unknown"
    except OSError:
        return "unknown"


def stamp(part: dict) -> str:
    """A part's date and the commit it measured."""
    return f"{part['date']}, commit {part.get('commit', 'not recorded')}"


def render(results: dict) -> str:
    m = results.get("machine", {})
    lines = ["# Benchmarks", "",
             "Written by `scripts/bench` (release builds, real processes on loopback inside a private network",
             "namespace, HashiCorp Serf from Debian in the same run). Do not edit by hand: run `scripts/bench`",
             "(or one part: `scripts/bench propagation`) and commit the result.", "",
             f"Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_gib', '?')} GiB, {m.get('os', '?')}, "
             f"kernel {m.get('kernel', '?')}; {m.get('swift', '?')}; Serf {m.get('serf', '?')}.", ""]
    summary = ["| what | gossip-node | Serf / limit | target | |", "|---|---|---|---|---|"]
    sections = []

    ing = results.get("ingest", {}).get("data")
    if ing:
        sections += [f"## Machine limit and ingest ({stamp(results['ingest'])})", "",
                     f"`gossip-bench ingest`: libsodium verify on all cores and SQLite insert of the same 100,000 entries, each "
                     f"measured alone: {ing.get('verify_all_cores_per_s') or '?'} and {ing.get('insert_per_s') or '?'} entries/s. A node "
                     f"verifies and commits at once (a pipeline), so its ceiling is the slower stage: **{ing['limit_per_s']:,} entries/s** "
                     f"(the serial verify-then-insert limit is {ing.get('serial_limit_per_s', ing['limit_per_s']):,}). LogStore's full ingest "
                     f"(decode; authenticate, which checks one signature per run of an author's chain in a batch and the rest by "
                     f"their hash links; chain checks, store, views and full-text index) runs at **{ing['ingest_per_s']:,} entries/s**"
                     + (f"; its commit alone (pre-verified batches) at {ing['commit_alone_per_s']:,} entries/s, "
                        f"{ing['commit_cpu_us']} µs of CPU per entry" if ing.get("commit_alone_per_s") else "") + ".", "",
                     "```", *ing["raw"], "```", ""]

    prop = results.get("propagation", {}).get("data")
    if prop:
        sections += [f"## Propagation ({stamp(results['propagation'])})", "",
                     "One small memory written at one node (a Serf user event sent at one agent); time from its delivery at the",
                     "origin until the last node delivered it (gossip-node: `/v1/events` SSE on every node; Serf: its RPC",
                     "`stream` of user events on every agent, one kept connection each, all read by one epoll thread per system,",
                     "no handler process). 20 events, the origin rotating; an event that has not reached every node within 30 s",
                     "counts as 30 s (a lower bound). Both with default LAN timing (gossip-node `--profile lan`; Serf's defaults,",
                     "encrypted). gossip-node's writer pushes to every member up to 64 nodes (first-hand receivers relay to none);",
                     "above 64, entries spread epidemically (ceil(ln N) + 1 random peers and the ring successor a hop) with",
                     "anti-entropy behind. CPU: all nodes' (agents') CPU while the events spread, per event, idle work included.",
                     "Each size runs several times, each run both systems one after the other; the table shows each size's",
                     "median run by the p50 ratio (Serf's own p50 varies by up to half between runs here), the runs below it.", "",
                     "| N | gossip-node p50 | p99 | Serf p50 | p99 | ratio p50 | not every node in 30 s (gossip-node / Serf) | CPU per event (gossip-node / Serf) |",
                     "|---|---|---|---|---|---|---|---|"]
        for n, r in prop.items():
            sections.append(f"| {n} | {r['gossip_node_p50_ms']} ms | {r['gossip_node_p99_ms']} ms | {r['serf_p50_ms']} ms | "
                            f"{r['serf_p99_ms']} ms | {r['ratio_p50']} | {r.get('gossip_node_incomplete', '-')} / {r.get('serf_incomplete', '-')} | "
                            f"{r.get('gossip_node_cpu_ms_per_event', '-')} / {r.get('serf_cpu_ms_per_event', '-')} ms |")
            runs = r.get("runs") or []
            of = f" (median of {len(runs)})" if len(runs) > 1 else ""
            each = f"; runs {' / '.join(str(x['ratio_p50']) for x in runs)}" if len(runs) > 1 else ""
            summary.append(f"| propagation p50, N={n}{of} | {r['gossip_node_p50_ms']} ms | Serf {r['serf_p50_ms']} ms | ≤ 0.1 × Serf | "
                           f"{verdict(r['ratio_p50'] is not None and r['ratio_p50'] <= 0.1)} ({r['ratio_p50']}{each}) |")
            r99 = round(r['gossip_node_p99_ms'] / r['serf_p99_ms'], 4) if r['serf_p99_ms'] else None
            summary.append(f"| propagation p99, N={n} | {r['gossip_node_p99_ms']} ms | Serf {r['serf_p99_ms']} ms | ≤ 0.5 × Serf | "
                           f"{verdict(r99 is not None and r99 <= 0.5)} ({r99}) |")
        if any(len(r.get("runs") or []) > 1 for r in prop.values()):
            sections += ["", "| N | run | gossip-node p50 / p99 | Serf p50 / p99 | ratio p50 / p99 | CPU per event (gossip-node / Serf) |",
                         "|---|---|---|---|---|---|"]
            for n, r in prop.items():
                for i, x in enumerate(r.get("runs") or [], 1):
                    sections.append(f"| {n} | {i} | {x['gossip_node_p50_ms']} / {x['gossip_node_p99_ms']} ms | {x['serf_p50_ms']} / "
                                    f"{x['serf_p99_ms']} ms | {x['ratio_p50']} / {x['ratio_p99']} | {x['gossip_node_cpu_ms_per_event']} / "
                                    f"{x['serf_cpu_ms_per_event']} ms |")
        sections += ["", "![propagation CDF](plots/propagation-cdf.png)", ""]

    jn = results.get("join", {}).get("data")
    if jn:
        runs = jn.get("runs", 1)
        sections += [f"## Join ({stamp(results['join'])})", "",
                     "N nodes started together, each with one seed (the first); time from the first start until every node",
                     "lists every other alive. Then one more node joins the running N: time until all N + 1 list each other.",
                     "gossip-node `--profile lan`; Serf's defaults (LAN) with encryption on (`-encrypt`), each agent started",
                     "with `-join` to the first (which Serf needs listening first, so its clock starts with the first agent,",
                     "as gossip-node's does). Both polled the same way: one kept connection per node asking for its member",
                     "list (gossip-node's `/v1/peers`, Serf's own RPC `members`), every node asked at once and the answers",
                     "read as they come, round after round; the longest round is the resolution. A member counts when",
                     "listed `alive` (gossip-node's `suspect` does not count; Serf's list says `alive` for a member its",
                     "memberlist suspects). Both systems run in turns in the same run on the same machine; the figures",
                     f"are the median of {runs} runs (each run's figures in docs/benchmarks.json).", "",
                     "| N | gossip-node, all | Serf, all | ratio | one more: gossip-node | Serf | ratio | poll round ≤ |",
                     "|---|---|---|---|---|---|---|---|"]
        for n, r in jn.items():
            if not isinstance(r, dict):
                continue
            sections.append(f"| {n} | {r['gossip_node_all_s']} s | {r['serf_all_s']} s | {r['ratio_all']} | "
                            f"{r['gossip_node_one_more_s']} s | {r['serf_one_more_s']} s | {r.get('ratio_one_more', '')} | "
                            f"{r.get('poll_round_max_s', '?')} s |")
            summary.append(f"| join, N={n} (all list all alive, median of {runs}) | {r['gossip_node_all_s']} s | Serf {r['serf_all_s']} s | ≤ Serf | "
                           f"{verdict(r['ratio_all'] is not None and r['ratio_all'] <= 1)} ({r['ratio_all']}) |")
            if "ratio_one_more" in r:
                summary.append(f"| join, N={n}: one more node | {r['gossip_node_one_more_s']} s | Serf {r['serf_one_more_s']} s | ≤ Serf | "
                               f"{verdict(r['ratio_one_more'] is not None and r['ratio_one_more'] <= 1)} ({r['ratio_one_more']}) |")
        sections.append("")

    me = results.get("memory", {}).get("data")
    if me:
        g, sf = me["gossip_node"], me["serf"]
        sections += [f"## Memory under load ({stamp(results['memory'])})", "",
                     f"{me['nodes']} gossip-node nodes and {me['nodes']} Serf agents (encrypted, LAN defaults) side by side for "
                     f"{me['seconds']} s, each system given 1 write a second spread over its nodes (gossip-node: a memory "
                     "through the API; Serf: a user event over its RPC) and 10 reads a second (a recall; Serf's nearest read, "
                     f"a members query). RSS and RssAnon of every process sampled every {me['sample_every_s']} s; p50 and max "
                     "over all samples of all processes. No page-dropping: the node hands back freed heap (`malloc_trim`) and "
                     "SQLite's page cache after start-up and big sessions, and leaves its code pages mapped. Before each run "
                     "both binaries' pages are dropped from the page cache (`posix_fadvise`, before any process starts), so "
                     "that both are read from disk the same way: a freshly linked binary sits in the page cache in large "
                     "folios that a fault maps whole (the same gossip-node binary: 5,420 kB of resident code freshly copied, "
                     "5,084 kB read from disk).", "",
                     "| | RSS p50 | RSS max | RssAnon p50 | RssAnon max |", "|---|---|---|---|---|",
                     f"| gossip-node | {g['rss_mib_p50']} MiB | {g['rss_mib_max']} MiB | {g['rss_anon_mib_p50']} MiB | {g['rss_anon_mib_max']} MiB |",
                     f"| Serf | {sf['rss_mib_p50']} MiB | {sf['rss_mib_max']} MiB | {sf['rss_anon_mib_p50']} MiB | {sf['rss_anon_mib_max']} MiB |", ""]
        if me.get("runs"):
            sections += [f"Each figure is the median of {len(me['runs'])} runs (maxima: the largest); the runs' RSS p50, gossip-node / Serf: "
                         + "; ".join(f"{r['gossip_node_rss_mib_p50']} / {r['serf_rss_mib_p50']} MiB ({r['ratio_p50']})" for r in me["runs"]) + ".", ""]
        summary.append(f"| RSS p50 under load (16 nodes, {me['seconds'] // 60} min{', median of ' + str(len(me['runs'])) + ' runs' if me.get('runs') else ''}) | {g['rss_mib_p50']} MiB | Serf {sf['rss_mib_p50']} MiB | ≤ Serf | "
                       f"{verdict(g['rss_mib_p50'] <= sf['rss_mib_p50'])} ({me['ratio_p50']}) |")
        summary.append(f"| RssAnon p50 under load (the node's own memory) | {g['rss_anon_mib_p50']} MiB | Serf {sf['rss_anon_mib_p50']} MiB | | |")

    bu = results.get("burst", {}).get("data")
    if bu:
        sections += [f"## Write burst ({stamp(results['burst'])})", "",
                     f"3 nodes (`--profile lan`, default quota: 50,000 entries an hour per author), {bu['writes']:,} memories "
                     f"written through the API at full speed, spread over the three (6 kept connections from Python): "
                     f"{bu['write_seconds']} s = {bu['writes_per_s']:,} writes/s. Equal digests on all three "
                     f"**{bu['converged_after_last_write_s']} s after the last acknowledged write** (target ≤ 5 s). Bytes each node "
                     "received on its gossip port (nftables, whole IP packets: UDP pushes and probes, TCP sessions both ways) "
                     "against the encoded size of the entries it had to receive (those written at the other two); the "
                     "node's own count (UDP and TCP payloads) for comparison. Entries the quota deferred: "
                     f"{bu['quota_deferred']} (it counts verified entries new to the node only); datagrams the kernel dropped "
                     f"for a full receive buffer: {bu['udp_receive_buffer_drops']}.", "",
                     "| node | received (nftables) | node's count | entries it lacked | ratio | entries received | sync dials |",
                     "|---|---|---|---|---|---|---|"]
        for n in bu["nodes"]:
            sections.append(f"| node{n['node']} | {n['received_bytes']:,} B | {n['node_counted_bytes']:,} B | {n['needed_bytes']:,} B | "
                            f"{n['ratio']} | {n['entries_received']:,} | {n.get('sync_dials', '')} |")
        sections.append("")
        summary.append(f"| write burst ({bu['writes']:,} API writes, 3 nodes): equal digests after the last write | "
                       f"{bu['converged_after_last_write_s']} s | | ≤ 5 s | {verdict(bu['converged_after_last_write_s'] <= 5)} |")
        summary.append(f"| write burst: bytes received per node / entries it lacked | {bu['max_ratio']} (largest) | | ≤ 1.5 | "
                       f"{verdict(bu['max_ratio'] <= 1.5)} |")

    cu = results.get("catchup", {}).get("data")
    if cu:
        run_limits = " / ".join(f"{r['run_limit_per_s']:,}" for r in cu.get("runs", [])) if all(r.get("run_limit_per_s") for r in cu.get("runs", [])) else ""
        sections += [f"## Catch-up ({stamp(results['catchup'])})", "",
                     f"Two nodes hold {cu['entries']:,} entries ({cu['authors']} authors, payloads of {cu['payload_bytes_avg']} bytes on "
                     f"average, loaded with `gossip-node import` at {cu['import_entries_per_s']:,} entries/s); a fresh node joins. "
                     f"Equal digests after **{cu['seconds']} s = {cu['entries_per_s']:,} entries/s** (process start-up included), "
                     f"against the pipelined limit (the slower of verification on all cores and the raw insert) of {cu['limit_per_s'] or '?'} entries/s "
                     + ("measured in the same part (the median of one `gossip-bench ingest` right before each run, nothing else running)" if cu.get("limit") else "measured in the same run")
                     + f": ratio **{cu['ratio']}**" + (f" (the median of {len(cu['runs'])} runs; their ratios: {' / '.join(str(r['ratio']) for r in cu['runs'])}"
                                             + (f"; the limit measured before each: {run_limits} entries/s" if run_limits else "")
                                             + ")" if cu.get("runs") else "") + ". A node holding 100,000 entries starts (process start to `/readyz` 200: sockets bound, database answering) in "
                     f"{cu['startup_with_100k_s']} s."]
        if cu.get("runs") and all("first_entry_s" in r for r in cu["runs"]):
            sections += ["", "The first entries were stored " + " / ".join(f"{r['first_entry_s']} s" for r in cu["runs"])
                         + " after the joining process started (per run); its sync dials "
                         + " / ".join(str(r["joiner_sessions"]["dials"]) for r in cu["runs"])
                         + ", sessions whose peer did not deliver what it announced (`promises_broken_total`) "
                         + " / ".join(str(r["joiner_sessions"]["promises_broken"]) for r in cu["runs"]) + "."]
        if cu.get("cpu_seconds"):
            cs = cu["cpu_seconds"]
            sections += ["", f"CPU seconds during the catch-up ({cu['seconds']} s of wall time on {m.get('cores', '?')} cores): the joining "
                         f"node {cs['joiner']}, the holder that streamed {max(cs['holder1'], cs['holder2'])}, the other holder "
                         f"{min(cs['holder1'], cs['holder2'])}."]
        if cu.get("rss_mib_after"):
            sections += ["", f"RSS of the three nodes (holder, holder, joiner) right after the catch-up: {' / '.join(str(x) for x in cu['rss_mib_after'])} MiB "
                         f"(SQLite's page cache is 64 MiB); after each handed it back (5 s after its session): "
                         f"{' / '.join(str(x) for x in cu['rss_mib_released'])} MiB."]
        sections += ["", "![catch-up](plots/catchup.png)", ""]
        summary.append(f"| catch-up of {cu['entries']:,} entries | {cu['entries_per_s']:,} /s | limit {cu['limit_per_s']} /s | ≥ 0.8 × limit | "
                       f"{verdict(cu['ratio'] is not None and cu['ratio'] >= 0.8)} ({cu['ratio']}"
                       + (f"; runs {' / '.join(str(r['ratio']) for r in cu['runs'])}" if cu.get("runs") else "") + ") |")

    idle = results.get("idle", {}).get("data")
    if idle:
        s = idle.get("serf", {})
        sections += [f"## Idle cost and memory ({stamp(results['idle'])})", "",
                     f"{idle['nodes']} nodes idle for {idle['window_s']:.0f} s after they converged. Wire bytes are counted by nftables on",
                     "the gossip port (IP and UDP/TCP headers included) for both systems; CPU from /proc (user + system); RSS at the",
                     "end of the window; of it, RssAnon is the process's own memory (heap, stacks), the rest clean pages of",
                     "its binary and libraries. gossip-node hands back the pages only start-up used 30 s after it starts. Both "
                     "binaries are read from disk (their page cache dropped before the part, see Memory under load).", "",
                     "| system | entries held | wire bytes/s per node | gossip-node payload bytes/s | CPU % per node | RSS MiB (mean / max) | RssAnon MiB |",
                     "|---|---|---|---|---|---|---|"]
        for e in ("1000", "100000"):
            if e in idle:
                r = idle[e]
                sections.append(f"| gossip-node | {int(e):,} | {r['wire_bytes_per_s_per_node']} | {r['payload_bytes_per_s_per_node']} | "
                                f"{r['cpu_percent_per_node']} | {r['rss_mib_mean']} / {r['rss_mib_max']} | {r.get('rss_anon_mib_mean', '-')} |")
        if s:
            sections.append(f"| Serf | - | {s['wire_bytes_per_s_per_node']} | - | {s['cpu_percent_per_node']} | {s['rss_mib_mean']} / {s['rss_mib_max']} | {s.get('rss_anon_mib_mean', '-')} |")
        lg = idle.get("large")
        if lg:
            g, ls = lg["gossip_node"], lg["serf"]
            sections.append(f"| gossip-node, {lg['nodes']} nodes | {lg['entries']:,} | {g['wire_bytes_per_s_per_node']} | {g['payload_bytes_per_s_per_node']} "
                            f"(TCP {g['tcp_payload_bytes_per_s_per_node']}; {g['sessions']} sessions) | {g['cpu_percent_per_node']} | "
                            f"{g['rss_mib_mean']} / {g['rss_mib_max']} | {g['rss_anon_mib_mean']} |")
            sections.append(f"| Serf, {lg['nodes']} agents | - | {ls['wire_bytes_per_s_per_node']} | - | {ls['cpu_percent_per_node']} | "
                            f"{ls['rss_mib_mean']} / {ls['rss_mib_max']} | {ls['rss_anon_mib_mean']} |")
            sections += ["", f"At {lg['nodes']} nodes both systems are measured from their first start, as a user starts a cluster: "
                         "gossip-node's window starts 5 s after every node lists every other alive and the digests are equal, Serf's 5 s "
                         "after all its agents are alive members. (The 16-node rows are of a cluster restarted all at once with its "
                         "entries; at 128 such a restart makes every node gossip every member's new record, about 15 KB/s per node "
                         "for 5 s and 9 KB/s for 5 more once the digests are equal, measured at 7a11724, then 200 bytes/s.)"]
        sections.append("")
        if s and "100000" in idle:
            big, small = idle["100000"], idle.get("1000", idle["100000"])
            summary.append(f"| idle bytes/s per node (100k entries) | {big['wire_bytes_per_s_per_node']} | Serf {s['wire_bytes_per_s_per_node']} | ≤ Serf | "
                           f"{verdict(big['wire_bytes_per_s_per_node'] <= s['wire_bytes_per_s_per_node'])} |")
            summary.append(f"| idle bytes/s, 1k → 100k entries | {small['wire_bytes_per_s_per_node']} → {big['wire_bytes_per_s_per_node']} | | flat | "
                           f"{verdict(big['wire_bytes_per_s_per_node'] <= 1.1 * small['wire_bytes_per_s_per_node'])} |")
            summary.append(f"| idle CPU % per node (100k entries) | {big['cpu_percent_per_node']} | Serf {s['cpu_percent_per_node']} | ≤ Serf | "
                           f"{verdict(big['cpu_percent_per_node'] <= s['cpu_percent_per_node'])} |")
            summary.append(f"| RSS per node, idle, 100k entries | {big['rss_mib_mean']} MiB | Serf {s['rss_mib_mean']} MiB | ≤ Serf | "
                           f"{verdict(big['rss_mib_mean'] <= s['rss_mib_mean'])} |")
        lg = idle.get("large")
        if lg:
            g, ls = lg["gossip_node"], lg["serf"]
            summary.append(f"| idle bytes/s per node, N={lg['nodes']} | {g['wire_bytes_per_s_per_node']} | Serf {ls['wire_bytes_per_s_per_node']} | ≤ Serf | "
                           f"{verdict(g['wire_bytes_per_s_per_node'] <= ls['wire_bytes_per_s_per_node'])} |")
            summary.append(f"| idle CPU % per node, N={lg['nodes']} | {g['cpu_percent_per_node']} | Serf {ls['cpu_percent_per_node']} | ≤ Serf | "
                           f"{verdict(g['cpu_percent_per_node'] <= ls['cpu_percent_per_node'])} |")

    sy = results.get("sync", {}).get("data")
    if sy:
        sections += [f"## Catch-up bytes after a restart ({stamp(results['sync'])})", "",
                     "Node 2 stopped, d entries written at node 1 (one author), node 2 started again. Catch-up bytes are what",
                     "brought the missing entries: the sync sessions' TCP bytes in both directions (the 352-byte handshake, hello,",
                     "membership, version vectors, entries, frame overhead; from the node's counters) plus the UDP payload of",
                     "the datagrams node 1 sent carrying entries (its hinted handoff: sealed datagram bytes, from its counter).",
                     "The wire column counts everything on the gossip port meanwhile, IP/TCP/UDP headers and the probes included.", "",
                     "| d | entries' own bytes | catch-up bytes | of which sessions | sessions | of which pushes | ratio | target (1.1 × + 64) | wire bytes incl. headers and probes | seconds |",
                     "|---|---|---|---|---|---|---|---|---|---|"]
        push = sy.get("push1")
        for d, r in sy.items():
            if d == "push1":
                continue
            got = r.get("catch_up_bytes", r["session_bytes"])
            sections.append(f"| {int(d):,} | {r['entries_bytes']:,} | {got:,} | {r['session_bytes']:,} | {r['sessions']} | "
                            f"{r.get('push_bytes', '')} | {r['ratio']} | {r['target_bytes']:,} | {r['wire_bytes_incl_headers']:,} | {r['seconds']} |")
            summary.append(f"| catch-up bytes after a restart, d = {int(d):,} | {got:,} B | entries {r['entries_bytes']:,} B | ≤ {r['target_bytes']:,} B | "
                           f"{verdict(got <= r['target_bytes'])} ({r['ratio']}×) |")
        if push:
            sections += ["", f"A node one entry behind while online gets it by eager push: {push['datagrams']} datagram(s) of "
                         f"{push['datagram_bytes']} bytes (IP/UDP headers excluded) for an entry of {push['entries_bytes']} bytes "
                         f"({push['ratio']}×; target {push['target_bytes']} bytes)."]
            summary.append(f"| push, d = 1 while online | {push['datagram_bytes']} B | entry {push['entries_bytes']} B | ≤ {push['target_bytes']} B | "
                           f"{verdict(push['datagram_bytes'] <= push['target_bytes'])} ({push['ratio']}×) |")
        sections.append("")

    api = results.get("api", {}).get("data")
    if api:
        runs = api.get("runs") or []
        sections += [f"## API ({stamp(results['api'])})", "",
                     f"A node holding {api['memories']:,} memories (two peers alive, receiving every write): 1,000 sequential",
                     "`POST /v1/memories` (each acknowledged after its fsync'd commit) and 1,000 `GET /v1/memories?q=` of two",
                     f"Zipf-drawn words ({api['recalls_with_hits']} with hits), over one keep-alive connection from Python."
                     + (f" Each figure is the median of {len(runs)} runs (a fresh cluster each)." if runs else ""), "",
                     "| operation | p50 | p99 |" + (" p99 of each run |" if runs else ""), "|---|---|---|" + ("---|" if runs else ""),
                     f"| write | {api['write_p50_ms']} ms | {api['write_p99_ms']} ms |"
                     + (f" {' / '.join(str(r['write_p99_ms']) for r in runs)} |" if runs else ""),
                     f"| recall | {api['recall_p50_ms']} ms | {api['recall_p99_ms']} ms |"
                     + (f" {' / '.join(str(r['recall_p99_ms']) for r in runs)} |" if runs else ""), ""]
        dc = api.get("during_catch_up")
        if dc:
            sections += [f"Then node 2 comes back holding {dc['entries']:,} entries of 5 other authors and streams them into node 1 "
                         f"({dc['seconds']} s), while {dc['pairs']} writes and recalls alternate on node 1:", "",
                         "| during the catch-up | p50 | p99 |" + (" p99 of each run |" if runs else ""), "|---|---|---|" + ("---|" if runs else ""),
                         f"| write | {dc['write_p50_ms']} ms | {dc['write_p99_ms']} ms |"
                         + (f" {' / '.join(str(r['during_catch_up']['write_p99_ms']) for r in runs)} |" if runs else ""),
                         f"| recall | {dc['recall_p50_ms']} ms | {dc['recall_p99_ms']} ms |"
                         + (f" {' / '.join(str(r['during_catch_up']['recall_p99_ms']) for r in runs)} |" if runs else ""), ""]
            if "probe_commit_p99_ms" in dc:
                each = lambda k: (f" {' / '.join(str(r['during_catch_up'][k]) for r in runs)} |" if runs else "")
                cpu_row = ([f"| CPU work of {dc['probe_cpu_idle_p50_ms']} ms on an idle machine (p99 {dc['probe_cpu_idle_p99_ms']}) | "
                            f"{dc['probe_cpu_p50_ms']} ms | {dc['probe_cpu_p99_ms']} ms |" + each("probe_cpu_p99_ms")]
                           if "probe_cpu_p99_ms" in dc else [])
                sections += ["Then node 2 comes back once more (50,000 entries of 5 more authors), with no client this time; beside "
                             "node 1 a process of its own every 10 ms appends 600 bytes to a file and fsyncs it, commits one "
                             "600-byte row to a SQLite database of its own (WAL, synchronous=FULL)"
                             + (" and runs a fixed piece of CPU work (SHA-256 over 64 KiB, repeated to about 1.5 ms on an idle core, "
                                "about a recall's cost)" if cpu_row else "")
                             + ": the floor a request meets on this disk and these cores while a catch-up streams in, with no "
                             f"store, HTTP or signature ({dc['probe_samples']} samples in a run, the median):", "",
                             "| the machine's floor during a catch-up | p50 | p99 |" + (" p99 of each run |" if runs else ""),
                             "|---|---|---|" + ("---|" if runs else ""),
                             f"| 600 B append + fsync | {dc['probe_fsync_p50_ms']} ms | {dc['probe_fsync_p99_ms']} ms |" + each("probe_fsync_p99_ms"),
                             f"| one-row SQLite commit | {dc['probe_commit_p50_ms']} ms | {dc['probe_commit_p99_ms']} ms |" + each("probe_commit_p99_ms"),
                             *cpu_row, ""]
        sections += [f"Start-up with 100,000 entries (process start to `/readyz` 200: sockets bound, database answering): {api['startup_s']} s. RSS after the run: "
                     f"{api['rss_mib_after']} MiB.", ""]
        summary.append(f"| API write p99 (100k memories; acknowledged = fsync'd) | {api['write_p99_ms']} ms (p50 {api['write_p50_ms']}) | | ≤ 5 ms | "
                       f"{verdict(api['write_p99_ms'] <= 5)} |")
        summary.append(f"| API recall p99 (100k memories) | {api['recall_p99_ms']} ms (p50 {api['recall_p50_ms']}) | | ≤ 10 ms | "
                       f"{verdict(api['recall_p99_ms'] <= 10)} |")
        if dc:
            floor = f" disk's floor: a one-row commit's p99 {dc['probe_commit_p99_ms']} ms " if "probe_commit_p99_ms" in dc else " "
            summary.append(f"| API write / recall p99 while a catch-up streams in | {dc['write_p99_ms']} / {dc['recall_p99_ms']} ms |{floor}| ≤ 5 / 10 ms | "
                           f"{verdict(dc['write_p99_ms'] <= 5 and dc['recall_p99_ms'] <= 10)} |")

    rt = results.get("retention", {}).get("data")
    if rt:
        mib = lambda b: f"{b / 2**20:.2f} MiB"
        lat = rt["latency"]
        disk_ok = rt["max_disk_caught_up_bytes"] is not None and rt["max_disk_caught_up_bytes"] <= rt["disk_bound_bytes"]
        fresh_ok = rt["fresh_ratio"] <= 1.5
        w_ratio = lat["write_p99_ms"]["on"] / lat["write_p99_ms"]["off"] if lat["write_p99_ms"]["off"] else None
        r_ratio = lat["recall_p99_ms"]["on"] / lat["recall_p99_ms"]["off"] if lat["recall_p99_ms"]["off"] else None
        summary.append(f"| retention: disk per node after compaction caught up ({rt['writes']:,} writes) | max {mib(rt['max_disk_caught_up_bytes'] or 0)} | "
                       f"live set {mib(rt['live_bytes'])} | ≤ 2 × live + 8 MiB = {mib(rt['disk_bound_bytes'])} | {verdict(disk_ok)} |")
        summary.append(f"| retention: a fresh node's catch-up | {rt['fresh_received_bytes']:,} B | live set {rt['live_bytes']:,} B | ≤ 1.5 × live | "
                       f"{verdict(fresh_ok)} ({rt['fresh_ratio']}) |")
        summary.append(f"| retention: API p99 with compaction / without (write, recall) | {lat['write_p99_ms']['on']} / {lat['recall_p99_ms']['on']} ms | "
                       f"{lat['write_p99_ms']['off']} / {lat['recall_p99_ms']['off']} ms | within 10 % | "
                       + ("not representative (see the caveat under Retention) " if rt.get("caveat") else
                          f"{verdict(w_ratio is not None and r_ratio is not None and w_ratio <= 1.1 and r_ratio <= 1.1)} ")
                       + f"({w_ratio and round(w_ratio, 3)}, {r_ratio and round(r_ratio, 3)}) |")
        sections += [f"## Retention ({stamp(results['retention'])})", "",
                     f"3 nodes (`--profile lan`, `--benchmark-retention 1h`, `--quota-per-hour 100000000`, checkpoints at the default: a look every 1,000 own entries "
                     f"and once after 30 s quiet), {rt['writes']:,} API writes at full speed spread over them ({rt['writes_per_s']:,}/s): "
                     f"94 % memories rewriting {rt['keys']:,} keys (each key one author's), 5 % breaker events on 50 provider/models "
                     "open for 30 s, 1 % benchmark observations recorded up to 2 h ago. The live set is computed by the bench from "
                     "node1's raw log (`/v1/log`, each entry's encoded size) by the documented rules, not by the node's bookkeeping: "
                     f"**{rt['live_bytes']:,} bytes** ({rt['live_counts']}). Disk is the database file, its WAL and shared-memory "
                     f"file, sampled every second; \"caught up\" samples are those in which the node had no dead entry left "
                     f"(after the first 5 % of the writes). The nodes converged and finished compacting {rt['settle_seconds']} s "
                     "after the last write (the quiet checkpoint comes 30 s after it).", "",
                     "| node | disk at the end | database pages | free pages | entries stored | their bytes | compacted since start |",
                     "|---|---|---|---|---|---|---|"]
        for k, n in enumerate(rt["nodes"]):
            sections.append(f"| node{k + 1} | {mib(n['disk_bytes'])} | {mib(n['database_bytes'])} | {mib(n['free_bytes'])} | "
                            f"{n['stored_entries']:,} | {n['stored_bytes']:,} | {n['compacted_entries']:,} |")
        sections += ["", f"Largest disk of a node in a caught-up sample: **{mib(rt['max_disk_caught_up_bytes'] or 0)}** against "
                     f"the target 2 × live + 8 MiB = {mib(rt['disk_bound_bytes'])}. A fresh node started after the run received "
                     f"**{rt['fresh_received_bytes']:,} bytes** over TCP (sessions, handshakes and framing included) to hold what the "
                     f"others hold ({rt['fresh_stored_bytes']:,} bytes of entries stored) in {rt['fresh_seconds']} s: "
                     f"**{rt['fresh_ratio']} × the live set**. Write latency seen by one writer during the run: p50 "
                     f"{rt['write_latency_under_load_p50_ms']} ms, p99 {rt['write_latency_under_load_p99_ms']} ms.", "",
                     "API latency on node1 while 3 writers rewrite 1,000 keys (30,000 writes), 400 probe writes and recalls, with "
                     "checkpoints every 200 entries and compaction running, and with `--checkpoint-every 0`; median of 3 runs each:", "",
                     "| | write p50 | write p99 | recall p50 | recall p99 |", "|---|---|---|---|---|",
                     f"| compaction on | {lat['write_p50_ms']['on']} ms | {lat['write_p99_ms']['on']} ms | {lat['recall_p50_ms']['on']} ms | {lat['recall_p99_ms']['on']} ms |",
                     f"| compaction off | {lat['write_p50_ms']['off']} ms | {lat['write_p99_ms']['off']} ms | {lat['recall_p50_ms']['off']} ms | {lat['recall_p99_ms']['off']} ms |",
                     "", "![disk during the run](plots/retention-disk.png)", ""]
        if rt.get("caveat"):
            sections[-3:-3] = ["**Caveat.** " + rt["caveat"], ""]

    out = lines + ["## Summary", ""] + summary + [""] + sections
    notes = missed_notes(results)
    if notes:
        out += ["## Where a target is missed, and why", ""] + notes + [""]
    return "\n".join(out) + "\n"


def machine_cores(results: dict) -> int | None:
    return (results.get("machine") or {}).get("cores")


# What the file-backed part of a node's RSS is (both memory notes).
FILE_PAGES_NOTE = ("about 8 MiB of its own binary (the code it runs, the read-only data, the relocated Swift metadata, "
                   "and, until the node kept its main thread (after 7a11724), ~0.5 MiB of unwind tables read once when the async main "
                   "parked it: `dispatch_main` exits it with a forced unwind; one idle node 13.8 / 13.8 MiB before, 12.9 / 13.4 after) "
                   "and about 3.9 MiB of the shared C libraries it maps (libc 1.5, SQLite 1.3, libm 0.5, libsodium 0.3, the loader "
                   "and libgcc 0.3; measured in /proc/PID/smaps of a loaded node of 4), which Serf, one static Go binary, does not "
                   "have. The release link places the functions a node runs together (scripts/lib/release.sh, "
                   "scripts/link/gossip-node.order; RSS under load was 25.2 MiB before, idle 24.9) and links libstdc++ in "
                   "statically (shared, it was 1.1 MiB of every node's RSS; linked in, only what the Swift runtime uses comes "
                   "along), but the Swift standard library, its concurrency runtime and parts of FoundationEssentials "
                   "come precompiled as large single sections (1.9 MB) that cannot be ordered. The node drops no pages "
                   "(no MADV_DONTNEED; it hands back freed heap with malloc_trim and SQLite's cache), so this is the memory it holds.")


def missed_notes(results: dict) -> list[str]:
    """What limits each missed target, from the figures of the run."""
    notes = []
    cu = (results.get("catchup") or {}).get("data")
    # The catch-up part's own limit measurement when it has one.
    ing = (cu or {}).get("limit") or (results.get("ingest") or {}).get("data")
    if cu and cu.get("ratio") is not None and cu["ratio"] < 0.8:
        text = (f"- **Catch-up ({cu['ratio']} of the pipelined limit).** The joining node is CPU-bound: ")
        if cu.get("cpu_seconds"):
            cs = cu["cpu_seconds"]
            text += (f"it used {cs['joiner']} CPU seconds for {cu['entries']:,} entries = {cs['joiner'] / cu['entries'] * 1e6:.0f} µs "
                     f"per entry, while the holders used {cs['holder1']} and {cs['holder2']} s. ")
        if ing and ing.get("commit_alone_per_s") and ing.get("limit_per_s"):
            text += (f"A batch needs one signature per run of an author's chain (the rest is authenticated by its hash "
                     f"links; docs/protocol.md, \"Validation on ingest\"), so verification no longer bounds a catch-up; the "
                     f"serial commit does: the entries, the views and the FTS5 index of a batch in one transaction on one "
                     f"connection. Alone (pre-verified batches, no network) it runs at {ing['commit_alone_per_s']:,} entries/s "
                     f"= {ing['commit_alone_per_s'] / ing['limit_per_s']:.2f} of the limit " + ("measured in that part" if cu.get("limit") else "in this run") + ", using "
                     f"{ing.get('commit_cpu_us', '?')} µs of CPU per entry (its WAL checkpoints on the second core included); "
                     f"LogStore's whole ingest reaches {ing['ingest_per_s']:,} entries/s. The joining node adds the "
                     f"network, decryption, decoding and its bookkeeping, which overlap the commit on the other core.")
        if cu.get("runs"):
            rates = " / ".join(f"{r['entries_per_s']:,}" for r in cu["runs"])
            text += f" The runs' rates: {rates} entries/s."
        notes.append(text)
    idle = (results.get("idle") or {}).get("data") or {}
    s, big = idle.get("serf"), idle.get("100000")
    if s and big and big["rss_mib_mean"] > s["rss_mib_mean"]:
        notes.append(f"- **Memory ({big['rss_mib_mean']} MiB vs Serf's {s['rss_mib_mean']} MiB RSS).** A node's own memory (RssAnon) is "
                     f"{big.get('rss_anon_mib_mean', '?')} MiB (Serf's {s.get('rss_anon_mib_mean', '?')} MiB); the rest is clean, file-backed "
                     "pages, shared by every node on the machine and reclaimable: " + FILE_PAGES_NOTE)
    if s and big and big["cpu_percent_per_node"] > s["cpu_percent_per_node"]:
        notes.append(f"- **Idle CPU ({big['cpu_percent_per_node']} % vs Serf's {s['cpu_percent_per_node']} % of a core).** The node "
                     "wakes only at its cores' deadlines (the next probe, a timeout, pending gossip: about twice a second); what "
                     "remains is the probe traffic itself (sealing and opening each datagram) and the HTTP server's clock. Serf's "
                     "own figure moves by about as much as the difference between runs of this benchmark.")
    lg = idle.get("large")
    if lg and (lg["gossip_node"]["wire_bytes_per_s_per_node"] > lg["serf"]["wire_bytes_per_s_per_node"]
               or lg["gossip_node"]["cpu_percent_per_node"] > lg["serf"]["cpu_percent_per_node"]):
        g, ls = lg["gossip_node"], lg["serf"]
        notes.append(f"- **Idle cost at {lg['nodes']} nodes ({g['wire_bytes_per_s_per_node']} bytes/s and {g['cpu_percent_per_node']} % CPU per "
                     f"node vs Serf's {ls['wire_bytes_per_s_per_node']} and {ls['cpu_percent_per_node']} %).** Of the node's payload, "
                     f"{g['tcp_payload_bytes_per_s_per_node']} bytes/s went to {g['sessions']} sync sessions (each carries both member "
                     "lists, about 120 bytes a member); the rest is the probes and the gossip of the join's member records, which "
                     "are signed (64 bytes each more than memberlist's).")
    sy = (results.get("sync") or {}).get("data") or {}
    one = sy.get("1")
    if one and one.get("catch_up_bytes", one["session_bytes"]) > one["target_bytes"] and one.get("push_bytes") and one.get("sessions"):
        notes.append(f"- **Catch-up of one entry after a restart ({one['catch_up_bytes']:,} bytes for a {one['entries_bytes']}-byte entry).** "
                     f"Node 1's hinted push carried it ({one['push_bytes']} bytes, within the target) and so did "
                     f"{int(one['sessions'])} session(s) ({one['session_bytes']:,} bytes). Two causes of such sessions were found and "
                     "fixed at 242de4c (a repro of this round had sessions in 7 of 22 restarts before, 0 of 20 after): a node "
                     "restarted within the second of its leave started at the incarnation its peers held as `left` and stayed "
                     "`left` for them (incarnations are now the clock in milliseconds, and an own `left` at the current "
                     "incarnation is refuted), and node 1, which had joined between two of its seed retries, went back to "
                     "dialling its seed every few hundred milliseconds once node 2 left, landing on node 2 as it came back. "
                     "A session this run still opened has a cause not yet found.")
    elif one and one.get("catch_up_bytes", one["session_bytes"]) > one["target_bytes"]:
        notes.append(f"- **Sync of one entry ({one['session_bytes']:,} bytes for a {one['entries_bytes']}-byte entry).** The target allows "
                     f"{one['target_bytes']} bytes, and the 352-byte handshake alone leaves {one['target_bytes'] - 352} for an entry of "
                     f"{one['entries_bytes']}. A session has a fixed cost: the 352-byte mutual handshake (ephemeral keys with network-key MACs, each identity and its "
                     "signature, encrypted), hello, members and version vectors each way, and the frame overhead (21 bytes a "
                     "frame). The target cannot hold for d = 1 over an authenticated session; a node one entry behind while "
                     "online gets it by push instead, within the target (row above).")
    for n, r in ((results.get("propagation") or {}).get("data") or {}).items():
        r99 = r["gossip_node_p99_ms"] / r["serf_p99_ms"] if r.get("serf_p99_ms") else None
        if (r.get("ratio_p50") or 0) > 0.1 or (r99 or 0) > 0.5:
            cpu = ""
            if r.get("gossip_node_cpu_ms_per_event"):
                cpu = (f" While the events spread, the {n} nodes used {r['gossip_node_cpu_ms_per_event']} ms of CPU per event in all "
                       f"({r['gossip_node_cpu_busy']:.0%} of the cores over the run, idle work included; Serf's agents "
                       f"{r['serf_cpu_ms_per_event']} ms, {r['serf_cpu_busy']:.0%}): {r['gossip_node_cpu_ms_per_event'] / int(n):.1f} ms per node "
                       "per event (a few datagrams in and out, one verification, one transaction, the event stream), so the "
                       "last hop waits for the cores. Until 4c23721 most of it was, in a profile, thread hand-offs between the "
                       "socket's event loop, the node's actor and the store and the kernel's scheduling; since then a datagram is "
                       "handled on the event loop that read it (an A/B of one build at 128 nodes, the pool against the loops: "
                       "p50 118-138 against 81-88 ms, CPU per event 257-303 against 203 ms; GOSSIP_NODE_EXECUTOR=threads "
                       "restores the pool).")
            notes.append(f"- **Propagation at N = {n} (p50 {r['gossip_node_p50_ms']} ms, p99 {r['gossip_node_p99_ms']} ms; Serf "
                         f"{r['serf_p50_ms']} / {r['serf_p99_ms']} ms).** Above 64 nodes a writer no longer pushes to everyone: "
                         "each hop pushes to ceil(ln N) + 1 random peers (6 at 128) and the ring successor, about three hops to "
                         f"reach every node, and on this machine {n} processes share its cores." + cpu + " Copies of an entry a "
                         "node took in lately are dropped before verification, and the ring means no entry waits for "
                         "anti-entropy (at 128 nodes random fanout alone missed a node for about one entry in eight). "
                         "Tried: one random peer fewer per hop (kept since 9a0e23e: p50 median 77.6 against 83.5 ms in 6 "
                         "interleaved runs each, CPU per event 214 against 224 ms); the datagrams of one turn written with one "
                         "flush, so that NIO sends them with one `sendmmsg` (not kept: p50 median 80.0 against 75.2 ms, CPU per "
                         "event 225.5 against 215 ms, 5 interleaved runs each). A profile of the 128 nodes while events spread "
                         "(perf, 8,400 samples) shows no single cost to remove: the kernel 27 % (UDP 7.5 %, epoll 6.9 %, "
                         "scheduling 2 %), the event loops' own work outside the node's jobs 18 %, the node's jobs (its Swift "
                         "code, NIO's async channels, the runtime) 34 %, SQLite 5.7 %, libsodium 1.3 %. Not tried: push-to-all "
                         "up to 128 (the threshold stays 64; the epidemic path is what this row measures).")
    api = (results.get("api") or {}).get("data")
    if api and api["write_p99_ms"] > 5:
        notes.append(f"- **API write p99 ({api['write_p99_ms']} ms).** Not the disk: `fdatasync` on this machine measured p50 "
                     "0.11 ms, p99 1.14 ms (1,000 4 KiB writes). WAL checkpoints do not run in a write (a second connection "
                     "copies the log on its own thread, `WALCheckpointer`), and `import` merges the full-text index it "
                     "filled (before 9661807 the first 1,000 writes after a start merged 14 segments as they went: p99 5.5 "
                     "to 7.5 ms, then 2.8 to 3.5 ms; after, 2.76 ms from the first write); the runs' p99 were "
                     f"{' / '.join(str(r['write_p99_ms']) for r in api.get('runs') or [api])} ms. What remains is not isolated: "
                     "the store is one serial actor, so a write also waits for the write before it and for the retention "
                     "look (every 1,000 own entries).")
    dc = (api or {}).get("during_catch_up") or {}
    if dc and (dc["write_p99_ms"] > 5 or dc["recall_p99_ms"] > 10):
        notes.append(f"- **API latency while a catch-up streams in (write p99 {dc['write_p99_ms']} ms, recall p99 "
                     f"{dc['recall_p99_ms']} ms, over the {dc['seconds']} s that {dc['entries']:,} entries took).** Writes go "
                     "through the store, one serial actor on one SQLite connection. A peer's batch (1 MiB, about 2,300 "
                     "entries) is one transaction unless a client's write is in progress: then the transaction ends at its "
                     "next look (every 32 entries) and the write runs before the rest of the batch (`ClientDemand`; "
                     "gossip_node_ingest_yields_total counts it). That took the p99 from about 100 ms (a whole batch's "
                     "commit) to tens of ms. What a write still meets: the commit in progress when it arrives (the "
                     "full-text index's segment and merges, and past 2 MiB of WAL the writer's own checkpoint), and its own "
                     "fsync on a disk the catch-up keeps busy (timed inside node1 with an instrumented build, not by this "
                     "script: a write's commit took 8 to 23 ms during the catch-up against about 1 ms idle; batch commits "
                     "2 to 90 ms, the writer's checkpoints up to 25 ms). A later trace of every write and every batch "
                     "transaction (with the thread's CPU time, at 1a658d3): the slowest writes waited 24 to 124 ms for "
                     "the store, behind a batch transaction that had ended early for them but whose commit ran the writer's "
                     "own WAL checkpoint (17 to 47 ms, 19 to 54 ms of it CPU). Leaving that checkpoint to a commit no client "
                     "waits for (tried, not kept) moved the wait to the commits' other work, the full-text index's segments "
                     "and dirty pages: write p99 during the catch-up 51.26 / 51.13 / 48.98 ms against 45.17 / 44.66 / 58.06 "
                     "without it, 3 runs each. With the median write at 4 to 8 ms during a catch-up on two cores, the target "
                     "needs a client's write to stop sharing the catch-up's connection"
                     + (f", and even then it is below this machine's floor: a process of its own beside the catch-up, with "
                        f"no store, HTTP or signature, committed one 600-byte row to a SQLite database of its own in "
                        f"{dc['probe_commit_p50_ms']} ms p50 and {dc['probe_commit_p99_ms']} ms p99, and a bare 600-byte "
                        f"append + fsync took {dc['probe_fsync_p99_ms']} ms p99 (the table above). A separate journal "
                        "(a client's signed write made durable in a file of its own and merged into the log later) would "
                        "meet that floor plus the request's own work, and would need every read to consult the journal to "
                        "keep read-your-writes; it was not built" if "probe_commit_p99_ms" in dc else "")
                     + ". Recalls (and breaker and benchmark reads) meet "
                     "none of it since a catch-up's batch opens a second, read-only SQLite connection for them "
                     "(`ReadConnection`, closed again by the memory release after the catch-up): they read the last commit "
                     "beside the writer. In an A/B of one day's builds (3 runs each) the recall p99 during the catch-up "
                     "went from 82.69 / 44.9 / 77.17 ms to 16.25 / 23.69 / 34.02 ms; what is left shares the two cores "
                     "with the catch-up's commit, its decryption and decoding and the streaming peer"
                     + ((f". The cores are not all of it: the probe's fixed CPU work of {dc['probe_cpu_idle_p50_ms']} ms, in a "
                         f"process of its own, took {dc['probe_cpu_p50_ms']} ms p50 and {dc['probe_cpu_p99_ms']} ms p99 during the "
                         f"catch-up, against the recall's {dc['recall_p50_ms']} / {dc['recall_p99_ms']} ms. Outside this script "
                         "(at 9a0e23e, 3 catch-ups): the node's own timer (api_request_duration_seconds) puts the same tail "
                         "inside the node, and strace saw no busy-handler sleeps on the read connection. Not the read "
                         "connection's page cache either, which every commit of the writer empties: a reader of its own on a "
                         "100,000-memory database, the writer committing before each of 400 of the bench's queries, took p50 "
                         "1.3-1.6 ms and p99 5.9-6.5 ms against 0.7-1.0 and 4.5-5.8 ms without the commits"
                         if dc["probe_cpu_p99_ms"] * 2 <= dc["recall_p99_ms"] else
                         f" (the probe's fixed CPU work of {dc['probe_cpu_idle_p50_ms']} ms took {dc['probe_cpu_p50_ms']} ms p50 "
                         f"and {dc['probe_cpu_p99_ms']} ms p99 during the catch-up)") if "probe_cpu_p99_ms" in dc else "")
                     + ". Kept since (ba0790e): a recall of common words, answered newest first, no longer asks FTS5 for "
                     "the BM25 rank it does not order by (the rank's IDF walked every row holding each word: 3.7 of 3.75 ms of "
                     "such a query over 100,000 memories); in an A/B of release builds, 6 catch-ups each, the recall p99 during "
                     "a catch-up went from 17.7-32.3 to 8.8-27.6 ms and its p50 from 2.4-3.9 to 1.4-2.4 ms. Tried since, "
                     "none kept (3 catch-ups per run into node 1, its write p99 / recall p99 per catch-up): the two other "
                     "nodes reniced to +19 (writes 29.4 / 37.4 / 38.9 ms, recalls 15.8 / 11.1 / 15.2: the peers' CPU is much "
                     "of a recall's wait, little of a write's); the sessions' and retention's work on threads of their own at "
                     "nice +5 instead of the runtime's pool (writes 38.8-68.1 ms against 39.3-66.5, recalls alike); memory-mapped "
                     "reads on the read connection (recalls 26.8-59.2 ms against 14.6-78.0, same build); FTS5's automerge off "
                     "during a catch-up (writes 33.8-149.9 ms against 40.4-72.3, same build).")
    me = (results.get("memory") or {}).get("data")
    if me and me["gossip_node"]["rss_mib_p50"] > me["serf"]["rss_mib_p50"]:
        g, sf = me["gossip_node"], me["serf"]
        runs = me.get("runs") or []
        each = (f" (the runs' ratios: {' / '.join(str(r['ratio_p50']) for r in runs)})" if runs else "")
        notes.append(f"- **Memory under load ({g['rss_mib_p50']} MiB vs Serf's {sf['rss_mib_p50']} MiB RSS, p50){each}.** The node's own "
                     f"memory (RssAnon) is {g['rss_anon_mib_p50']} MiB, Serf's {sf['rss_anon_mib_p50']} MiB; the rest of its RSS is clean "
                     "pages mapped from files (shared by every node on the machine, reclaimable): " + FILE_PAGES_NOTE)
    jn = (results.get("join") or {}).get("data") or {}
    for n, r in jn.items():
        if isinstance(r, dict) and r.get("ratio_all") is not None and r["ratio_all"] > 1:
            cpu = r.get("cpu_seconds") or {}
            cores = machine_cores(results)
            text = (f"- **Join of {n} started together ({r['gossip_node_all_s']} s vs Serf's {r['serf_all_s']} s).** ")
            if cpu and cores:
                busy = cpu["gossip_node"] / (cores * r["gossip_node_all_s"])
                text += (f"gossip-node's {n} nodes used {cpu['gossip_node']} CPU seconds in all until every node listed every "
                         f"other, Serf's agents {cpu['serf']} s: {busy:.0%} of the machine's {cores} cores over the join. ")
                if busy > 0.7:
                    text += ("The cores are saturated, so every node's datagrams (and its API, which the poll asks) wait for "
                             "CPU. Starting the processes is a share of it: a node's start costs about 21 ms of CPU until "
                             "`/readyz` answers, Serf's agent 7 to 9 ms (measured at b0c0db6 from /proc/PID/task/*/schedstat, "
                             "5 and 3 starts), so 128 starts take about 2.7 CPU seconds against Serf's 1.1, and in four "
                             "runs the last node started 3.2 to 3.8 s after the first (the bench starts them one after "
                             "another). Then a join wave costs each node a datagram per member in and out (records, "
                             "greetings, gossip), several times Serf's CPU per datagram (until 4c23721 each also passed from "
                             "the socket's event loop to the node's actor and back, two thread hops; until 37f6ee8 each "
                             "member learned cost a durable write, 15,842 fdatasyncs in one 128-node join). Until b0c0db6 a "
                             "node greeted at most 64 newly learned members per probe interval and dropped the rest: a "
                             "member it never greeted learned of it by gossip alone, a few signed records a datagram while "
                             "the whole wave was news, and the last node or two lacked one member for seconds after the "
                             "rest had converged (greetings past the allowance are now owed and sent in the next "
                             "intervals: 5 interleaved runs, median 9.38 s before and 5.50 s after; the simulator's "
                             "128-node join, which `swift test` bounds, 6.67 s before and 2.68 s after). Tried and not "
                             "kept: a UDP hello to the seed beside the session dial (a node's first member within 37 to "
                             "154 ms instead of 110 to 194 ms, but more CPU while the others start: 8.8 to 10.0 CPU "
                             "seconds against 7.5 to 8.2, median join 5.61 s against 4.74 s, 4 runs each) and a "
                             "piggyback budget of 1,100 bytes instead of 900 (median 5.25 s against 5.30 s).")
                else:
                    text += ("The cores are not saturated: the time goes to gossip rounds (members that joined at the same "
                             "moment learn of each other from a third member's gossip or greeting) and to starting the "
                             "processes. A node's start costs about 18 ms of CPU until `/readyz` answers (measured at "
                             "9661807 from /proc/PID/task/*/schedstat over 5 starts: 16.7 to 19.1 ms), Serf's agent less; "
                             "in a profile of one start, a quarter of it is the Swift runtime scanning the binary's "
                             "protocol conformance records on first casts (generic metadata looked up by mangled name, "
                             "ServiceLifecycle naming each service by `String(describing:)` of the whole service value, "
                             "ArgumentParser deriving command names from type names) and a third the kernel's exec, "
                             "mappings and page faults. Not changed.")
            notes.append(text)
    rt = (results.get("retention") or {}).get("data")
    lat = (rt or {}).get("latency") or {}
    if lat.get("runs") and lat["write_p99_ms"]["off"] and lat["recall_p99_ms"]["off"]:
        w_ratio = lat["write_p99_ms"]["on"] / lat["write_p99_ms"]["off"]
        r_ratio = lat["recall_p99_ms"]["on"] / lat["recall_p99_ms"]["off"]
        if w_ratio > 1.1 or r_ratio > 1.1:
            def spread(mode: str, k: str) -> str:
                v = [r[k] for r in lat["runs"][mode]]
                return f"{min(v)} to {max(v)}"
            notes.append(f"- **Retention: API p99 with compaction ({lat['write_p99_ms']['on']} ms write, {lat['recall_p99_ms']['on']} ms "
                         f"recall) against without ({lat['write_p99_ms']['off']} / {lat['recall_p99_ms']['off']} ms).** The runs of "
                         f"each mode overlap: write p99 with compaction {spread('on', 'write_p99_ms')} ms, without "
                         f"{spread('off', 'write_p99_ms')} ms; recall {spread('on', 'recall_p99_ms')} against "
                         f"{spread('off', 'recall_p99_ms')} ms. Under three writers rewriting 1,000 keys at full speed on 2 "
                         "cores, the p99 of 400 probes moves between runs by more than the medians differ; compaction "
                         "runs in steps of 200 rows, each its own short transaction, between writes.")
    if rt and (rt["max_disk_caught_up_bytes"] or 0) > rt["disk_bound_bytes"]:
        free = max(n["free_bytes"] for n in rt["nodes"])
        notes.append(f"- **Retention disk ({rt['max_disk_caught_up_bytes'] / 2**20:.1f} MiB against {rt['disk_bound_bytes'] / 2**20:.1f} MiB).** "
                     f"The entries themselves follow the live set ({rt['nodes'][0]['stored_bytes']:,} bytes stored for a live set of "
                     f"{rt['live_bytes']:,}; a fresh node downloads {rt['fresh_ratio']} × it). The rest of the file: up to "
                     f"{free / 2**20:.1f} MiB of free pages not yet handed back at the end (incremental auto-vacuum returns pages as "
                     "compaction frees them, in steps of what each pass deleted); the derived views, which hold a second copy of "
                     "each live memory (the memories table and its FTS5 index; under steady rewrites the index also keeps deleted "
                     "rows in segments until FTS5 merges them: merged once a node is quiet, and on a busy one once they have "
                     "doubled it); B-tree pages left partly filled by deletes scattered through the table (SQLite merges a page "
                     "only when it falls under a third full); and the write-ahead log beside the file. The log is meant to stay "
                     "under 2 MiB plus a commit (past 512 pages the writer checkpoints it itself), but a trace of every commit in "
                     "an instrumented build of 1a658d3 (200,000 writes, 3 nodes) saw it reach 1,100 to 1,430 pages (4.3 to 5.6 MiB): the "
                     "writer's own checkpoint was refused (SQLITE_BUSY) in about 60 % of its attempts because the background "
                     "checkpointer (`WALCheckpointer`), asked at every commit past 256 pages, held the checkpoint lock (2,202 of 3,569 "
                     "attempts in a 40,000-write trace, up to 30 commits in a row); each one that got through copied every "
                     "frame and the log restarted after it. Not fixed: "
                     "skipping the background run past 512 pages left the peak as it was; skipping it and having a refused "
                     "writer wait for the run in progress past 640 pages kept the writers' log to 833-942 pages (one run) but put that "
                     "wait on API writes (write p99 at 100,000 memories 3.07 / 3.49 / 9.22 / 7.43 / 7.59 / 4.07 ms against "
                     "4.16 / 3.22 / 3.67 / 3.36 / 3.15 / 4.81 ms, interleaved runs); a RESTART checkpoint on the background "
                     "connection let the log grow to 80 MiB. The target counts all of it against the entries' own size.")
    return notes


class SerfRPC:
    """Serf's own RPC protocol (msgpack over TCP, as the `serf` command speaks it) on one kept
    connection: asking an agent for its members costs a round trip, not a process start, so Serf
    is polled as finely and as cheaply as gossip-node's HTTP API."""

    def __init__(self, address: str, timeout: float = 2):
        import msgpack
        import socket
        self.sock = socket.create_connection((address, SERF_RPC), timeout=timeout)
        self.unpacker = msgpack.Unpacker(raw=False)
        self.packb = msgpack.packb
        self.seq = 0
        self._call("handshake", {"Version": 1}, reply=False)

    def _next(self):
        while True:
            for obj in self.unpacker:
                return obj
            data = self.sock.recv(65536)
            if not data:
                raise OSError("serf RPC closed")
            self.unpacker.feed(data)

    def _call(self, command: str, body: dict | None = None, reply: bool = True):
        self.seq += 1
        out = self.packb({"Command": command, "Seq": self.seq})
        if body is not None:
            out += self.packb(body)
        self.sock.sendall(out)
        header = self._next()
        if header.get("Error"):
            raise OSError(f"serf RPC {command}: {header['Error']}")
        return self._next() if reply else None

    def alive(self) -> int:
        """Members this agent lists alive, itself included."""
        reply = self._call("members")
        return sum(1 for m in reply.get("Members", []) if m.get("Status") == "alive")

    def close(self) -> None:
        self.sock.close()


class SerfEvents:
    """Serf user events as each agent delivers them, over its RPC `stream` (one kept connection
    per agent, all read by one ``ArrivalLoop``): the arrival time is taken when the agent hands the
    event out, with no handler process in between (the way gossip-node's SSE stream is read)."""

    def __init__(self, n: int):
        self.seen, self.lock = {}, threading.Lock()
        self.loop = ArrivalLoop()
        enter_namespace("gossip-bench-serf")  # where SerfCluster put the caller's thread already
        for i in range(1, n + 1):
            r = SerfRPC(f"127.0.0.{i + 1}", timeout=60)
            r.seq += 1
            r.sock.sendall(r.packb({"Command": "stream", "Seq": r.seq}) + r.packb({"Type": "user"}))
            r._next()  # the stream's acknowledgement
            self.loop.add(r.sock, self.reader(i, r.unpacker, r.seq))
        self.loop.start()

    def reader(self, i: int, unpacker, seq: int):
        state = {"header": None}

        def on_bytes(data: bytes, t: float) -> None:
            unpacker.feed(data)
            for obj in unpacker:
                if state["header"] is None:
                    state["header"] = obj
                    continue
                header, state["header"] = state["header"], None
                if header.get("Seq") != seq:
                    continue
                payload = obj.get("Payload", b"")
                key = payload.decode(errors="replace") if isinstance(payload, (bytes, bytearray)) else str(payload)
                with self.lock:
                    self.seen.setdefault(key, {}).setdefault(i, t)
        return on_bytes

    def deliveries(self, key: str) -> dict[int, float]:
        with self.lock:
            return dict(self.seen.get(key, {}))

    def close(self) -> None:
        self.loop.close()


def gather(pending: dict, timeout: float) -> dict:
    """Reads the answers to requests already sent on many sockets at once: `pending` maps a key to
    (socket, feed), where feed(bytes) returns the answer once complete (None until then). Returns
    key -> answer, or None for a socket that failed or did not answer within `timeout`."""
    import selectors
    out = {k: None for k in pending}
    sel = selectors.DefaultSelector()
    for k, (sock, feed) in pending.items():
        sel.register(sock, selectors.EVENT_READ, (k, feed))
    deadline = time.time() + timeout
    try:
        while sel.get_map() and time.time() < deadline:
            for key, _ in sel.select(max(0.0, deadline - time.time())):
                k, feed = key.data
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                answer = feed(data) if data else None
                if not data or answer is not None:
                    sel.unregister(key.fileobj)
                    out[k] = answer
    finally:
        sel.close()
    return out


class KeptHTTP:
    """One kept-alive HTTP connection per gossip-node node, polled all at once: a round sends every
    node its request, then reads the answers as they come (one at a time, a round of 128 took
    longer than the join it was timing). What is asked is the member list (`/v1/peers`, what
    Serf's `members` RPC is to an agent), counted here."""

    def __init__(self, c: Cluster):
        self.c, self.conns = c, {}

    def round(self, nodes: list[int]) -> list[int]:
        import socket
        pending = {}
        for i in nodes:
            try:
                if i not in self.conns:
                    self.conns[i] = socket.create_connection((self.c.address(i), API_PORT), timeout=3)
                self.conns[i].sendall(b"GET /v1/peers HTTP/1.1\r\nHost: localhost\r\n\r\n")
                pending[i] = (self.conns[i], self.reader())
            except OSError:
                self.drop(i)
        answers = gather(pending, timeout=10)
        counts = []
        for i in nodes:
            body = answers.get(i)
            try:
                counts.append(sum(1 for p in json.loads(body)["peers"] if p["state"] == "alive"))
            except (TypeError, ValueError, KeyError):
                self.drop(i)
                counts.append(-1)
        return counts

    @staticmethod
    def reader():
        buf = [b""]

        def feed(data: bytes):
            buf[0] += data
            head, sep, body = buf[0].partition(b"\r\n\r\n")
            if not sep:
                return None
            m = re.search(rb"(?i)content-length: *(\d+)", head)
            if not head.startswith(b"HTTP/1.1 200") or not m:
                return b"not ok"
            return body if len(body) >= int(m.group(1)) else None
        return feed

    def drop(self, i: int) -> None:
        conn = self.conns.pop(i, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for i in list(self.conns):
            self.drop(i)


def poll_until(round_counts, nodes: list[int], want: int, timeout: float, what: str) -> tuple[float, float]:
    """Polls every node in rounds (`round_counts(nodes)` asks them all at once) until every node
    answers `want` in one round. Returns (seconds until that round ended, longest round)."""
    t0 = time.time()
    longest = 0.0
    while True:
        r0 = time.time()
        got = round_counts(nodes)
        longest = max(longest, time.time() - r0)
        if all(x == want for x in got):
            return time.time() - t0, longest
        if time.time() - t0 > timeout:
            raise RuntimeError(f"join ({what}): alive counts {got}, wanted {want} everywhere")
        time.sleep(0.01)


def join_gossip_node(n: int) -> dict:
    c = Cluster("bench-join")
    c.destroy()
    c = Cluster("bench-join")
    c.create_namespace()
    os.makedirs(c.dir, exist_ok=True)
    key = os.path.join(c.dir, "network.key")
    with open(key, "w") as f:
        f.write(subprocess.run([binary(), "network-key"], capture_output=True, text=True, check=True).stdout)
    os.chmod(key, 0o600)
    # n + 1 nodes in the cluster's table; the last joins later. Every node's seed is node 1
    # (node 1's is node 2): one seed, as a user would start them.
    c.meta = {"nodes": n + 1, "bin": binary(), "profile": "lan", "extra": [], "seeds": True}
    c.save()
    c.enter()
    c.heal()
    for i in range(1, n + 2):
        c.init_node(i)
    poll = KeptHTTP(c)
    try:
        # All n started at once (node 1, the seed, is not waited for: the others retry it).
        t0 = time.time()
        for i in range(1, n + 1):
            c.start(i)
        _, round_all = poll_until(poll.round, list(range(1, n + 1)), n - 1, 120, "gossip-node")
        all_s = time.time() - t0
        cpu_s = sum(proc_cpu_seconds(c.pid(i)) for i in range(1, n + 1))
        t1 = time.time()
        c.start(n + 1)
        _, round_one = poll_until(poll.round, list(range(1, n + 2)), n, 120, "gossip-node")
        one_s = time.time() - t1
    finally:
        poll.close()
        c.destroy()
    return {"all_s": all_s, "one_s": one_s, "poll_round_s": max(round_all, round_one), "cpu_s": cpu_s}


def join_serf(n: int) -> dict:
    serf_dir = os.path.join(WORK, "serf-join")
    shutil.rmtree(serf_dir, ignore_errors=True)
    os.makedirs(serf_dir)
    ns = Namespace("gossip-bench-serf")
    enter_namespace("gossip-bench-serf")
    procs, rpc = [], {}

    def agent(i):
        procs.append(serf_agent(i))

    def alive(i):
        try:
            if i not in rpc:
                rpc[i] = SerfRPC(f"127.0.0.{i + 1}")
            return rpc[i].alive() - 1  # without itself, as gossip-node counts
        except (OSError, ValueError):
            if i in rpc:
                rpc.pop(i).close()
            return -1

    def round_counts(nodes):
        """Every agent asked for its members at once (as gossip-node's nodes are), then the
        answers read as they come."""
        pending = {}
        for i in nodes:
            try:
                if i not in rpc:
                    rpc[i] = SerfRPC(f"127.0.0.{i + 1}")
                r = rpc[i]
                r.seq += 1
                r.sock.sendall(r.packb({"Command": "members", "Seq": r.seq}))
                pending[i] = (r.sock, serf_reader(r))
            except (OSError, ValueError):
                if i in rpc:
                    rpc.pop(i).close()
        answers = gather(pending, timeout=10)
        counts = []
        for i in nodes:
            body = answers.get(i)
            if not isinstance(body, dict):
                if i in rpc:
                    rpc.pop(i).close()
                counts.append(-1)
                continue
            counts.append(sum(1 for m in body.get("Members", []) if m.get("Status") == "alive") - 1)
        return counts

    def serf_reader(r):
        got = []

        def feed(data: bytes):
            r.unpacker.feed(data)
            for obj in r.unpacker:
                got.append(obj)
            if got and got[0].get("Error"):
                return {"error": got[0]["Error"]}
            return got[1] if len(got) >= 2 else None
        return feed

    try:
        t0 = time.time()
        # Serf's -join needs the first agent listening: start it, then the rest at once.
        agent(1)
        while alive(1) < 0:
            time.sleep(0.005)
        for i in range(2, n + 1):
            agent(i)
        _, round_all = poll_until(round_counts, list(range(1, n + 1)), n - 1, 120, "Serf")
        all_s = time.time() - t0
        cpu_s = sum(proc_cpu_seconds(p.pid) for p in procs)
        t1 = time.time()
        agent(n + 1)
        _, round_one = poll_until(round_counts, list(range(1, n + 2)), n, 120, "Serf")
        one_s = time.time() - t1
    finally:
        for r in rpc.values():
            r.close()
        stop_processes(procs)
        ns.close()
    return {"all_s": all_s, "one_s": one_s, "poll_round_s": max(round_all, round_one), "cpu_s": cpu_s}


def part_join() -> dict:
    """N nodes started together with one seed: time until every node lists every other alive;
    then one more node joins the running N. gossip-node (`--profile lan`) vs Serf (defaults,
    encrypted), in turns, median of the runs."""
    sizes = [int(x) for x in os.environ.get("GOSSIP_BENCH_JOIN_SIZES", "16,32,128").split(",")]
    runs = int(os.environ.get("GOSSIP_BENCH_RUNS", "3"))
    result = {"runs": runs}
    for n in sizes:
        g, s = [], []
        for run in range(runs):
            log(f"join: N={n}, run {run + 1} of {runs}: gossip-node")
            g.append(join_gossip_node(n))
            log(f"join: N={n}, run {run + 1} of {runs}: Serf")
            s.append(join_serf(n))
            log(f"  gossip-node all {g[-1]['all_s']:.2f} s, one more {g[-1]['one_s']:.2f} s; "
                f"Serf all {s[-1]['all_s']:.2f} s, one more {s[-1]['one_s']:.2f} s")

        def med(xs, k):
            return round(statistics.median(x[k] for x in xs), 3)

        row = {"gossip_node_all_s": med(g, "all_s"), "serf_all_s": med(s, "all_s"),
               "gossip_node_one_more_s": med(g, "one_s"), "serf_one_more_s": med(s, "one_s"),
               "gossip_node_runs_all_s": [round(x["all_s"], 3) for x in g], "serf_runs_all_s": [round(x["all_s"], 3) for x in s],
               "gossip_node_runs_one_s": [round(x["one_s"], 3) for x in g], "serf_runs_one_s": [round(x["one_s"], 3) for x in s],
               "poll_round_max_s": round(max(x["poll_round_s"] for x in g + s), 3),
               "cpu_seconds": {"gossip_node": med(g, "cpu_s"), "serf": med(s, "cpu_s")}}
        row["ratio_all"] = round(row["gossip_node_all_s"] / row["serf_all_s"], 3) if row["serf_all_s"] else None
        row["ratio_one_more"] = round(row["gossip_node_one_more_s"] / row["serf_one_more_s"], 3) if row["serf_one_more_s"] else None
        result[str(n)] = row
        log(f"  N={n} (median of {runs}): all listed alive everywhere: gossip-node {row['gossip_node_all_s']:.2f} s, "
            f"Serf {row['serf_all_s']:.2f} s; one more joins: gossip-node {row['gossip_node_one_more_s']:.2f} s, "
            f"Serf {row['serf_one_more_s']:.2f} s")
    return result


def disk_bytes(c: Cluster, i: int) -> int:
    """The node's database on disk: the file, its write-ahead log and shared-memory index."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(c.node_dir(i), "node.db" + suffix)
        if os.path.exists(p):
            total += os.path.getsize(p)
    return total


def utc_seconds(text: str) -> float:
    """An RFC 3339 UTC time (as the API writes it) in seconds since the epoch."""
    import calendar
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))


def live_set(c: Cluster, i: int, window_s: float, authors: list[str]) -> dict:
    """The live set as the bench itself reads it from node i's raw log (/v1/log), by the documented
    rules (docs/protocol.md, Retention), not by the node's own bookkeeping: per author the latest
    memory entry of each key, the latest breaker event of each provider/model and any whose
    resets_at is ahead, benchmark observations within the window. Sizes are the entries' encoded bytes."""
    now = time.time()
    live_bytes, counts = 0, collections.Counter()
    for a in authors:
        entries, after = [], 0
        while True:
            code, body = c.api(i, "GET", f"/v1/log?author={a}&after_seq={after}&limit=1000", timeout=30)
            if code != 200 or not body["entries"]:
                break
            entries += body["entries"]
            after = body["entries"][-1]["seq"]
        latest_key, latest_breaker = {}, {}
        for e in entries:
            if e["kind"] in ("memory", "memory.retract"):
                latest_key[e["key"]] = e["seq"]
            elif e["kind"] == "breaker":
                latest_breaker[(e["payload"]["provider"], e["payload"]["model"])] = e["seq"]
        for e in entries:
            k, p = e["kind"], e["payload"]
            if k in ("memory", "memory.retract"):
                live = latest_key[e["key"]] == e["seq"]
            elif k == "breaker":
                resets = p.get("resets_at")
                ahead = resets is not None and utc_seconds(resets) > now
                live = latest_breaker[(p["provider"], p["model"])] == e["seq"] or ahead
            elif k == "benchmark":
                stamped = utc_seconds(e["recorded_at"])
                claimed = p.get("recorded_at")
                rec = min(stamped, utc_seconds(claimed)) if claimed else stamped
                live = rec >= now - window_s
            elif k == "log.checkpoint":
                live = False
            else:
                live = True
            counts["stored"] += 1
            if live:
                counts[k] += 1
                live_bytes += e["size"]
    return {"bytes": live_bytes, "counts": dict(counts)}


def part_retention() -> dict:
    """Retention: 3 nodes, a million writes rewriting 10,000 memory keys with breaker and benchmark
    churn; disk on each node against the live set over time; what a fresh node receives to catch
    up; API latency with and without compaction running."""
    import random
    total = int(os.environ.get("GOSSIP_BENCH_RETENTION_WRITES", "1000000"))
    keys = 10_000
    window_s = 3600
    c = Cluster("bench-retention")
    c.destroy()
    c = Cluster("bench-retention")
    # Node 4 is the fresh node: started once (empty), stopped, started again after the run.
    # A million writes in minutes is far beyond the default per-author quota (50,000 an hour,
    # a guard against hostile members): raised, so that replication is not deferred.
    c.up(4, extra=["--benchmark-retention", "1h", "--quota-per-hour", "100000000"], profile="lan")
    try:
        c.stop(4)
        authors = [c.status(i)["author"] for i in (1, 2, 3)]
        stop = threading.Event()
        samples = []  # (t, [disk bytes per node], [dead entries per node], [stored entries per node])
        written = [0] * 6
        latencies = []
        errors = []
        t_start = time.time()

        def sampler():
            enter_namespace(c.ns)
            while not stop.is_set():
                row_disk, row_dead, row_stored = [], [], []
                for i in (1, 2, 3):
                    row_disk.append(disk_bytes(c, i))
                    r = (c.status(i) or {}).get("retention") or {}
                    row_dead.append(r.get("dead_entries", -1))
                    row_stored.append(r.get("stored_entries", -1))
                samples.append((round(time.time() - t_start, 1), row_disk, row_dead, row_stored, sum(written)))
                stop.wait(1.0)

        def writer(w: int, lane: int):
            # Two connections per node: one's request is parsed while the other's commit is on disk.
            enter_namespace(c.ns)
            i = w + 1
            rng = random.Random(w * 2 + lane)
            mine = keys // 3 + (1 if w < keys % 3 else 0)
            conn = http.client.HTTPConnection(c.address(i), API_PORT, timeout=30)
            try:
                for m in range(lane, total // 3 + (1 if w < total % 3 else 0), 2):
                    roll = m % 100
                    if roll < 94:
                        path, body = "/v1/memories", {"category": "lesson", "key": f"k{w}-{m % mine}",
                                                      "content": f"write {m} of node{i}: provider drops requests at night, retry later"}
                    elif roll < 99:
                        resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30))
                        path, body = "/v1/breakers", {"provider": f"p{m % 10}", "model": f"m{m % 5}", "state": "open",
                                                      "reason": "bench", "resets_at": resets}
                    else:
                        rec = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - rng.uniform(0, 2 * window_s)))
                        path, body = "/v1/benchmarks", {"provider": f"p{m % 10}", "model": f"m{m % 5}", "metric": "latency_ms",
                                                        "value": rng.uniform(100, 900), "recorded_at": rec}
                    t0 = time.perf_counter()
                    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    if w == 0 and m % 20 == 0:
                        latencies.append(time.perf_counter() - t0)
                    if r.status not in (201, 202):
                        raise RuntimeError(f"write on node{i} answered {r.status}")
                    written[w * 2 + lane] += 1
            except Exception as e:  # a writer's failure fails the part
                errors.append(f"writer {w}: {e}")
            finally:
                conn.close()

        smp = threading.Thread(target=sampler)
        smp.start()
        threads = [threading.Thread(target=writer, args=(w, lane)) for w in range(3) for lane in range(2)]
        for t in threads:
            t.start()
        last_log = time.time()
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            if time.time() - last_log > 30:
                last_log = time.time()
                log(f"  retention: {sum(written):,} of {total:,} writes, {sum(written) / (time.time() - t_start):.0f}/s; "
                    f"disk {[round(disk_bytes(c, i) / 2**20, 1) for i in (1, 2, 3)]} MiB")
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError("; ".join(errors))
        write_s = time.time() - t_start
        log(f"  retention: {total:,} writes in {write_s:.0f} s; waiting for the quiet checkpoints and compaction")

        deadline = time.time() + 180
        while not c.retention_settled([1, 2, 3]):
            if time.time() > deadline:
                raise RuntimeError("retention: the three nodes did not converge and compact within 180 s of the last write")
            time.sleep(1)
        settle_s = time.time() - t_start - write_s
        time.sleep(3)
        stop.set()
        smp.join()
        live = live_set(c, 1, window_s, authors)
        per_node = []
        for i in (1, 2, 3):
            r = c.status(i)["retention"]
            per_node.append({"disk_bytes": disk_bytes(c, i), "database_bytes": r["database_bytes"], "free_bytes": r["database_free_bytes"],
                             "stored_entries": r["stored_entries"], "stored_bytes": r["stored_bytes"], "compacted_entries": r["compacted_entries"]})
        bound = 2 * live["bytes"] + 8 * 2**20
        # "After compaction has caught up": the samples in which the node had nothing dead left.
        caught = [(t, d[k]) for (t, d, dead, st, w) in samples for k in range(3) if dead[k] == 0 and w >= total * 0.05]
        max_caught = max((b for _, b in caught), default=None)
        # The fresh node: everything it receives over TCP to hold what the others hold.
        c.start(4)
        c.wait_healthy(4)
        t0 = time.time()
        while not c.retention_settled([1, 2, 3, 4]):
            if time.time() - t0 > 120:
                raise RuntimeError("retention: the fresh node did not catch up within 120 s")
            time.sleep(0.2)
        fresh_s = time.time() - t0
        m4 = c.metrics(4)
        fresh_in = m4.get('gossip_node_bytes_total{transport="tcp",direction="in"}', 0)
        fresh_stored = c.status(4)["retention"]["stored_bytes"]
        lat = latency_with_and_without_compaction(runs=int(os.environ.get("GOSSIP_BENCH_RETENTION_LATENCY_RUNS", "3")))
        ms = lambda v: round(v * 1000, 2)
        result = {
            "writes": total, "keys": keys, "write_seconds": round(write_s, 1), "writes_per_s": round(total / write_s),
            "settle_seconds": round(settle_s, 1), "live_bytes": live["bytes"], "live_counts": live["counts"],
            "nodes": per_node, "disk_bound_bytes": bound, "max_disk_caught_up_bytes": max_caught,
            "disk_ratio_end": round(max(n["disk_bytes"] for n in per_node) / live["bytes"], 3),
            "fresh_received_bytes": int(fresh_in), "fresh_stored_bytes": fresh_stored, "fresh_seconds": round(fresh_s, 2),
            "fresh_ratio": round(fresh_in / live["bytes"], 3),
            "write_latency_under_load_p50_ms": ms(pct(latencies, 50)), "write_latency_under_load_p99_ms": ms(pct(latencies, 99)),
            "latency": lat,
            # Every 5th sample for the plot (one a second are taken; the JSON stays small).
            "samples": [(t, d, w) for (t, d, dead, st, w) in samples[::5]],
        }
        log(f"  retention: live set {live['bytes']:,} bytes ({live['counts']}); disk at the end "
            f"{[round(n['disk_bytes'] / 2**20, 2) for n in per_node]} MiB (bound {bound / 2**20:.1f} MiB, max while caught up "
            f"{(max_caught or 0) / 2**20:.1f} MiB); fresh node received {fresh_in:,.0f} bytes = {fresh_in / live['bytes']:.3f} x the live set")
        return result
    finally:
        c.destroy()


def latency_with_and_without_compaction(runs: int = 3, writes: int = 30_000) -> dict:
    """API write and recall p99 on node1 of 3 nodes while 3 writers rewrite 1,000 keys: with
    checkpoints and compaction (default) and with them off (--checkpoint-every 0); median of `runs`."""
    import random
    out = {"on": [], "off": []}
    for run in range(runs):
        for mode in ("on", "off"):
            c = Cluster("bench-retention-lat")
            c.destroy()
            c = Cluster("bench-retention-lat")
            c.up(3, extra=(["--checkpoint-every", "0"] if mode == "off" else ["--checkpoint-every", "200"]) + ["--quota-per-hour", "100000000"],
                 profile="lan")
            try:
                wait_members(c, 3)
                done = threading.Event()
                errors = []

                def load(w: int):
                    enter_namespace(c.ns)
                    conn = http.client.HTTPConnection(c.address(w + 1), API_PORT, timeout=30)
                    try:
                        for m in range(writes // 3):
                            if done.is_set():
                                break
                            conn.request("POST", "/v1/memories", body=json.dumps({"category": "lesson", "key": f"k{w}-{m % 333}",
                                         "content": f"load write {m}: provider drops requests at night"}),
                                         headers={"Content-Type": "application/json"})
                            r = conn.getresponse(); r.read()
                            if r.status not in (201, 202):
                                raise RuntimeError(f"load write answered {r.status}")
                    except Exception as e:
                        errors.append(str(e))
                    finally:
                        conn.close()

                loaders = [threading.Thread(target=load, args=(w,)) for w in range(3)]
                for t in loaders:
                    t.start()
                time.sleep(2)
                conn = http.client.HTTPConnection(c.address(1), API_PORT, timeout=10)
                rng = random.Random(run)
                ws, rs = [], []
                for k in range(400):
                    t0 = time.perf_counter()
                    conn.request("POST", "/v1/memories", body=json.dumps({"category": "probe", "key": f"probe-{k % 50}",
                                 "content": f"probe {k}"}), headers={"Content-Type": "application/json"})
                    r = conn.getresponse(); r.read()
                    ws.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    conn.request("GET", f"/v1/memories?q=provider+night&limit=20")
                    r = conn.getresponse(); r.read()
                    rs.append(time.perf_counter() - t0)
                    time.sleep(rng.uniform(0.005, 0.015))
                conn.close()
                compacted = c.metrics(1).get("gossip_node_compacted_entries_total", 0)
                done.set()
                for t in loaders:
                    t.join()
                if errors:
                    raise RuntimeError("; ".join(errors))
                out[mode].append({"write_p99_ms": round(pct(ws, 99) * 1000, 2), "recall_p99_ms": round(pct(rs, 99) * 1000, 2),
                                  "write_p50_ms": round(pct(ws, 50) * 1000, 2), "recall_p50_ms": round(pct(rs, 50) * 1000, 2),
                                  "compacted": int(compacted)})
                log(f"  latency ({mode}, run {run + 1}): {out[mode][-1]}")
            finally:
                c.destroy()
    med = lambda mode, k: statistics.median(r[k] for r in out[mode])
    summary = {k: {"on": med("on", k), "off": med("off", k)} for k in ("write_p50_ms", "write_p99_ms", "recall_p50_ms", "recall_p99_ms")}
    summary["runs"] = out
    return summary


PARTS = {"ingest": part_ingest, "propagation": part_propagation, "catchup": part_catchup, "idle": part_idle,
         "sync": part_sync, "api": part_api, "join": part_join, "burst": part_burst, "memory": part_memory, "retention": part_retention}


def main(argv: list[str]) -> int:
    if argv == ["--render"]:  # rewrite docs/benchmarks.md and the plots from docs/benchmarks.json
        results = json.load(open(RESULTS))
        plots(results)
        with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
            f.write(render(results))
        return 0
    names = argv or list(PARTS)
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        print(f"error: unknown part {', '.join(unknown)}; parts: {', '.join(PARTS)}", file=sys.stderr)
        return 2
    results = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
    results["machine"] = machine()
    for name in names:
        log(f"== {name}")
        t0 = time.time()
        data = PARTS[name]()
        results[name] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": git_commit(),
                         "seconds": round(time.time() - t0), "data": data}
        with open(RESULTS, "w") as f:
            json.dump(results, f, indent=1)
        plots(results)
        with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
            f.write(render(results))
    print(open(os.path.join(DOCS, "benchmarks.md")).read())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
