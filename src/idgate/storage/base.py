"""Repository ports: what the provider needs from storage, and nothing about how it is kept.

Codes and tokens are passed in as hashes (`idgate.crypto.random.secret_hash`); storage never
sees a usable secret. Single-use things are consumed by one atomic operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from idgate.protocol.clients import Client, ClientMetadata

KeyState = Literal["next", "current", "retired"]


class StorageError(Exception):
    """Storage failed for a reason that is not the caller's input."""


class DatabaseUnavailable(StorageError):
    """The database could not be reached; callers answer 503 and try again later."""


class AlreadyExists(StorageError):
    """A unique name (username, client_id) is taken."""


@dataclass(frozen=True, slots=True)
class Account:
    subject: str
    username: str
    password_hash: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    disabled: bool = False
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    alg: str
    state: KeyState
    private_sealed: str
    public_jwk: Mapping[str, Any]
    created_at: int
    activated_at: int | None = None
    retired_at: int | None = None


class ClientRepository(Protocol):
    async def add(self, client: Client) -> None: ...
    async def get(self, client_id: str) -> Client | None: ...
    async def list(self) -> Sequence[Client]: ...
    async def update(self, client_id: str, metadata: ClientMetadata, *, now: int) -> bool: ...
    async def remove(self, client_id: str) -> bool: ...


class AccountRepository(Protocol):
    async def add(self, account: Account) -> None: ...
    async def by_username(self, username: str) -> Account | None: ...
    async def by_subject(self, subject: str) -> Account | None: ...
    async def list(self) -> Sequence[Account]: ...
    async def set_password(self, username: str, password_hash: str) -> bool: ...
    async def set_disabled(self, username: str, disabled: bool) -> bool: ...
    async def set_claims(self, username: str, claims: Mapping[str, Any]) -> bool: ...


class KeyRepository(Protocol):
    async def add(self, key: StoredKey) -> None: ...
    async def list(self) -> Sequence[StoredKey]: ...
    async def set_state(self, kid: str, state: KeyState, *, now: int) -> bool: ...
    async def remove(self, kid: str) -> bool: ...
    async def promote(
        self,
        *,
        alg: str,
        current_kid: str | None,
        next_kid: str,
        fresh_next: StoredKey | None,
        now: int,
    ) -> bool:
        """One rotation, in one transaction: `current_kid` (and any other current key of `alg`)
        → retired, `next_kid` → current, and `fresh_next` added. A compare-and-set: False, with
        nothing changed, unless `current_kid` was still current (None: `alg` had none) and
        `next_kid` still next, so of processes racing on one rotation exactly one wins."""
        ...

    async def remove_retired(self, *, retired_before: int) -> int:
        """Remove keys retired before `retired_before`; how many."""
        ...


# --- the End-User's side: sessions, pending interactions, consents -------------------------


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """An OP session. `id_hash` is the hash of the cookie; `sid` is public (Core §2, FCL §3)."""

    id_hash: str
    sid: str
    subject: str
    auth_time: int
    amr: tuple[str, ...]
    created_at: int
    expires_at: int
    acr: str | None = None
    ended_at: int | None = None


@dataclass(frozen=True, slots=True)
class PendingInteraction:
    """An authorization request waiting for the End-User to log in and/or consent."""

    id_hash: str
    request: Mapping[str, Any]
    browser_hash: str
    csrf_token: str
    created_at: int
    expires_at: int
    subject: str | None = None
    authenticated_at: int | None = None
    consented: bool = False


class SessionRepository(Protocol):
    async def add(self, session: BrowserSession) -> None: ...
    async def get(self, id_hash: str, *, now: int) -> BrowserSession | None:
        """The live session with this cookie hash: not ended, not expired."""
        ...

    async def by_sid(self, sid: str) -> BrowserSession | None: ...
    async def end(self, sid: str, *, now: int) -> bool: ...
    async def add_client(self, sid: str, client_id: str, *, now: int) -> None: ...
    async def clients(self, sid: str) -> Sequence[str]: ...
    async def claim_logout_notification(self, sid: str, client_id: str, *, now: int) -> bool:
        """Mark that `client_id` is being sent the back-channel logout of session `sid`: True
        for exactly one caller, across processes (Back-Channel Logout 1.0 §2.7)."""
        ...


class InteractionRepository(Protocol):
    async def add(self, interaction: PendingInteraction) -> None: ...
    async def get(self, id_hash: str, *, now: int) -> PendingInteraction | None: ...
    async def authenticated(self, id_hash: str, subject: str, *, now: int) -> bool: ...
    async def consented(self, id_hash: str, subject: str) -> bool:
        """Record that `subject` consented in this interaction."""
        ...

    async def consume(self, id_hash: str) -> bool:
        """Delete it; True for exactly one caller, so an interaction completes only once."""
        ...


class ConsentRepository(Protocol):
    async def scopes(self, subject: str, client_id: str) -> frozenset[str] | None: ...
    async def grant(
        self, subject: str, client_id: str, scopes: frozenset[str], *, now: int
    ) -> None: ...
    async def revoke(self, subject: str, client_id: str) -> bool: ...


# --- codes and tokens -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCode:
    code_hash: str
    client_id: str
    data: Mapping[str, Any]
    created_at: int
    expires_at: int
    consumed_at: int | None = None


TokenKind = Literal["access", "refresh"]


