"""Helpers for the interoperability tests: the OP under test, a scripted login, Node RPs.

The RP libraries run unchanged against a real `idgate serve`; where a library has no browser
(Authlib, pyoidc, openid-client, oauth4webapi), `Browser` walks idgate's real login and consent
pages over HTTP the way a person's browser would, and hands the library the callback URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from idgate.testing import parse_forms

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
SPA_DIR = HERE / "spa"
SCREENSHOTS = HERE / "screenshots"

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

USERNAME = "alice"
PASSWORD = "interop correct horse battery staple"
CLAIMS: dict[str, Any] = {
    "email": "alice@example.com",
    "email_verified": True,
    "name": "Alice Liddell",
    "given_name": "Alice",
    "family_name": "Liddell",
    "locale": "en",
}
# Server-side RPs never receive the redirect: the scripted browser stops at the Location.
RP = "https://rp.example"
CALLBACK = f"{RP}/cb"

# Why interop tests could not run at all (missing Node.js, npm registry, chromium): shown in a
# banner at the end of a local run, so a skip is never quiet.
NOT_RUN: list[str] = []


def unavailable(message: str) -> NoReturn:
    """A tool the interop tests need is missing: a failure under CI, a loud skip locally."""
    if UNDER_CI:
        pytest.fail(f"interop: {message}; CI must run the interop tests", pytrace=False)
    NOT_RUN.append(message)
    pytest.skip(f"INTEROP NOT RUN: {message}")


@contextlib.contextmanager
def step(library: str, name: str) -> Iterator[None]:
    """Name the library and the step in any failure inside the block."""
    try:
        yield
    except (pytest.skip.Exception, pytest.fail.Exception, pytest.xfail.Exception):
        raise
    except Exception as exc:
        raise AssertionError(f"{library}: {name}: {type(exc).__name__}: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class OP:
    """The idgate under test: a real `idgate serve` process."""

    url: str

    @property
    def issuer(self) -> str:
        return self.url

    def discovery(self) -> dict[str, Any]:
        """Read afresh each time, so endpoints appear here as they land."""
        response = httpx.get(f"{self.url}/.well-known/openid-configuration", timeout=10)
        assert response.status_code == 200, f"idgate: discovery: {response.status_code}"
        doc: dict[str, Any] = response.json()
        return doc

    def require(self, field: str, what: str) -> str:
        """The endpoint named `field` in discovery, or a skip saying it is not built yet."""
        endpoint = self.discovery().get(field)
        if not endpoint:
            pytest.skip(f"{what} not built yet: discovery has no {field}")
        return str(endpoint)

    def register(self, **metadata: Any) -> dict[str, Any]:
        """Dynamic registration (RFC 7591): a confidential web client by default."""
        document = {
            "client_name": "Interop RP",
            "redirect_uris": [CALLBACK],
            "response_types": ["code", "code id_token", "code id_token token"],
            "grant_types": ["authorization_code", "implicit", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
            **metadata,
        }
        response = httpx.post(f"{self.url}/register", json=document, timeout=10)
        assert response.status_code == 201, f"idgate: register: {response.text}"
        created: dict[str, Any] = response.json()
        return created


class Browser:
    """A cookie-keeping HTTP client that signs in through idgate's own pages."""

    def __init__(self, op: OP, *, username: str = USERNAME, password: str = PASSWORD) -> None:
        self.op = op
        self.username = username
        self.password = password
        self.http = httpx.Client(follow_redirects=False, timeout=15)
        self.seen: list[str] = []  # the OP pages the last sign-in went through

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_op(self, url: str) -> bool:
        return urlsplit(url)[:2] == urlsplit(self.op.url)[:2]

    def sign_in(self, authorization_url: str) -> str:
        """Open the authorization URL, log in and approve; the callback URL the OP sends to."""
        assert self._on_op(authorization_url), f"not idgate's URL: {authorization_url}"
        self.seen = []
        response = self.http.get(authorization_url)
        for _ in range(6):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if not self._on_op(location):
                    return location
                response = self.http.get(location)
                continue
            assert response.status_code == 200, (
                f"idgate pages: {response.request.method} {response.url.path}: "
                f"{response.status_code}: {response.text[:500]}"
            )
            forms = parse_forms(response.text)
            if 'name="password"' in response.text:
                self.seen.append("login")
                (form, *_) = forms
                data = {**form.fields, "username": self.username, "password": self.password}
            elif any("decision" in form.buttons for form in forms):
                self.seen.append("consent")
                form = next(form for form in forms if "decision" in form.buttons)
                data = {**form.fields, "decision": "approve"}
            else:
                raise AssertionError(f"idgate pages: unexpected page: {response.text[:500]}")
            response = self.http.post(urljoin(str(response.url), form.action), data=data)
        raise AssertionError(f"idgate pages: no redirect to the client after {self.seen}")


