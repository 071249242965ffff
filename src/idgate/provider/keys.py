"""Signing keys kept in the database: made on first start, rotated without downtime.

A key goes next → current → retired. `next` and `retired` keys are published in the JWKS but
never sign: RPs that cache the JWKS already know the next key before it signs, and can still
verify tokens signed by a retired one until they expire. Every process reloads the keys from
the database at most `reload_interval` seconds apart, so a rotation made anywhere is picked up
everywhere within that bound.
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
from idgate.storage.base import KeyRepository, StoredKey

DEFAULT_ALG = "RS256"


@dataclass(frozen=True)
class RotationResult:
    alg: str
    activated: str
    retired: str | None
    next: str


class KeyManager:
    def __init__(
        self,
        repository: KeyRepository,
        sealer: KeySealer,
        clock: Clock,
        *,
        reload_interval: int = 30,
        retire_after: int = 7 * 24 * 3600,
    ) -> None:
        self._repository = repository
        self._sealer = sealer
        self._clock = clock
        self._reload_interval = reload_interval
        self._retire_after = retire_after
        self._ring: KeyRing | None = None
        self._loaded_at = 0
        self._lock = asyncio.Lock()

    async def keyring(self) -> KeyRing:
        """The key ring, reloaded from the database when it is older than the interval."""
        now = self._clock.now()
        if self._ring is None or now - self._loaded_at >= self._reload_interval:
            async with self._lock:
                if self._ring is None or now - self._loaded_at >= self._reload_interval:
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

    async def _store(self, key: SigningKey, state: str) -> StoredKey:
        now = self._clock.now()
        stored = StoredKey(
            kid=key.kid,
            alg=key.alg,
            state="current" if state == "current" else "next",
            private_sealed=self._sealer.seal(json.dumps(dict(key.private_jwk)).encode()),
            public_jwk=dict(key.public_jwk),
            created_at=now,
            activated_at=now if state == "current" else None,
        )
        await self._repository.add(stored)
        return stored

    async def ensure_signing_key(self, alg: str = DEFAULT_ALG) -> bool:
        """Make a current key for `alg` if there is none. True when one was made."""
        stored = await self._repository.list()
        if any(k.alg == alg and k.state == "current" for k in stored):
            return False
        await self._store(generate_signing_key(alg), "current")
        await self.reload()
        return True

    async def add(self, alg: str) -> StoredKey:
        """Add a key for `alg`: current if the alg has none yet, otherwise next."""
        if alg not in SIGNING_ALGS:
            raise ValueError(f"unsupported alg {alg!r}; choose from {', '.join(SIGNING_ALGS)}")
        stored = await self._repository.list()
        has_current = any(k.alg == alg and k.state == "current" for k in stored)
        key = await self._store(generate_signing_key(alg), "next" if has_current else "current")
        await self.reload()
        return key

    async def rotate(self, alg: str = DEFAULT_ALG) -> RotationResult:
        """next → current, current → retired, and a fresh next; retired keys past
        `retire_after` are removed."""
        now = self._clock.now()
        stored = await self._repository.list()
        of_alg = [k for k in stored if k.alg == alg]
        upcoming = next((k for k in of_alg if k.state == "next"), None)
        if upcoming is None:
            upcoming = await self._store(generate_signing_key(alg), "next")
        retired = None
        for key in of_alg:
            if key.state == "current":
                await self._repository.set_state(key.kid, "retired", now=now)
                retired = key.kid
            elif key.state == "retired" and (key.retired_at or 0) + self._retire_after < now:
                await self._repository.remove(key.kid)
        await self._repository.set_state(upcoming.kid, "current", now=now)
        fresh = await self._store(generate_signing_key(alg), "next")
        await self.reload()
        return RotationResult(alg=alg, activated=upcoming.kid, retired=retired, next=fresh.kid)

    async def list(self) -> Sequence[StoredKey]:
        return await self._repository.list()
