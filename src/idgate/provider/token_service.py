"""The token endpoint's orchestration (RFC 6749 §3.2, §4.1.3, §4.4, §6; OIDC Core §3.1.3, §12).

Client authentication first, then the grant. Codes and refresh tokens are single use by one
atomic statement, committed together with the tokens they give; a replayed code revokes what it
produced, a reused refresh token revokes its whole family.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.errors import CryptoError
from idgate.crypto.jwt import unverified_header, verify_hmac_jwt, verify_jwt
from idgate.crypto.keys import KeyRing
from idgate.crypto.random import constant_time_equals, derive_secret, new_secret, secret_hash
from idgate.crypto.sealing import KeySealer
from idgate.protocol.access_token import Authentication
from idgate.protocol.authorize import ClaimsRequest
from idgate.protocol.claims import release_claims
from idgate.protocol.client_auth import (
    AssertionRules,
    ClientCredentials,
    JwtAssertion,
    PublicClient,
    SecretBasic,
    assertion_client_id,
    check_method,
    extract_client_credentials,
)
from idgate.protocol.clients import Client
from idgate.protocol.errors import InvalidClient, InvalidGrant, InvalidRequest, OAuthError
from idgate.protocol.scopes import OPENID
from idgate.protocol.token import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    CodeGrantData,
    RefreshTokenGrant,
    check_client_credentials_scopes,
    check_code_redemption,
    check_grant_allowed,
    narrow_scopes,
    parse_token_request,
    refresh_allowed,
    token_response,
)
from idgate.provider.audit import AuditLog
from idgate.provider.client_keys import ClientKeyResolver
from idgate.provider.tokens import IssuedToken, TokenIssuer, code_family
from idgate.storage.base import GrantWrites, Storage, StoredCode, StoredToken

ASYMMETRIC_ALGS = ("RS256", "PS256", "ES256", "EdDSA")
HMAC_ALGS = ("HS256", "HS384", "HS512")


@dataclass(frozen=True, slots=True)
class _CodeTokens:
    """What a redeemed code gave, stored; its ID Token is signed after the commit."""

    data: CodeGrantData
    account_claims: Mapping[str, Any]
    context: dict[str, Any]
    access: IssuedToken
    refresh: IssuedToken | None


@dataclass(frozen=True, slots=True)
class _Rotation:
    """A refresh token's successors, stored; the response (and ID Token) is made after."""

    account_claims: Mapping[str, Any]
    family: StoredToken
    scopes: tuple[str, ...]
    access_token: str
    expires_in: int
    refresh_token: str


