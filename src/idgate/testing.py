"""Helpers for testing idgate and applications built on it (shipped in the package)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.passwords import PasswordHasher
from idgate.provider import Provider
from idgate.storage.sql.admin import run_admin_sql, with_database

TEST_ISSUER = "https://op.example"

__all__ = [
    "TEST_ISSUER",
    "asgi_client",
    "cheap_password_hasher",
    "open_test_provider",
    "postgres_database_url",
    "run_admin_sql",
]


def cheap_password_hasher() -> PasswordHasher:
    """Argon2id with the smallest cost: real hashing, fast enough for a test suite."""
    return PasswordHasher(time_cost=1, memory_cost=8192)


def postgres_database_url(server_url: str, database: str) -> str:
    return with_database(server_url, database)


async def open_test_provider(
    database_url: str, *, clock: Clock | None = None, **settings: Any
) -> Provider:
    base = Settings(issuer=TEST_ISSUER, database_url=database_url)
    return await Provider.open(
        dataclasses.replace(base, **settings),
        clock=clock,
        passwords=cheap_password_hasher(),
        migrate=False,
    )


def asgi_client(app: Any, *, base_url: str = TEST_ISSUER) -> httpx.AsyncClient:
    """An httpx client that talks to the ASGI app in-process."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, follow_redirects=False
    )


class ServerProcess:
    """A real `idgate serve` process on a free loopback port, for tests that need one."""

    def __init__(self, database_url: str, *, env: dict[str, str] | None = None, workers: int = 1):
        import os
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "IDGATE_DATABASE_URL": database_url,
            "IDGATE_ISSUER": self.url,
            "IDGATE_LOG_LEVEL": "warning",
            **(env or {}),
        }
        self._workers = workers
        self.process: Any = None
        self._output: list[str] = []
        self._drain: Any = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        import subprocess
        import sys
        import threading
        import time

        # A fixed argv of this interpreter and idgate's own CLI, no shell.
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "idgate",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self._workers),
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # A full pipe would block the server's next log line and so the server: read it all
        # the time, in a thread, not only at the end.
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._drain.join(timeout=5)
                raise RuntimeError(f"idgate serve exited early:\n{self.output}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("idgate serve did not become ready in time")

    def stop(self, sig: int | None = None, timeout: float = 20.0) -> tuple[int, str]:
        """Send `sig` (SIGTERM by default) and return (exit code, everything it printed)."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(sig or signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # The pipe closes when the process is gone; the thread has read it to the end.
        self._drain.join(timeout=timeout)
        return self.process.returncode, self.output

    @property
    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return "".join(self._output)

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self._output.append(line)
        self.process.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()


# --- driving the OP's pages like a browser --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str]
    buttons: dict[str, list[str]]


def parse_forms(html: str) -> list[HtmlForm]:
    """The forms of a page, with their hidden and text inputs and submit buttons."""
    from html.parser import HTMLParser

    forms: list[HtmlForm] = []

    class _Parser(HTMLParser):
        current: HtmlForm | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = {k: v or "" for k, v in attrs}
            if tag == "form":
                self.current = HtmlForm(a.get("action", ""), a.get("method", "get"), {}, {})
                forms.append(self.current)
            elif self.current is not None and tag in ("input", "button") and "name" in a:
                kind = a.get("type", "submit" if tag == "button" else "text")
                if kind == "submit":
                    self.current.buttons.setdefault(a["name"], []).append(a.get("value", ""))
                else:
                    self.current.fields[a["name"]] = a.get("value", "")

        def handle_endtag(self, tag: str) -> None:
            if tag == "form":
                self.current = None

    _Parser().feed(html)
    return forms


def response_params(location: str) -> dict[str, str]:
    """The parameters of an authorization response in a Location (query or fragment)."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))
