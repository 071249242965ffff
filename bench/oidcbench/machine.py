"""The machine and the versions a run measured, for the report."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from oidcbench.install import installed_version, node_binary


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _output(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _idgate_version() -> str:
    """The measured idgate: the project's (version and git revision), or BENCH_IDGATE's
    as BENCH_IDGATE_LABEL describes it."""
    if os.environ.get("BENCH_IDGATE"):
        return os.environ.get("BENCH_IDGATE_LABEL") or os.environ["BENCH_IDGATE"]
    root = Path(__file__).resolve().parents[2]
    rev = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _output(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return f"{metadata.version('idgate')} ({rev}{'+dirty' if dirty not in ('', 'unknown') else ''})"


def describe(with_node: bool) -> dict[str, object]:
    info: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "idgate": _idgate_version(),
        "uvicorn": metadata.version("uvicorn"),
        "sqlite": sqlite3.sqlite_version,
        "wrk": _output(["wrk", "--version"]).split(" [")[0],
    }
    if with_node:
        info["oidc_provider"] = installed_version("oidc-provider")
        info["node"] = _output([node_binary(), "--version"])
    return info
