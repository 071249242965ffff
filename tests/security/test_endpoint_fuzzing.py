"""Property tests over the endpoints (SECURITY.md G1, G2, G4, G7; HTTP-06, HTTP-07, HTTP-10).

Hypothesis builds requests from each endpoint's own vocabulary, real values (a live client's
id and secret, a real code verifier) and hostile ones (NUL, invalid UTF-8, control and bidi
characters, huge values, repeats, odd content types and methods). Whatever comes in: never a
5xx, never a stack trace, and always the endpoint's error shape. Example counts are bounded so
each test takes seconds in CI; the `http` fixture's hook checks the global invariants too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, quote_from_bytes

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_support import SINK, RegisteredClient  # type: ignore[import-not-found]

pytestmark = pytest.mark.anyio

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # CI sees the same examples every run; a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\u202e",
        "\u200b",
        "%",
        "%ZZ",
        "%00",
        "\r\n",
        "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
        "x" * 5000,
        "{}",
        "[]",
        "null",
        "eyJhbGciOiJub25lIn0.e30.",
        "*",
    ]
)
VALUE = st.one_of(NASTY, st.text(max_size=40), st.text(alphabet="abc =+&%#?/", max_size=20))

AUTHORIZE_NAMES = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "response_mode",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "id_token_hint",
    "login_hint",
    "ui_locales",
    "claims_locales",
    "display",
    "acr_values",
    "request",
    "request_uri",
]
TOKEN_NAMES = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
]
TOKEN_PARAM_NAMES = ["token", "token_type_hint", "client_id", "client_secret"]
USERINFO_NAMES = ["access_token"]
LOGOUT_NAMES = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
]


def encoded(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode(
        "utf-8", "surrogatepass"
    )


def as_query(raw: bytes) -> str:
    """Raw bytes as a URL query: what a URL cannot carry is percent-encoded, the rest kept."""
    return quote_from_bytes(raw, safe="&=%+/?:@!$'()*,;~")


def requests(names: list[str], fixed: dict[str, list[str]]) -> st.SearchStrategy[bytes]:
    """Bodies or queries: well-formed pairs from the vocabulary, or raw hostile bytes."""
    name = st.one_of(st.sampled_from(names), NASTY, st.text(max_size=10))
    value = st.one_of(VALUE, *(st.sampled_from(v) for v in fixed.values() if v))
    pair = st.tuples(name, value)
    fixed_pairs = st.sampled_from(
        [(k, v) for k, values in fixed.items() for v in values] or [("x", "y")]
    )
    well_formed = st.lists(st.one_of(pair, fixed_pairs), max_size=12).map(encoded)
    raw = st.binary(max_size=300)
    return st.one_of(well_formed, well_formed, raw)


CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)
AUTHORIZATION = st.one_of(
    st.none(),
    st.sampled_from(["Basic", "Basic !!!", "Basic Og==", "Bearer", "Bearer x", "Digest x"]),
    st.text(alphabet="abcdefABC0123=+/: ", max_size=40).map(lambda s: f"Basic {s}"),
)


def headers_of(content_type: str, authorization: str | None) -> dict[str, str]:
    headers = {"content-type": content_type} if content_type else {}
    if authorization is not None:
        headers["authorization"] = authorization
    return headers


def assert_json_error(response: httpx.Response) -> None:
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json")
        assert isinstance(json.loads(response.text)["error"], str)


async def fuzz(strategy: st.SearchStrategy[Any], check: Callable[[Any], Awaitable[None]]) -> None:
    """Run `check` on Hypothesis' examples. Hypothesis drives plain functions, so it runs in a
    worker thread, and each example is sent back to this test's event loop."""

    @FUZZ
    @given(strategy)
    def run(example: Any) -> None:
        anyio.from_thread.run(check, example)

    await anyio.to_thread.run_sync(run)


