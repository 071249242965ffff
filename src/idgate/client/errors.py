"""The exceptions of :mod:`idgate.client`: each says what was wrong and what to check.

::

    ClientError                          base class; ``str(error)`` = message + "check: …" hint
    ├── ConfigurationError               the RP is set up wrong for what it was asked to do
    │   └── EndpointNotAvailable         the OP does not offer that endpoint (yet)
    ├── ProviderError                    talking to the OP failed
    │   ├── ProviderUnreachable          network error or time-out
    │   ├── InvalidProviderResponse      wrong status, not JSON, a malformed document
    │   └── ErrorResponse                the OP answered with an OAuth error (RFC 6749 §5.2)
    ├── AuthorizationResponseError       the redirect back from the OP cannot be accepted
    │   ├── AuthorizationError           error=… came back (RFC 6749 §4.1.2.1, Core §3.1.2.6)
    │   ├── StateMismatch                not the response to this request (RFC 6749 §10.12)
    │   ├── IssuerParameterMismatch      ``iss`` names another OP: mix-up (RFC 9207 §2.4)
    │   └── MalformedAuthorizationResponse
    └── ValidationError                  a token or claim failed validation (Core §3.1.3.7)
        ├── InvalidSignature             signature, alg, or no key for the kid
        ├── IssuerMismatch               ``iss`` claim
        ├── AudienceMismatch             ``aud`` claim
        ├── AuthorizedPartyMismatch      ``azp`` claim
        ├── TokenExpired                 ``exp`` claim
        ├── IssuedInTheFuture            ``iat`` claim
        ├── NonceMismatch                ``nonce`` claim
        ├── AuthTimeError                ``auth_time`` with ``max_age``, or changed on refresh
        ├── HashMismatch                 ``c_hash``, ``at_hash``, ``s_hash``
        ├── SubjectMismatch              another End-User than the ID Token's
        ├── InvalidClaims                a claim is missing or of the wrong type
        └── InvalidLogoutToken           a Back-Channel Logout Token rule (BCL 1.0 §2.6)

Messages never contain a token, a code or a secret, so they may be logged.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AudienceMismatch",
    "AuthTimeError",
    "AuthorizationError",
    "AuthorizationResponseError",
    "AuthorizedPartyMismatch",
    "ClientError",
    "ConfigurationError",
    "EndpointNotAvailable",
    "ErrorResponse",
    "HashMismatch",
    "InvalidClaims",
    "InvalidLogoutToken",
    "InvalidProviderResponse",
    "InvalidSignature",
    "IssuedInTheFuture",
    "IssuerMismatch",
    "IssuerParameterMismatch",
    "MalformedAuthorizationResponse",
    "NonceMismatch",
    "ProviderError",
    "ProviderUnreachable",
    "StateMismatch",
    "SubjectMismatch",
    "TokenExpired",
    "ValidationError",
]


class ClientError(Exception):
    """Base class of every error raised on purpose by :mod:`idgate.client`.

    ``message`` says what was wrong; ``hint`` what to check (each class has a default).
    """

    default_hint: ClassVar[str] = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return f"{self.message} (check: {self.hint})" if self.hint else self.message


# --- configuration --------------------------------------------------------------------------


class ConfigurationError(ClientError):
    """The RP's settings do not allow what was asked (a missing secret, an unsupported type)."""

    default_hint = "the ClientCredentials and the arguments given to RelyingParty"


class EndpointNotAvailable(ConfigurationError):
    """The OP's discovery document does not list the endpoint this call needs."""

    default_hint = "the OP's /.well-known/openid-configuration: the endpoint is not listed there"


# --- talking to the OP ----------------------------------------------------------------------


class ProviderError(ClientError):
    """A request to the OP failed. ``status`` is the HTTP status when there was an answer."""

    default_hint = "that the issuer URL is right and the OP is running"

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class ProviderUnreachable(ProviderError):
    """No answer: connection refused, DNS, TLS or a time-out."""

    default_hint = "that the OP is running and reachable at the issuer URL from this machine"


class InvalidProviderResponse(ProviderError):
    """An answer that is not what the spec says it must be (status, content type, fields)."""

    default_hint = "that the issuer URL points to an OpenID Provider, and the OP's logs"


