"""The plumbing of the webhook benchmark: temporary databases, server processes, load processes, CPU counters
from /proc, and polling the inbox. Everything stays on loopback and stops by itself."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import http.client
import inspect
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

import linda.cli.serving
from linda.inbox.processor import counts
from linda.settings import Settings
from linda.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
BENCHMARK_SETTINGS = frozenset(  # what the benchmark gives `linda serve`, so not a default
    {"database_url", "app_secret", "verify_token", "access_token", "graph_api_url", "phone_number_id"}
    | {"display_phone_number", "host", "port"}
)
Row = dict[str, Any]


def serve_options() -> Row:
    """The keyword arguments `linda serve` passes to `uvicorn.run` besides the app, host and port, read from
    its source now, so that the bare ceiling runs on the same uvicorn settings. A `settings.NAME` value is that
    setting's default: the benchmark starts `linda serve` with no LINDA_* variable but the ones it needs."""
    tree = ast.parse(inspect.getsource(linda.cli.serving))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "uvicorn.run":
            if any(keyword.arg is None for keyword in node.keywords):
                raise RuntimeError("cannot mirror uvicorn.run(**...) in linda/cli/serving.py")
            return {
                str(keyword.arg): _value(keyword.value)
                for keyword in node.keywords
                if keyword.arg not in ("host", "port")
            }
    raise RuntimeError(f"no uvicorn.run call in {linda.cli.serving.__file__}")


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "settings":
        if node.attr in BENCHMARK_SETTINGS:
            raise RuntimeError(f"uvicorn.run takes settings.{node.attr}, which the benchmark sets itself")
        return Settings.model_fields[node.attr].get_default(call_default_factory=True)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise RuntimeError(
            f"cannot mirror uvicorn.run's {ast.unparse(node)} in linda/cli/serving.py"
        ) from None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without any LINDA_* variable, plus `settings`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LINDA_")}, **settings}


async def pg_admin(sql: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        return str(await conn.fetchval(sql) or "")
    finally:
        await conn.close()


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh, empty database for one run: a SQLite file in a temporary folder, or a temporary PostgreSQL
    database (dropped afterwards)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="linda-bench-") as folder:
            yield f"sqlite:///{folder}/linda.db"
        return
    name = f"linda_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, cwd: Path) -> Iterator[int]:
    """Run a web server until the block ends, then stop it as Ctrl-C would (SIGINT); yields its pid. Its
    output (uvicorn's log, access lines included) goes to a temporary file, as it would go to a journal."""
    with tempfile.NamedTemporaryFile(prefix="linda-bench-", suffix=".log") as log:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not _healthy(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command} did not start:\n{Path(log.name).read_text()[-3000:]}")
                time.sleep(0.05)
            yield proc.pid
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) of a live process so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids(database: str | None) -> list[int]:
    """PostgreSQL's own processes (checkpointer, WAL writer, ...) and its backends serving `database`; not
    the backends of other databases (other work on a shared machine)."""
    pids = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if not entry.name.isdigit() or (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            backend = "(" in title or "[local]" in title
            if not backend or (database is not None and f" {database} " in title):
                pids.append(int(entry.name))
    return pids


def machine_ticks() -> tuple[int, int]:
    """Busy and total CPU ticks of the whole machine so far (all cores)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # minus idle and iowait


@dataclass
class CpuSample:
    """CPU counters at one moment: the server's, PostgreSQL's (all its processes) and the machine's."""

    at: float
    server: float
    postgres: dict[int, float]
    machine: tuple[int, int]

    @classmethod
    def take(cls, server_pid: int, database: str | None) -> CpuSample:
        pg = {pid: cpu_seconds(pid) for pid in postgres_pids(database)}
        return cls(time.monotonic(), cpu_seconds(server_pid), pg, machine_ticks())

    def since(self, start: CpuSample) -> Row:
        """Cores used between `start` and this sample (1.0: one core busy all the time)."""
        wall = self.at - start.at
        pg = sum(cpu - start.postgres.get(pid, 0.0) for pid, cpu in self.postgres.items())
        busy, total = (self.machine[0] - start.machine[0], self.machine[1] - start.machine[1])
        cores = os.cpu_count() or 1
        return {
            "seconds": wall,
            "server_cpu": (self.server - start.server) / wall,
            "server_cpu_seconds": self.server - start.server,
            "postgres_cpu": pg / wall,
            "machine_busy": busy / max(total, 1),  # share of all cores
            "machine_cores_busy": cores * busy / max(total, 1),
        }


def load(spec: Row, processes: int, server_pid: int, database: str | None) -> tuple[list[Row], Row, float]:
    """Run `processes` load generators (benchmarks/loadgen.py) with one shared start; their results, the CPU
    used meanwhile (server, PostgreSQL serving `database`, machine) and the start t0 (CLOCK_MONOTONIC)."""
    folder = Path(tempfile.mkdtemp(prefix="linda-load-"))
    specs = [
        {**spec, "part": part, "parts": processes, "output": str(folder / f"{part}.json")}
        for part in range(processes)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.loadgen", json.dumps(spec)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if (line := proc.stdout.readline().strip()) != "ready":
                raise RuntimeError(f"load generator did not start: {line!r}")
        start = CpuSample.take(server_pid, database)
        t0 = time.monotonic() + 0.05
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"go {t0}\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdout is not None
            if (line := proc.stdout.readline().strip()) != "done":
                raise RuntimeError(f"load generator failed: {line!r}")
        cpu = CpuSample.take(server_pid, database).since(start)
        for proc in procs:
            if proc.wait(60):
                raise RuntimeError(f"load generator exited with {proc.returncode}")
        results = [json.loads(Path(spec["output"]).read_text()) for spec in specs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return results, cpu, t0


async def inbox_states(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        return await counts(db)
    finally:
        await db.dispose()


async def drain(url: str, t0: float, timeout: float, poll: float = 0.1) -> Row:
    """Poll the inbox until no row is pending (or `timeout` passes); processed/s counts every row processed
    (done or dead) from the load's start t0 until the poll that saw none pending."""
    db = Database(url)
    try:
        began = time.monotonic()
        while True:
            states = await counts(db)
            seen = time.monotonic()
            if not states.get("pending") or seen - began > timeout:
                break
            await asyncio.sleep(poll)
    finally:
        await db.dispose()
    processed = states.get("done", 0) + states.get("dead", 0)
    return {
        "states": states,
        "complete": not states.get("pending"),
        "drain_seconds": seen - began,
        "processed_per_s": processed / (seen - t0),
    }
