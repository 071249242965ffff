"""`RelyingParty`: the async facade over discovery, requests, callbacks, tokens and UserInfo.

A sign-in in five calls::

    async with RelyingParty("https://id.example.com", credentials) as rp:
        request = await rp.authorization_request(
            redirect_uri="https://app.example.com/cb", response_type="code id_token",
            response_mode="form_post")
        store(request.session)                 # for this browser; then redirect to request.url
        ...
        response = AuthorizationResponse.from_form_post(form)      # at the redirect_uri
        result = await rp.handle_authorization_response(session, response)
        tokens = await rp.exchange_code(session, result)           # Core §3.1.3
        info = await rp.userinfo(tokens.access_token, id_token=tokens.id_token)  # Core §5.3

Every step validates what the spec says the RP must (see :mod:`idgate.client.validation`) and
raises an :mod:`idgate.client.errors` exception otherwise. The RP holds only caches (the
discovery document and the JWK Set); per-sign-in state lives in the
:class:`~idgate.client.requests.AuthorizationSession` the application stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from idgate.client._http import json_object, media_type, new_http_client, raise_for_error, send
from idgate.client.callback import AuthorizationResponse, check_authorization_response
from idgate.client.credentials import ClientCredentials
from idgate.client.discovery import KeySet, ProviderMetadata, fetch_provider_metadata
from idgate.client.errors import (
    ConfigurationError,
    InvalidProviderResponse,
    InvalidSignature,
    SubjectMismatch,
)
from idgate.client.logout import (
    LogoutToken,
    ReplayCache,
    end_session_url,
    validate_logout_token_claims,
)
from idgate.client.registration import RegisteredClient, register_client
from idgate.client.requests import (
    AuthorizationRequest,
    AuthorizationSession,
    ResponseMode,
    build_authorization_request,
)
from idgate.client.validation import (
    Check,
    IDToken,
    IDTokenExpectations,
    check_audience,
    check_issuer,
    check_refreshed_id_token,
    check_same_end_user,
    validate_id_token_claims,
    verify_signature,
)
from idgate.clock import Clock, SystemClock
from idgate.crypto.errors import InvalidJWT
from idgate.crypto.jwt import VerifiedJWT, unverified_header
from idgate.crypto.keys import SigningKey

__all__ = ["AuthorizationResult", "RelyingParty", "TokenSet", "UserInfo"]


@dataclass(frozen=True)
class AuthorizationResult:
    """A checked authorization response: the code and the front-channel tokens, if any."""

    session: AuthorizationSession
    response: AuthorizationResponse
    code: str | None = field(default=None, repr=False)
    id_token: IDToken | None = None
    access_token: str | None = field(default=None, repr=False)
    token_type: str | None = None
    expires_in: int | None = None
    scope: str | None = None


@dataclass(frozen=True)
class TokenSet:
    """A validated token response (RFC 6749 §5.1, Core §3.1.3.3).

    After a refresh without a new refresh token, ``refresh_token`` is the one that was used
    (RFC 6749 §6: it stays valid). ``checks`` are the checks across ID Tokens (Core §3.3.3.6,
    §12.2) beyond the ID Token's own.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    refresh_token: str | None = field(repr=False)
    scope: str | None
    id_token: IDToken | None
    raw: Mapping[str, Any] = field(repr=False)
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class UserInfo:
    """The UserInfo response (Core §5.3.2), its ``sub`` checked against the ID Token's."""

    claims: Mapping[str, Any]
    signed: bool
    checks: tuple[Check, ...] = ()

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class RelyingParty:
    """One client of one OP.

    - ``http``: the :class:`httpx.AsyncClient` to use (e.g. with an ASGI transport in tests);
      the RP makes and closes its own when none is given.
    - ``clock``: for ``exp``/``iat``/``max_age`` (an :class:`idgate.clock.Clock`).
    - ``max_clock_skew``: seconds of clock difference tolerated (default 60).
    - ``jwks_refresh_interval``: at least this many seconds between two fetches of the JWK Set
      caused by unknown ``kid`` values.
    - ``metadata_max_age``: how long the discovery document and JWK Set are cached.
    - ``trusted_audiences``: other audiences accepted in ID Tokens beside the client_id.
    """

    def __init__(
        self,
        issuer: str,
        client: ClientCredentials,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        max_clock_skew: int = 60,
        jwks_refresh_interval: int = 60,
        metadata_max_age: int = 3600,
        trusted_audiences: Iterable[str] = (),
    ) -> None:
        if max_clock_skew < 0 or max_clock_skew > 600:
            raise ConfigurationError("max_clock_skew must be between 0 and 600 seconds")
        self.issuer = issuer
        self.client = client
        self._owns_http = http is None
        self.http = http if http is not None else new_http_client()
        self.clock: Clock = clock or SystemClock()
        self.max_clock_skew = max_clock_skew
        self._jwks_refresh_interval = jwks_refresh_interval
        self._metadata_max_age = metadata_max_age
        self._trusted_audiences = frozenset(trusted_audiences)
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()
        #: The OP's registration response, when the RP was made by :meth:`register`.
        self.registration: RegisteredClient | None = None

    @classmethod
    async def register(
        cls,
        issuer: str,
        document: Mapping[str, Any],
        *,
        http: httpx.AsyncClient | None = None,
        initial_access_token: str | None = None,
        private_key: SigningKey | None = None,
        **options: Any,
    ) -> RelyingParty:
        """Register a new client by Dynamic Client Registration (RFC 7591 §3) and return an RP
        for it. The OP's answer (with the client_secret, shown once) is in ``registration``;
        ``options`` are the other arguments of the constructor."""
        own_http = http is None
        http = http if http is not None else new_http_client()
        try:
            metadata = await fetch_provider_metadata(http, issuer)
            registered = await register_client(
                http, metadata, document, initial_access_token=initial_access_token
            )
        except BaseException:
            if own_http:
                await http.aclose()
            raise
        rp = cls(issuer, registered.credentials(private_key=private_key), http=http, **options)
        rp._owns_http = own_http
        rp.registration = registered
        return rp

    async def __aenter__(self) -> RelyingParty:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if the RP made it."""
        if self._owns_http:
            await self.http.aclose()

    # --- discovery ------------------------------------------------------------------------

    async def provider_metadata(self) -> ProviderMetadata:
        """The OP's discovery document (Discovery 1.0 §4), cached for ``metadata_max_age``."""
        async with self._lock:
            now = self.clock.now()
            if self._metadata is None or now - self._metadata_at >= self._metadata_max_age:
                self._metadata = await fetch_provider_metadata(self.http, self.issuer)
                self._metadata_at = now
                if self._keys is None or self._keys.jwks_uri != self._metadata.jwks_uri:
                    self._keys = KeySet(
                        self.http,
                        self._metadata.jwks_uri,
                        self.clock,
                        min_refresh_interval=self._jwks_refresh_interval,
                        max_age=self._metadata_max_age,
                    )
            return self._metadata

    async def key_set(self) -> KeySet:
        """The OP's JWK Set cache."""
        await self.provider_metadata()
        assert self._keys is not None
        return self._keys

    # --- the authorization request and response -------------------------------------------

    async def authorization_request(
        self,
        *,
        redirect_uri: str,
        response_type: str = "code",
        scope: str = "openid",
        response_mode: ResponseMode | None = None,
        pkce: bool = True,
        max_age: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AuthorizationRequest:
        """A new authorization request; see
        :func:`~idgate.client.requests.build_authorization_request`."""
        return build_authorization_request(
            await self.provider_metadata(),
            self.client.client_id,
            redirect_uri=redirect_uri,
            response_type=response_type,
            scope=scope,
            response_mode=response_mode,
            pkce=pkce,
            max_age=max_age,
            extra=extra,
        )

    async def handle_authorization_response(
        self, session: AuthorizationSession, response: AuthorizationResponse
    ) -> AuthorizationResult:
        """Check the response (``iss``, ``state``, ``error``, completeness) and validate the
        front-channel ID Token with ``c_hash``/``at_hash``/``s_hash`` (Core §3.2.2.11,
        §3.3.2.12)."""
        if session.client_id != self.client.client_id:
            raise ConfigurationError("the AuthorizationSession was made for another client_id")
        metadata = await self.provider_metadata()
        check_authorization_response(response, session, metadata)
        params = response.parameters
        words = session.words
        id_token: IDToken | None = None
        if "id_token" in words:
            id_token = await self.validate_id_token(
                params["id_token"],
                self.expectations(
                    nonce=session.nonce,
                    max_age=session.max_age,
                    code=params.get("code"),
                    c_hash_required="code" in words,
                    access_token=params.get("access_token"),
                    at_hash_required="token" in words,
                    state=session.state,
                ),
            )
        return AuthorizationResult(
            session=session,
            response=response,
            code=params.get("code"),
            id_token=id_token,
            access_token=params.get("access_token"),
            token_type=params.get("token_type"),
            expires_in=_optional_int(params.get("expires_in")),
            scope=params.get("scope"),
        )

    # --- ID Tokens --------------------------------------------------------------------------

    def expectations(self, **values: Any) -> IDTokenExpectations:
        """:class:`IDTokenExpectations` for this RP's issuer, client_id, skew and audiences."""
        return IDTokenExpectations(
            issuer=self.issuer,
            client_id=self.client.client_id,
            trusted_audiences=self._trusted_audiences,
            max_clock_skew=self.max_clock_skew,
            **values,
        )

    async def verify_jws(self, token: str, alg: str) -> tuple[VerifiedJWT, Check]:
        """Verify a JWS of the OP with ``alg``, fetching the JWK Set again for an unknown kid."""
        try:
            header = unverified_header(token)
        except InvalidJWT as exc:
            raise InvalidSignature(f"not a JWS: {exc}", claim="signature") from None
        kid = header.get("kid")
        jwks: Mapping[str, Any] = {"keys": []}
        if not alg.startswith("HS"):
            jwks = await (await self.key_set()).get(kid if isinstance(kid, str) else None)
        return verify_signature(token, jwks, alg=alg, client_secret=self.client.client_secret)

    async def validate_id_token(self, token: str, expect: IDTokenExpectations) -> IDToken:
        """Verify the signature with the registered alg and check the claims (Core §3.1.3.7)."""
        verified, signature = await self.verify_jws(token, self.client.id_token_signed_response_alg)
        return validate_id_token_claims(
            verified, token, expect, now=self.clock.now(), signature=signature
        )

    # --- the token endpoint -----------------------------------------------------------------

    async def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        metadata = await self.provider_metadata()
        endpoint = metadata.endpoint("token_endpoint")
        headers, auth_fields = self.client.token_request_auth(endpoint, self.clock.now())
        response = await send(
            self.http,
            "POST",
            endpoint,
            what="token endpoint",
            data={**form, **auth_fields},
            headers={"Accept": "application/json", **headers},
        )
        raise_for_error(response, what="token endpoint", expected=(200,))
        body = json_object(response, what="token endpoint")
        if not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise InvalidProviderResponse("the token response has no access_token (RFC 6749 §5.1)")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise InvalidProviderResponse(
                f"the token response's token_type is {token_type!r}; only Bearer is supported"
            )
        for name in ("id_token", "refresh_token", "scope"):
            if name in body and not isinstance(body[name], str):
                raise InvalidProviderResponse(f"{name} in the token response is not a string")
        return body

    async def exchange_code(
        self, session: AuthorizationSession, result: AuthorizationResult
    ) -> TokenSet:
        """Redeem the code at the token endpoint (Core §3.1.3.1) with the PKCE verifier, and
        validate the ID Token (§3.1.3.5, §3.1.3.7) and its consistency with the front-channel
        one: same ``iss`` and ``sub`` (§3.3.3.6)."""
        if result.code is None or "code" not in session.words:
            raise ConfigurationError(
                f"response_type {session.response_type!r} returned no code to exchange"
            )
        form = {
            "grant_type": "authorization_code",
            "code": result.code,
            "redirect_uri": session.redirect_uri,
        }
        if session.code_verifier is not None:
            form["code_verifier"] = session.code_verifier
        body = await self._token_request(form)
        if "id_token" not in body:
            raise InvalidProviderResponse(
                "the token response has no id_token, which an OpenID Connect code exchange "
                "returns (Core §3.1.3.3)",
                hint="that scope contained openid",
            )
        id_token = await self.validate_id_token(
            body["id_token"],
            self.expectations(
                nonce=session.nonce,
                max_age=session.max_age,
                code=result.code,
                access_token=body["access_token"],
                state=session.state,
            ),
        )
        checks: tuple[Check, ...] = ()
        if result.id_token is not None:
            checks = (check_same_end_user(result.id_token, id_token),)
        return self._token_set(body, id_token, checks, previous_refresh_token=None)

    async def refresh(
        self, refresh_token: str, *, id_token: IDToken | None = None, scope: str | None = None
    ) -> TokenSet:
        """Use a refresh token (Core §12.1). A new ID Token, if any, must keep ``iss``, ``sub``,
        ``aud``, ``auth_time`` and ``azp`` of ``id_token``, the one of the original
        authentication (Core §12.2)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            form["scope"] = scope
        body = await self._token_request(form)
        new_id_token: IDToken | None = None
        checks: tuple[Check, ...] = ()
        if "id_token" in body:
            new_id_token = await self.validate_id_token(
                body["id_token"],
                self.expectations(
                    nonce=id_token.nonce if id_token is not None else None,
                    nonce_required=False,
                    access_token=body["access_token"],
                ),
            )
            if id_token is not None:
                checks = (check_refreshed_id_token(id_token, new_id_token),)
        return self._token_set(body, new_id_token, checks, previous_refresh_token=refresh_token)

    @staticmethod
    def _token_set(
        body: dict[str, Any],
        id_token: IDToken | None,
        checks: tuple[Check, ...],
        *,
        previous_refresh_token: str | None,
    ) -> TokenSet:
        return TokenSet(
            access_token=body["access_token"],
            token_type=body["token_type"],
            expires_in=_optional_int(body.get("expires_in")),
            refresh_token=body.get("refresh_token", previous_refresh_token),
            scope=body.get("scope"),
            id_token=id_token,
            raw=body,
            checks=checks,
        )

    # --- UserInfo ---------------------------------------------------------------------------

    async def userinfo(self, access_token: str, *, id_token: IDToken) -> UserInfo:
        """Call the UserInfo endpoint (Core §5.3.1) and check that its ``sub`` is the ID
        Token's (§5.3.2). A signed (``application/jwt``) response is verified with the
        client's ``userinfo_signed_response_alg``, with ``iss`` and ``aud`` checked when
        present."""
        metadata = await self.provider_metadata()
        endpoint = metadata.endpoint("userinfo_endpoint")
        response = await send(
            self.http,
            "GET",
            endpoint,
            what="UserInfo endpoint",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        raise_for_error(response, what="UserInfo endpoint", expected=(200,))
        checks: list[Check] = []
        signed = media_type(response) == "application/jwt"
        if signed:
            alg = self.client.userinfo_signed_response_alg
            if alg is None:
                raise InvalidProviderResponse(
                    "the UserInfo response is a JWT, but this client did not register "
                    "userinfo_signed_response_alg",
                    hint="give ClientCredentials the userinfo_signed_response_alg the client "
                    "registered",
                )
            verified, signature = await self.verify_jws(response.text.strip(), alg)
            claims = dict(verified.claims)
            checks.append(signature)
            if "iss" in claims:
                checks.append(check_issuer(claims, self.issuer))
            if "aud" in claims:
                checks += check_audience(claims, self.client.client_id, self._trusted_audiences)
        else:
            if media_type(response) != "application/json":
                raise InvalidProviderResponse(
                    f"the UserInfo response has content type {media_type(response)!r}, neither "
                    "application/json nor application/jwt (Core §5.3.2)"
                )
            claims = json_object(response, what="UserInfo endpoint")
        sub = claims.get("sub")
        if not isinstance(sub, str) or sub != id_token.subject:
            raise SubjectMismatch(
                "the UserInfo response's sub is not the ID Token's: these claims are about "
                "another End-User (Core §5.3.2)",
                claim="sub",
            )
        checks.append(Check("sub", "equals the ID Token's sub"))
        return UserInfo(claims=claims, signed=signed, checks=tuple(checks))

    # --- logout -----------------------------------------------------------------------------

    async def end_session_url(
        self,
        *,
        id_token_hint: str | None = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        ui_locales: str | None = None,
    ) -> str:
        """The RP-Initiated Logout URL (RP-Initiated Logout 1.0 §2); see
        :func:`~idgate.client.logout.end_session_url`."""
        return end_session_url(
            await self.provider_metadata(),
            client_id=self.client.client_id,
            id_token_hint=id_token_hint,
            post_logout_redirect_uri=post_logout_redirect_uri,
            state=state,
            ui_locales=ui_locales,
        )

    async def validate_logout_token(
        self, token: str, *, replay_cache: ReplayCache | None = None, max_age: int = 600
    ) -> LogoutToken:
        """Validate a Back-Channel Logout Token (BCL 1.0 §2.6), signed like ID Tokens."""
        verified, signature = await self.verify_jws(token, self.client.id_token_signed_response_alg)
        return validate_logout_token_claims(
            verified,
            token,
            issuer=self.issuer,
            client_id=self.client.client_id,
            now=self.clock.now(),
            signature=signature,
            max_clock_skew=self.max_clock_skew,
            max_age=max_age,
            replay_cache=replay_cache,
        )
