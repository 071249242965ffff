"""Standard scope values and the Claims each one releases.

OpenID Connect Core 1.0 §5.4 (profile, email, address, phone), §3.1.2.1 (openid) and §11
(offline_access). UserInfo and ID Token claim selection build on `claims_for_scopes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

OPENID: Final = "openid"
OFFLINE_ACCESS: Final = "offline_access"

# Core §5.4: the Claims each standard scope value requests. `openid` itself releases only `sub`
# (Core §2, §5.3.2); `offline_access` asks for a refresh token, not for Claims (Core §11).
SCOPE_CLAIMS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        OPENID: frozenset({"sub"}),
        "profile": frozenset(
            {
                "name",
                "family_name",
                "given_name",
                "middle_name",
                "nickname",
                "preferred_username",
                "profile",
                "picture",
                "website",
                "gender",
                "birthdate",
                "zoneinfo",
                "locale",
                "updated_at",
            }
        ),
        "email": frozenset({"email", "email_verified"}),
        "address": frozenset({"address"}),
        "phone": frozenset({"phone_number", "phone_number_verified"}),
        OFFLINE_ACCESS: frozenset(),
    }
)

SUPPORTED_SCOPES: Final[frozenset[str]] = frozenset(SCOPE_CLAIMS)


def claims_for_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The Claim names released by `scopes` (Core §5.4); unknown scope values release nothing."""
    released: set[str] = set()
    for scope in scopes:
        released |= SCOPE_CLAIMS.get(scope, frozenset())
    return frozenset(released)
