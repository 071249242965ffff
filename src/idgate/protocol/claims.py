"""Which End-User Claims a client receives (OpenID Connect Core 1.0 §5.4, §5.5).

Claims come from the scopes granted and from the `claims` request parameter; a Claim the
account does not have is left out (Core §5.5.1: not an error, even when essential).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from idgate.protocol.scopes import claims_for_scopes

# `sub` is set by the protocol, never copied from the account (Core §5.3.2).
_NEVER_RELEASED = frozenset({"sub"})


def release_claims(
    account_claims: Mapping[str, Any],
    *,
    scopes: Iterable[str] = (),
    requested: Iterable[str] = (),
) -> dict[str, Any]:
    """The account's Claims named by `scopes` or individually `requested`, that it has."""
    wanted = (claims_for_scopes(scopes) | frozenset(requested)) - _NEVER_RELEASED
    return {name: account_claims[name] for name in sorted(wanted) if name in account_claims}
