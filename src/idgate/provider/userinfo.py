"""The UserInfo endpoint's orchestration (OpenID Connect Core 1.0 §5.3; RFC 6750).

The token is looked up by its hash on every call, so a revocation anywhere is seen at once
everywhere. The protocol core decides what the token allows and which Claims go out; this
module adds what only storage and keys know: the client, the account, the `sub` the client
sees (public or pairwise) and, when the client asked for it, the signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.errors import NoSigningKey
from idgate.crypto.jwt import sign_jwt
from idgate.crypto.random import secret_hash
from idgate.protocol.errors import InvalidToken, ServerError
from idgate.protocol.userinfo import check_access_token, signed_userinfo_claims, userinfo_claims
from idgate.provider.keys import KeyManager
from idgate.provider.subjects import SubjectService
from idgate.storage.base import Storage


@dataclass(frozen=True)
class UserInfoResponse:
    """The Claims, and the signed JWT carrying them when the client registered
    `userinfo_signed_response_alg` (then the answer is `application/jwt`, Core §5.3.2)."""

    claims: Mapping[str, Any]
    jwt: str | None = field(default=None, repr=False)


class UserInfoService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        storage: Storage,
        keys: KeyManager,
        subjects: SubjectService,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._storage = storage
        self._keys = keys
        self._subjects = subjects

    async def userinfo(self, access_token: str) -> UserInfoResponse:
        invalid = InvalidToken("the access token is not valid")
        stored = await self._storage.tokens.get(secret_hash(access_token))
        if stored is None:
            raise invalid
        scopes = tuple(stored.scope.split())
        local_subject = check_access_token(
            kind=stored.kind,
            subject=stored.subject,
            scopes=scopes,
            expires_at=stored.expires_at,
            revoked_at=stored.revoked_at,
            now=self._clock.now(),
        )
        client = await self._storage.clients.get(stored.client_id)
        if client is None:
            raise invalid  # the client was removed: its tokens die with it
        account = await self._storage.accounts.by_subject(local_subject)
        if account is None or account.disabled:
            raise InvalidToken("the End-User's account is no longer active")
        claims = userinfo_claims(
            account.claims,
            subject=self._subjects.for_client(client, local_subject),
            scopes=scopes,
            requested=_names(stored.data.get("claims")),
            locales=_names(stored.data.get("claims_locales")),
        )
        alg = client.metadata.userinfo_signed_response_alg
        if alg is None:
            return UserInfoResponse(claims)
        try:
            key = (await self._keys.keyring()).signing_key(alg)
        except NoSigningKey:
            # The operator's mistake, not the client's: no current key for the registered alg.
            raise ServerError(f"no signing key for userinfo_signed_response_alg {alg}") from None
        payload = signed_userinfo_claims(
            claims, issuer=self._settings.issuer, client_id=client.client_id
        )
        return UserInfoResponse(claims, sign_jwt(payload, key))


def _names(value: object) -> tuple[str, ...]:
    """A list of strings kept in a token's data (Claim names, locales); anything else is ()."""
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
