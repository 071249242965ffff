"""A throwaway PostgreSQL cluster that a test may stop and start again.

The shared test server (IDGATE_TEST_POSTGRES_URL) serves every other test, so it must never
be stopped; a fault test that needs the database to go away starts its own cluster instead:
`initdb` into a temporary directory, `pg_ctl` on a free loopback port, no Unix socket, no
fsync (nothing here must survive a power cut, and it starts in about a second).

PostgreSQL refuses to run as root. CI runs as root, so there the cluster runs as the
unprivileged `nobody`, in a directory that user owns; anyone else runs it as themselves.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

UNPRIVILEGED_USER = "nobody"

# Speed over durability, and small: a test cluster lives for seconds.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "60",
    "log_min_messages": "warning",
}


class ClusterUnavailable(Exception):
    """initdb/pg_ctl are not installed, or the cluster cannot be made on this machine."""


def find_tool(name: str) -> str:
    """initdb or pg_ctl: on PATH (Debian links some into /usr/local/bin), else the newest
    version's own bin directory."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise ClusterUnavailable(f"{name} not found (install the PostgreSQL server package)")
    return candidates[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresCluster:
    """initdb'd on creation; `start()`, `stop()`, `start()` again on the same port and data."""

    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = port
        self._pg_ctl = find_tool("pg_ctl")
        self._as_nobody = os.geteuid() == 0
        self._run(
            [
                find_tool("initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            timeout=60,
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {port}\n")
            for name, value in _SETTINGS.items():
                conf.write(f"{name} = {value}\n")

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[PostgresCluster]:
        """A started cluster, stopped and deleted at the end whatever happened."""
        # Not under pytest's tmp_path: that is private to root, and `nobody` must write here.
        base = Path(tempfile.mkdtemp(prefix="idgate-faults-pg-"))
        try:
            if os.geteuid() == 0:
                try:
                    user = pwd.getpwnam(UNPRIVILEGED_USER)
                except KeyError:
                    raise ClusterUnavailable(
                        f"running as root, and there is no user {UNPRIVILEGED_USER!r} to run "
                        "PostgreSQL as"
                    ) from None
                os.chown(base, user.pw_uid, user.pw_gid)
            cluster = cls(base, free_port())
            try:
                cluster.start()
                yield cluster
            finally:
                cluster.stop(mode="immediate")
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run(
            [self._pg_ctl, "start", "--pgdata", str(self.data), "--log", str(self.log), "--wait"],
            timeout=60,
        )

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash as clients see it: every connection drops at once."""
        if not (self.data / "postmaster.pid").exists():
            return
        self._run(
            [self._pg_ctl, "stop", "--pgdata", str(self.data), "--mode", mode, "--wait"],
            timeout=60,
        )

    def _run(self, argv: list[str], *, timeout: float) -> None:
        # A fixed argv of PostgreSQL's own tools, no shell.
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.base,
            user=UNPRIVILEGED_USER if self._as_nobody else None,
            group=pwd.getpwnam(UNPRIVILEGED_USER).pw_gid if self._as_nobody else None,
            extra_groups=[] if self._as_nobody else None,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise ClusterUnavailable(
                f"{' '.join(argv[:2])} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )
