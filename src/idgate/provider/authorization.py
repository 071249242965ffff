"""The authorization endpoint's orchestration (OpenID Connect Core 1.0 §3.1.2, §3.2.2, §3.3.2).

The protocol core validates and decides; this module reads and writes storage around it:
the OP session, pending interactions (login and consent pages), remembered consent, and the
code, access token and ID Token that answer the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.random import constant_time_equals, new_secret, secret_hash
from idgate.protocol.access_token import Authentication
from idgate.protocol.authorize import (
    AuthorizationRequest,
    AuthorizePolicy,
    check_client_and_redirect_uri,
    parse_authorization_request,
)
from idgate.protocol.claims import release_claims
from idgate.protocol.clients import Client
from idgate.protocol.errors import (
    AccessDenied,
    InvalidRequest,
    OAuthError,
    UnsafeToRedirect,
)
from idgate.protocol.interaction import SessionView, next_interaction
from idgate.protocol.request_object import PUSHED_REQUEST_PREFIX, has_request_object
from idgate.protocol.response_modes import (
    AuthorizationResponse,
    ResponseTarget,
    build_response,
    error_response,
)
from idgate.protocol.session_state import browser_state, origin_of, session_state
from idgate.protocol.token import CodeGrantData
from idgate.provider.accounts import AccountService
from idgate.provider.audit import AuditLog, FailureReason
from idgate.provider.hints import verify_id_token_hint
from idgate.provider.keys import KeyManager
from idgate.provider.request_objects import RequestObjects
from idgate.provider.tokens import TokenIssuer
from idgate.storage.base import Account, BrowserSession, PendingInteraction, Storage

# Parameters whose repetition makes the request untrustworthy before a redirect target exists.
_TARGET_PARAMETERS = frozenset({"client_id", "redirect_uri"})
# ISO/IEC 29115 level 1: a password login (Core §2 acr).
PASSWORD_ACR = "1"
# (sid, client_id) pairs this process knows are stored; a bound on the memory it takes.
_REMEMBERED_CLIENTS_MAX = 100_000


@dataclass(frozen=True)
class ShowError:
    """An error for the End-User's eyes only: never redirected (RFC 6749 §4.1.2.1)."""

    title: str
    message: str
    status_code: int = 400


@dataclass(frozen=True)
class Respond:
    """Send the authorization response (success or error) to the client.

    `browser_state` is the OP browser state the response's `session_state` was computed with
    (Session Management 1.0 §3): the web layer sets its cookie to it ("" clears it), so that
    the check_session_iframe sees the same value. None: the response has no session_state.
    """

    response: AuthorizationResponse
    browser_state: str | None = None


@dataclass(frozen=True)
class Interact:
    """Send the browser to the interaction page `/interaction/{handle}`."""

    handle: str


@dataclass(frozen=True)
class LoginPage:
    handle: str
    csrf_token: str
    client: Client
    redirect_uri: str
    login_hint: str | None
    error: str | None = None
    # The request's ui_locales (Core §3.1.2.1), for the page's language.
    ui_locales: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentPage:
    handle: str
    csrf_token: str
    client: Client
    account: Account
    request: AuthorizationRequest


Outcome = ShowError | Respond | Interact
PageOutcome = ShowError | Respond | LoginPage | ConsentPage


@dataclass(frozen=True)
class Browser:
    """What the browser brought: its cookies and address. `new_*` are cookies to set."""

    session_cookie: str | None
    browser_cookie: str | None
    client_ip: str


@dataclass
class CookieUpdates:
    session: str | None = None
    browser: str | None = None


