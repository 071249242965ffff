"""Password hashing with Argon2id (RFC 9106) through argon2-cffi.

A hash costs 100 to 200 ms of CPU with the default parameters (RFC 9106 §4, second recommended
option: t=3, m=64 MiB, p=4), so :class:`PasswordHasher` runs it in a worker thread and lets at
most ``max_concurrency`` run at once: a burst of logins queues up instead of taking every core
and starving the event loop. Test suites pass cheap parameters (see :data:`FAST_TEST_PARAMS`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Final, ParamSpec, TypedDict, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["FAST_TEST_PARAMS", "PasswordHasher", "PasswordHasherParams"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class PasswordHasherParams(TypedDict, total=False):
    """Keyword arguments of :class:`PasswordHasher` that set the Argon2 cost."""

    time_cost: int
    memory_cost: int


#: Cheap parameters that keep test suites fast: ``PasswordHasher(**FAST_TEST_PARAMS)``.
#: Never use them in production.
FAST_TEST_PARAMS: Final[PasswordHasherParams] = {"time_cost": 1, "memory_cost": 8192}


class PasswordHasher:
    """Argon2id hashing and verification, off the event loop and with bounded concurrency.

    ``time_cost`` (iterations) and ``memory_cost`` (KiB) default to argon2-cffi's RFC 9106
    profile. The hasher keeps no password and no hash.
    """

    __slots__ = ("_dummy_hash", "_hasher", "_max_concurrency", "_semaphore")

    def __init__(
        self,
        *,
        max_concurrency: int = 2,
        time_cost: int | None = None,
        memory_cost: int | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        defaults = argon2.profiles.RFC_9106_LOW_MEMORY
        self._hasher = argon2.PasswordHasher(
            time_cost=defaults.time_cost if time_cost is None else time_cost,
            memory_cost=defaults.memory_cost if memory_cost is None else memory_cost,
            parallelism=defaults.parallelism,
            hash_len=defaults.hash_len,
            salt_len=defaults.salt_len,
            type=argon2.Type.ID,
        )
        self._max_concurrency = max_concurrency
        # One semaphore per event loop, made on first use: asyncio primitives bind to a loop.
        self._semaphore: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """Return the PHC-format Argon2id hash of ``password`` (with a fresh random salt)."""
        return await self._run(self.hash_sync, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches ``password_hash``.

        With ``password_hash=None`` (unknown user, or an account without a password) a fixed
        dummy hash is verified instead and the answer is False, so that the time taken does not
        tell whether the account exists (no account enumeration). A malformed stored hash also
        gives False.
        """
        return await self._run(self.verify_sync, password_hash, password)

    def hash_sync(self, password: str) -> str:
        """:meth:`hash` on the calling thread, for the CLI (blocks for the whole hash)."""
        return self._hasher.hash(password)

    def verify_sync(self, password_hash: str | None, password: str) -> bool:
        """:meth:`verify` on the calling thread."""
        if password_hash is None:
            self._verify(self._dummy(), password)
            return False
        return self._verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (rehash it after a good login)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError, ValueError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))
        return self._dummy_hash

    async def _run(self, func: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self._loop_semaphore():
            return await asyncio.to_thread(func, *args, **kwargs)

    def _loop_semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore[0] is not loop:
            self._semaphore = (loop, asyncio.Semaphore(self._max_concurrency))
        return self._semaphore[1]
