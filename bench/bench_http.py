"""Payments over HTTP under a rush: the real server (``classledger serve``, 1 and 2
workers) on loopback, driven by 1, 4 and 16 concurrent keep-alive clients, each paying
for its own client (``POST /v1/payments``). Printed beside this machine's limits measured
in the same run: the raw commit rate of the database (single-row inserts, one
transaction each) and the CPU of one payment called directly (``System.execute``).

For each case: throughput (payments/s), latency p50/p99 (ms, per request as the client
sees it) and the server's CPU per payment (ms; utime+stime of the supervisor and its
workers from /proc, over the whole case). Medians of ``--runs`` runs, on every database
(PostgreSQL when ``CLASSLEDGER_BENCH_POSTGRES_URL`` is set). Each case is bounded both
by a count and by time, so a stalled server shows as a low rate, not as a hang.

The clients are plain sockets in threads of this process (a request is prebuilt bytes,
a response is read by its content-length): the load generator costs little, but it
shares the machine's cores with the server, as any loopback benchmark does.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engine_names, fresh_database, raw_insert_rate
from bench.results import Figure, add_json_option, against, alone, write
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.system import System

CLIENTS = (1, 4, 16)
WORKERS = (1, 2)
PER_CLIENT = 400  # requests of the single client; more clients share it (at least 40 each)
SECONDS = 8.0  # at most this long per case
TICK = os.sysconf("SC_CLK_TCK")
SCALING = 2.0  # payments/s at the most clients against one client, at least
P99_MS = 50.0  # at the most clients, at most
CPU_MS = 1.5  # server CPU per payment, at most


def setup(url: str, clients: int) -> tuple[str, list[tuple[str, str]]]:
    """A tenant, an admin key, a branch and ``clients`` clients: the key and, per
    client, (client id, branch id)."""
    system = System.open(url)
    try:
        tid = uuid.uuid4()
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        sp = system_principal(tid)
        system.execute(sp, "create_tenant", {"name": "B", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=t0)
        key = system.execute(sp, "issue_key", {"role": "admin", "staff": "Bench"}, at=t0)["key"]
        admin = Principal(tid, uuid.uuid4(), "Bench", "director")
        branch = system.execute(admin, "add_branch", {"name": "B", "city": "Bratislava"}, at=t0)["id"]
        ids = [system.execute(admin, "register_client", {"name": f"Platiteľ {i}", "branch_id": branch}, at=t0)["id"]
               for i in range(clients)]
        system.runner.catch_up()
        return key, [(c, branch) for c in ids]
    finally:
        system.close()


def direct_cpu_ms(url: str, n: int = 300) -> float:
    """CPU ms of one payment called in process (``System.execute``), no HTTP."""
    system = System.open(url)
    try:
        tid = uuid.uuid4()
        sp = system_principal(tid)
        system.execute(sp, "create_tenant", {"name": "D", "timezone": "Europe/Bratislava", "currency": "EUR"})
        admin = Principal(tid, uuid.uuid4(), "Bench", "director")
        branch = system.execute(admin, "add_branch", {"name": "B", "city": "Bratislava"})["id"]
        client = system.execute(admin, "register_client", {"name": "Priamy", "branch_id": branch})["id"]
        args = {"client_id": client, "amount": "10.00", "method": "cash", "branch_id": branch}
        for _ in range(20):
            system.execute(admin, "receive_payment", args)
        c0 = time.process_time()
        for _ in range(n):
            system.execute(admin, "receive_payment", args)
        return (time.process_time() - c0) * 1000 / n
    finally:
        system.close()


def raw_commits(url: str) -> float:
    system = System.open(url)
    try:
        return raw_insert_rate(system.store, 1000)
    finally:
        system.close()


# ---- the server ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn's workers, and their spawn helpers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / TICK


class Server:
    def __init__(self, url: str, workers: int) -> None:
        self.port = _free_port()
        env = {**os.environ, "CLASSLEDGER_DATABASE_URL": url}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "classledger.cli", "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        time.sleep(1.0 if workers > 1 else 0.2)  # every worker up
        self.pids = _tree(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- the clients ---------------------------------------------------------------------


def _request(port: int, key: str, client: str, branch: str) -> bytes:
    body = orjson.dumps({"client_id": client, "amount": "10.00", "method": "cash", "branch_id": branch})
    return (f"POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _exchange(sock: socket.socket, request: bytes, buf: bytearray) -> int:
    sock.sendall(request)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]) if at >= 0 else 0
            if len(buf) >= end + 4 + length:
                status = int(buf[9:12])
                del buf[:end + 4 + length]
                return status
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk


def drive(server: Server, key: str, slots: list[tuple[str, str]], clients: int) -> tuple[float, float, float, float]:
    """(payments/s, p50 ms, p99 ms, server CPU ms per payment) of ``clients`` keep-alive
    clients paying at once, each for its own client."""
    per = max(PER_CLIENT // clients, 40)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    go = threading.Event()
    stop_at = [0.0]

    def one(i: int) -> None:
        client, branch = slots[i]
        request = _request(server.port, key, client, branch)
        buf = bytearray()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            _exchange(sock, request, buf)  # warm: the connection and this client's aggregate
            go.wait()
            mine = latencies[i]
            for _ in range(per):
                t = time.perf_counter()
                status = _exchange(sock, request, buf)
                mine.append(time.perf_counter() - t)
                if status != 201:
                    errors.append(str(status))
                    return
                if t > stop_at[0]:
                    return

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    cpu0 = cpu_seconds(server.pids)
    t0 = time.perf_counter()
    stop_at[0] = t0 + SECONDS
    go.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds(server.pids) - cpu0
    if errors:
        raise RuntimeError(f"payments refused: {errors[:3]}")
    done = sorted(x for lat in latencies for x in lat)
    n = len(done)
    return n / elapsed, done[n // 2] * 1000, done[min(n - 1, int(n * 0.99))] * 1000, cpu * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="*", default=list(WORKERS))
    parser.add_argument("--clients", type=int, nargs="*", default=list(CLIENTS))
    add_json_option(parser)
    a = parser.parse_args()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in engine_names():
            raws, directs = [], []
            cases: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
            for _ in range(a.runs):
                for workers in a.workers:
                    url = fresh_database(name, Path(tmp))
                    try:
                        raws.append(raw_commits(url))
                        directs.append(direct_cpu_ms(url))
                        key, slots = setup(url, max(a.clients))
                        server = Server(url, workers)
                        try:
                            for clients in a.clients:
                                cases.setdefault((workers, clients), []).append(drive(server, key, slots, clients))
                        finally:
                            server.stop()
                    finally:
                        drop(url)
            raw, direct = statistics.median(raws), statistics.median(directs)
            print(f"{name}: raw commits {raw:.0f}/s, a direct payment {direct:.2f} ms CPU "
                  f"(medians of {a.runs})")
            print(f"  {'workers':>7} {'clients':>7} {'payments/s':>10} {'/raw':>5} {'p50 ms':>7} {'p99 ms':>7}"
                  f" {'server CPU ms/payment':>21} {'/direct':>7}")
            medians = {}
            for (workers, clients), runs in sorted(cases.items()):
                rate, p50, p99, cpu = medians[workers, clients] = tuple(statistics.median(r[i] for r in runs) for i in range(4))
                print(f"  {workers:7} {clients:7} {rate:10.0f} {rate / raw:5.2f} {p50:7.1f} {p99:7.1f}"
                      f" {cpu:21.2f} {cpu / direct:7.2f}", flush=True)
            figures += http_figures(name, medians, direct)
    write(a.json, figures)


def http_figures(name: str, medians: dict[tuple[int, int], tuple[float, ...]], direct: float) -> list[Figure]:
    """The targets of a rush: throughput from one client to the most, p99 at the most,
    a second worker never worse than one, server CPU per payment (beside a direct payment's)."""
    workers = sorted({w for w, _ in medians})
    clients = sorted({c for _, c in medians})
    least, most = clients[0], clients[-1]
    figures = []
    for w in workers:
        if most != least:
            figures.append(against(f"HTTP {most} clients vs {least}, {w} worker(s)", name, medians[w, most][0], "payments/s",
                                   medians[w, least][0], f"payments/s at {least}", (">=", SCALING)))
        figures.append(alone(f"HTTP p99 at {most} clients, {w} worker(s)", name, medians[w, most][2], "ms",
                             ("<=", P99_MS)))
    for w in workers[1:]:
        for c in clients:
            figures.append(against(f"HTTP {w} workers vs {workers[0]}, {c} client(s)", name, medians[w, c][0], "payments/s",
                                   medians[workers[0], c][0], f"payments/s, {workers[0]} worker(s)", (">=", 1.0)))
    for (w, c), (_rate, _p50, _p99, cpu) in sorted(medians.items()):
        figures.append(Figure(f"HTTP server CPU per payment, {w} worker(s), {c} client(s)", name, cpu, "ms",
                              direct, "ms direct", cpu / direct, "<=", CPU_MS, "figure"))
    return figures


if __name__ == "__main__":
    main()
