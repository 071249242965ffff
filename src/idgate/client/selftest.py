"""`idgate selftest`: an operator's check of a live OP, with the RP library, as a checklist.

Discovery and JWKS sanity, a client (registered dynamically when the OP allows it, else the
one given), a complete hybrid sign-in (``code id_token``) that drives the OP's login and
consent pages over HTTP with a test account, the code exchange, UserInfo, refresh and the
end-session endpoint. Every item ends ✓ (passed), ✗ (failed, with the reason) or a dash (skipped,
with the reason); any ✗ makes the command exit non-zero.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import httpx

from idgate.client._browser import Browser
from idgate.client._http import DEFAULT_TIMEOUT, json_object, raise_for_error, send
from idgate.client.callback import AuthorizationResponse
from idgate.client.credentials import ClientCredentials
from idgate.client.discovery import ProviderMetadata, fetch_provider_metadata
from idgate.client.errors import AuthorizationError, ClientError
from idgate.client.registration import register_client
from idgate.client.rp import AuthorizationResult, RelyingParty, TokenSet

__all__ = ["DEFAULT_REDIRECT_URI", "Checklist", "Item", "run_selftest"]

#: Never contacted: the scripted browser stops at the redirect and reads the response from it.
DEFAULT_REDIRECT_URI: Final = "https://selftest.idgate.invalid/callback"
_POST_LOGOUT_URI: Final = "https://selftest.idgate.invalid/logged-out"
_KTY: Final = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

Status = Literal["pass", "fail", "skip"]
_MARKS: Final = {"pass": "✓", "fail": "✗", "skip": "–"}


@dataclass(frozen=True)
class Item:
    name: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{_MARKS[self.status]} {self.name}: {self.detail}"


@dataclass
class Checklist:
    issuer: str
    items: list[Item] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.status != "fail" for item in self.items)

    def add(self, name: str, status: Status, detail: str) -> None:
        self.items.append(Item(name, status, detail))

    def render(self) -> str:
        lines = [f"idgate selftest of {self.issuer}"]
        lines += [item.line() for item in self.items]
        failed = sum(item.status == "fail" for item in self.items)
        lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
        return "\n".join(lines)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def _step(checklist: Checklist, name: str, action: Callable[[], Awaitable[str]]) -> bool:
    """Run one item; True when it passed."""
    try:
        detail = await action()
    except (ClientError, httpx.HTTPError, ValueError) as exc:
        checklist.add(name, "fail", _reason(exc))
        return False
    checklist.add(name, "pass", detail)
    return True


def _check_jwks(jwks: dict[str, Any], metadata: ProviderMetadata) -> str:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ValueError("the JWK Set has no keys")
    kids = [k.get("kid") for k in keys if isinstance(k, dict)]
    if len(kids) != len(keys):
        raise ValueError("a member of the JWK Set is not a JSON object")
    leaked = sorted({m for k in keys for m in _PRIVATE_MEMBERS.intersection(k)})
    if leaked:
        raise ValueError(f"the JWK Set publishes private key members: {', '.join(leaked)}")
    named = [kid for kid in kids if kid is not None]
    if len(set(named)) != len(named):
        raise ValueError("two keys of the JWK Set share a kid")
    ktys = {k.get("kty") for k in keys}
    for alg in metadata.id_token_signing_alg_values_supported:
        kty = _KTY.get(alg[:2])
        if kty is not None and kty not in ktys:
            raise ValueError(f"the OP advertises {alg} ID Tokens but publishes no {kty} key")
    return f"{len(keys)} key(s): " + ", ".join(
        sorted(f"{k.get('alg', k.get('kty'))}" for k in keys)
    )


async def run_selftest(
    issuer: str,
    *,
    username: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Checklist:
    """Run the checks against ``issuer`` and return the checklist (never raises a ClientError).

    ``transport`` replaces the network (for tests: an ASGI transport).
    """
    checklist = Checklist(issuer)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=transport, timeout=DEFAULT_TIMEOUT, follow_redirects=False, trust_env=False
        )

    async with client() as http, client() as browser_http:
        state: dict[str, Any] = {}

        async def discovery() -> str:
            metadata = await fetch_provider_metadata(http, issuer)
            state["metadata"] = metadata
            if "code id_token" not in {
                " ".join(sorted(rt.split())) for rt in metadata.response_types_supported
            }:
                raise ValueError("response_types_supported lacks 'code id_token' (hybrid)")
            endpoints = sorted(k for k, v in metadata.raw.items() if k.endswith("_endpoint") and v)
            return f"issuer matches; {', '.join(endpoints)}"

        if not await _step(checklist, "discovery", discovery):
            return _skip_rest(checklist, "discovery failed")
        metadata: ProviderMetadata = state["metadata"]

        async def jwks() -> str:
            response = await send(http, "GET", metadata.jwks_uri, what="jwks_uri")
            raise_for_error(response, what="jwks_uri", expected=(200,))
            return _check_jwks(json_object(response, what="jwks_uri"), metadata)

        await _step(checklist, "JWKS", jwks)

        async def registration() -> str:
            state["registered"] = False
            if client_id is not None:
                state["credentials"] = ClientCredentials(
                    client_id,
                    client_secret=client_secret,
                    token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
                )
                return f"using the given client {client_id}"
            if metadata.registration_endpoint is None:
                raise ValueError(
                    "the OP has no open registration; give --client-id and --client-secret of "
                    f"a client registered with redirect URI {redirect_uri}"
                )
            registered = await register_client(
                http,
                metadata,
                {
                    "client_name": "idgate selftest",
                    "redirect_uris": [redirect_uri],
                    "post_logout_redirect_uris": [_POST_LOGOUT_URI],
                    "response_types": ["code id_token"],
                    "grant_types": ["authorization_code", "implicit", "refresh_token"],
                },
            )
            state["credentials"] = registered.credentials()
            state["registered"] = True
            return f"registered client {registered.client_id} by dynamic registration"

        if not await _step(checklist, "client", registration):
            return _skip_rest(checklist, "no client to sign in with")
        if username is None or password is None:
            return _skip_rest(checklist, "no test account given (--username, --password-stdin)")

        rp = RelyingParty(issuer, state["credentials"], http=http)

        async def sign_in() -> str:
            request = await rp.authorization_request(
                redirect_uri=redirect_uri,
                response_type="code id_token",
                scope="openid profile email",
            )
            state["session"] = request.session
            browser = Browser(browser_http)
            state["response"] = await browser.sign_in(
                request.url, redirect_uri, username=username, password=password
            )
            pages = " and ".join(browser.steps) or "no page (an existing session)"
            return f"hybrid code id_token request as {username}: {pages}"

        if not await _step(checklist, "sign-in", sign_in):
            return _skip_rest(checklist, "the sign-in failed")

        async def front_channel() -> str:
            result = await rp.handle_authorization_response(state["session"], state["response"])
            state["result"] = result
            assert result.id_token is not None
            return "state, iss, ID Token " + ", ".join(
                f"{c.name} ✓" for c in result.id_token.checks if c.name != "sub"
            )

        if not await _step(checklist, "authorization response", front_channel):
            return _skip_rest(checklist, "the authorization response was not accepted")

        async def exchange() -> str:
            result: AuthorizationResult = state["result"]
            tokens = await rp.exchange_code(state["session"], result)
            state["tokens"] = tokens
            assert tokens.id_token is not None
            refresh = "a refresh token" if tokens.refresh_token else "no refresh token"
            signature = tokens.id_token.check("signature")
            verified = signature.detail if signature is not None else "verified"
            return f"access token; ID Token {verified}, same End-User; {refresh}"

        if not await _step(checklist, "token exchange", exchange):
            return _skip_rest(checklist, "the code exchange failed")
        tokens: TokenSet = state["tokens"]
        assert tokens.id_token is not None
        id_token = tokens.id_token

        if metadata.userinfo_endpoint is None:
            checklist.add("UserInfo", "skip", "the OP has no userinfo_endpoint")
        else:

            async def userinfo() -> str:
                info = await rp.userinfo(tokens.access_token, id_token=id_token)
                return f"sub matches the ID Token; claims {', '.join(sorted(info.claims))}"

            await _step(checklist, "UserInfo", userinfo)

        if tokens.refresh_token is None:
            checklist.add("refresh", "skip", "no refresh token was issued")
        else:
            refresh_token = tokens.refresh_token

            async def refresh() -> str:
                refreshed = await rp.refresh(refresh_token, id_token=id_token)
                rotated = "rotated" if refreshed.refresh_token != refresh_token else "kept"
                same = " with the same End-User" if refreshed.id_token else ""
                return f"new access token{same}; refresh token {rotated}"

            await _step(checklist, "refresh", refresh)

        if metadata.end_session_endpoint is None:
            checklist.add(
                "logout", "skip", "the OP has no end_session_endpoint (not available yet)"
            )
        else:

            async def logout() -> str:
                # Only a client registered here is known to have the post-logout URI.
                back = _POST_LOGOUT_URI if state["registered"] else None
                url = await rp.end_session_url(
                    id_token_hint=id_token.raw, post_logout_redirect_uri=back, state="selftest"
                )
                location = await Browser(browser_http).log_out(url, back)
                if back is not None:
                    returned = AuthorizationResponse.from_url(location).get("state")
                    if not location or returned != "selftest":
                        raise ValueError("the OP did not send the browser back with the state")
                # The OP session must be over: prompt=none now needs a login.
                request = await rp.authorization_request(
                    redirect_uri=redirect_uri,
                    response_type="code id_token",
                    extra={"prompt": "none"},
                )
                answer = await Browser(browser_http).sign_in(request.url, redirect_uri)
                try:
                    await rp.handle_authorization_response(request.session, answer)
                except AuthorizationError as exc:
                    if exc.error != "login_required":
                        raise
                else:
                    raise ValueError("after the logout, prompt=none still signs in")
                sent_back = ", sent back with the state" if back is not None else ""
                return f"end_session_endpoint logged out{sent_back}; prompt=none → login_required"

            await _step(checklist, "logout", logout)
    return checklist


def _skip_rest(checklist: Checklist, reason: str) -> Checklist:
    done = {item.name for item in checklist.items}
    for name in (
        "JWKS",
        "client",
        "sign-in",
        "authorization response",
        "token exchange",
        "UserInfo",
        "refresh",
        "logout",
    ):
        if name not in done:
            checklist.add(name, "skip", reason)
    return checklist
