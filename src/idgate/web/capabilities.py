"""What this build of idgate supports, for the discovery document.

Grows as endpoints land: an entry here is a promise that the feature works.
"""

from __future__ import annotations

from collections.abc import Sequence

from idgate.config import Settings
from idgate.protocol.authorize import PROMPT_VALUES, RESPONSE_TYPE_VALUES
from idgate.protocol.clients import AUTH_METHODS
from idgate.protocol.discovery import Capabilities
from idgate.protocol.scopes import SCOPE_CLAIMS, SUPPORTED_SCOPES


def capabilities(settings: Settings, signing_algs: Sequence[str]) -> Capabilities:
    claims = sorted(set().union(*SCOPE_CLAIMS.values()) | {"sub", "iss", "auth_time", "acr"})
    return Capabilities(
        issuer=settings.issuer,
        signing_algs=signing_algs,
        endpoints={
            "authorization_endpoint": settings.endpoint("/authorize"),
            "token_endpoint": settings.endpoint("/token"),
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
        token_endpoint_auth_signing_algs=(
            "RS256",
            "PS256",
            "ES256",
            "EdDSA",
            "HS256",
            "HS384",
            "HS512",
        ),
        scopes=sorted(SUPPORTED_SCOPES),
        claims=claims,
        prompt_values=PROMPT_VALUES,
        code_challenge_methods=("S256", "plain") if settings.allow_plain_pkce else ("S256",),
        extra={
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "claim_types_supported": ["normal"],
            "display_values_supported": ["page", "popup", "touch", "wap"],
        },
    )
