"""Scheduled signing-key rotation, run by every served process when `key_rotation_interval` is on.

Each process looks about once per key reload interval (with jitter, so N processes do not knock
at once) whether a rotation is due and whether retired keys have outlived what they signed. The
rotation itself is claimed in the database (`KeyRepository.promote`), so it happens once per
interval for the whole cluster however many processes look.
"""

from __future__ import annotations

import asyncio
import logging
import random

from idgate.provider.keys import KeyManager, RotationResult
from idgate.storage.base import DatabaseUnavailable

log = logging.getLogger("idgate.keys")


class KeySchedule:
    def __init__(self, keys: KeyManager) -> None:
        self._keys = keys

    async def step(self) -> list[RotationResult]:
        """Rotate what is due and remove what has expired; the rotations this process won."""
        rotations = await self._keys.rotate_due()
        for rotation in rotations:
            log.info(
                "rotated the %s signing key: %s now signs, %s is retired, %s is next",
                rotation.alg,
                rotation.activated,
                rotation.retired,
                rotation.next,
            )
        removed = await self._keys.remove_expired()
        if removed:
            log.info("removed %d retired signing key(s) whose tokens have expired", removed)
        return rotations

    async def run_forever(self) -> None:
        every = self._keys.timings.reload_interval
        while True:
            await asyncio.sleep(every * random.uniform(0.5, 1.5))  # noqa: S311
            try:
                await self.step()
            except DatabaseUnavailable:
                log.warning("key rotation check skipped: the database is unavailable")
            except Exception:
                # The loop must outlive one bad step, or rotation would silently stop.
                log.exception("key rotation check failed; trying again later")
