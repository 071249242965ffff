"""Authorization responses: how parameters travel back to the client's redirect_uri.

- `query`: RFC 6749 §4.1.2 and OAuth 2.0 Multiple Response Type Encoding Practices §2.1 — the
  parameters are added to the redirect_uri's query component, keeping any query it already has
  (RFC 6749 §3.1.2: "MUST retain" it).
- `fragment`: Multiple Response Type Encoding Practices §2.1, RFC 6749 §4.2.2.
- `form_post`: OAuth 2.0 Form Post Response Mode §2 — an auto-submitted HTML form; rendering it
  is the web layer's job, this module only says where and what.

Values are application/x-www-form-urlencoded (RFC 6749 Appendix B), so a `state` of any
characters comes back byte-exact. `state` comes from the `ResponseTarget` (RFC 6749 §4.1.2,
§4.1.2.1); `iss` (RFC 9207 §2) is passed in by the caller on success and added here on error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias
from urllib.parse import quote_plus

from idgate.protocol.errors import OAuthError

ResponseMode = Literal["query", "fragment", "form_post"]
RESPONSE_MODES: Final[tuple[ResponseMode, ...]] = ("query", "fragment", "form_post")

# What `quote_plus` leaves as it is: codes, tokens and most `state`s are made of nothing else.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


@dataclass(frozen=True, slots=True)
class ResponseTarget:
    """Where every response to one authorization request goes, once client and URI are trusted.

    `redirect_uri` is the validated URI from the request; `state` is the client's value, sent
    back unchanged (None when it was absent).
    """

    redirect_uri: str
    response_mode: ResponseMode
    state: str | None = None


@dataclass(frozen=True, slots=True)
class RedirectTo:
    """Answer with a redirect (302/303) to `location`."""

    location: str


@dataclass(frozen=True, slots=True)
class FormPost:
    """Answer with an auto-submitting form posting `fields` to `action` (Form Post §2)."""

    action: str
    fields: tuple[tuple[str, str], ...]


AuthorizationResponse: TypeAlias = RedirectTo | FormPost


def build_response(target: ResponseTarget, fields: Mapping[str, str]) -> AuthorizationResponse:
    """Encode `fields` (plus `state` from the target) in the target's response mode.

    The caller includes `iss` (RFC 9207 §2). `state` must not be in `fields`: it always comes
    from the target, so it cannot differ from what the client sent.
    """
    if "state" in fields:
        raise ValueError("state is taken from the ResponseTarget, not from fields")
    pairs = [(name, value) for name, value in fields.items()]
    if target.state is not None:
        pairs.append(("state", target.state))
    if target.response_mode == "form_post":
        return FormPost(action=target.redirect_uri, fields=tuple(pairs))
    if "#" in target.redirect_uri:
        # Registration refuses fragments (RFC 6749 §3.1.2); one here is a programming error.
        raise ValueError("a redirect_uri must not contain a fragment")
    encoded = form_urlencoded(pairs)
    if target.response_mode == "fragment":
        return RedirectTo(f"{target.redirect_uri}#{encoded}")
    return RedirectTo(_append_query(target.redirect_uri, encoded))


def form_urlencoded(pairs: Iterable[tuple[str, str]]) -> str:
    """`urllib.parse.urlencode(pairs)`, without quoting what needs none."""
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in pairs)


def _quoted(text: str) -> str:
    return text if _UNRESERVED.fullmatch(text) else quote_plus(text)


def _append_query(uri: str, encoded: str) -> str:
    """Add `encoded` to the query of `uri`, leaving the existing query byte-for-byte as is."""
    if not encoded:
        return uri
    if "?" not in uri:
        return f"{uri}?{encoded}"
    if uri.endswith(("?", "&")):
        return f"{uri}{encoded}"
    return f"{uri}&{encoded}"


def error_response(
    target: ResponseTarget,
    error: OAuthError,
    *,
    issuer: str,
    extra: Mapping[str, str] | None = None,
) -> AuthorizationResponse:
    """The error response of RFC 6749 §4.1.2.1 / §4.2.2.1 and Core §3.1.2.6, with `iss`.

    `extra` are further response parameters (`session_state`, Session Management 1.0 §4.1).

    Only redirectable errors may go to the client: an unknown client or an untrusted
    redirect_uri must be shown to the End-User instead (RFC 6749 §4.1.2.1), and calling this
    with one is a programming error.
    """
    if not error.redirectable:
        raise ValueError(f"{type(error).__name__} must not be redirected to the client")
    fields = error.to_dict()
    fields["iss"] = issuer
    fields.update(extra or {})
    return build_response(target, fields)
