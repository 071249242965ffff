"""Introspection and revocation over the token store (RFC 7662, RFC 7009).

Both read the database on every call: a revocation anywhere is seen at once everywhere.
Introspection is rate-limited per IP before the caller is authenticated, and per client after
(`introspection_rate_limit`; SECURITY.md RES-03): it is the one endpoint built for answering a
caller's questions about tokens, so it must not answer them without bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.random import secret_hash
from idgate.protocol.errors import InvalidClient
from idgate.protocol.introspection import (
    TokenView,
    introspection_response,
    may_revoke,
    parse_token_parameter,
)
from idgate.provider.audit import AuditLog
from idgate.provider.rate_limits import Limit, RequestLimiter
from idgate.provider.subjects import SubjectService
from idgate.provider.token_service import TokenService
from idgate.storage.base import Storage, StoredToken

_TOO_MANY = "too many introspection requests"


def _view(token: StoredToken) -> TokenView:
    audience = token.data.get("aud")
    return TokenView(
        kind=token.kind,
        client_id=token.client_id,
        subject=token.subject,
        scope=token.scope,
        issued_at=token.created_at,
        expires_at=token.expires_at,
        revoked=token.revoked_at is not None,
        rotated=token.kind == "refresh" and token.used_at is not None,
        audience=audience if isinstance(audience, str) else None,
    )


class IntrospectionService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        storage: Storage,
        token_endpoint: TokenService,
        subjects: SubjectService,
        limiter: RequestLimiter,
        *,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._limiter = limiter
        self._audit = audit or AuditLog(clock)
        self._clock = clock
        self._storage = storage
        self._token_endpoint = token_endpoint
        self._subjects = subjects

    async def introspect(
        self, authorization: str | None, form: Mapping[str, str], *, client_ip: str
    ) -> Mapping[str, Any]:
        per_client = self._settings.introspection_rate_limit
        window = self._settings.introspection_rate_window
        # An IP may carry several resource servers: it gets four clients' worth, as at login.
        await self._limiter.hit(
            f"introspect:ip:{client_ip}", Limit(per_client * 4, window), description=_TOO_MANY
        )
        caller = await self._token_endpoint.authenticate_client(authorization, form)
        if caller.is_public:
            # RFC 7662 §2.1: introspection needs real authentication, not just a client_id.
            raise InvalidClient("public clients cannot introspect tokens")
        await self._limiter.hit(
            f"introspect:client:{caller.client_id}",
            Limit(per_client, window),
            description=_TOO_MANY,
        )
        request = parse_token_parameter(form)
        stored = await self._storage.tokens.get(secret_hash(request.token))
        subject = None
        if stored is not None and stored.subject is not None:
            # The `sub` the token's own client knows (pairwise clients never see the local one).
            owner = await self._storage.clients.get(stored.client_id)
            subject = self._subjects.for_client(owner, stored.subject) if owner else None
            if owner is None:
                stored = None  # a removed client's tokens are dead
        return introspection_response(
            _view(stored) if stored else None,
            caller=caller.client_id,
            caller_is_resource_server=caller.metadata.resource_server,
            now=self._clock.now(),
            issuer=self._settings.issuer,
            subject=subject,
        )

    async def revoke(self, authorization: str | None, form: Mapping[str, str]) -> None:
        """Revoke the caller's own token; unknown or foreign tokens change nothing (RFC 7009
        §2.2: still 200). A refresh token takes its whole family with it, and so the access
        tokens issued from it."""
        caller = await self._token_endpoint.authenticate_client(authorization, form)
        request = parse_token_parameter(form)
        stored = await self._storage.tokens.get(secret_hash(request.token))
        if stored is None or not may_revoke(_view(stored), caller=caller.client_id):
            return
        now = self._clock.now()
        family = stored.kind == "refresh" and stored.family_id is not None
        self._audit.token_revoked(
            client_id=caller.client_id,
            subject=stored.subject,
            kind=stored.kind,
            reason="revocation_request",
            family=family,
        )
        if stored.kind == "refresh" and stored.family_id is not None:
            await self._storage.tokens.revoke_family(stored.family_id, now=now)
        else:
            await self._storage.tokens.revoke(stored.token_hash, now=now)
