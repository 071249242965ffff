"""`id_token_hint`: an ID Token this OP issued, signature verified, expiry ignored.

One check for the authorization endpoint (Core §3.1.2.1) and the end_session_endpoint
(RP-Initiated Logout 1.0 §2): only our keys, our `iss`, a `typ` an ID Token can have, never a
Logout Token (SECURITY.md RES-02, LOG-03). Callers add their own `aud` and `sub` rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idgate.crypto.errors import InvalidJWT
from idgate.crypto.jwt import verify_jwt
from idgate.protocol.errors import InvalidRequest
from idgate.provider.keys import KeyManager

_ID_TOKEN_TYPES = frozenset({"jwt"})


async def verify_id_token_hint(token: str, keys: KeyManager, issuer: str) -> Mapping[str, Any]:
    """The hint's claims; InvalidRequest when it is not an ID Token issued here."""
    invalid = InvalidRequest("id_token_hint is not an ID Token issued by this OP")
    keyring = await keys.keyring()
    try:
        verified = verify_jwt(token, keyring.jwks(), algs=keyring.algs())
    except InvalidJWT:
        raise invalid from None
    typ = verified.header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ID_TOKEN_TYPES):
        raise invalid
    claims = verified.claims
    if claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        raise invalid
    if "events" in claims:  # a Logout Token, however typed
        raise invalid
    return claims