class AuthorizationService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        storage: Storage,
        keys: KeyManager,
        accounts: AccountService,
        issuer: TokenIssuer,
        request_objects: RequestObjects,
        *,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._request_objects = request_objects
        self._audit = audit or AuditLog(clock)
        self._clock = clock
        self._storage = storage
        self._keys = keys
        self._accounts = accounts
        self._issuer = issuer
        self._policy = AuthorizePolicy(allow_plain_pkce=settings.allow_plain_pkce)
        self._remembered_clients: set[tuple[str, str]] = set()

    # --- the authorization request ------------------------------------------------------

    async def authorize(
        self,
        params: Mapping[str, str],
        repeated: frozenset[str],
        browser: Browser,
        cookies: CookieUpdates,
    ) -> Outcome:
        if repeated & _TARGET_PARAMETERS:
            return ShowError(
                "Invalid request",
                "The request repeats client_id or redirect_uri, so it cannot be trusted.",
            )
        client_id = params.get("client_id")
        client = await self._storage.clients.get(client_id) if client_id else None
        if client is not None:
            resolved = await self._resolve_request_object(params, client)
            if not isinstance(resolved, dict):
                return resolved
            params = resolved
        try:
            target = check_client_and_redirect_uri(params, client)
        except UnsafeToRedirect as exc:
            return _page_for(exc)
        assert client is not None
        try:
            if repeated:
                raise InvalidRequest(f"parameter {sorted(repeated)[0]} is repeated")
            request = parse_authorization_request(params, client, target, self._policy)
            return await self._proceed(request, client, browser, cookies)
        except OAuthError as exc:
            return self._error(target, exc)

    async def _resolve_request_object(
        self, params: Mapping[str, str], client: Client
    ) -> dict[str, str] | Outcome:
        """Step 0 (Core §6; RFC 9101; RFC 9126): the parameters a request object or a pushed
        request stands for. Its errors go to the outer redirect_uri once that is validated,
        else to a page; a redirect_uri inside the object is checked by the ordinary phase 1
        on the merged parameters (SECURITY.md JWT-04)."""
        pushed = params.get("request_uri", "").startswith(PUSHED_REQUEST_PREFIX)
        if client.metadata.more.require_pushed_authorization_requests and not pushed:
            error: OAuthError = InvalidRequest("this client must use pushed requests")
            return self._outer_error(params, client, error)  # RFC 9126 §6
        if not has_request_object(params):
            return dict(params)
        try:
            return await self._request_objects.resolve(params, client)
        except OAuthError as exc:
            return self._outer_error(params, client, exc)

    def _outer_error(self, params: Mapping[str, str], client: Client, error: OAuthError) -> Outcome:
        try:
            target = check_client_and_redirect_uri(params, client)
        except UnsafeToRedirect:
            return ShowError("Invalid request", error.description or error.error)
        return self._error(target, error)

    def _error(self, target: ResponseTarget, error: OAuthError) -> Respond:
        return Respond(error_response(target, error, issuer=self._settings.issuer))

    def _session_error(
        self, request: AuthorizationRequest, session: BrowserSession | None, error: OAuthError
    ) -> Respond:
        """An error about the End-User's session (login_required…), with `session_state`
        (Session Management 1.0 §4.1: SHOULD on failure), so an RP can keep watching."""
        opbs = browser_state(session.id_hash if session else None)
        origin = origin_of(request.redirect_uri)
        if origin is None:
            return self._error(request.target, error)
        extra = {"session_state": session_state(request.client_id, origin, opbs)}
        response = error_response(request.target, error, issuer=self._settings.issuer, extra=extra)
        return Respond(response, browser_state=opbs)

    async def _session(self, browser: Browser) -> BrowserSession | None:
        live = await self._live_session(browser)
        return live[0] if live else None

    async def _live_session(self, browser: Browser) -> tuple[BrowserSession, Account] | None:
        """The browser's OP session and its End-User, if both are still live."""
        if not browser.session_cookie:
            return None
        session = await self._storage.sessions.get(
            secret_hash(browser.session_cookie), now=self._clock.now()
        )
        if session is None:
            return None
        account = await self._storage.accounts.by_subject(session.subject)
        if account is None or account.disabled:
            return None
        return session, account

    async def _hint_subject(self, request: AuthorizationRequest) -> str | None:
        """The subject of a valid id_token_hint we issued (Core §3.1.2.1; expired is fine)."""
        if request.id_token_hint is None:
            return None
        claims = await verify_id_token_hint(
            request.id_token_hint, self._keys, self._settings.issuer
        )
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if request.client_id not in audiences:
            raise InvalidRequest("id_token_hint was not issued by this OP to this client")
        return str(claims["sub"])

    async def _decide(
        self,
        request: AuthorizationRequest,
        client: Client,
        session: BrowserSession | None,
        interaction: PendingInteraction | None,
    ) -> str:
        """login, consent or none (Core §3.1.2.3); raises for prompt=none that cannot be met."""
        # Login and consent given in this interaction count only for the same End-User.
        this_user = (
            interaction is not None
            and session is not None
            and interaction.subject == session.subject
        )
        # The session's End-User as this client knows them (Core §8: public or pairwise), so
        # that an id_token_hint's `sub` is compared like for like.
        view = (
            SessionView(
                session.sid,
                self._issuer.subject(client, session.subject),
                session.auth_time,
                session.acr,
                session.amr,
            )
            if session
            else None
        )
        # First-party clients never ask for consent: their stored consent is not needed.
        consented = (
            await self._storage.consents.scopes(session.subject, client.client_id)
            if session and not client.metadata.first_party
            else None
        )
        return next_interaction(
            request,
            view,
            now=self._clock.now(),
            consented_scopes=consented,
            first_party=client.metadata.first_party,
            authenticated_in_this_request=bool(
                this_user and interaction and interaction.authenticated_at
            ),
            consented_in_this_request=bool(this_user and interaction and interaction.consented),
            id_token_hint_subject=await self._hint_subject(request),
        )

    async def _proceed(
        self,
        request: AuthorizationRequest,
        client: Client,
        browser: Browser,
        cookies: CookieUpdates,
    ) -> Outcome:
        live = await self._live_session(browser)
        session = live[0] if live else None
        try:
            decision = await self._decide(request, client, session, None)
        except OAuthError as exc:
            return self._session_error(request, session, exc)
        if decision == "none":
            assert live is not None
            return await self._respond(request, client, *live)
        return await self._start_interaction(request, browser, cookies)

    async def _start_interaction(
        self, request: AuthorizationRequest, browser: Browser, cookies: CookieUpdates
    ) -> Interact:
        browser_secret = browser.browser_cookie
        if not browser_secret:
            browser_secret = new_secret(32)
            cookies.browser = browser_secret
        handle = new_secret(32)
        now = self._clock.now()
        await self._storage.interactions.add(
            PendingInteraction(
                id_hash=secret_hash(handle),
                request=request.to_dict(),
                browser_hash=secret_hash(browser_secret),
                csrf_token=new_secret(24),
                created_at=now,
                expires_at=now + self._settings.interaction_ttl,
            )
        )
        return Interact(handle=handle)

    # --- the response ---------------------------------------------------------------------

    async def _respond(
        self,
        request: AuthorizationRequest,
        client: Client,
        session: BrowserSession,
        account: Account | None = None,
    ) -> Respond:
        if account is None:
            account = await self._storage.accounts.by_subject(session.subject)
        assert account is not None
        fields: dict[str, str] = {}
        code = access_token = None
        if request.returns_code:
            expires_at = self._issuer.code_expiry()
            bound = CodeGrantData.from_authorization(
                request,
                subject=session.subject,
                auth_time=session.auth_time,
                expires_at=expires_at,
                sid=session.sid,
                acr=session.acr,
                amr=session.amr,
            )
            code = await self._issuer.code(client.client_id, bound.to_dict(), expires_at=expires_at)
            fields["code"] = code
        if request.returns_token:
            issued = await self._issuer.access_token(
                client=client,
                subject=session.subject,
                scopes=request.scopes,
                data={
                    "sid": session.sid,
                    "claims": _userinfo_claims(request),
                    "claims_locales": list(request.claims_locales),
                },
                authentication=Authentication(session.auth_time, session.acr, session.amr),
            )
            await self._issuer.store(issued)
            access_token = issued.value
            fields.update(
                access_token=issued.value,
                token_type="Bearer",
                expires_in=str(issued.expires_in),
                scope=" ".join(request.scopes),
            )
        if request.returns_id_token:
            # With no access token, the Claims go in the ID Token itself (Core §5.4).
            scope_claims = () if (request.returns_code or request.returns_token) else request.scopes
            extra = release_claims(
                account.claims,
                scopes=scope_claims,
                requested=_id_token_claims(request),
                locales=request.claims_locales,
            )
            context = self._issuer.id_token_context(
                subject=self._issuer.subject(client, session.subject),
                client_id=client.client_id,
                auth_time=session.auth_time,
                nonce=request.nonce,
                acr=session.acr,
                amr=session.amr,
                sid=session.sid,
                extra_claims=extra,
            )
            fields["id_token"] = await self._issuer.id_token(
                client, context, code=code, access_token=access_token, state=request.state
            )
        await self._remember_client(session.sid, client.client_id)
        self._audit.token_issued(
            client_id=client.client_id,
            subject=session.subject,
            grant=request.response_type,
            issued=[kind for kind in ("code", "access_token", "id_token") if kind in fields],
            scopes=request.scopes,
        )
        fields["iss"] = self._settings.issuer  # RFC 9207
        # Session Management 1.0 §3: for the origin the RP's page posts from (its redirect_uri).
        opbs = browser_state(session.id_hash)
        origin = origin_of(request.redirect_uri)
        if origin is not None:
            fields["session_state"] = session_state(client.client_id, origin, opbs)
        return Respond(build_response(request.target, fields), browser_state=opbs)

    async def _remember_client(self, sid: str, client_id: str) -> None:
        """Record that `client_id` got a response in session `sid` (for logout), once: the
        row never changes after, so a process need not write it again for every response."""
        pair = (sid, client_id)
        if pair in self._remembered_clients:
            return
        await self._storage.sessions.add_client(sid, client_id, now=self._clock.now())
        if len(self._remembered_clients) >= _REMEMBERED_CLIENTS_MAX:
            self._remembered_clients.clear()
        self._remembered_clients.add(pair)

    # --- the interaction pages ------------------------------------------------------------

    async def _load_interaction(
        self, handle: str, browser: Browser, csrf_token: str | None
    ) -> tuple[PendingInteraction, AuthorizationRequest, Client] | ShowError:
        interaction = await self._storage.interactions.get(
            secret_hash(handle), now=self._clock.now()
        )
        expired = ShowError(
            "This sign-in has expired",
            "The sign-in took too long or was already completed. Go back to the application "
            "and start again.",
        )
        if interaction is None:
            return expired
        if not browser.browser_cookie or not constant_time_equals(
            secret_hash(browser.browser_cookie), interaction.browser_hash
        ):
            return ShowError(
                "Sign-in started elsewhere",
                "This sign-in was started in another browser. Go back to the application and "
                "start again here.",
            )
        if csrf_token is not None and not constant_time_equals(csrf_token, interaction.csrf_token):
            return ShowError(
                "The form has expired", "Reload the page and try again.", status_code=403
            )
        request = AuthorizationRequest.from_dict(interaction.request)
        client = await self._storage.clients.get(request.client_id)
        if client is None:
            return expired
        return interaction, request, client

    async def page(self, handle: str, browser: Browser) -> PageOutcome:
        """What `/interaction/{handle}` shows now: login, consent, or the final answer."""
        loaded = await self._load_interaction(handle, browser, None)
        if isinstance(loaded, ShowError):
            return loaded
        interaction, request, client = loaded
        return await self._next_page(handle, interaction, request, client, browser)

    async def _next_page(
        self,
        handle: str,
        interaction: PendingInteraction,
        request: AuthorizationRequest,
        client: Client,
        browser: Browser,
        login_error: str | None = None,
    ) -> PageOutcome:
        session = await self._session(browser)
        try:
            decision = await self._decide(request, client, session, interaction)
        except OAuthError as exc:
            await self._storage.interactions.consume(interaction.id_hash)
            return self._session_error(request, session, exc)
        if decision == "login" or session is None:
            return LoginPage(
                handle,
                interaction.csrf_token,
                client,
                request.redirect_uri,
                request.login_hint,
                login_error,
                request.ui_locales,
            )
        if decision == "consent":
            account = await self._storage.accounts.by_subject(session.subject)
            assert account is not None
            return ConsentPage(handle, interaction.csrf_token, client, account, request)
        if not await self._storage.interactions.consume(interaction.id_hash):
            return ShowError("Already done", "This sign-in has already been completed.")
        return await self._respond(request, client, session)

    async def login(
        self,
        handle: str,
        browser: Browser,
        cookies: CookieUpdates,
        *,
        csrf_token: str,
        username: str,
        password: str,
    ) -> PageOutcome:
        loaded = await self._load_interaction(handle, browser, csrf_token)
        if isinstance(loaded, ShowError):
            return loaded
        interaction, request, client = loaded
        failure = "The username or password is incorrect."
        account = await self._authenticate(username, password, browser.client_ip)
        if not isinstance(account, Account):
            await self._audit_failed_login(
                username, client, browser, "rate_limited" if account else "bad_credentials"
            )
        if isinstance(account, str):
            return LoginPage(
                handle,
                interaction.csrf_token,
                client,
                request.redirect_uri,
                username,
                account,
                request.ui_locales,
            )
        if account is None:
            return LoginPage(
                handle,
                interaction.csrf_token,
                client,
                request.redirect_uri,
                username,
                failure,
                request.ui_locales,
            )
        now = self._clock.now()
        # A new session, and a new cookie, on every login: no session fixation.
        old = await self._session(browser)
        if old is not None:
            await self._storage.sessions.end(old.sid, now=now)
        cookie = new_secret(32)
        session = BrowserSession(
            id_hash=secret_hash(cookie),
            sid=new_secret(16),
            subject=account.subject,
            auth_time=now,
            amr=("pwd",),
            acr=PASSWORD_ACR,
            created_at=now,
            expires_at=now + self._settings.session_ttl,
        )
        await self._storage.sessions.add(session)
        cookies.session = cookie
        self._audit.login_succeeded(
            subject=account.subject,
            client_id=client.client_id,
            ip=browser.client_ip,
            sid=session.sid,
        )
        await self._storage.interactions.authenticated(
            interaction.id_hash, account.subject, now=now
        )
        updated = await self._storage.interactions.get(interaction.id_hash, now=now)
        if updated is None:
            return ShowError("This sign-in has expired", "Go back to the application.")
        return await self._next_page(
            handle,
            updated,
            request,
            client,
            Browser(cookie, browser.browser_cookie, browser.client_ip),
        )

    async def _audit_failed_login(
        self, username: str, client: Client, browser: Browser, reason: FailureReason
    ) -> None:
        # Only a real account is named: an unknown "username" may well be a password.
        known = await self._storage.accounts.by_username(username.strip())
        self._audit.login_failed(
            subject=known.subject if known else None,
            client_id=client.client_id,
            ip=browser.client_ip,
            reason=reason,
        )

    async def _authenticate(
        self, username: str, password: str, client_ip: str
    ) -> Account | str | None:
        """The account; None for wrong credentials; a message when rate limited."""
        now = self._clock.now()
        limits = self._storage.rate_limits
        keys = (f"login:user:{username.strip().lower()}", f"login:ip:{client_ip}")
        for key in keys:
            if await limits.locked_until(key, now=now):
                return "Too many failed attempts. Wait a few minutes and try again."
        account = await self._accounts.authenticate(username.strip(), password)
        if account is None:
            for key in keys:
                await limits.failure(
                    key,
                    now=now,
                    limit=self._settings.login_max_failures * (1 if "user" in key else 4),
                    window=self._settings.login_lockout_seconds,
                    lockout=self._settings.login_lockout_seconds,
                )
            return None
        await limits.reset(keys[0])
        return account

    async def consent(
        self, handle: str, browser: Browser, *, csrf_token: str, approve: bool
    ) -> PageOutcome:
        loaded = await self._load_interaction(handle, browser, csrf_token)
        if isinstance(loaded, ShowError):
            return loaded
        interaction, request, client = loaded
        session = await self._session(browser)
        if session is None:
            return await self._next_page(handle, interaction, request, client, browser)
        self._audit.consent(
            subject=session.subject,
            client_id=client.client_id,
            scopes=request.scopes,
            granted=approve,
        )
        if not approve:
            await self._storage.interactions.consume(interaction.id_hash)
            return self._error(request.target, AccessDenied("the End-User denied the request"))
        await self._storage.consents.grant(
            session.subject, client.client_id, frozenset(request.scopes), now=self._clock.now()
        )
        await self._storage.interactions.consented(interaction.id_hash, session.subject)
        updated = await self._storage.interactions.get(interaction.id_hash, now=self._clock.now())
        if updated is None:
            return ShowError("This sign-in has expired", "Go back to the application.")
        return await self._next_page(handle, updated, request, client, browser)

    async def cancel(self, handle: str, browser: Browser, *, csrf_token: str) -> PageOutcome:
        loaded = await self._load_interaction(handle, browser, csrf_token)
        if isinstance(loaded, ShowError):
            return loaded
        interaction, request, _client = loaded
        await self._storage.interactions.consume(interaction.id_hash)
        return self._error(request.target, AccessDenied("the End-User cancelled the sign-in"))


def _page_for(error: UnsafeToRedirect) -> ShowError:
    return ShowError("The application sent an invalid request", error.description)


def _id_token_claims(request: AuthorizationRequest) -> tuple[str, ...]:
    return tuple(name for name, _ in request.claims.id_token) if request.claims else ()


def _userinfo_claims(request: AuthorizationRequest) -> list[str]:
    return [name for name, _ in request.claims.userinfo] if request.claims else []
