"""idgate.client: an async OpenID Connect Relying Party library on httpx.

Discovery and JWKS (cached; refreshed on an unknown ``kid``), dynamic registration, the
authorization request for every response type (state, nonce, PKCE S256), the response in
query, fragment or form_post, full ID Token validation (signature, ``iss``, ``aud``, ``azp``,
``exp``, ``iat``, ``nonce``, ``auth_time``, ``c_hash``, ``at_hash``, ``s_hash``), the code
exchange and its consistency checks, UserInfo, refresh, the end-session URL and Back-Channel
Logout Tokens. See :class:`RelyingParty` for the flow and docs/client.md for a guide.

It works with any OpenID Provider, not only idgate, and imports neither the web framework nor
the database layer of idgate.
"""

from idgate.client.callback import AuthorizationResponse, check_authorization_response
from idgate.client.credentials import AuthMethod, ClientCredentials
from idgate.client.discovery import KeySet, ProviderMetadata, fetch_provider_metadata
from idgate.client.errors import (
    AudienceMismatch,
    AuthorizationError,
    AuthorizationResponseError,
    AuthorizedPartyMismatch,
    AuthTimeError,
    ClientError,
    ConfigurationError,
    EndpointNotAvailable,
    ErrorResponse,
    HashMismatch,
    InvalidClaims,
    InvalidLogoutToken,
    InvalidProviderResponse,
    InvalidSignature,
    IssuedInTheFuture,
    IssuerMismatch,
    IssuerParameterMismatch,
    MalformedAuthorizationResponse,
    NonceMismatch,
    ProviderError,
    ProviderUnreachable,
    StateMismatch,
    SubjectMismatch,
    TokenExpired,
    ValidationError,
)
from idgate.client.logout import (
    BACKCHANNEL_LOGOUT_EVENT,
    LogoutToken,
    MemoryReplayCache,
    ReplayCache,
    end_session_url,
)
from idgate.client.registration import RegisteredClient, register_client
from idgate.client.requests import (
    AuthorizationRequest,
    AuthorizationSession,
    ResponseMode,
    build_authorization_request,
)
from idgate.client.rp import AuthorizationResult, RelyingParty, TokenSet, UserInfo
from idgate.client.validation import Check, IDToken, IDTokenExpectations

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "AudienceMismatch",
    "AuthMethod",
    "AuthTimeError",
    "AuthorizationError",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "AuthorizationResponseError",
    "AuthorizationResult",
    "AuthorizationSession",
    "AuthorizedPartyMismatch",
    "Check",
    "ClientCredentials",
    "ClientError",
    "ConfigurationError",
    "EndpointNotAvailable",
    "ErrorResponse",
    "HashMismatch",
    "IDToken",
    "IDTokenExpectations",
    "InvalidClaims",
    "InvalidLogoutToken",
    "InvalidProviderResponse",
    "InvalidSignature",
    "IssuedInTheFuture",
    "IssuerMismatch",
    "IssuerParameterMismatch",
    "KeySet",
    "LogoutToken",
    "MalformedAuthorizationResponse",
    "MemoryReplayCache",
    "NonceMismatch",
    "ProviderError",
    "ProviderMetadata",
    "ProviderUnreachable",
    "RegisteredClient",
    "RelyingParty",
    "ReplayCache",
    "ResponseMode",
    "StateMismatch",
    "SubjectMismatch",
    "TokenExpired",
    "TokenSet",
    "UserInfo",
    "ValidationError",
    "build_authorization_request",
    "check_authorization_response",
    "end_session_url",
    "fetch_provider_metadata",
    "register_client",
]
