"""How long a signing key is published before it signs, and after it stops signing.

Two caches stand between the database and a verifier: each process's key ring (reloaded at most
`reload_interval` seconds apart) and each RP's copy of `/jwks` (kept for `jwks_max_age`, the
response's Cache-Control max-age). A key added to the database is therefore known everywhere
`publish_lead` seconds later, and only then may it sign. The other way round, a process may go on
signing with a key for `reload_interval` after it was retired, and what it signed stays valid for
the longest token lifetime (plus the clock skew verifiers allow): only then is the key removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from idgate.config import Settings
from idgate.protocol.logout import LOGOUT_TOKEN_LIFETIME

# Verifiers accept a token a little past `exp` for clock skew; idgate's RP library allows up
# to 600 s, and so a retired key stays published for that much longer.
CLOCK_SKEW_MARGIN = 600


@dataclass(frozen=True, slots=True)
class KeyTimings:
    rotation_interval: int = 0
    reload_interval: int = 30
    jwks_max_age: int = 300
    # The longest lifetime of anything signed: ID Tokens, JWT access tokens, Logout Tokens.
    longest_signed_lifetime: int = 3600

    @property
    def scheduled(self) -> bool:
        return self.rotation_interval > 0

    @property
    def publish_lead(self) -> int:
        """Seconds a next key must have been in the database before it may sign."""
        return self.jwks_max_age + self.reload_interval

    @property
    def retire_after(self) -> int:
        """Seconds a retired key stays published: until everything it signed has expired."""
        return self.reload_interval + self.longest_signed_lifetime + CLOCK_SKEW_MARGIN


def key_timings(settings: Settings) -> KeyTimings:
    return KeyTimings(
        rotation_interval=settings.key_rotation_interval,
        reload_interval=settings.key_reload_interval,
        jwks_max_age=settings.jwks_max_age,
        # JWT access tokens are counted whether or not a client asks for them today: one may
        # switch its format at any time.
        longest_signed_lifetime=max(
            settings.id_token_ttl, settings.access_token_ttl, LOGOUT_TOKEN_LIFETIME
        ),
    )
