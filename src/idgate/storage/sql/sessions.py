"""Repositories for OP sessions, pending interactions and remembered consents."""

from __future__ import annotations

import json
from collections.abc import Sequence

from idgate.storage.base import BrowserSession, PendingInteraction
from idgate.storage.sql.db import Row, sql
from idgate.storage.sql.repositories import Repository, dump

_SESSION_COLUMNS = "id_hash, sid, subject, auth_time, acr, amr, created_at, expires_at, ended_at"
_INSERT_SESSION = sql(
    f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (:id_hash, :sid, :subject, :auth_time, "
    ":acr, :amr, :created_at, :expires_at, :ended_at)"
)
_LIVE_SESSION = sql(
    f"SELECT {_SESSION_COLUMNS} FROM sessions "
    "WHERE id_hash = :id_hash AND ended_at IS NULL AND expires_at > :now"
)
_SESSION_BY_SID = sql(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE sid = :sid")
_END_SESSION = sql("UPDATE sessions SET ended_at = :now WHERE sid = :sid AND ended_at IS NULL")
_ADD_SESSION_CLIENT = sql(
    "INSERT INTO session_clients (sid, client_id, created_at) VALUES (:sid, :client_id, :now) "
    "ON CONFLICT (sid, client_id) DO NOTHING"
)
_SESSION_CLIENTS = sql(
    "SELECT client_id FROM session_clients WHERE sid = :sid ORDER BY created_at, client_id"
)
_CLAIM_LOGOUT = sql(
    "UPDATE session_clients SET logout_notified_at = :now "
    "WHERE sid = :sid AND client_id = :client_id AND logout_notified_at IS NULL"
)


class SqlSessionRepository(Repository):
    @staticmethod
    def _session(row: Row) -> BrowserSession:
        return BrowserSession(
            id_hash=row["id_hash"],
            sid=row["sid"],
            subject=row["subject"],
            auth_time=row["auth_time"],
            amr=tuple(json.loads(row["amr"])),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            acr=row["acr"],
            ended_at=row["ended_at"],
        )

    async def add(self, session: BrowserSession) -> None:
        await self._db.run(
            _INSERT_SESSION,
            {
                "id_hash": session.id_hash,
                "sid": session.sid,
                "subject": session.subject,
                "auth_time": session.auth_time,
                "acr": session.acr,
                "amr": dump(list(session.amr)),
                "created_at": session.created_at,
                "expires_at": session.expires_at,
                "ended_at": session.ended_at,
            },
        )

    async def get(self, id_hash: str, *, now: int) -> BrowserSession | None:
        row = await self._db.one(_LIVE_SESSION, {"id_hash": id_hash, "now": now})
        return None if row is None else self._session(row)

    async def by_sid(self, sid: str) -> BrowserSession | None:
        row = await self._db.one(_SESSION_BY_SID, {"sid": sid})
        return None if row is None else self._session(row)

    async def end(self, sid: str, *, now: int) -> bool:
        return await self._db.run(_END_SESSION, {"sid": sid, "now": now}) == 1

    async def add_client(self, sid: str, client_id: str, *, now: int) -> None:
        await self._db.run(_ADD_SESSION_CLIENT, {"sid": sid, "client_id": client_id, "now": now})

    async def clients(self, sid: str) -> Sequence[str]:
        return [row["client_id"] for row in await self._db.all(_SESSION_CLIENTS, {"sid": sid})]

    async def claim_logout_notification(self, sid: str, client_id: str, *, now: int) -> bool:
        params = {"sid": sid, "client_id": client_id, "now": now}
        return await self._db.run(_CLAIM_LOGOUT, params) == 1


_INTERACTION_COLUMNS = (
    "id_hash, request, browser_hash, csrf_token, subject, authenticated_at, consented, "
    "created_at, expires_at"
)
_INSERT_INTERACTION = sql(
    f"INSERT INTO interactions ({_INTERACTION_COLUMNS}) VALUES (:id_hash, :request, "
    ":browser_hash, :csrf_token, :subject, :authenticated_at, :consented, :created_at, "
    ":expires_at)"
)
_GET_INTERACTION = sql(
    f"SELECT {_INTERACTION_COLUMNS} FROM interactions "
    "WHERE id_hash = :id_hash AND expires_at > :now"
)
_INTERACTION_AUTHENTICATED = sql(
    "UPDATE interactions SET subject = :subject, authenticated_at = :now WHERE id_hash = :id_hash"
)
_INTERACTION_CONSENTED = sql(
    "UPDATE interactions SET consented = :consented, subject = :subject WHERE id_hash = :id_hash"
)
_CONSUME_INTERACTION = sql("DELETE FROM interactions WHERE id_hash = :id_hash")


class SqlInteractionRepository(Repository):
    async def add(self, interaction: PendingInteraction) -> None:
        await self._db.run(
            _INSERT_INTERACTION,
            {
                "id_hash": interaction.id_hash,
                "request": dump(dict(interaction.request)),
                "browser_hash": interaction.browser_hash,
                "csrf_token": interaction.csrf_token,
                "subject": interaction.subject,
                "authenticated_at": interaction.authenticated_at,
                "consented": interaction.consented,
                "created_at": interaction.created_at,
                "expires_at": interaction.expires_at,
            },
        )

    async def get(self, id_hash: str, *, now: int) -> PendingInteraction | None:
        row = await self._db.one(_GET_INTERACTION, {"id_hash": id_hash, "now": now})
        if row is None:
            return None
        return PendingInteraction(
            id_hash=row["id_hash"],
            request=json.loads(row["request"]),
            browser_hash=row["browser_hash"],
            csrf_token=row["csrf_token"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            subject=row["subject"],
            authenticated_at=row["authenticated_at"],
            consented=bool(row["consented"]),
        )

    async def authenticated(self, id_hash: str, subject: str, *, now: int) -> bool:
        params = {"id_hash": id_hash, "subject": subject, "now": now}
        return await self._db.run(_INTERACTION_AUTHENTICATED, params) == 1

    async def consented(self, id_hash: str, subject: str) -> bool:
        params = {"id_hash": id_hash, "subject": subject, "consented": True}
        return await self._db.run(_INTERACTION_CONSENTED, params) == 1

    async def consume(self, id_hash: str) -> bool:
        return await self._db.run(_CONSUME_INTERACTION, {"id_hash": id_hash}) == 1


_CONSENTED_SCOPES = sql(
    "SELECT scopes FROM consents WHERE subject = :subject AND client_id = :client_id"
)
_GRANT_CONSENT = sql(
    "INSERT INTO consents (subject, client_id, scopes, created_at) "
    "VALUES (:subject, :client_id, :scopes, :now) "
    "ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes, "
    "created_at = excluded.created_at"
)
_REVOKE_CONSENT = sql("DELETE FROM consents WHERE subject = :subject AND client_id = :client_id")


class SqlConsentRepository(Repository):
    async def scopes(self, subject: str, client_id: str) -> frozenset[str] | None:
        row = await self._db.one(_CONSENTED_SCOPES, {"subject": subject, "client_id": client_id})
        return None if row is None else frozenset(row["scopes"].split())

    async def grant(
        self, subject: str, client_id: str, scopes: frozenset[str], *, now: int
    ) -> None:
        # Consent grows: a new grant adds to what was consented before.
        async with self._db.transaction() as tx:
            row = await tx.one(_CONSENTED_SCOPES, {"subject": subject, "client_id": client_id})
            before = frozenset(row["scopes"].split()) if row else frozenset()
            await tx.run(
                _GRANT_CONSENT,
                {
                    "subject": subject,
                    "client_id": client_id,
                    "scopes": " ".join(sorted(scopes | before)),
                    "now": now,
                },
            )

    async def revoke(self, subject: str, client_id: str) -> bool:
        params = {"subject": subject, "client_id": client_id}
        return await self._db.run(_REVOKE_CONSENT, params) == 1