class ErrorResponse(ProviderError):
    """The OP answered with an OAuth error (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3.1).

    ``error`` is the OAuth error code, ``description`` the OP's ``error_description``.
    """

    default_hint = "the OP's error_description, and the client's registration at the OP"

    def __init__(
        self,
        endpoint: str,
        error: str,
        description: str | None = None,
        *,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        detail = f": {description}" if description else ""
        super().__init__(f"the {endpoint} answered {error}{detail}", status=status, hint=hint)
        self.endpoint = endpoint
        self.error = error
        self.description = description


# --- the authorization response -------------------------------------------------------------


class AuthorizationResponseError(ClientError):
    """The authorization response (the redirect back to the RP) cannot be accepted."""

    default_hint = "that the callback is handed the response as the OP sent it"


class AuthorizationError(AuthorizationResponseError):
    """The OP sent an error instead of a code or tokens (RFC 6749 §4.1.2.1, Core §3.1.2.6).

    ``error`` is e.g. ``access_denied`` (the End-User said no) or ``login_required``.
    """

    default_hint = (
        "error and error_description: the End-User may have denied, or the request is wrong"
    )

    def __init__(
        self,
        error: str,
        description: str | None = None,
        uri: str | None = None,
        *,
        state: str | None = None,
    ) -> None:
        detail = f": {description}" if description else ""
        super().__init__(f"the OP answered the authorization request with {error}{detail}")
        self.error = error
        self.description = description
        self.uri = uri
        self.state = state


class StateMismatch(AuthorizationResponseError):
    """``state`` is missing or is not the one of this AuthorizationSession (RFC 6749 §10.12).

    Either the response belongs to another request (another tab, an old one), or someone tries
    to inject their own response (CSRF). Never accept it.
    """

    default_hint = (
        "that the callback uses the AuthorizationSession stored for this browser; "
        "start the sign-in again"
    )


class IssuerParameterMismatch(AuthorizationResponseError):
    """The response's ``iss`` parameter is missing or names another OP (RFC 9207 §2.4).

    With several OPs, an attacker can make a response of one OP arrive at the callback meant
    for another (a mix-up attack, RFC 9700 §4.4). Never accept it.
    """

    default_hint = (
        "that the callback is matched to the OP the request was sent to; a response of "
        "another OP arrived here"
    )


class MalformedAuthorizationResponse(AuthorizationResponseError):
    """A parameter is missing, repeated, or came in a place the spec forbids."""


# --- validation -----------------------------------------------------------------------------


class ValidationError(ClientError):
    """A token or response failed validation (Core §3.1.3.7). ``claim`` names the claim."""

    default_hint = "that the response came from the OP unaltered; start the sign-in again"

    def __init__(self, message: str, *, claim: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.claim = claim


class InvalidSignature(ValidationError):
    """The JWS signature does not verify, its ``alg`` is refused, or no key fits (Core §3.1.3.7
    steps 6-8)."""

    default_hint = (
        "the client's registered id_token_signed_response_alg and the OP's jwks_uri; "
        "an altered token fails here"
    )


class IssuerMismatch(ValidationError):
    """The ``iss`` claim is not the OP's issuer identifier (Core §3.1.3.7 step 2)."""

    default_hint = "that the RP's issuer is exactly the OP's issuer string (scheme, host, path)"


class AudienceMismatch(ValidationError):
    """``aud`` does not contain the client_id, or has an audience the RP does not trust (Core
    §3.1.3.7 step 3)."""

    default_hint = "the client_id given to the RP; the token was issued to another client"


class AuthorizedPartyMismatch(ValidationError):
    """``azp`` is missing with several audiences, or is not the client_id (Core §3.1.3.7 steps
    4-5)."""

    default_hint = "the client_id given to the RP; the token was issued for another party"


class TokenExpired(ValidationError):
    """``exp`` is past, beyond the allowed clock skew (Core §3.1.3.7 step 9)."""

    default_hint = "this machine's clock, and the max_clock_skew given to the RP"


class IssuedInTheFuture(ValidationError):
    """``iat`` is later than now plus the allowed clock skew (Core §3.1.3.7 step 10)."""

    default_hint = "this machine's clock and the OP's, and the max_clock_skew given to the RP"


class NonceMismatch(ValidationError):
    """``nonce`` is missing or is not the one of this AuthorizationSession (Core §3.1.3.7 step
    11): a replayed or injected ID Token."""

    default_hint = (
        "that the callback uses the AuthorizationSession stored for this browser; "
        "start the sign-in again"
    )


class AuthTimeError(ValidationError):
    """``auth_time`` is missing though ``max_age`` was asked, is too old (Core §3.1.3.7 step 13),
    or changed on a refresh (Core §12.2)."""

    default_hint = "the max_age of the request and this machine's clock"


class HashMismatch(ValidationError):
    """``c_hash``, ``at_hash`` or ``s_hash`` is missing or does not match (Core §3.3.2.11,
    §3.2.2.9, §3.1.3.8): the code or token did not come with this ID Token."""

    default_hint = (
        "that the code, access token and ID Token are the ones of one response; a swapped or "
        "altered one fails here"
    )


class SubjectMismatch(ValidationError):
    """Another End-User than the one of the ID Token (Core §3.3.3.6, §5.3.2, §12.2)."""

    default_hint = (
        "that the tokens belong to one sign-in; a token of another End-User was substituted"
    )


class InvalidClaims(ValidationError):
    """A required claim is missing, or a claim has the wrong JSON type (Core §2)."""

    default_hint = "that the token is an ID Token of an OpenID Provider"


class InvalidLogoutToken(ValidationError):
    """A Back-Channel Logout Token breaks a rule of BCL 1.0 §2.4 or §2.6."""

    default_hint = "that the request to the back-channel logout URI carries a Logout Token"
