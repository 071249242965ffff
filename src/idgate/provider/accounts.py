"""Local accounts: creating them, their passwords and their claims."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from idgate.clock import Clock
from idgate.crypto.passwords import PasswordHasher
from idgate.storage.base import Account, AccountRepository

# Claims an operator may not set by hand: the protocol owns them (Core §2, §5.1).
PROTECTED_CLAIMS = frozenset({"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid"})


class AccountError(Exception):
    """A request about accounts that cannot be done; the message is for the operator."""


def parse_claim_assignment(text: str) -> tuple[str, Any]:
    """`NAME=VALUE`: VALUE is JSON when it parses as JSON (true, 3, {...}), else a string."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise AccountError(f"claim {text!r} is not NAME=VALUE")
    if name in PROTECTED_CLAIMS:
        raise AccountError(f"claim {name!r} is set by idgate and cannot be assigned")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


class AccountService:
    def __init__(self, repository: AccountRepository, passwords: PasswordHasher, clock: Clock):
        self._repository = repository
        self._passwords = passwords
        self._clock = clock

    async def add(
        self, username: str, password: str, claims: Mapping[str, Any] | None = None
    ) -> Account:
        username = username.strip()
        if not username:
            raise AccountError("username must not be empty")
        if not password:
            raise AccountError("password must not be empty")
        account = Account(
            subject=uuid.uuid4().hex,
            username=username,
            password_hash=await self._passwords.hash(password),
            claims=dict(claims or {}),
            created_at=self._clock.now(),
        )
        await self._repository.add(account)
        return account

    async def list(self) -> Sequence[Account]:
        return await self._repository.list()

    async def get(self, username: str) -> Account:
        account = await self._repository.by_username(username)
        if account is None:
            raise AccountError(f"no user {username!r}")
        return account

    async def set_password(self, username: str, password: str) -> None:
        if not password:
            raise AccountError("password must not be empty")
        if not await self._repository.set_password(username, await self._passwords.hash(password)):
            raise AccountError(f"no user {username!r}")

    async def set_disabled(self, username: str, disabled: bool = True) -> None:
        if not await self._repository.set_disabled(username, disabled):
            raise AccountError(f"no user {username!r}")

    async def set_claims(self, username: str, updates: Mapping[str, Any]) -> Account:
        account = await self.get(username)
        claims = {**account.claims, **updates}
        await self._repository.set_claims(username, claims)
        return await self.get(username)

    async def authenticate(self, username: str, password: str) -> Account | None:
        """The account if the password is right and the account enabled; None otherwise.

        An unknown username costs the same hash verification as a known one.
        """
        account = await self._repository.by_username(username)
        ok = await self._passwords.verify(account.password_hash if account else None, password)
        if account is None or not ok or account.disabled:
            return None
        return account
