"""Logout: RP-Initiated Logout 1.0, Front-Channel Logout 1.0 and Back-Channel Logout 1.0.

Pure functions over plain values:

- :func:`parse_end_session_request`: the parameters of the end_session_endpoint
  (RP-Initiated Logout §2), bounded in size;
- :func:`hint_audience`: the client an ``id_token_hint`` was issued to (§2, §4);
- :func:`post_logout_redirect_allowed` and :func:`post_logout_location`: the exact-match rule
  of §3 and the redirect with ``state`` (§3);
- :func:`frontchannel_logout_url`: the URL rendered in an iframe, with ``iss`` and ``sid``
  when the RP asked for them (Front-Channel Logout §2, §3);
- :func:`logout_token_claims`: the claims of a Logout Token (Back-Channel Logout §2.4);
- :func:`check_logout_uri`: registration rules for both logout URIs (FCL §2, BCL §2.2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit

from idgate.protocol.errors import InvalidClientMetadata, InvalidRequest

if TYPE_CHECKING:  # protocol/clients.py imports this module for check_logout_uri
    from idgate.protocol.clients import ClientMetadata

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "END_SESSION_PARAMETERS",
    "LOGOUT_TOKEN_LIFETIME",
    "LOGOUT_TOKEN_TYP",
    "EndSessionRequest",
    "check_logout_uri",
    "frontchannel_logout_url",
    "hint_audience",
    "logout_token_claims",
    "parse_end_session_request",
    "post_logout_location",
    "post_logout_redirect_allowed",
]

#: The event that makes a JWT a Logout Token (Back-Channel Logout §2.4).
BACKCHANNEL_LOGOUT_EVENT: Final = "http://schemas.openid.net/event/backchannel-logout"
#: Explicit typing of Logout Tokens (Back-Channel Logout §2.4, RFC 8725 §3.11).
LOGOUT_TOKEN_TYP: Final = "logout+jwt"
#: Seconds a Logout Token is valid: it is delivered at once, so two minutes is plenty.
LOGOUT_TOKEN_LIFETIME: Final = 120

END_SESSION_PARAMETERS: Final = (
    "id_token_hint",
    "logout_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
)
# An ID Token with many claims stays far below this; a longer hint is refused unread.
_MAX_LENGTHS: Final = {"id_token_hint": 16_384, "post_logout_redirect_uri": 2048}
_MAX_LENGTH: Final = 1024


@dataclass(frozen=True, slots=True)
class EndSessionRequest:
    """The parameters of an RP-Initiated Logout request (§2); every one is optional."""

    id_token_hint: str | None = None
    logout_hint: str | None = None
    client_id: str | None = None
    post_logout_redirect_uri: str | None = None
    state: str | None = None
    ui_locales: tuple[str, ...] = ()


def parse_end_session_request(
    params: Mapping[str, str], repeated: frozenset[str] = frozenset()
) -> EndSessionRequest:
    """Read the request; InvalidRequest for repeated, oversized or unreadable parameters.

    Unknown parameters are ignored (§2). Empty values count as absent.
    """
    known = repeated & set(END_SESSION_PARAMETERS)
    if known:
        raise InvalidRequest(f"parameter {sorted(known)[0]} is repeated")
    values: dict[str, str] = {}
    for name in END_SESSION_PARAMETERS:
        value = params.get(name)
        if not value:
            continue
        if len(value) > _MAX_LENGTHS.get(name, _MAX_LENGTH):
            raise InvalidRequest(f"{name} is too long")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest(f"{name} is not valid text") from None
        values[name] = value
    return EndSessionRequest(
        id_token_hint=values.get("id_token_hint"),
        logout_hint=values.get("logout_hint"),
        client_id=values.get("client_id"),
        post_logout_redirect_uri=values.get("post_logout_redirect_uri"),
        state=values.get("state"),
        ui_locales=tuple(w for w in values.get("ui_locales", "").split(" ") if w),
    )


def hint_audience(claims: Mapping[str, Any]) -> str:
    """The client an ID Token was issued to: its single ``aud``, or ``azp`` among several
    (Core §2). InvalidRequest when that cannot be told."""
    aud = claims.get("aud")
    if isinstance(aud, str) and aud:
        return aud
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        if len(aud) == 1:
            return str(aud[0])
        azp = claims.get("azp")
        if isinstance(azp, str) and azp in aud:
            return azp
    raise InvalidRequest("id_token_hint has no usable audience")


def post_logout_redirect_allowed(uri: str, metadata: ClientMetadata) -> bool:
    """Exactly one of the client's registered post_logout_redirect_uris (§3), compared like a
    redirect_uri: as strings, except the port of a native client's loopback IP URI."""
    # Imported here: protocol/clients.py imports this module.
    from idgate.protocol.authorize import redirect_uri_allowed

    return redirect_uri_allowed(
        uri, dataclasses.replace(metadata, redirect_uris=metadata.post_logout_redirect_uris)
    )


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    """`uri` with `params` added to its query, which is kept as it is."""
    if not params:
        return uri
    encoded = urlencode(list(params.items()))
    if "?" not in uri:
        return f"{uri}?{encoded}"
    if uri.endswith(("?", "&")):
        return f"{uri}{encoded}"
    return f"{uri}&{encoded}"


def post_logout_location(uri: str, state: str | None) -> str:
    """Where to send the browser after logout: the registered URI, with ``state`` iff the RP
    sent one (§3)."""
    return _with_query(uri, {"state": state} if state is not None else {})


def frontchannel_logout_url(uri: str, *, issuer: str, sid: str, session_required: bool) -> str:
    """The ``frontchannel_logout_uri`` to render in an iframe (FCL §3): with ``iss`` and
    ``sid`` (both, never one) when the RP registered ``frontchannel_logout_session_required``,
    its own query kept."""
    return _with_query(uri, {"iss": issuer, "sid": sid} if session_required else {})


def logout_token_claims(
    *,
    issuer: str,
    client_id: str,
    subject: str | None,
    sid: str | None,
    issued_at: int,
    jti: str,
    lifetime: int = LOGOUT_TOKEN_LIFETIME,
) -> dict[str, Any]:
    """The claims of a Logout Token (BCL §2.4): ``iss``, ``aud``, ``iat``, ``exp``, ``jti``,
    ``events``, and ``sub`` and/or ``sid``. Never a ``nonce`` (§2.4: prohibited)."""
    if not subject and not sid:
        raise ValueError("a Logout Token needs sub or sid")
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "jti": jti,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    if subject:
        claims["sub"] = subject
    if sid:
        claims["sid"] = sid
    return claims


def check_logout_uri(uri: str, field_name: str) -> None:
    """A ``frontchannel_logout_uri`` or ``backchannel_logout_uri`` (FCL §2, BCL §2.2): an
    absolute https URL with a host and no fragment.

    Both specs allow http for confidential clients "provided the OP allows" it; idgate does
    not: a front-channel iframe over http is mixed content on an https page, and a back-channel
    call over http would send the Logout Token in the clear.
    """
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in uri):
        raise InvalidClientMetadata(f"{field_name} must not contain spaces or control characters")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InvalidClientMetadata(f"{field_name} is not a valid URL") from None
    if parts.fragment or "#" in uri:
        raise InvalidClientMetadata(f"{field_name} must not contain a fragment")
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InvalidClientMetadata(f"{field_name} must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidClientMetadata(f"{field_name} must not contain user information")
