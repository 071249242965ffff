"""idgate.crypto.passwords: Argon2id off the event loop, with bounded concurrency."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from idgate.crypto.passwords import FAST_TEST_PARAMS, PasswordHasher

PASSWORD = "correct horse battery staple ✓"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(**FAST_TEST_PARAMS)


@pytest.fixture(scope="module")
def stored(hasher: PasswordHasher) -> str:
    return hasher.hash_sync(PASSWORD)


def test_hash_is_argon2id_with_the_given_cost(hasher: PasswordHasher) -> None:
    password_hash = asyncio.run(hasher.hash(PASSWORD))
    assert password_hash.startswith("$argon2id$v=19$m=8192,t=1,p=4$")
    assert PASSWORD not in password_hash


def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    assert hasher.hash_sync(PASSWORD) != hasher.hash_sync(PASSWORD)


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (PASSWORD, True),
        (PASSWORD + " ", False),
        (PASSWORD.upper(), False),
        ("", False),
    ],
)
def test_verify(hasher: PasswordHasher, stored: str, candidate: str, expected: bool) -> None:
    assert asyncio.run(hasher.verify(stored, candidate)) is expected
    assert hasher.verify_sync(stored, candidate) is expected


@pytest.mark.parametrize("candidate", [PASSWORD, "", "anything"])
def test_verify_without_hash_is_false(hasher: PasswordHasher, candidate: str) -> None:
    assert asyncio.run(hasher.verify(None, candidate)) is False


def test_verify_without_hash_still_does_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown users cost one Argon2 verification too, so timing tells nothing."""
    hasher = PasswordHasher(**FAST_TEST_PARAMS)
    seen: list[str] = []
    original = PasswordHasher._verify

    def spy(self: PasswordHasher, password_hash: str, password: str) -> bool:
        seen.append(password_hash)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "_verify", spy)
    assert asyncio.run(hasher.verify(None, PASSWORD)) is False
    assert asyncio.run(hasher.verify(None, "other")) is False
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert seen[0].startswith("$argon2id$v=19$m=8192,t=1,p=4$")


@pytest.mark.parametrize("bad_hash", ["", "plaintext", "$argon2id$garbage", "$2b$12$abcdefghijk"])
def test_verify_malformed_hash_is_false(hasher: PasswordHasher, bad_hash: str) -> None:
    assert asyncio.run(hasher.verify(bad_hash, PASSWORD)) is False


def test_needs_rehash(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.needs_rehash(stored) is False
    stronger = PasswordHasher(time_cost=2, memory_cost=8192)
    assert stronger.needs_rehash(stored) is True
    assert hasher.needs_rehash("not a hash") is True


def test_default_parameters_are_rfc9106_low_memory() -> None:
    salt, digest = "A" * 22, "B" * 43  # 16 and 32 bytes, base64 without padding
    default = PasswordHasher()
    assert default.needs_rehash(f"$argon2id$v=19$m=65536,t=3,p=4${salt}${digest}") is False
    assert default.needs_rehash(f"$argon2id$v=19$m=65536,t=2,p=4${salt}${digest}") is True


def test_max_concurrency_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PasswordHasher(max_concurrency=0)


def test_concurrency_is_bounded_and_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    running = 0
    peak = 0
    loop_threads: set[int] = set()
    work_threads: set[int] = set()

    def slow_hash(self: PasswordHasher, password: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            work_threads.add(threading.get_ident())
        time.sleep(0.05)
        with lock:
            running -= 1
        return "hash"

    monkeypatch.setattr(PasswordHasher, "hash_sync", slow_hash)
    hasher = PasswordHasher(max_concurrency=2, **FAST_TEST_PARAMS)

    async def main() -> float:
        loop_threads.add(threading.get_ident())
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        tick_task = asyncio.create_task(ticker())
        results = await asyncio.gather(*(hasher.hash(str(i)) for i in range(6)))
        tick_task.cancel()
        assert results == ["hash"] * 6
        return ticks

    # Twice, on two event loops: the lazily made semaphore must follow the running loop.
    for _ in range(2):
        peak = 0
        ticks = asyncio.run(main())
        assert peak == 2
        assert ticks >= 10  # the loop kept running while hashes ran
    assert not loop_threads & work_threads
