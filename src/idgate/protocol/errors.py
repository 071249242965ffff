"""The error tree of the protocol core.

Each class fixes the OAuth `error` code, the HTTP status it is answered with at a JSON endpoint,
and whether it may be sent back to the client's `redirect_uri` (RFC 6749 §4.1.2.1, §5.2;
OpenID Connect Core 1.0 §3.1.2.6). The edge turns them into responses; the core only raises.
"""

from __future__ import annotations

import re
from typing import ClassVar

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_UNSAFE_DESCRIPTION_CHARS = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
_MAX_DESCRIPTION = 300


def safe_description(text: str) -> str:
    """Make `text` fit the error_description grammar, so raw input can never be echoed as is."""
    return _UNSAFE_DESCRIPTION_CHARS.sub("?", text)[:_MAX_DESCRIPTION]


class OAuthError(Exception):
    """An error with an OAuth `error` code. Raise a subclass, never this class itself."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400
    # False for errors that must never reach a redirect_uri (unknown client, bad redirect_uri).
    redirectable: ClassVar[bool] = True

    def __init__(self, description: str = "") -> None:
        self.description = safe_description(description)
        super().__init__(f"{self.error}: {self.description}" if self.description else self.error)

    def to_dict(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


# --- RFC 6749 §4.1.2.1 / §5.2 -------------------------------------------------------------


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2). `basic` asks for a WWW-Authenticate header."""

    error = "invalid_client"
    status_code = 401
    redirectable = False

    def __init__(self, description: str = "", *, basic: bool = False) -> None:
        super().__init__(description)
        self.basic = basic


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


class TooManyRequests(OAuthError):
    """A rate limit was hit: 429 with `Retry-After` (RFC 6585 §4; RFC 9110 §10.2.3). OAuth has
    no code of its own for it; `temporarily_unavailable` says what the client should do."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int, description: str = "too many requests") -> None:
        super().__init__(f"{description}; retry after {retry_after} seconds")
        self.retry_after = retry_after


# --- OpenID Connect Core 1.0 §3.1.2.6 -----------------------------------------------------


class InteractionRequired(OAuthError):
    error = "interaction_required"


class LoginRequired(OAuthError):
    error = "login_required"


class AccountSelectionRequired(OAuthError):
    error = "account_selection_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InvalidRequestUri(OAuthError):
    error = "invalid_request_uri"


class InvalidRequestObject(OAuthError):
    error = "invalid_request_object"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class RegistrationNotSupported(OAuthError):
    error = "registration_not_supported"


# --- Errors that must never be redirected ---------------------------------------------------


class UnsafeToRedirect(InvalidRequest):
    """The client or its redirect_uri could not be trusted: answer with a page, never a redirect.

    RFC 6749 §4.1.2.1: the authorization server must not redirect the user-agent to an invalid
    redirection URI, and must inform the resource owner instead.
    """

    redirectable = False


class UnknownClient(UnsafeToRedirect):
    pass


class InvalidRedirectUri(UnsafeToRedirect):
    pass


# --- RFC 6750 §3.1 (protected resources) ----------------------------------------------------


class InvalidToken(OAuthError):
    error = "invalid_token"
    status_code = 401
    redirectable = False


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status_code = 403
    redirectable = False


# --- RFC 7591 §3.2.2 (registration) -----------------------------------------------------------


class InvalidClientMetadata(OAuthError):
    error = "invalid_client_metadata"
    redirectable = False


class InvalidRedirectUriMetadata(InvalidClientMetadata):
    error = "invalid_redirect_uri"


# --- RFC 7009 §2.2.1 -----------------------------------------------------------------------


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"
    redirectable = False
