"""Which End-User Claims a client receives (OpenID Connect Core 1.0 §5.4, §5.5).

Claims come from the scopes granted and from the `claims` request parameter; a Claim the
account does not have is left out (Core §5.5.1: not an error, even when essential).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from idgate.protocol.scopes import claims_for_scopes

# `sub` is set by the protocol, never copied from the account (Core §5.3.2).
_NEVER_RELEASED = frozenset({"sub"})


def release_claims(
    account_claims: Mapping[str, Any],
    *,
    scopes: Iterable[str] = (),
    requested: Iterable[str] = (),
    locales: Sequence[str] = (),
) -> dict[str, Any]:
    """The account's Claims named by `scopes` or individually `requested`, that it has.

    Localized values (Core §5.2) are kept as Claim names with a `#` and a BCP 47 tag
    (`name#fr`). They are released as they are named: when requested by that full name
    (Core §5.5.2), and, for every Claim released, in each of the `claims_locales` the account
    has, next to the untagged value. Tags match exactly, ignoring case (RFC 5646 §2.1.1).
    """
    wanted = (claims_for_scopes(scopes) | frozenset(requested)) - _NEVER_RELEASED
    released = {name: account_claims[name] for name in sorted(wanted) if name in account_claims}
    if locales:
        tagged = _tagged_claims(account_claims)
        for name in sorted(wanted):
            for locale in locales:
                key = tagged.get((name, locale.lower()))
                if key is not None:
                    released[key] = account_claims[key]
    return released


def _tagged_claims(account_claims: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(Claim name, lower-case language tag) → the account's `name#tag` key."""
    tagged: dict[tuple[str, str], str] = {}
    for key in account_claims:
        name, sep, tag = key.partition("#")
        if sep and name and tag:
            tagged.setdefault((name, tag.lower()), key)
    return tagged
