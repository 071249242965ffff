"""Logging out: the RP-Initiated Logout URL, and Back-Channel Logout Token validation.

- :func:`end_session_url` (RP-Initiated Logout 1.0 §2): the URL to send the browser to, with
  ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri`` and ``state``.
- :func:`validate_logout_token_claims` (Back-Channel Logout 1.0 §2.6): the claims of a Logout
  Token the OP POSTed to the RP's ``backchannel_logout_uri``, once its signature verified like
  an ID Token's. The RP then ends the sessions named by ``sid`` and/or ``sub``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlencode, urlsplit

from idgate.client.discovery import ProviderMetadata
from idgate.client.errors import InvalidClaims, InvalidLogoutToken
from idgate.client.validation import (
    Check,
    check_audience,
    check_issuer,
    check_times,
    require_types,
)
from idgate.crypto.jwt import VerifiedJWT

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "LogoutToken",
    "MemoryReplayCache",
    "ReplayCache",
    "end_session_url",
    "validate_logout_token_claims",
]

#: The member of the ``events`` claim that makes a JWT a Logout Token (BCL 1.0 §2.4).
BACKCHANNEL_LOGOUT_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
#: Explicit typing of Logout Tokens (BCL 1.0 §2.4, RFC 8725 §3.11).
_LOGOUT_TYP: Final = frozenset({"logout+jwt", "application/logout+jwt"})


def end_session_url(
    metadata: ProviderMetadata,
    *,
    client_id: str,
    id_token_hint: str | None = None,
    post_logout_redirect_uri: str | None = None,
    state: str | None = None,
    ui_locales: str | None = None,
) -> str:
    """The RP-Initiated Logout request (RP-Initiated Logout 1.0 §2), as a GET URL.

    ``post_logout_redirect_uri`` must be registered for the client; the OP redirects there only
    when it can tell which client asks (``id_token_hint`` or ``client_id``, §2), so both are
    sent. :class:`~idgate.client.errors.EndpointNotAvailable` without ``end_session_endpoint``.
    """
    endpoint = metadata.endpoint("end_session_endpoint")
    params = {
        "id_token_hint": id_token_hint,
        "client_id": client_id,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "state": state,
        "ui_locales": ui_locales,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(endpoint).query else "?"
    return f"{endpoint}{separator}{query}"


class ReplayCache(Protocol):
    """Remembers Logout Token ``jti`` values (BCL 1.0 §2.6 step 6). Share one between processes
    (e.g. in the RP's database) when the RP runs several."""

    def seen(self, key: str, expires_at: int, now: int) -> bool:
        """True when ``key`` was seen before; otherwise remember it until ``expires_at``."""
        ...


class MemoryReplayCache:
    """A :class:`ReplayCache` in this process's memory, bounded in size."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, int] = {}
        self._max_entries = max_entries

    def seen(self, key: str, expires_at: int, now: int) -> bool:
        if self._entries.get(key, 0) > now:
            return True
        if len(self._entries) >= self._max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v > now}
            while len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)))
        self._entries[key] = expires_at
        return False


@dataclass(frozen=True)
class LogoutToken:
    """A validated Logout Token: end the RP sessions with this ``sid`` and/or ``sub``."""

    raw: str = field(repr=False)
    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    checks: tuple[Check, ...] = ()

    @property
    def issuer(self) -> str:
        return str(self.claims["iss"])

    @property
    def subject(self) -> str | None:
        value = self.claims.get("sub")
        return value if isinstance(value, str) else None

    @property
    def sid(self) -> str | None:
        value = self.claims.get("sid")
        return value if isinstance(value, str) else None

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])


def validate_logout_token_claims(
    verified: VerifiedJWT,
    raw: str,
    *,
    issuer: str,
    client_id: str,
    now: int,
    signature: Check,
    max_clock_skew: int = 60,
    max_age: int = 600,
    replay_cache: ReplayCache | None = None,
) -> LogoutToken:
    """BCL 1.0 §2.6 steps 2-6 after the signature verified (step 2's signature part).

    ``typ``, when present, must be ``logout+jwt``; ``iss``, ``aud``, ``iat`` as for an ID
    Token (and ``exp`` when present); ``iat`` at most ``max_age`` seconds old, which bounds how
    long the ``replay_cache`` must remember a ``jti``; ``sub`` and/or ``sid``; the
    ``events`` claim with the back-channel logout member, whose value is a JSON object; no
    ``nonce`` (so an ID Token can never pass as a Logout Token).
    """
    header, claims = verified.header, verified.claims
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in _LOGOUT_TYP:
        raise InvalidLogoutToken(
            f"the token's typ is {typ!r}, not logout+jwt (BCL 1.0 §2.4)", claim="typ"
        )
    try:
        require_types(claims, ("iss", "jti"), ("iat",))
    except InvalidClaims as exc:
        raise InvalidLogoutToken(exc.message, claim=exc.claim) from None
    checks = [signature, check_issuer(claims, issuer)]
    checks += check_audience(claims, client_id)
    checks += check_times(claims, now, max_clock_skew)
    age = now - claims["iat"]
    if age > max_age + max_clock_skew:
        raise InvalidLogoutToken(
            f"the Logout Token was issued {int(age)} s ago, more than {max_age} s", claim="iat"
        )
    sub, sid = claims.get("sub"), claims.get("sid")
    if sub is None and sid is None:
        raise InvalidLogoutToken("the Logout Token has neither sub nor sid (BCL 1.0 §2.6 step 3)")
    for name, value in (("sub", sub), ("sid", sid)):
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidLogoutToken(f"{name} is not a string", claim=name)
    events = claims.get("events")
    if not isinstance(events, Mapping) or BACKCHANNEL_LOGOUT_EVENT not in events:
        raise InvalidLogoutToken(
            f"the events claim lacks {BACKCHANNEL_LOGOUT_EVENT} (BCL 1.0 §2.6 step 4)",
            claim="events",
        )
    if not isinstance(events[BACKCHANNEL_LOGOUT_EVENT], Mapping):
        raise InvalidLogoutToken("the back-channel logout event is not a JSON object")
    checks.append(Check("events", "has the back-channel logout event"))
    if "nonce" in claims:
        raise InvalidLogoutToken(
            "the Logout Token has a nonce, which is forbidden (BCL 1.0 §2.6 step 5): it may be "
            "an ID Token",
            claim="nonce",
        )
    if replay_cache is not None:
        expires_at = int(claims["iat"]) + max_age + 2 * max_clock_skew
        if replay_cache.seen(f"{claims['iss']} {claims['jti']}", expires_at, now):
            raise InvalidLogoutToken(
                "this Logout Token (jti) was received before: a replay (BCL 1.0 §2.6 step 6)",
                claim="jti",
            )
        checks.append(Check("jti", "not seen before"))
    return LogoutToken(raw=raw, header=header, claims=claims, checks=tuple(checks))