class NodeRP:
    """Runs one scenario of a Node RP script (tests/interop/node) and answers its sign-ins."""

    def __init__(self, library: str, script: str, browser: Browser | None = None) -> None:
        self.library = library
        self.script = NODE_DIR / script
        self.browser = browser

    def run(self, scenario: str, timeout: float = 60, **config: Any) -> dict[str, Any]:
        node = shutil.which("node")
        if node is None:
            unavailable("node is not on PATH")
        argv = [node, str(self.script), json.dumps({"scenario": scenario, **config})]
        with (
            tempfile.TemporaryFile("w+") as stderr,
            # A fixed argv: this machine's node and one of our scripts, no shell.
            subprocess.Popen(
                argv,
                cwd=NODE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            ) as process,
        ):
            timer = threading.Timer(timeout, process.kill)
            timer.start()
            try:
                return self._converse(process, scenario, stderr)
            finally:
                timer.cancel()
                if process.poll() is None:
                    process.kill()

    def _converse(
        self, process: subprocess.Popen[str], scenario: str, stderr: Any
    ) -> dict[str, Any]:
        assert process.stdout is not None
        assert process.stdin is not None
        noise: list[str] = []
        for line in process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                noise.append(line.rstrip())
                continue
            if message["type"] == "authorize":
                assert self.browser is not None, f"{self.library}: {scenario}: no browser"
                with step(self.library, f"{scenario}: sign in through idgate's pages"):
                    callback = self.browser.sign_in(message["url"])
                process.stdin.write(json.dumps({"callback": callback}) + "\n")
                process.stdin.flush()
            elif message["type"] == "result":
                result: dict[str, Any] = message["result"]
                return result
            elif message["type"] == "error":
                raise AssertionError(
                    f"{self.library}: {message['step']}: {message['message']}"
                ) from None
        process.wait()
        stderr.seek(0)
        ended = "was killed (time-out)" if process.returncode < 0 else "ended"
        raise AssertionError(
            f"{self.library}: {scenario}: the script {ended} (exit {process.returncode}) "
            f"without a result; stdout noise: {noise[-5:]}; stderr: {stderr.read()[-2000:]}"
        )


class SPAServer:
    """Serves tests/interop/spa and the oidc-client-ts browser bundle from node_modules.

    No CDN: the bundle comes from the package npm installed. `config` is what the SPA reads
    at /config.json. Paths `/` and `/callback` are both the app.
    """

    def __init__(self, node_modules: Path) -> None:
        import http.server

        self.config: dict[str, Any] = {}
        bundle = node_modules / "oidc-client-ts" / "dist" / "browser" / "oidc-client-ts.min.js"
        routes: dict[str, tuple[Path, str]] = {
            "/": (SPA_DIR / "index.html", "text/html; charset=utf-8"),
            "/callback": (SPA_DIR / "index.html", "text/html; charset=utf-8"),
            "/app.js": (SPA_DIR / "app.js", "text/javascript; charset=utf-8"),
            "/oidc-client-ts.min.js": (bundle, "text/javascript; charset=utf-8"),
        }
        spa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/config.json":
                    body, kind = json.dumps(spa.config).encode(), "application/json"
                elif path in routes:
                    file, kind = routes[path]
                    body = file.read_bytes()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SPAServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
