"""Repositories for OP sessions, pending interactions and remembered consents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from idgate.storage.base import BrowserSession, PendingInteraction
from idgate.storage.sql.errors import translate_errors
from idgate.storage.sql.repositories import Repository, dump
from idgate.storage.sql.schema import consents, interactions, session_clients, sessions
from idgate.storage.sql.upsert import insert_for


class SqlSessionRepository(Repository):
    @staticmethod
    def _session(row: Row[Any]) -> BrowserSession:
        return BrowserSession(
            id_hash=row.id_hash,
            sid=row.sid,
            subject=row.subject,
            auth_time=row.auth_time,
            amr=tuple(json.loads(row.amr)),
            created_at=row.created_at,
            expires_at=row.expires_at,
            acr=row.acr,
            ended_at=row.ended_at,
        )

    async def add(self, session: BrowserSession) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    id_hash=session.id_hash,
                    sid=session.sid,
                    subject=session.subject,
                    auth_time=session.auth_time,
                    acr=session.acr,
                    amr=dump(list(session.amr)),
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                    ended_at=session.ended_at,
                )
            )

    async def get(self, id_hash: str, *, now: int) -> BrowserSession | None:
        query = select(sessions).where(
            sessions.c.id_hash == id_hash,
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > now,
        )
        async with translate_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else self._session(row)

    async def by_sid(self, sid: str) -> BrowserSession | None:
        async with translate_errors(), self._engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.sid == sid))).first()
        return None if row is None else self._session(row)

    async def end(self, sid: str, *, now: int) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                update(sessions)
                .where(sessions.c.sid == sid, sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            )
        return result.rowcount == 1

    async def add_client(self, sid: str, client_id: str, *, now: int) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            statement = insert_for(conn, session_clients).values(
                sid=sid, client_id=client_id, created_at=now
            )
            await conn.execute(statement.on_conflict_do_nothing())

    async def clients(self, sid: str) -> Sequence[str]:
        query = (
            select(session_clients.c.client_id)
            .where(session_clients.c.sid == sid)
            .order_by(session_clients.c.created_at, session_clients.c.client_id)
        )
        async with translate_errors(), self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def claim_logout_notification(self, sid: str, client_id: str, *, now: int) -> bool:
        statement = (
            update(session_clients)
            .where(
                session_clients.c.sid == sid,
                session_clients.c.client_id == client_id,
                session_clients.c.logout_notified_at.is_(None),
            )
            .values(logout_notified_at=now)
        )
        async with translate_errors(), self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1


class SqlInteractionRepository(Repository):
    async def add(self, interaction: PendingInteraction) -> None:
        async with translate_errors(), self._engine.begin() as conn:
            await conn.execute(
                insert(interactions).values(
                    id_hash=interaction.id_hash,
                    request=dump(dict(interaction.request)),
                    browser_hash=interaction.browser_hash,
                    csrf_token=interaction.csrf_token,
                    subject=interaction.subject,
                    authenticated_at=interaction.authenticated_at,
                    consented=interaction.consented,
                    created_at=interaction.created_at,
                    expires_at=interaction.expires_at,
                )
            )

    async def get(self, id_hash: str, *, now: int) -> PendingInteraction | None:
        query = select(interactions).where(
            interactions.c.id_hash == id_hash, interactions.c.expires_at > now
        )
        async with translate_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return PendingInteraction(
            id_hash=row.id_hash,
            request=json.loads(row.request),
            browser_hash=row.browser_hash,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            expires_at=row.expires_at,
            subject=row.subject,
            authenticated_at=row.authenticated_at,
            consented=row.consented,
        )

    async def _set(self, id_hash: str, **values: Any) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                update(interactions).where(interactions.c.id_hash == id_hash).values(**values)
            )
        return result.rowcount == 1

    async def authenticated(self, id_hash: str, subject: str, *, now: int) -> bool:
        return await self._set(id_hash, subject=subject, authenticated_at=now)

    async def consented(self, id_hash: str, subject: str) -> bool:
        return await self._set(id_hash, consented=True, subject=subject)

    async def consume(self, id_hash: str) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                delete(interactions).where(interactions.c.id_hash == id_hash)
            )
        return result.rowcount == 1


class SqlConsentRepository(Repository):
    async def scopes(self, subject: str, client_id: str) -> frozenset[str] | None:
        query = select(consents.c.scopes).where(
            consents.c.subject == subject, consents.c.client_id == client_id
        )
        async with translate_errors(), self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return None if value is None else frozenset(value.split())

    async def grant(
        self, subject: str, client_id: str, scopes: frozenset[str], *, now: int
    ) -> None:
        # Consent grows: a new grant adds to what was consented before.
        granted = scopes | (await self.scopes(subject, client_id) or frozenset())
        text = " ".join(sorted(granted))
        async with translate_errors(), self._engine.begin() as conn:
            statement = insert_for(conn, consents).values(
                subject=subject, client_id=client_id, scopes=text, created_at=now
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[consents.c.subject, consents.c.client_id],
                    set_={"scopes": text, "created_at": now},
                )
            )

    async def revoke(self, subject: str, client_id: str) -> bool:
        async with translate_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                delete(consents).where(
                    consents.c.subject == subject, consents.c.client_id == client_id
                )
            )
        return result.rowcount == 1