async def test_authorization_endpoint(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # HTTP-06/HTTP-07/RDR-06: fuzzed GET and POST authorization requests; never off to SINK.
    fixed = {
        "client_id": [c1.client_id],
        "redirect_uri": [c1.redirect_uri, f"{SINK}/cb"],
        "response_type": ["code", "code id_token", "id_token token"],
        "scope": ["openid", "openid profile"],
    }

    async def check(example: tuple[bytes, bool, str]) -> None:
        raw, post, content_type = example
        if post:
            headers = headers_of(content_type, None)
            response = await http.post("/authorize", content=raw, headers=headers)
        else:
            response = await http.get("/authorize?" + as_query(raw))
        assert response.status_code in (200, 302, 303, 400), response.status_code
        location = response.headers.get("location", "")
        assert location.startswith(("/interaction/", c1.redirect_uri)) or not location

    await fuzz(st.tuples(requests(AUTHORIZE_NAMES, fixed), st.booleans(), CONTENT_TYPES), check)


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
async def test_client_authenticated_endpoints(
    http: httpx.AsyncClient, c1: RegisteredClient, path: str
) -> None:
    # HTTP-03/HTTP-06/TOK-03: fuzzed bodies, content types and Authorization headers.
    names = TOKEN_NAMES if path == "/token" else TOKEN_PARAM_NAMES
    fixed = {
        "client_id": [c1.client_id],
        "client_secret": [c1.client_secret or ""],
        "grant_type": ["authorization_code", "refresh_token", "client_credentials"],
    }
    basic = "Basic " + base64.b64encode(":".join(c1.basic).encode()).decode()

    async def check(example: tuple[bytes, str, str | None]) -> None:
        body, content_type, authorization = example
        headers = headers_of(content_type, authorization)
        response = await http.post(path, content=body, headers=headers)
        assert response.status_code in (200, 400, 401), response.status_code
        assert_json_error(response)

    authorization = st.one_of(AUTHORIZATION, st.just(basic))
    await fuzz(st.tuples(requests(names, fixed), CONTENT_TYPES, authorization), check)


async def test_userinfo(http: httpx.AsyncClient) -> None:
    # RES-01/HTTP-06: fuzzed bearer tokens, bodies and methods at UserInfo.
    async def check(example: tuple[bytes, str, str | None, bool]) -> None:
        body, content_type, authorization, post = example
        headers = headers_of(content_type, authorization)
        response = await (
            http.post("/userinfo", content=body, headers=headers)
            if post
            else http.get("/userinfo?" + as_query(body), headers=headers)
        )
        assert response.status_code in (400, 401, 403), response.status_code
        assert response.headers["cache-control"] == "no-store"
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")

    strategy = st.tuples(requests(USERINFO_NAMES, {}), CONTENT_TYPES, AUTHORIZATION, st.booleans())
    await fuzz(strategy, check)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), NASTY),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
METADATA = st.fixed_dictionaries(
    {},
    optional={
        "redirect_uris": st.one_of(
            st.lists(
                st.one_of(
                    st.sampled_from(
                        [
                            "https://rp.example/cb",
                            "javascript:x",
                            "http://localhost/",
                            "https://a/#f",
                        ]
                    ),
                    st.text(max_size=20),
                ),
                max_size=3,
            ),
            JSON_VALUES,
        ),
        "response_types": st.one_of(
            st.lists(st.sampled_from(["code", "id_token", "x"])), JSON_VALUES
        ),
        "grant_types": JSON_VALUES,
        "token_endpoint_auth_method": st.one_of(
            st.sampled_from(["none", "client_secret_basic", "private_key_jwt", "x"]), JSON_VALUES
        ),
        "jwks": JSON_VALUES,
        "jwks_uri": st.one_of(
            st.sampled_from(["https://127.0.0.1/jwks", "file:///etc"]), JSON_VALUES
        ),
        "client_name": JSON_VALUES,
        "sector_identifier_uri": st.sampled_from(["http://x/", "https://127.0.0.1:1/"]),
        "subject_type": JSON_VALUES,
        "id_token_signed_response_alg": st.sampled_from(["none", "HS256", "RS256", "x"]),
        "post_logout_redirect_uris": JSON_VALUES,
        "backchannel_logout_uri": JSON_VALUES,
    },
)


async def test_registration(open_http: httpx.AsyncClient) -> None:
    # DCR-01…09/HTTP-06: fuzzed metadata documents and raw bodies at an open /register.
    async def check(example: tuple[str, str]) -> None:
        document, content_type = example
        response = await open_http.post(
            "/register",
            content=document.encode("utf-8", "surrogatepass"),
            headers=headers_of(content_type, None),
        )
        assert response.status_code in (201, 400), response.status_code
        assert_json_error(response)

    documents = st.one_of(
        METADATA.map(json.dumps),
        JSON_VALUES.map(json.dumps),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    )
    await fuzz(st.tuples(documents, CONTENT_TYPES), check)


async def test_end_session_endpoint(http: httpx.AsyncClient, c1: RegisteredClient) -> None:
    # LOG-12: end_session robustness under garbage, GET and POST.
    fixed = {"client_id": [c1.client_id], "post_logout_redirect_uri": [f"{SINK}/x"]}

    async def check(example: tuple[bytes, bool, str]) -> None:
        body, post, content_type = example
        if post:
            headers = headers_of(content_type, None)
            response = await http.post("/logout", content=body, headers=headers)
        else:
            response = await http.get("/logout?" + as_query(body))
        assert response.status_code in (200, 400), response.status_code
        assert "location" not in response.headers

    await fuzz(st.tuples(requests(LOGOUT_NAMES, fixed), st.booleans(), CONTENT_TYPES), check)
