"""Minting codes, access tokens, refresh tokens and ID Tokens; only hashes are stored.

An access token is opaque, or a JWT (RFC 9068) for clients registered with
`access_token_format: "jwt"`; either way the row stored is keyed by the hash of the string the
client got, so everything that looks a token up treats both alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.jwt import sign_jwt
from idgate.crypto.keys import KeyRing
from idgate.crypto.random import new_secret, secret_hash
from idgate.protocol.access_token import (
    ACCESS_TOKEN_ALG,
    ACCESS_TOKEN_TYP,
    Authentication,
    jwt_access_token_claims,
)
from idgate.protocol.clients import Client
from idgate.protocol.id_token import IdTokenContext, id_token_claims
from idgate.provider.keys import KeyManager
from idgate.provider.subjects import SubjectService
from idgate.storage.base import CodeRepository, StoredCode, StoredToken, TokenRepository


def code_family(code_hash: str) -> str:
    """The family of every token issued from one code, rotations included, derived from the
    code's hash: a replayed code revokes them by it (RFC 6749 §4.1.2), with no index of its own."""
    return secret_hash("code-family:" + code_hash)[:32]


@dataclass(frozen=True)
class IssuedToken:
    value: str
    expires_in: int
    record: StoredToken


class TokenIssuer:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        keys: KeyManager,
        codes: CodeRepository,
        tokens: TokenRepository,
        subjects: SubjectService,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._keys = keys
        self._codes = codes
        self._tokens = tokens
        self._subjects = subjects

    def code_expiry(self) -> int:
        return self._clock.now() + self._settings.code_ttl

    async def code(self, client_id: str, data: Mapping[str, Any], *, expires_at: int) -> str:
        """A new authorization code: 256 random bits, stored hashed, single use, short-lived."""
        code = new_secret(32)
        await self._codes.add(
            StoredCode(
                code_hash=secret_hash(code),
                client_id=client_id,
                data=dict(data),
                created_at=self._clock.now(),
                expires_at=expires_at,
            )
        )
        return code

    def _token(
        self,
        kind: str,
        ttl: int,
        *,
        client_id: str,
        subject: str | None,
        scopes: Sequence[str],
        data: Mapping[str, Any],
        family_id: str | None,
        value: str | None = None,
        now: int | None = None,
    ) -> IssuedToken:
        value = value or new_secret(32)
        now = self._clock.now() if now is None else now
        record = StoredToken(
            token_hash=secret_hash(value),
            kind="access" if kind == "access" else "refresh",
            client_id=client_id,
            subject=subject,
            scope=" ".join(scopes),
            data=dict(data),
            created_at=now,
            expires_at=now + ttl,
            family_id=family_id,
        )
        return IssuedToken(value=value, expires_in=ttl, record=record)

    async def store(self, *issued: IssuedToken, into: TokenRepository | None = None) -> None:
        """Store the tokens of one response, together: until then none of them is valid.
        `into`: the tokens of a transaction (`Storage.grant_transaction`)."""
        await (into or self._tokens).add_all(*(token.record for token in issued))

    async def access_token(
        self,
        *,
        client: Client,
        subject: str | None,
        scopes: Sequence[str],
        data: Mapping[str, Any],
        family_id: str | None = None,
        value: str | None = None,
        authentication: Authentication | None = None,
        keyring: KeyRing | None = None,
    ) -> IssuedToken:
        """A new access token, not yet stored (see `store`): opaque, or a JWT when the client
        asked for them (signed with `keyring`, by default the current one).

        `value` fixes an opaque token's value (a derived refresh successor); a JWT cannot be
        derived again, so it is ignored there. `authentication` feeds a JWT's `auth_time`,
        `acr` and `amr`. Only JWTs await anything (the key ring, from memory).
        """
        ttl = self._settings.access_token_ttl
        now = self._clock.now()
        if self.issues_jwt_access_tokens(client):
            audience = self.access_token_audience()
            claims = jwt_access_token_claims(
                issuer=self._settings.issuer,
                audience=audience,
                subject=self.subject(client, subject) if subject else client.client_id,
                client_id=client.client_id,
                issued_at=now,
                expires_at=now + ttl,
                jti=new_secret(16),
                scopes=scopes,
                authentication=authentication,
            )
            key = (keyring or await self._keys.keyring()).signing_key(ACCESS_TOKEN_ALG)
            value = sign_jwt(claims, key, typ=ACCESS_TOKEN_TYP)
            # Introspection reports the JWT's own audience.
            data = {**data, "aud": audience}
        return self._token(
            "access",
            ttl,
            client_id=client.client_id,
            subject=subject,
            scopes=scopes,
            data=data,
            family_id=family_id,
            value=value,
            now=now,
        )

    async def keyring(self) -> KeyRing:
        return await self._keys.keyring()

    @staticmethod
    def issues_jwt_access_tokens(client: Client) -> bool:
        return client.metadata.access_token_format == "jwt"

    def access_token_audience(self) -> str:
        """RFC 9068 §3: without a `resource` parameter (RFC 8707, not built) a default
        resource: the operator's `access_token_audience`, else the issuer, whose UserInfo
        endpoint is the one resource server idgate always has."""
        return self._settings.access_token_audience or self._settings.issuer

    def refresh_token(
        self,
        *,
        client_id: str,
        subject: str,
        scopes: Sequence[str],
        data: Mapping[str, Any],
        family_id: str,
        expires_at: int | None = None,
        value: str | None = None,
    ) -> IssuedToken:
        """A new refresh token, not yet stored (see `store`); rotations keep the family's
        absolute expiry (`expires_at`)."""
        ttl = self._settings.refresh_token_ttl
        if expires_at is not None:
            ttl = max(1, expires_at - self._clock.now())
        return self._token(
            "refresh",
            ttl,
            client_id=client_id,
            subject=subject,
            scopes=scopes,
            data=data,
            family_id=family_id,
            value=value,
        )

    async def id_token(
        self,
        client: Client,
        context: IdTokenContext,
        *,
        code: str | None = None,
        access_token: str | None = None,
        state: str | None = None,
    ) -> str:
        """An ID Token; `state` (front channel only) adds `s_hash`, which lets the RP bind
        the state to the signed token (detached signature, FAPI 1.0 Advanced §5.2.2.1)."""
        alg = client.metadata.id_token_signed_response_alg
        key = (await self._keys.keyring()).signing_key(alg)
        claims = id_token_claims(
            context,
            alg=alg,
            code=code,
            access_token=access_token,
            state=state,
            include_s_hash=state is not None,
        )
        return sign_jwt(claims, key)

    def subject(self, client: Client, local_subject: str) -> str:
        """The `sub` that `client` knows the End-User by (Core §8: public or pairwise). Every
        ID Token's `sub`, and every comparison with one, goes through here."""
        return self._subjects.for_client(client, local_subject)

    def id_token_context(self, **fields: Any) -> IdTokenContext:
        return IdTokenContext(
            issuer=self._settings.issuer,
            issued_at=self._clock.now(),
            lifetime=self._settings.id_token_ttl,
            **fields,
        )
