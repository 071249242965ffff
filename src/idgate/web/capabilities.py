"""What this build of idgate supports, for the discovery document.

Grows as endpoints land: an entry here is a promise that the feature works.
"""

from __future__ import annotations

from collections.abc import Sequence

from idgate.config import Settings
from idgate.protocol.authorize import PROMPT_VALUES, RESPONSE_TYPE_VALUES
from idgate.protocol.clients import AUTH_METHODS
from idgate.protocol.discovery import Capabilities
from idgate.protocol.registration import REQUEST_OBJECT_ALGS
from idgate.protocol.scopes import SCOPE_CLAIMS, SUPPORTED_SCOPES
from idgate.protocol.subjects import SUBJECT_TYPES

CLIENT_ASSERTION_ALGS = ("RS256", "PS256", "ES256", "EdDSA", "HS256", "HS384", "HS512")
CONFIDENTIAL_AUTH_METHODS = tuple(m for m in AUTH_METHODS if m != "none")


def capabilities(settings: Settings, signing_algs: Sequence[str]) -> Capabilities:
    claims = sorted(
        set().union(*SCOPE_CLAIMS.values()) | {"sub", "iss", "auth_time", "acr", "amr", "sid"}
    )
    return Capabilities(
        issuer=settings.issuer,
        signing_algs=signing_algs,
        endpoints={
            "authorization_endpoint": settings.endpoint("/authorize"),
            "token_endpoint": settings.endpoint("/token"),
            "userinfo_endpoint": settings.endpoint("/userinfo"),
            "introspection_endpoint": settings.endpoint("/introspect"),
            "revocation_endpoint": settings.endpoint("/revoke"),
            # Session Management, RP-Initiated, Front- and Back-Channel Logout 1.0.
            "end_session_endpoint": settings.endpoint("/logout"),
            "check_session_iframe": settings.endpoint("/check_session"),
            # RFC 9126 §5; a client may be held to it (require_pushed_authorization_requests).
            "pushed_authorization_request_endpoint": settings.endpoint("/par"),
            **(
                {"registration_endpoint": settings.endpoint("/register")}
                if settings.registration != "off"
                else {}
            ),
        },
        response_types=RESPONSE_TYPE_VALUES,
        response_modes=("query", "fragment", "form_post"),
        grant_types=("authorization_code", "implicit", "refresh_token", "client_credentials"),
        token_endpoint_auth_methods=AUTH_METHODS,
        token_endpoint_auth_signing_algs=CLIENT_ASSERTION_ALGS,
        scopes=sorted(SUPPORTED_SCOPES),
        claims=claims,
        prompt_values=PROMPT_VALUES,
        subject_types=SUBJECT_TYPES,
        code_challenge_methods=("S256", "plain") if settings.allow_plain_pkce else ("S256",),
        extra={
            "claims_parameter_supported": True,
            # Core §6; RFC 9101. `none` only for clients that register it (request_object.py).
            "request_parameter_supported": True,
            "request_uri_parameter_supported": True,
            "require_request_uri_registration": True,
            "require_pushed_authorization_requests": False,
            "request_object_signing_alg_values_supported": [*REQUEST_OBJECT_ALGS, "none"],
            "authorization_response_iss_parameter_supported": True,
            "claim_types_supported": ["normal"],
            "display_values_supported": ["page", "popup", "touch", "wap"],
            "userinfo_signing_alg_values_supported": list(signing_algs),
            # Introspection and revocation authenticate clients exactly as the token endpoint.
            "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
            "introspection_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_ALGS),
            "frontchannel_logout_supported": True,
            "frontchannel_logout_session_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        },
    )
