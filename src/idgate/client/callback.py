"""The authorization response: parsing it from where it arrived, and the checks before any token.

The response reaches the RP's ``redirect_uri`` in one of three places (Multiple Response Types
§2.1, Form Post Response Mode §2):

- ``query``: the server sees it; :meth:`AuthorizationResponse.from_query` (or ``from_url``).
- ``fragment``: only the browser sees it; a page script must send it to the server, which
  passes the fragment string to :meth:`AuthorizationResponse.from_fragment`.
- ``form_post``: an auto-submitted form; pass the form fields to
  :meth:`AuthorizationResponse.from_form_post`.

:func:`check_authorization_response` then checks, in this order: the ``iss`` parameter when the
OP advertises it (RFC 9207 §2.4: a mix-up defence; a response with an ID Token may leave it
out, since the ID Token's signed ``iss`` claim identifies the OP), ``state`` (RFC 6749
§10.12: CSRF), an ``error`` (RFC 6749 §4.1.2.1, Core §3.1.2.6), and that the artifacts of the
response type are all there. The ID Token's own checks are in :mod:`idgate.client.validation`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from idgate.client.discovery import ProviderMetadata
from idgate.client.errors import (
    AuthorizationError,
    IssuerParameterMismatch,
    MalformedAuthorizationResponse,
    StateMismatch,
)
from idgate.client.requests import AuthorizationSession

__all__ = ["AuthorizationResponse", "ResponseLocation", "check_authorization_response"]

ResponseLocation = Literal["query", "fragment", "form_post"]
_MAX_PARAMETERS = 64


@dataclass(frozen=True)
class AuthorizationResponse:
    """The parameters of an authorization response and where they arrived."""

    parameters: Mapping[str, str]
    location: ResponseLocation

    @classmethod
    def from_query(cls, query: str) -> AuthorizationResponse:
        """From the query string of the request to the ``redirect_uri`` (no leading ``?``)."""
        return cls(_parse(query.removeprefix("?")), "query")

    @classmethod
    def from_fragment(cls, fragment: str) -> AuthorizationResponse:
        """From the fragment the browser saw (with or without the leading ``#``)."""
        return cls(_parse(fragment.removeprefix("#")), "fragment")

    @classmethod
    def from_form_post(
        cls, form: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> AuthorizationResponse:
        """From the fields of a form_post response (a mapping, or pairs to catch repeats)."""
        pairs = list(form.items()) if isinstance(form, Mapping) else list(form)
        return cls(_unique(pairs), "form_post")

    @classmethod
    def from_url(cls, url: str) -> AuthorizationResponse:
        """From a whole redirect URL (e.g. a ``Location`` header): the fragment if it has one,
        else the query."""
        parts = urlsplit(url)
        if parts.fragment:
            return cls.from_fragment(parts.fragment)
        return cls.from_query(parts.query)

    def get(self, name: str) -> str | None:
        return self.parameters.get(name)


def _parse(encoded: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(encoded, keep_blank_values=True, strict_parsing=bool(encoded))
    except ValueError:
        raise MalformedAuthorizationResponse(
            "the authorization response is not form-urlencoded"
        ) from None
    return _unique(pairs)


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    if len(pairs) > _MAX_PARAMETERS:
        raise MalformedAuthorizationResponse("the authorization response has too many parameters")
    result: dict[str, str] = {}
    for name, value in pairs:
        if name in result:
            # RFC 6749 §3.1: parameters MUST NOT be included more than once.
            raise MalformedAuthorizationResponse(
                f"the parameter {name} is repeated (RFC 6749 §3.1)"
            )
        result[name] = value
    return result


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def check_authorization_response(
    response: AuthorizationResponse, session: AuthorizationSession, metadata: ProviderMetadata
) -> None:
    """Everything that can be checked before looking into the ID Token (see the module doc)."""
    params = response.parameters
    issuer = params.get("iss")
    if issuer is not None:
        # RFC 9207 §2.4: compare whenever it is present, and require it when advertised.
        if not _same(issuer, metadata.issuer):
            raise IssuerParameterMismatch(
                f"the response's iss parameter is {issuer!r}, but the request went to "
                f"{metadata.issuer!r} (RFC 9207 §2.4)"
            )
    elif metadata.authorization_response_iss_parameter_supported and "id_token" not in params:
        # An ID Token in the response names its issuer itself, signed (its iss claim is
        # checked next): OPs such as node-oidc-provider then leave the parameter out.
        raise IssuerParameterMismatch(
            "the response has no iss parameter, though the OP promises one (RFC 9207 §2.4)"
        )
    if session.issuer != metadata.issuer:
        raise IssuerParameterMismatch(
            f"the AuthorizationSession is for {session.issuer!r}, not {metadata.issuer!r}"
        )

    state = params.get("state")
    if state is None:
        raise StateMismatch("the response has no state parameter (RFC 6749 §4.1.2)")
    if not _same(state, session.state):
        raise StateMismatch("the response's state is not the one of this AuthorizationSession")

    error = params.get("error")
    if error is not None:
        raise AuthorizationError(
            error, params.get("error_description"), params.get("error_uri"), state=state
        )

    words = session.words
    if response.location == "query" and {"id_token", "access_token"} & params.keys():
        raise MalformedAuthorizationResponse(
            "tokens arrived in the query component, where the spec forbids them "
            "(Multiple Response Types §2.1)"
        )
    needed = []
    if "code" in words:
        needed.append("code")
    if "id_token" in words:
        needed.append("id_token")
    if "token" in words:
        needed += ["access_token", "token_type"]
    missing = [name for name in needed if not params.get(name)]
    if missing:
        raise MalformedAuthorizationResponse(
            f"response_type {session.response_type!r} needs {', '.join(missing)} in the response, "
            "and it is missing"
        )
    if "token" in words and params["token_type"].lower() != "bearer":
        raise MalformedAuthorizationResponse(
            f"token_type {params['token_type']!r} is not supported; only Bearer is (RFC 6750)"
        )
