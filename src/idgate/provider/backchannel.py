"""Back-Channel Logout 1.0 delivery: Logout Tokens POSTed to RPs, never in the user's way.

When an OP session ends, each RP that took part in it and registered a
`backchannel_logout_uri` is sent a Logout Token (§2.4) as `application/x-www-form-urlencoded`
`logout_token=…` (§2.5). Deliveries run as background tasks on the event loop, so the logout
page never waits for an RP (SECURITY.md LOG-10):

- each attempt has a time limit (`timeout`, 5 s by default) for the whole exchange; the answer
  body is never read;
- redirects are never followed (a 3xx is a failure, like any non-2xx answer, §2.8);
- network failures, time-outs, 429 and 5xx are retried a bounded number of times with
  exponential backoff; other answers (400 means the RP refused the token) are not;
- every outcome is logged, with the client_id and never the token.

Exactly once per RP session across processes (LOG-09): before sending, the delivery claims the
(session, client) row in the database with one atomic `UPDATE … WHERE logout_notified_at IS
NULL`; only the winner sends. A process that dies after claiming loses that delivery: at most
once, never twice.

`drain()` awaits every delivery started so far (tests, and shutdown); `close()` waits a little
and then cancels what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import httpx

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.errors import CryptoError
from idgate.crypto.jwt import sign_jwt
from idgate.crypto.random import new_secret
from idgate.protocol.clients import Client
from idgate.protocol.logout import LOGOUT_TOKEN_TYP, logout_token_claims
from idgate.provider.keys import KeyManager
from idgate.storage.base import SessionRepository, StorageError

log = logging.getLogger("idgate.backchannel")

#: Seconds one attempt may take in all (connect, send, answer headers): §2.8 and LOG-10 (2 to 5 s).
DEFAULT_TIMEOUT = 5.0
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 1.0

SubjectFor = Callable[[Client, str], str]


class BackchannelLogout:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        sessions: SessionRepository,
        keys: KeyManager,
        http: httpx.AsyncClient,
        subject_for: SubjectFor,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._sessions = sessions
        self._keys = keys
        self._http = http
        self._subject_for = subject_for
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, sid: str, subject: str, clients: Sequence[Client]) -> None:
        """Start delivering the logout of session `sid` to each of `clients` that registered a
        `backchannel_logout_uri`; returns at once."""
        for client in clients:
            if client.metadata.backchannel_logout_uri is None:
                continue
            task = asyncio.create_task(self._deliver(sid, subject, client))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 2.0) -> None:
        """Give deliveries in flight `grace` seconds, then cancel the rest."""
        if not self._tasks:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.drain()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _token(self, client: Client, sid: str, subject: str) -> str:
        """A Logout Token for `client` (§2.4), signed like its ID Tokens (§2.4: the same alg)."""
        alg = client.metadata.id_token_signed_response_alg
        key = (await self._keys.keyring()).signing_key(alg)
        claims = logout_token_claims(
            issuer=self._settings.issuer,
            client_id=client.client_id,
            subject=self._subject_for(client, subject),
            sid=sid,
            issued_at=self._clock.now(),
            jti=new_secret(16),
        )
        return sign_jwt(claims, key, typ=LOGOUT_TOKEN_TYP)

    async def _deliver(self, sid: str, subject: str, client: Client) -> None:
        uri = client.metadata.backchannel_logout_uri
        assert uri is not None
        client_id = client.client_id
        try:
            claimed = await self._sessions.claim_logout_notification(
                sid, client_id, now=self._clock.now()
            )
            if not claimed:
                log.debug("back-channel logout for client %s already sent elsewhere", client_id)
                return
            token = await self._token(client, sid, subject)
        except (CryptoError, StorageError) as exc:
            log.warning(
                "back-channel logout for client %s not sent: %s", client_id, type(exc).__name__
            )
            return
        except Exception:
            log.exception("back-channel logout for client %s not sent", client_id)
            return
        for attempt in range(1, self.attempts + 1):
            outcome, retry = await self._attempt(uri, token)
            if outcome is None:
                log.info("back-channel logout delivered to client %s", client_id)
                return
            last = attempt == self.attempts or not retry
            log.warning(
                "back-channel logout to client %s failed (attempt %d of %d): %s%s",
                client_id,
                attempt,
                self.attempts,
                outcome,
                "; giving up" if last else "",
            )
            if last:
                return
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))

    async def _attempt(self, uri: str, token: str) -> tuple[str | None, bool]:
        """One POST: (None, _) on success, else (what went wrong, whether to retry)."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self._http.stream(
                    "POST",
                    uri,
                    data={"logout_token": token},
                    headers={"Cache-Control": "no-store"},
                    timeout=self.timeout,
                    follow_redirects=False,
                ) as response:
                    status = response.status_code
        except TimeoutError:
            return "timed out", True
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}", True
        if 200 <= status < 300:
            return None, False
        return f"answered {status}", status == 429 or status >= 500
