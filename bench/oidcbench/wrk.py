"""Running wrk with one of bench/lua's scripts, and what it measured (with its own CPU use)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oidcbench.install import LUA_DIR

_MARK = "BENCH_RESULT "


@dataclass(frozen=True)
class WrkJob:
    """One wrk invocation: a Lua script and its key=value options."""

    script: str
    options: dict[str, str]
    # Units of work per completed unit: W9 counts flows (several requests each).
    unit: str = "req"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    completed: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    status_errors: int
    bad: int
    ran_out: bool
    wrk_cpu_s: float
    raw: dict[str, Any]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def completed_ps(self) -> float:
        return self.completed / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors + self.bad


def run_wrk(
    wrk: str,
    base_url: str,
    job: WrkJob,
    *,
    duration_s: float,
    connections: int,
    cores: str | None,
    log: Path,
) -> WrkResult:
    cmd = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / job.script),
        base_url,
        "--",
        f"host={urlsplit(base_url).netloc}",
        *(f"{k}={v}" for k, v in job.options.items()),
    ]
    if cores:
        cmd = ["taskset", "-c", cores, *cmd]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR)}
    # wrk's own CPU time: the harness waits for no other child while wrk runs.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("ab") as out:
        out.write(f"\n$ wrk {job.script} {base_url} ({duration_s:g}s)\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=out)
        stdout, _ = proc.communicate(timeout=duration_s + 60)
        out.write(stdout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}); see {log}")
    line = next((ln for ln in text.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result; see {log}")
    raw = json.loads(line[len(_MARK) :])
    err = raw["errors"]
    return WrkResult(
        requests=raw["requests"],
        completed=raw["completed"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["latency_us"]["p50"] / 1e3,
        p99_ms=raw["latency_us"]["p99"] / 1e3,
        socket_errors=err["connect"] + err["read"] + err["write"] + err["timeout"],
        status_errors=err["status"],
        bad=raw["bad"],
        ran_out=bool(raw.get("ran_out")),
        wrk_cpu_s=cpu,
        raw=raw,
    )
