"""Starting and stopping the servers under test: idgate (seeded through its CLI) and
node-oidc-provider (bench/node/server.mjs), each optionally pinned to CPU cores."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from oidcbench.install import NODE_DIR, node_binary
from oidcbench.procstat import TreeSample, sample_tree

ROOT = NODE_DIR.parent.parent
# BENCH_IDGATE names another idgate CLI (a snapshot's venv, say); default: the project's.
IDGATE = Path(os.environ.get("BENCH_IDGATE") or ROOT / ".venv" / "bin" / "idgate")
REDIRECT_URI = "https://rp.example.test/cb"
USERNAME = "alice"


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str = REDIRECT_URI


@dataclass
class Server:
    """A running server process (and its children), with where it logs."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    client: Client
    log_path: Path
    cores: str | None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def sample(self) -> TreeSample:
        return sample_tree(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pinned(cmd: list[str], cores: str | None) -> list[str]:
    return ["taskset", "-c", cores, *cmd] if cores else cmd


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"{server.base_url}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start-up; see {server.log_path}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} did not become ready in {timeout:.0f} s")


# --- idgate -------------------------------------------------------------------------------


def _idgate_env(database_url: str, issuer: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDGATE_")}
    env.update(
        IDGATE_DATABASE_URL=database_url,
        IDGATE_ISSUER=issuer,
        # Codes are minted before the token workload runs: give them time (node: the same).
        IDGATE_CODE_TTL="600",
        # No access log line per request (node-oidc-provider writes none either).
        IDGATE_LOG_LEVEL="warning",
        # W8 introspects from one client far past any per-client limit; node-oidc-provider
        # has none, so neither does this set-up (the limit's own tests are in tests/security).
        IDGATE_INTROSPECTION_RATE_LIMIT="0",
    )
    return env


def _idgate_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(IDGATE), *args], input=stdin, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"idgate {' '.join(args)} failed: {last}")
    return result.stdout


def seed_idgate(database_url: str, issuer: str, password: str) -> Client:
    """Migrate, add the End-User and a first-party confidential client, through the CLI."""
    env = _idgate_env(database_url, issuer)
    _idgate_cli(env, "migrate")
    _idgate_cli(
        env,
        "user",
        "add",
        USERNAME,
        "--password-stdin",
        "--claim",
        f"email={USERNAME}@example.com",
        "--claim",
        "email_verified=true",
        stdin=password,
    )
    metadata = {
        "client_name": "bench",
        "redirect_uris": [REDIRECT_URI],
        "response_types": ["code", "code id_token"],
        "grant_types": ["authorization_code", "implicit", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
        "first_party": True,  # no consent page
    }
    out = json.loads(
        _idgate_cli(env, "client", "add", "--metadata", "-", stdin=json.dumps(metadata))
    )
    return Client(out["client_id"], out["client_secret"])


def start_idgate(
    *,
    name: str,
    database_url: str,
    log_dir: Path,
    cores: str | None,
    workers: int = 1,
    client: Client | None = None,
    password: str = "",
) -> Server:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    if client is None:
        client = seed_idgate(database_url, issuer, password)
    env = _idgate_env(database_url, issuer)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    cmd = [str(IDGATE), "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        _pinned(cmd, cores), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=log_dir
    )
    server = Server(name, proc, issuer, client, log_path, cores, log)
    _wait_ready(server)
    return server


# --- node-oidc-provider ---------------------------------------------------------------------


def start_node(*, name: str, log_dir: Path, cores: str | None) -> Server:
    port = free_port()
    client = Client("bench", secrets.token_urlsafe(32))
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": client.client_id,
        "CLIENT_SECRET": client.client_secret,
        "REDIRECT_URI": client.redirect_uri,
        "ACCOUNT": USERNAME,
        "NODE_ENV": "production",
    }
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    cmd = [node_binary(), str(NODE_DIR / "server.mjs")]
    proc = subprocess.Popen(
        _pinned(cmd, cores), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=NODE_DIR
    )
    server = Server(name, proc, f"http://127.0.0.1:{port}", client, log_path, cores, log)
    _wait_ready(server)
    return server