class TokenService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        storage: Storage,
        issuer: TokenIssuer,
        sealer: KeySealer,
        client_keys: ClientKeyResolver,
        *,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._audit = audit or AuditLog(clock)
        self._clock = clock
        self._storage = storage
        self._issuer = issuer
        self._sealer = sealer
        self._client_keys = client_keys
        self._assertion_rules = AssertionRules(
            audiences=frozenset({settings.endpoint("/token"), settings.issuer})
        )

    async def token(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        client = await self.authenticate_client(authorization, form)
        grant = parse_token_request(form)
        check_grant_allowed(grant, client)
        match grant:
            case AuthorizationCodeGrant():
                return await self._code(client, grant)
            case RefreshTokenGrant():
                return await self._refresh(client, grant)
            case ClientCredentialsGrant():
                return await self._client_credentials(client, grant)
        raise AssertionError(f"unhandled grant {grant!r}")

    # --- client authentication (RFC 6749 §2.3, OIDC Core §9) --------------------------------

    async def authenticate_client(
        self, authorization: str | None, form: Mapping[str, str]
    ) -> Client:
        credentials = extract_client_credentials(authorization, form)
        basic = isinstance(credentials, SecretBasic)
        client_id = (
            assertion_client_id(credentials)
            if isinstance(credentials, JwtAssertion)
            else credentials.client_id
        )
        client = await self._storage.clients.get(client_id)
        if client is None:
            raise InvalidClient("client authentication failed", basic=basic)
        check_method(credentials, client)
        await self._verify(credentials, client, basic=basic)
        return client

    async def _verify(self, credentials: ClientCredentials, client: Client, *, basic: bool) -> None:
        match credentials:
            case PublicClient():
                return
            case JwtAssertion(assertion=assertion):
                await self._verify_assertion(assertion, client)
            case _:
                stored = client.secret_hash
                if stored is None or not constant_time_equals(
                    secret_hash(credentials.client_secret), stored
                ):
                    raise InvalidClient("client authentication failed", basic=basic)

    async def _verify_assertion(self, assertion: str, client: Client) -> None:
        """RFC 7523 §3: signature, then claims, then one use per jti (across processes)."""
        method = client.metadata.token_endpoint_auth_method
        # Registration 1.0 §2: a registered token_endpoint_auth_signing_alg is the only one.
        pinned = client.metadata.more.token_endpoint_auth_signing_alg
        try:
            if method == "client_secret_jwt":
                if client.secret_sealed is None:
                    raise InvalidClient("the client has no secret for client_secret_jwt")
                secret = self._sealer.open(client.secret_sealed).decode()
                verified = verify_hmac_jwt(
                    assertion, secret, algs=(pinned,) if pinned else HMAC_ALGS
                )
            else:
                kid = unverified_header(assertion).get("kid")
                keys = await self._client_keys.keys(
                    client, kid=kid if isinstance(kid, str) else None
                )
                verified = verify_jwt(
                    assertion, keys, algs=(pinned,) if pinned else ASYMMETRIC_ALGS
                )
        except CryptoError:
            raise InvalidClient("the client assertion's signature is not valid") from None
        now = self._clock.now()
        jti, exp = self._assertion_rules.validate(
            verified.claims, client_id=client.client_id, now=now
        )
        key = f"client-assertion:{client.client_id}:{jti}"
        leeway = self._assertion_rules.leeway
        if not await self._storage.replay.first_use(key, expires_at=exp + leeway, now=now):
            raise InvalidClient("the client assertion was used before")

    # --- authorization_code (RFC 6749 §4.1.3, OIDC Core §3.1.3) ------------------------------

    async def _code(self, client: Client, grant: AuthorizationCodeGrant) -> dict[str, Any]:
        now = self._clock.now()
        code_hash = secret_hash(grant.code)
        failure: OAuthError | None = None
        issued: _CodeTokens | None = None
        # The burn and the tokens it gives commit together: a concurrent redemption of the
        # same code waits for the commit, then finds the tokens its replay revokes.
        keys = await self._keys_for_access_tokens(client)
        async with self._storage.grant_transaction() as tx:
            redemption = await tx.codes.redeem(code_hash, now=now)
            if redemption.code is not None:
                try:
                    issued = await self._code_tokens(tx, client, grant, redemption.code, keys)
                except OAuthError as exc:
                    # The code stays burned whatever the error (SECURITY.md: a wrong client
                    # burns it), so the transaction commits and the error is raised after.
                    failure = exc
        if failure is not None:
            raise failure
        if issued is None:
            if redemption.replayed:
                # RFC 6749 §4.1.2 / RFC 9700 §4.5: a used code again means theft; revoke.
                await self._storage.tokens.revoke_family(code_family(code_hash), now=now)
                self._audit.token_revoked(
                    client_id=client.client_id,
                    subject=None,
                    kind="code_grant",
                    reason="code_replay",
                    family=True,
                )
                raise InvalidGrant("the authorization code was already used")
            raise InvalidGrant("the authorization code is not valid")
        data, access, refresh = issued.data, issued.access, issued.refresh
        id_token = None
        if OPENID in data.scopes:
            id_token = await self._id_token(
                client,
                issued.account_claims,
                data.subject,
                issued.context,
                nonce=data.nonce,
                access_token=access.value,
            )
        self._audit_issued(
            client, data.subject, "authorization_code", data.scopes, refresh, id_token
        )
        return token_response(
            access_token=access.value,
            expires_in=access.expires_in,
            scope=data.scopes,
            id_token=id_token,
            refresh_token=refresh.value if refresh else None,
        )

    async def _keys_for_access_tokens(self, client: Client) -> KeyRing | None:
        """The key ring a JWT access token needs, read before a grant transaction opens (no
        database access may happen inside it but through it)."""
        if not self._issuer.issues_jwt_access_tokens(client):
            return None
        return await self._issuer.keyring()

    async def _code_tokens(
        self,
        tx: GrantWrites,
        client: Client,
        grant: AuthorizationCodeGrant,
        code: StoredCode,
        keys: KeyRing | None,
    ) -> _CodeTokens:
        """Check a burned code and store the tokens it gives (inside the burn's transaction)."""
        now = self._clock.now()
        if code.expires_at <= now:
            raise InvalidGrant("the authorization code has expired")
        try:
            data = CodeGrantData.from_dict(code.data)
        except ValueError:
            raise InvalidGrant("the authorization code is not valid") from None
        check_code_redemption(data, grant, client_id=client.client_id, now=now)
        account = await tx.accounts.by_subject(data.subject)
        if account is None or account.disabled:
            raise InvalidGrant("the End-User's account is no longer active")

        family = code_family(code.code_hash)
        context: dict[str, Any] = {
            "sid": data.sid,
            "auth_time": data.auth_time,
            "acr": data.acr,
            "amr": list(data.amr),
            "claims": dict(data.claims) if data.claims else None,
            "claims_locales": list(data.claims_locales),
        }
        access = await self._issuer.access_token(
            client=client,
            subject=data.subject,
            scopes=data.scopes,
            data={
                "sid": data.sid,
                "claims": _userinfo_claims(data.claims),
                "claims_locales": list(data.claims_locales),
            },
            family_id=family,
            authentication=Authentication(data.auth_time, data.acr, tuple(data.amr)),
            keyring=keys,
        )
        refresh = None
        if refresh_allowed(client, data.scopes):
            refresh = self._issuer.refresh_token(
                client_id=client.client_id,
                subject=data.subject,
                scopes=data.scopes,
                data=context,
                family_id=family,
            )
        await self._issuer.store(access, *([refresh] if refresh else []), into=tx.tokens)
        return _CodeTokens(data, account.claims, context, access, refresh)

    def _audit_issued(
        self,
        client: Client,
        subject: str | None,
        grant: str,
        scopes: Sequence[str],
        refresh: object | None,
        id_token: str | None,
    ) -> None:
        issued = ["access_token"]
        issued += ["refresh_token"] if refresh is not None else []
        issued += ["id_token"] if id_token is not None else []
        self._audit.token_issued(
            client_id=client.client_id, subject=subject, grant=grant, issued=issued, scopes=scopes
        )

    async def _id_token(
        self,
        client: Client,
        account_claims: Mapping[str, Any],
        subject: str,
        context: Mapping[str, Any],
        *,
        nonce: str | None,
        access_token: str,
    ) -> str:
        requested = _id_token_claims(context.get("claims"))
        ctx = self._issuer.id_token_context(
            subject=self._issuer.subject(client, subject),
            client_id=client.client_id,
            auth_time=context["auth_time"],
            nonce=nonce,
            acr=context.get("acr"),
            amr=tuple(context.get("amr") or ()),
            sid=context.get("sid"),
            extra_claims=release_claims(
                account_claims,
                requested=requested,
                locales=tuple(context.get("claims_locales") or ()),
            ),
        )
        return await self._issuer.id_token(client, ctx, access_token=access_token)

    # --- refresh_token (RFC 6749 §6, OIDC Core §12) -------------------------------------------

    async def _refresh(self, client: Client, grant: RefreshTokenGrant) -> dict[str, Any]:
        now = self._clock.now()
        token_hash = secret_hash(grant.refresh_token)
        if not grant.scopes:
            # The common case burns the token at once, one statement: with nothing to narrow,
            # no check needs the stored token first.
            rotated = await self._burn_and_rotate(client, grant.refresh_token, token_hash, None)
            if rotated is not None:
                return await self._refresh_response(client, rotated)
        existing = await self._storage.tokens.get(token_hash)
        invalid = InvalidGrant("the refresh token is not valid")
        if existing is None or existing.kind != "refresh" or existing.client_id != client.client_id:
            raise invalid
        if existing.revoked_at is not None or existing.expires_at <= now:
            raise invalid
        if existing.used_at is not None and self._successor("refresh", "") is None:
            await self._revoke_family(existing, now)
            raise InvalidGrant("the refresh token was already used")
        # A narrowed scope is checked before the token is burned: invalid_scope leaves it live.
        scopes = narrow_scopes(grant.scopes, tuple(existing.scope.split()))
        rotated = None
        if existing.used_at is None:
            rotated = await self._burn_and_rotate(client, grant.refresh_token, token_hash, scopes)
        if rotated is None:
            # Already rotated: a retry within the grace period gets the same successor;
            # anything else means a copy of the token is in other hands (RFC 9700 §4.14).
            retried = await self._retry_within_grace(client, grant, existing, scopes)
            if retried is not None:
                return retried
            await self._revoke_family(existing, now)
            raise InvalidGrant("the refresh token was already used")
        return await self._refresh_response(client, rotated)

    async def _burn_and_rotate(
        self,
        client: Client,
        presented: str,
        token_hash: str,
        scopes: tuple[str, ...] | None,
    ) -> _Rotation | None:
        """Burn the refresh token and store its successors in one transaction (a concurrent
        reuse waits for the commit, then revokes a family that holds them); None when the
        token was not there to burn. `scopes` None keeps the token's own."""
        failure: OAuthError | None = None
        rotation = None
        keys = await self._keys_for_access_tokens(client)
        async with self._storage.grant_transaction() as tx:
            used = await tx.tokens.use_refresh(
                token_hash, client_id=client.client_id, now=self._clock.now()
            )
            if used is not None:
                try:
                    rotation = await self._rotate(
                        tx, client, presented, used, scopes or tuple(used.scope.split()), keys
                    )
                except OAuthError as exc:
                    failure = exc  # the token stays burned: commit, then raise
        if failure is not None:
            raise failure
        return rotation

    def _successor(self, label: str, refresh_token: str) -> str | None:
        """With a grace period, successors are derived from the old token under the secret
        key, so a retry can be answered with the same values without storing them."""
        if self._settings.refresh_grace_period <= 0 or not self._settings.secret_key:
            return None
        return derive_secret(self._settings.secret_key, f"refresh-rotation:{label}", refresh_token)

    async def _rotate(
        self,
        tx: GrantWrites,
        client: Client,
        presented: str,
        used: StoredToken,
        scopes: tuple[str, ...],
        keys: KeyRing | None,
    ) -> _Rotation:
        subject = used.subject
        account = await tx.accounts.by_subject(subject) if subject else None
        if subject is None or account is None or account.disabled:
            raise InvalidGrant("the End-User's account is no longer active")
        family = used.family_id or new_secret(16)
        access = await self._refreshed_access_token(
            client, used, scopes, family, value=self._successor("access", presented), keys=keys
        )
        rotated = self._issuer.refresh_token(
            client_id=client.client_id,
            subject=subject,
            scopes=tuple(used.scope.split()),
            data=used.data,
            family_id=family,
            expires_at=used.expires_at,
            value=self._successor("refresh", presented),
        )
        await self._issuer.store(access, rotated, into=tx.tokens)
        return _Rotation(
            account.claims, used, scopes, access.value, access.expires_in, rotated.value
        )

    async def _refreshed_access_token(
        self,
        client: Client,
        used: StoredToken,
        scopes: tuple[str, ...],
        family: str,
        *,
        value: str | None,
        keys: KeyRing | None = None,
    ) -> IssuedToken:
        """The access token a refresh gives, in the refresh token's family (not yet stored)."""
        return await self._issuer.access_token(
            client=client,
            subject=used.subject,
            scopes=scopes,
            data={
                "sid": used.data.get("sid"),
                "claims": _userinfo_claims(used.data.get("claims")),
                "claims_locales": used.data.get("claims_locales") or [],
            },
            family_id=family,
            value=value,
            authentication=Authentication.from_context(used.data),
            keyring=keys,
        )

    async def _refresh_response(self, client: Client, rotation: _Rotation) -> dict[str, Any]:
        family, scopes = rotation.family, rotation.scopes
        access_token, refresh_token = rotation.access_token, rotation.refresh_token
        id_token = None
        if OPENID in scopes and family.subject is not None:
            # Core §12.2: same sub, auth_time of the original authentication; no new nonce.
            id_token = await self._id_token(
                client,
                rotation.account_claims,
                family.subject,
                family.data,
                nonce=None,
                access_token=access_token,
            )
        self._audit_issued(client, family.subject, "refresh_token", scopes, refresh_token, id_token)
        return token_response(
            access_token=access_token,
            expires_in=rotation.expires_in,
            scope=scopes,
            id_token=id_token,
            refresh_token=refresh_token,
        )

    async def _retry_within_grace(
        self,
        client: Client,
        grant: RefreshTokenGrant,
        existing: StoredToken,
        scopes: tuple[str, ...],
    ) -> dict[str, Any] | None:
        access_value = self._successor("access", grant.refresh_token)
        refresh_value = self._successor("refresh", grant.refresh_token)
        if access_value is None or refresh_value is None:
            return None
        now = self._clock.now()
        # A concurrent first use may still be writing its successor: look a few times.
        for _attempt in range(10):
            current = await self._storage.tokens.get(existing.token_hash)
            used_at = current.used_at if current else None
            if used_at is None or now - used_at > self._settings.refresh_grace_period:
                return None
            successor = await self._storage.tokens.get(secret_hash(refresh_value))
            access = await self._storage.tokens.get(secret_hash(access_value))
            if (
                successor is not None
                and access is None
                and self._issuer.issues_jwt_access_tokens(client)
            ):
                # A JWT access token cannot be derived again: the retry gets a new one, of the
                # same family, so revoking the family still takes it along.
                if successor.used_at is not None or successor.revoked_at is not None:
                    return None
                fresh = await self._refreshed_access_token(
                    client, existing, scopes, successor.family_id or new_secret(16), value=None
                )
                await self._issuer.store(fresh)
                access, access_value = fresh.record, fresh.value
            if successor is not None and access is not None:
                live = successor.used_at is None and successor.revoked_at is None
                if not live or access.revoked_at is not None or access.scope != " ".join(scopes):
                    return None
                account = await self._storage.accounts.by_subject(existing.subject or "")
                if account is None or account.disabled:
                    return None
                return await self._refresh_response(
                    client,
                    _Rotation(
                        account.claims,
                        existing,
                        scopes,
                        access_value,
                        max(1, access.expires_at - now),
                        refresh_value,
                    ),
                )
            await asyncio.sleep(0.05)
        return None

    async def _revoke_family(self, token: StoredToken, now: int) -> None:
        # RFC 9700 §4.14.2: a refresh token used twice means a copy is in other hands.
        self._audit.token_revoked(
            client_id=token.client_id,
            subject=token.subject,
            kind=token.kind,
            reason="refresh_reuse",
            family=token.family_id is not None,
        )
        if token.family_id is not None:
            await self._storage.tokens.revoke_family(token.family_id, now=now)
        else:
            await self._storage.tokens.revoke(token.token_hash, now=now)

    # --- client_credentials (RFC 6749 §4.4) -------------------------------------------------

    async def _client_credentials(
        self, client: Client, grant: ClientCredentialsGrant
    ) -> dict[str, Any]:
        if client.is_public:
            raise InvalidRequest("public clients cannot use client_credentials")
        scopes = check_client_credentials_scopes(grant.scopes, client.metadata.scope)
        access = await self._issuer.access_token(
            client=client, subject=None, scopes=scopes, data={}
        )
        await self._issuer.store(access)
        self._audit_issued(client, None, "client_credentials", scopes, None, None)
        return token_response(access_token=access.value, expires_in=access.expires_in, scope=scopes)


def _claims_request(doc: Any) -> ClaimsRequest | None:
    if not doc:
        return None
    try:
        return ClaimsRequest.from_json(doc)
    except (ValueError, TypeError):
        return None


def _id_token_claims(doc: Any) -> tuple[str, ...]:
    request = _claims_request(doc)
    return tuple(name for name, _ in request.id_token) if request else ()


def _userinfo_claims(doc: Any) -> list[str]:
    request = _claims_request(doc)
    return [name for name, _ in request.userinfo] if request else []