@dataclass(frozen=True, slots=True)
class StoredToken:
    token_hash: str
    kind: TokenKind
    client_id: str
    subject: str | None
    scope: str
    data: Mapping[str, Any]
    created_at: int
    expires_at: int
    family_id: str | None = None
    used_at: int | None = None
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True)
class Redemption:
    """The outcome of redeeming a code: the code, or None; `replayed` if it was used before."""

    code: StoredCode | None
    replayed: bool = False


class CodeRepository(Protocol):
    async def add(self, code: StoredCode) -> None: ...
    async def redeem(self, code_hash: str, *, now: int) -> Redemption:
        """Mark the code consumed with one atomic statement; exactly one caller gets it."""
        ...


class TokenRepository(Protocol):
    async def add(self, token: StoredToken) -> None: ...
    async def add_all(self, *tokens: StoredToken) -> None:
        """Store the tokens of one response together (one round trip)."""
        ...

    async def get(self, token_hash: str) -> StoredToken | None: ...
    async def use_refresh(self, token_hash: str, *, client_id: str, now: int) -> StoredToken | None:
        """Mark a live refresh token of `client_id` used (rotation) atomically; None if it was
        not live or not that client's."""
        ...

    async def revoke(self, token_hash: str, *, now: int) -> bool: ...
    async def revoke_family(self, family_id: str, *, now: int) -> int: ...
    async def revoke_session_refresh_tokens(self, sid: str, *, now: int) -> int:
        """Revoke the live refresh tokens issued in OP session `sid` without `offline_access`
        (Back-Channel Logout 1.0 §2.7); the number revoked."""
        ...


# --- replay and rate limits ------------------------------------------------------------------


class ReplayCache(Protocol):
    async def first_use(self, key: str, *, expires_at: int, now: int) -> bool:
        """True the first time `key` is seen before it expires; False on every replay."""
        ...


class RateLimitRepository(Protocol):
    async def locked_until(self, key: str, *, now: int) -> int:
        """0 when `key` may try again now, else the time it may."""
        ...

    async def failure(self, key: str, *, now: int, limit: int, window: int, lockout: int) -> int:
        """Count a failure; returns the lock-out end (0 if not locked out)."""
        ...

    async def count(self, key: str, *, hits: int, now: int, window: int) -> tuple[int, int]:
        """Add `hits` to the count of `key`'s fixed window of `window` seconds (a new window
        if the last one is over): the count so far and the window's start."""
        ...

    async def reset(self, key: str) -> None: ...


class InitialAccessTokenRepository(Protocol):
    """Tokens that allow dynamic registration when its policy is `token` (RFC 7591 §3)."""

    async def add(self, token_hash: str, *, now: int, expires_at: int | None) -> None: ...
    async def is_valid(self, token_hash: str, *, now: int) -> bool: ...


class RegistrationAccessTokenRepository(Protocol):
    """One registration access token per dynamically registered client, kept as a hash
    (RFC 7592 §1.2, §3)."""

    async def put(self, client_id: str, token_hash: str, *, now: int) -> None:
        """Store the token hash for `client_id`, replacing any earlier one."""
        ...

    async def hash_for(self, client_id: str) -> str | None: ...
    async def remove(self, client_id: str) -> bool: ...


class PushedRequestRepository(Protocol):
    """Pushed authorization requests (RFC 9126), keyed by the hash of their reference."""

    async def add(
        self,
        ref_hash: str,
        *,
        client_id: str,
        params: Mapping[str, str],
        now: int,
        expires_at: int,
    ) -> None: ...

    async def consume(self, ref_hash: str, *, client_id: str, now: int) -> Mapping[str, str] | None:
        """The parameters of a live request pushed by `client_id`, deleted in the same atomic
        statement: one use, across processes (RFC 9126 §4)."""
        ...


class ProviderSecretRepository(Protocol):
    """Values made once per installation and shared by every process (the pairwise salt)."""

    async def get_or_add(self, name: str, value: str, *, now: int) -> str:
        """The stored value of `name`, storing `value` first if there is none. One atomic
        insert-if-absent, so processes starting together all end up with the same value."""
        ...


class GrantWrites(Protocol):
    """Codes, tokens and accounts inside one transaction (`Storage.grant_transaction`).
    Inside it nothing else may touch the database: on PostgreSQL the transaction holds a
    pooled connection, and waiting for a second one could wait forever."""

    @property
    def codes(self) -> CodeRepository: ...
    @property
    def tokens(self) -> TokenRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...


class Storage(Protocol):
    """Everything the provider reads and writes, plus the database's own life cycle."""

    clients: ClientRepository
    accounts: AccountRepository
    keys: KeyRepository
    sessions: SessionRepository
    interactions: InteractionRepository
    consents: ConsentRepository
    codes: CodeRepository
    tokens: TokenRepository
    replay: ReplayCache
    rate_limits: RateLimitRepository
    initial_access_tokens: InitialAccessTokenRepository
    registration_access_tokens: RegistrationAccessTokenRepository
    pushed_requests: PushedRequestRepository
    provider_secrets: ProviderSecretRepository

    def grant_transaction(self) -> AbstractAsyncContextManager[GrantWrites]:
        """Burn a code or refresh token and store what it gives in one transaction, committed
        when the block ends (rolled back if it raises). A concurrent redemption of the same
        code or token waits for the commit, so a replay sees the winner's tokens to revoke."""
        ...

    async def ping(self) -> None:
        """Raise DatabaseUnavailable when the database cannot answer."""
        ...

    async def close(self) -> None: ...
