"""Helpers for the logout tests: an RP's back-channel endpoint over real TLS, and a SINK.

`BackchannelRP` is a real https server on 127.0.0.1 (its certificate from a throw-away CA,
which idgate trusts through `outbound_ca_file`). It records every request and answers by path:
`/bc` 200, `/bc500` 500, `/bchang` never in time, `/bc302` a redirect to the SINK. `Sink` is a
plain http listener that must stay silent: it plays an internal service an attacker would like
idgate to call.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from flows_support import RP, OPBrowser, RegisteredClient, register  # type: ignore[import-not-found]
from https_peer import make_certificates  # type: ignore[import-not-found]
from jwcrypto import jwk, jwt

from idgate.provider import Provider

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
BYE = f"{RP}/bye"
BYE_Q = f"{RP}/byeq?a=1"


async def logout_client(op: Provider, **metadata: Any) -> RegisteredClient:
    """A client with two post-logout URIs (one with a query)."""
    return await register(op, post_logout_redirect_uris=[BYE, BYE_Q], **metadata)


async def sign_in(browser: OPBrowser, client: RegisteredClient, **extra: str) -> dict[str, str]:
    """Sign in through the OP's pages; the callback parameters (with an ID Token)."""
    params = {
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "response_type": "code id_token",
        "scope": "openid",
        "nonce": "n",
        "state": "s",
        **extra,
    }
    result = await browser.sign_in(**params)
    assert "id_token" in result, result
    return result


def claims_of(id_token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the tests verify signatures separately)."""
    payload = id_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


@dataclass
class Received:
    path: str
    method: str
    content_type: str
    form: dict[str, list[str]]
    at: float


class _Recorder:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def record(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        with self.lock:
            self.received.append(
                Received(
                    handler.path,
                    handler.command,
                    handler.headers.get("Content-Type", ""),
                    form,
                    time.monotonic(),
                )
            )

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.received]


class Sink:
    """Plain http; records anything at all."""

    def __init__(self) -> None:
        self.recorder = _Recorder()
        recorder = self.recorder

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                recorder.record(self)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _any

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/internal"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    def __enter__(self) -> Sink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class BackchannelRP:
    """An RP's back-channel logout endpoint over TLS, with the failure modes of LOG-10."""

    def __init__(self, directory: Path, sink_url: str = "http://127.0.0.1:9/") -> None:
        self.ca_file, cert_file, key_file = make_certificates(directory)
        self.recorder = _Recorder()
        recorder = self.recorder

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                recorder.record(self)
                if self.path.startswith("/bchang"):
                    recorder.stop.wait(60)  # sleeps until the test ends
                    return
                status = 200
                headers: dict[str, str] = {}
                if self.path.startswith("/bc500"):
                    status = 500
                elif self.path.startswith("/bc302"):
                    status = 302
                    headers["Location"] = sink_url
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    @property
    def received(self) -> list[Received]:
        with self.recorder.lock:
            return list(self.recorder.received)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        return self.received

    def __enter__(self) -> BackchannelRP:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.recorder.stop.set()
        self._server.shutdown()
        self._server.server_close()


def validate_logout_token(
    token: str, jwks: Mapping[str, Any], *, issuer: str, client_id: str, alg: str = "RS256"
) -> dict[str, Any]:
    """What an RP must check (Back-Channel Logout 1.0 §2.6), with jwcrypto, an independent
    JOSE library: signature by the OP's JWKS, `typ`, `iss`, `aud`, `iat`, a short `exp`,
    `jti`, exactly the logout event, `sub` and/or `sid`, and no `nonce`."""
    keys = jwk.JWKSet.from_json(json.dumps(dict(jwks)))
    verified = jwt.JWT(
        jwt=token,
        key=keys,
        algs=[alg],
        check_claims={"iss": issuer, "aud": client_id, "exp": None, "iat": None, "jti": None},
    )
    header = json.loads(verified.header)
    assert header["typ"] == "logout+jwt", header
    assert header["alg"] == alg, header
    claims: dict[str, Any] = json.loads(verified.claims)
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}, claims
    assert 0 < claims["exp"] - claims["iat"] <= 300, claims  # short-lived
    assert "nonce" not in claims, claims
    assert claims.get("sub") or claims.get("sid"), claims
    return claims
