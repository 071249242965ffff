"""Installing the outside tools some suites need (Node packages, Debian's Chromium), by the
project's own files: CI starts from a clean clone. Each suite passes its own `unavailable`,
which skips loudly in a local run and fails under CI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

CHROMIUM = Path("/usr/bin/chromium")

Unavailable = Callable[[str], NoReturn]


def _run(
    argv: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a fixed argv of a well-known tool (npm, apt-get), never through a shell."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )


@contextlib.contextmanager
def _installing(lock_path: Path) -> Iterator[None]:
    # pytest-xdist workers share the tree: one installs while the others wait, then find it done.
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def npm_ci(node_dir: Path, unavailable: Unavailable) -> Path:
    """`node_dir`/node_modules, installed with `npm ci` from its package-lock.json when it is
    missing or older than the lock."""
    with _installing(node_dir / ".install-lock"):
        return _npm_ci(node_dir, unavailable)


def _npm_ci(node_dir: Path, unavailable: Unavailable) -> Path:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        unavailable("Node.js and npm are needed (node and npm not on PATH)")
    modules = node_dir / "node_modules"
    installed = modules / ".package-lock.json"  # npm writes it on every install
    lock = node_dir / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = _run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=node_dir,
            timeout=600,
        )
        if done.returncode != 0:
            unavailable(f"npm ci in {node_dir} failed: {(done.stderr or done.stdout)[-1500:]}")
    return modules


def debian_chromium(unavailable: Unavailable) -> str:
    """Debian's Chromium, installed with apt-get when missing (never a browser that a test
    tool downloads)."""
    with _installing(Path(tempfile.gettempdir()) / "idgate-tests-chromium.lock"):
        return _debian_chromium(unavailable)


def _debian_chromium(unavailable: Unavailable) -> str:
    if not CHROMIUM.exists():
        apt = shutil.which("apt-get")
        if apt is None or os.geteuid() != 0:
            unavailable(f"{CHROMIUM} is missing and cannot be installed (needs root and apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock_wait = ["-o", "DPkg::Lock::Timeout=300"]
        for argv in (
            [apt, *lock_wait, "update", "-qq"],
            [apt, *lock_wait, "install", "-y", "-qq", "chromium"],
        ):
            done = _run(argv, timeout=900, env=env)
            if done.returncode != 0:
                unavailable(f"{' '.join(argv[-2:])} failed: {(done.stderr or done.stdout)[-1500:]}")
        if not CHROMIUM.exists():
            unavailable(f"apt-get install chromium left no {CHROMIUM}")
    return str(CHROMIUM)
