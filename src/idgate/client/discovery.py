"""The OP's metadata (OpenID Connect Discovery 1.0) and its JWK Set, fetched and cached.

- :func:`fetch_provider_metadata` reads ``{issuer}/.well-known/openid-configuration`` (§4.1) and
  insists that its ``issuer`` is exactly the one asked for (§4.3): a document served for another
  issuer is never used.
- :class:`KeySet` holds the JWK Set from ``jwks_uri`` (RFC 7517 §5). A token that names a
  ``kid`` the set does not have makes it fetch the set again, since the OP may have rotated
  keys (Core §10.1.1) — but at most once per ``min_refresh_interval``, so forged ``kid`` values
  cannot make the RP hammer the OP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from idgate.client._http import json_object, raise_for_error, send
from idgate.client.errors import EndpointNotAvailable, InvalidProviderResponse
from idgate.clock import Clock

__all__ = ["KeySet", "ProviderMetadata", "fetch_provider_metadata"]

_REQUIRED = ("issuer", "authorization_endpoint", "jwks_uri", "response_types_supported")


@dataclass(frozen=True)
class ProviderMetadata:
    """An OP's discovery document (Discovery 1.0 §3), validated, with the raw fields kept."""

    issuer: str
    authorization_endpoint: str
    jwks_uri: str
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    registration_endpoint: str | None = None
    end_session_endpoint: str | None = None
    response_types_supported: tuple[str, ...] = ()
    response_modes_supported: tuple[str, ...] = ("query", "fragment")
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ("client_secret_basic",)
    authorization_response_iss_parameter_supported: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], *, expected_issuer: str) -> ProviderMetadata:
        """Validate a discovery document; :class:`InvalidProviderResponse` when it is unusable."""
        missing = [name for name in _REQUIRED if name not in doc]
        if missing:
            raise InvalidProviderResponse(
                f"the discovery document lacks {', '.join(missing)} (Discovery 1.0 §3)"
            )
        if doc["issuer"] != expected_issuer:
            raise InvalidProviderResponse(
                f"the discovery document is for issuer {doc['issuer']!r}, not "
                f"{expected_issuer!r} (Discovery 1.0 §4.3)",
                hint="that the issuer given to the RP is exactly the OP's issuer string, "
                "without a trailing slash unless the OP has one",
            )
        defaults = cls(issuer="", authorization_endpoint="", jwks_uri="")
        return cls(
            issuer=expected_issuer,
            authorization_endpoint=_url(doc, "authorization_endpoint") or "",
            jwks_uri=_url(doc, "jwks_uri") or "",
            token_endpoint=_url(doc, "token_endpoint"),
            userinfo_endpoint=_url(doc, "userinfo_endpoint"),
            registration_endpoint=_url(doc, "registration_endpoint"),
            end_session_endpoint=_url(doc, "end_session_endpoint"),
            response_types_supported=_strings(doc, "response_types_supported", ()),
            response_modes_supported=_strings(
                doc, "response_modes_supported", defaults.response_modes_supported
            ),
            id_token_signing_alg_values_supported=_strings(
                doc, "id_token_signing_alg_values_supported", ()
            ),
            code_challenge_methods_supported=_strings(doc, "code_challenge_methods_supported", ()),
            token_endpoint_auth_methods_supported=_strings(
                doc,
                "token_endpoint_auth_methods_supported",
                defaults.token_endpoint_auth_methods_supported,
            ),
            authorization_response_iss_parameter_supported=(
                doc.get("authorization_response_iss_parameter_supported") is True
            ),
            raw=dict(doc),
        )

    def endpoint(self, name: str) -> str:
        """The URL of ``name`` (e.g. ``"userinfo_endpoint"``), or :class:`EndpointNotAvailable`."""
        value = getattr(self, name, None)
        if not isinstance(value, str):
            raise EndpointNotAvailable(f"the OP {self.issuer} does not offer {name}")
        return value


def _url(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidProviderResponse(f"{name} in the discovery document is not an http(s) URL")
    return str(value)


def _strings(doc: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = doc.get(name)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidProviderResponse(f"{name} in the discovery document is not a string array")
    return tuple(value)


def discovery_url(issuer: str) -> str:
    """Discovery 1.0 §4.1: the issuer without a trailing ``/``, then the well-known path."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


async def fetch_provider_metadata(http: httpx.AsyncClient, issuer: str) -> ProviderMetadata:
    """Fetch and validate the discovery document of ``issuer`` (Discovery 1.0 §4)."""
    response = await send(http, "GET", discovery_url(issuer), what="discovery endpoint")
    raise_for_error(response, what="discovery endpoint", expected=(200,))
    doc = json_object(response, what="discovery endpoint")
    return ProviderMetadata.from_document(doc, expected_issuer=issuer)


class KeySet:
    """The OP's JWK Set, fetched on first use and again for an unknown ``kid`` (rate-limited).

    ``min_refresh_interval`` (seconds) bounds how often an unknown ``kid`` can trigger a fetch;
    ``max_age`` (seconds) is how long a set is used before it is fetched again anyway.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        jwks_uri: str,
        clock: Clock,
        *,
        min_refresh_interval: int = 60,
        max_age: int = 3600,
    ) -> None:
        self._http = http
        self.jwks_uri = jwks_uri
        self._clock = clock
        self._min_refresh_interval = min_refresh_interval
        self._max_age = max_age
        self._jwks: Mapping[str, Any] | None = None
        self._fetched_at: int | None = None
        self.fetches = 0

    async def get(self, kid: str | None = None) -> Mapping[str, Any]:
        """The JWK Set to verify a token whose header names ``kid`` (None: any)."""
        now = self._clock.now()
        stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
        if self._jwks is None or stale:
            return await self._fetch()
        if kid is not None and kid not in self.kids(self._jwks):
            assert self._fetched_at is not None
            if now - self._fetched_at >= self._min_refresh_interval:
                return await self._fetch()
        return self._jwks

    @staticmethod
    def kids(jwks: Mapping[str, Any]) -> Sequence[str]:
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            return ()
        return [k["kid"] for k in keys if isinstance(k, Mapping) and isinstance(k.get("kid"), str)]

    async def _fetch(self) -> Mapping[str, Any]:
        response = await send(self._http, "GET", self.jwks_uri, what="jwks_uri")
        raise_for_error(response, what="jwks_uri", expected=(200,))
        jwks = json_object(response, what="jwks_uri")
        if not isinstance(jwks.get("keys"), list):
            raise InvalidProviderResponse("the JWK Set at jwks_uri has no keys array (RFC 7517 §5)")
        self._jwks = jwks
        self._fetched_at = self._clock.now()
        self.fetches += 1
        return jwks
