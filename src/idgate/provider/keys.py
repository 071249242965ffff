"""Signing keys kept in the database: made on first start, rotated without downtime.

A key goes next → current → retired. `next` and `retired` keys are published in the JWKS but
never sign: RPs that cache the JWKS already know the next key before it signs, and can still
verify tokens signed by a retired one until they expire. Every process reloads the keys from
the database at most `reload_interval` seconds apart, so a rotation made anywhere is picked up
everywhere within that bound. How long a key is published before and after it signs is fixed
by `KeyTimings` (key_timings.py); `rotate_due` is the schedule's step (key_schedule.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

from idgate.clock import Clock
from idgate.crypto.keys import (
    SIGNING_ALGS,
    KeyRing,
    SigningKey,
    generate_signing_key,
    signing_key_from_private_jwk,
)
from idgate.crypto.sealing import KeySealer
from idgate.provider.key_timings import KeyTimings
from idgate.storage.base import KeyRepository, KeyState, StoredKey

DEFAULT_ALG = "RS256"


@dataclass(frozen=True)
class RotationResult:
    alg: str
    activated: str
    retired: str | None
    next: str
    # Seconds the activated key was published before it started signing.
    published_for: int


class RotationConflict(Exception):
    """Another process rotated the same alg at the same moment; nothing was changed here."""


def _signing_key_of(keys: Sequence[StoredKey]) -> StoredKey | None:
    """The current key that signs: the oldest, so processes that raced on first start agree."""
    current = [k for k in keys if k.state == "current"]
    return min(current, key=lambda k: (k.activated_at or k.created_at, k.kid), default=None)


def _next_key_of(keys: Sequence[StoredKey]) -> StoredKey | None:
    """The next key to sign: the longest published."""
    upcoming = [k for k in keys if k.state == "next"]
    return min(upcoming, key=lambda k: (k.created_at, k.kid), default=None)


class KeyManager:
    def __init__(
        self,
        repository: KeyRepository,
        sealer: KeySealer,
        clock: Clock,
        *,
        timings: KeyTimings | None = None,
    ) -> None:
        self._repository = repository
        self._sealer = sealer
        self._clock = clock
        self._timings = timings or KeyTimings()
        self._ring: KeyRing | None = None
        self._loaded_at = 0
        self._lock = asyncio.Lock()

    @property
    def timings(self) -> KeyTimings:
        return self._timings

    async def keyring(self) -> KeyRing:
        """The key ring, reloaded from the database when it is older than the interval."""
        now = self._clock.now()
        reload_interval = self._timings.reload_interval
        if self._ring is None or now - self._loaded_at >= reload_interval:
            async with self._lock:
                if self._ring is None or now - self._loaded_at >= reload_interval:
                    self._ring = await self._load()
                    self._loaded_at = now
        return self._ring

    def cached_keyring(self) -> KeyRing | None:
        return self._ring

    async def reload(self) -> KeyRing:
        self._loaded_at = 0
        return await self.keyring()

    async def _load(self) -> KeyRing:
        stored = await self._repository.list()
        current: dict[str, SigningKey] = {}
        published: list[SigningKey] = []
        # Oldest current key per alg wins, so processes that raced on first start agree.
        for key in sorted(stored, key=lambda k: (k.activated_at or k.created_at, k.kid)):
            signing_key = self._open(key)
            if key.state == "current" and key.alg not in current:
                current[key.alg] = signing_key
            else:
                published.append(signing_key)
        return KeyRing(current=list(current.values()), published=published)

    def _open(self, key: StoredKey) -> SigningKey:
        private_jwk = json.loads(self._sealer.open(key.private_sealed))
        return signing_key_from_private_jwk(private_jwk, key.alg)

    def _sealed(self, key: SigningKey, state: KeyState, now: int) -> StoredKey:
        return StoredKey(
            kid=key.kid,
            alg=key.alg,
            state=state,
            private_sealed=self._sealer.seal(json.dumps(dict(key.private_jwk)).encode()),
            public_jwk=dict(key.public_jwk),
            created_at=now,
            activated_at=now if state == "current" else None,
        )

    async def _generated(self, alg: str, state: KeyState, now: int) -> StoredKey:
        # RSA key generation takes tens of milliseconds: off the event loop, which serves.
        key = await asyncio.to_thread(generate_signing_key, alg)
        return self._sealed(key, state, now)

    async def _store(self, alg: str, state: KeyState) -> StoredKey:
        stored = await self._generated(alg, state, self._clock.now())
        await self._repository.add(stored)
        return stored

    async def ensure_signing_key(self, alg: str = DEFAULT_ALG) -> bool:
        """Make a current key for `alg` if there is none. True when one was made."""
        stored = await self._repository.list()
        if any(k.alg == alg and k.state == "current" for k in stored):
            return False
        await self._store(alg, "current")
        await self.reload()
        return True

    async def add(self, alg: str) -> StoredKey:
        """Add a key for `alg`: current if the alg has none yet, otherwise next."""
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported alg {alg!r}; choose from {', '.join(SIGNING_ALGS)}")
        stored = await self._repository.list()
        has_current = any(k.alg == alg and k.state == "current" for k in stored)
        key = await self._store(alg, "next" if has_current else "current")
        await self.reload()
        return key

    async def rotate(self, alg: str = DEFAULT_ALG) -> RotationResult:
        """Rotate now (the operator's command): next → current, current → retired, and a
        fresh next; retired keys past `retire_after` are removed.

        The next key signs at once, however briefly it was published (`published_for` says
        how long): a key that leaked must stop signing now. RPs whose cached JWKS predates it
        then need to fetch `/jwks` again to verify the new tokens.
        """
        of_alg = [k for k in await self._repository.list() if k.alg == alg]
        upcoming = _next_key_of(of_alg) or await self._store(alg, "next")
        result = await self._promote(alg, _signing_key_of(of_alg), upcoming)
        if result is None:
            raise RotationConflict(f"another rotation of the {alg} key happened at this moment")
        await self.remove_expired()
        return result

    async def seconds_until_next_may_sign(self, alg: str = DEFAULT_ALG) -> int:
        """How long the next key of `alg` must still be published before it may sign without
        any RP or process lacking it (0: now); publishes one first where there is none."""
        of_alg = [k for k in await self._repository.list() if k.alg == alg]
        upcoming = _next_key_of(of_alg)
        if upcoming is None:
            upcoming = await self._store(alg, "next")
            await self.reload()
        return max(0, upcoming.created_at + self._timings.publish_lead - self._clock.now())

    async def rotate_due(self) -> list[RotationResult]:
        """The schedule's step: rotate each alg whose current key has signed for the rotation
        interval, once its next key has been published for `publish_lead`; publish a next key
        where there is none. Every process runs it; the database lets one win each rotation."""
        if not self._timings.scheduled:
            return []
        now = self._clock.now()
        stored = await self._repository.list()
        done: list[RotationResult] = []
        for alg in sorted({k.alg for k in stored if k.state == "current"}):
            of_alg = [k for k in stored if k.alg == alg]
            current = _signing_key_of(of_alg)
            upcoming = _next_key_of(of_alg)
            if current is None:
                continue
            if upcoming is None:
                # Published now, it may sign `publish_lead` from now. Two processes doing this
                # at once leave a spare next key, which is harmless: it signs a rotation later.
                await self._store(alg, "next")
                await self.reload()
                continue
            signing_since = current.activated_at or current.created_at
            if now < signing_since + self._timings.rotation_interval:
                continue
            if now < upcoming.created_at + self._timings.publish_lead:
                continue
            result = await self._promote(alg, current, upcoming)
            if result is not None:
                done.append(result)
        return done

    async def _promote(
        self, alg: str, current: StoredKey | None, upcoming: StoredKey
    ) -> RotationResult | None:
        """Claim the rotation in the database; None when another process claimed it first."""
        now = self._clock.now()
        fresh = await self._generated(alg, "next", now)
        won = await self._repository.promote(
            alg=alg,
            current_kid=current.kid if current else None,
            next_kid=upcoming.kid,
            fresh_next=fresh,
            now=now,
        )
        if not won:
            return None
        await self.reload()
        return RotationResult(
            alg=alg,
            activated=upcoming.kid,
            retired=current.kid if current else None,
            next=fresh.kid,
            published_for=now - upcoming.created_at,
        )

    async def remove_expired(self) -> int:
        """Remove retired keys once everything they signed has expired; how many."""
        retired_before = self._clock.now() - self._timings.retire_after
        removed = await self._repository.remove_retired(retired_before=retired_before)
        if removed:
            await self.reload()
        return removed

    async def list(self) -> Sequence[StoredKey]:
        return await self._repository.list()
