"""The authorization request (Core §3.1.2.1, §3.2.2.1, §3.3.2.1) and the values it must remember.

:func:`build_authorization_request` makes a fresh ``state`` (RFC 6749 §10.12), ``nonce`` (Core
§3.1.2.1; required for implicit and hybrid) and, when a code is asked for, a PKCE verifier with
its S256 challenge (RFC 7636 §4.1-4.3). Those go into an :class:`AuthorizationSession`, a plain
value that the application stores for this browser (server-side, or in a signed and encrypted
cookie) and hands back with the response. The library keeps no hidden state.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlencode, urlsplit

from idgate.client.discovery import ProviderMetadata
from idgate.client.errors import ConfigurationError
from idgate.protocol.pkce import s256_challenge

__all__ = [
    "RESPONSE_TYPES",
    "AuthorizationRequest",
    "AuthorizationSession",
    "ResponseMode",
    "build_authorization_request",
]

ResponseMode = Literal["query", "fragment", "form_post"]

#: Every response type of Core §3 and OAuth 2.0 Multiple Response Types §5, words sorted.
RESPONSE_TYPES: Final = (
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
    "none",
)
#: Parameters the library sets itself; ``extra`` cannot override them.
_OWNED: Final = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
        "max_age",
    }
)


def normalize_response_type(value: str) -> str:
    """``token id_token code`` → ``code id_token token``: the order of the words is free."""
    order = {"code": 0, "id_token": 1, "token": 2, "none": 3}
    return " ".join(sorted(value.split(), key=lambda word: order.get(word, 9)))


@dataclass(frozen=True)
class AuthorizationSession:
    """What the RP must remember between the request and the response, for one browser.

    Store it where only this browser's requests find it, and hand it to the callback handling.
    ``to_dict``/``from_dict`` give a JSON-safe form. ``code_verifier`` is a secret: never put
    it in a URL or a log line, and do not store it in a cookie unless the cookie is encrypted.
    """

    issuer: str
    client_id: str
    redirect_uri: str
    response_type: str
    state: str
    nonce: str
    response_mode: ResponseMode | None = None
    code_verifier: str | None = field(default=None, repr=False)
    max_age: int | None = None
    scope: str = "openid"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthorizationSession:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})

    @property
    def words(self) -> frozenset[str]:
        return frozenset(self.response_type.split())


@dataclass(frozen=True)
class AuthorizationRequest:
    """The URL to send the browser to, its parameters, and the session to store."""

    url: str
    parameters: Mapping[str, str]
    session: AuthorizationSession


def _random() -> str:
    # 256 bits, base64url: fits state, nonce and a PKCE verifier (43 chars, RFC 7636 §4.1).
    return secrets.token_urlsafe(32)


def build_authorization_request(
    metadata: ProviderMetadata,
    client_id: str,
    *,
    redirect_uri: str,
    response_type: str = "code",
    scope: str = "openid",
    response_mode: ResponseMode | None = None,
    pkce: bool = True,
    max_age: int | None = None,
    extra: Mapping[str, str] | None = None,
) -> AuthorizationRequest:
    """The authorization request for ``response_type`` (Core §3.1.2.1, §3.2.2.1, §3.3.2.1).

    ``scope`` must contain ``openid``. ``response_mode`` None means the response type's default
    (query for ``code`` and ``none``, fragment otherwise; Multiple Response Types §2.1);
    ``form_post`` is OAuth 2.0 Form Post Response Mode. With ``pkce`` (the default) a code
    request carries an S256 challenge (RFC 7636 §4.3, RFC 9700 §2.1.1). ``extra`` adds other
    parameters (``prompt``, ``login_hint``, ``ui_locales``, ``acr_values``, ``claims``…).
    """
    response_type = normalize_response_type(response_type)
    if response_type not in RESPONSE_TYPES:
        raise ConfigurationError(
            f"unknown response_type {response_type!r}", hint=f"one of {', '.join(RESPONSE_TYPES)}"
        )
    supported = {normalize_response_type(rt) for rt in metadata.response_types_supported}
    if response_type not in supported:
        raise ConfigurationError(
            f"the OP does not support response_type {response_type!r}",
            hint=f"response_types_supported of the OP: {', '.join(sorted(supported)) or 'none'}",
        )
    if "openid" not in scope.split():
        raise ConfigurationError(
            "scope lacks openid: without it this is not an OpenID Connect request (Core §3.1.2.1)"
        )
    words = set(response_type.split())
    if response_mode == "query" and words & {"id_token", "token"}:
        raise ConfigurationError(
            f"response_mode query is not allowed for {response_type!r}: tokens must not travel "
            "in the query (Multiple Response Types §2.1)",
            hint="use fragment or form_post",
        )
    if response_mode is not None and response_mode not in metadata.response_modes_supported:
        raise ConfigurationError(
            f"the OP does not support response_mode {response_mode!r}",
            hint=f"response_modes_supported: {', '.join(metadata.response_modes_supported)}",
        )
    parts = urlsplit(redirect_uri)
    if not parts.scheme or parts.fragment:
        raise ConfigurationError(
            "redirect_uri must be an absolute URI without a fragment (RFC 6749 §3.1.2)"
        )
    clash = _OWNED.intersection(extra or {})
    if clash:
        raise ConfigurationError(f"extra must not set {', '.join(sorted(clash))}")

    state, nonce = _random(), _random()
    params: dict[str, str] = {
        "response_type": response_type,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
    }
    verifier: str | None = None
    if pkce and "code" in words:
        verifier = _random()
        params["code_challenge"] = s256_challenge(verifier)
        params["code_challenge_method"] = "S256"
    if response_mode is not None:
        params["response_mode"] = response_mode
    if max_age is not None:
        if max_age < 0:
            raise ConfigurationError("max_age must not be negative")
        params["max_age"] = str(max_age)
    params.update(extra or {})

    endpoint = metadata.authorization_endpoint
    separator = "&" if urlsplit(endpoint).query else "?"
    session = AuthorizationSession(
        issuer=metadata.issuer,
        client_id=client_id,
        redirect_uri=redirect_uri,
        response_type=response_type,
        state=state,
        nonce=nonce,
        response_mode=response_mode,
        code_verifier=verifier,
        max_age=max_age,
        scope=scope,
    )
    return AuthorizationRequest(
        url=f"{endpoint}{separator}{urlencode(params)}", parameters=params, session=session
    )
