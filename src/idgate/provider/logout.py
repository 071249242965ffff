"""RP-Initiated Logout 1.0 at the end_session_endpoint, and what ending an OP session does.

Deciding (§2, §3, §6; SECURITY.md LOG-01…LOG-08, LOG-12):

1. The request is read (bounded, no repeats); an `id_token_hint` must be an ID Token this OP
   signed (expired is fine, §2: it is only a hint) for the client it names; `client_id`, if
   also sent, must be that client; an unknown client, or a `post_logout_redirect_uri` that is
   not exactly registered for the identified client, is an error page — never a redirect.
2. A valid hint whose `sid` names a live OP session of the same End-User ends that session
   at once, and the browser goes back to the `post_logout_redirect_uri` (with `state`).
3. Otherwise, when there is something to confirm (this browser is signed in, or a redirect was
   asked for), the End-User is asked, on a page whose form is CSRF-protected (§6): a GET from
   anywhere can never end a session or redirect on its own (LOG-04, LOG-05).
4. Nothing signed in and nowhere to go: the "you are signed out" page.

Ending a session (exactly once, across processes: one atomic update) revokes its refresh
tokens issued without `offline_access` (Back-Channel Logout §2.7), lists the front-channel
logout iframes of the RPs that took part (Front-Channel Logout §3), and starts the back-channel
deliveries (provider/backchannel.py) without waiting for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idgate.clock import Clock
from idgate.config import Settings
from idgate.crypto.random import constant_time_equals, new_secret, secret_hash
from idgate.protocol.clients import Client
from idgate.protocol.errors import InvalidRequest
from idgate.protocol.logout import (
    EndSessionRequest,
    frontchannel_logout_url,
    hint_audience,
    parse_end_session_request,
    post_logout_location,
    post_logout_redirect_allowed,
)
from idgate.provider.audit import AuditLog
from idgate.provider.authorization import Browser, ShowError
from idgate.provider.backchannel import BackchannelLogout
from idgate.provider.hints import verify_id_token_hint
from idgate.provider.keys import KeyManager
from idgate.provider.tokens import TokenIssuer
from idgate.storage.base import BrowserSession, Storage


# JWT types that are never an ID Token, whoever signed them (RFC 8725 §3.11).
@dataclass(frozen=True)
class ConfirmLogout:
    """Ask the End-User; the form carries these values and `csrf_token` (also set as a
    cookie by the web layer: double submit)."""

    csrf_token: str
    client_id: str | None
    client_name: str | None
    post_logout_redirect_uri: str | None
    state: str | None
    ui_locales: tuple[str, ...]
    signed_in: bool


@dataclass(frozen=True)
class LoggedOut:
    """Signed out. `frontchannel` are iframe URLs to load; `redirect` is the validated
    post-logout location (with `state`), or None for the OP's own page."""

    ended: bool
    frontchannel: tuple[str, ...] = ()
    redirect: str | None = None


@dataclass(frozen=True)
class StillSignedIn:
    """The End-User chose not to sign out."""


LogoutOutcome = ShowError | ConfirmLogout | LoggedOut | StillSignedIn


@dataclass(frozen=True)
class _Hint:
    client_id: str
    subject: str
    sid: str | None


class LogoutService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        storage: Storage,
        keys: KeyManager,
        issuer: TokenIssuer,
        backchannel: BackchannelLogout,
        *,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._audit = audit or AuditLog(clock)
        self._clock = clock
        self._storage = storage
        self._keys = keys
        self._issuer = issuer
        self._backchannel = backchannel

    # --- the end_session_endpoint ----------------------------------------------------------

    async def end_session(
        self, params: Mapping[str, str], repeated: frozenset[str], browser: Browser
    ) -> LogoutOutcome:
        try:
            request = parse_end_session_request(params, repeated)
            hint = await self._hint(request.id_token_hint)
            client = await self._client(request, hint)
            target = self._target(request, client)
        except InvalidRequest as exc:
            return ShowError("Invalid sign-out request", exc.description)
        redirect = post_logout_location(target, request.state) if target else None
        current = await self._browser_session(browser)

        if hint is not None and hint.sid is not None and client is not None:
            hinted = await self._live_session(hint.sid)
            if hinted is not None and self._issuer.subject(client, hinted.subject) == hint.subject:
                ended, frontchannel = await self._end(hinted)
                return LoggedOut(ended, frontchannel, redirect)
        if current is None and target is None:
            return LoggedOut(ended=False)
        return ConfirmLogout(
            csrf_token=new_secret(24),
            client_id=client.client_id if client else None,
            client_name=(client.metadata.client_name or client.client_id) if client else None,
            post_logout_redirect_uri=target,
            state=request.state,
            ui_locales=request.ui_locales,
            signed_in=current is not None,
        )

    async def confirm(
        self,
        form: Mapping[str, str],
        browser: Browser,
        *,
        csrf_cookie: str | None,
        same_origin: bool,
    ) -> LogoutOutcome:
        """The confirmation form's POST: double-submit CSRF check, then as asked."""
        token = form.get("csrf_token", "")
        if not (same_origin and csrf_cookie and token and constant_time_equals(token, csrf_cookie)):
            return ShowError(
                "The sign-out form has expired",
                "You are still signed in. Go back to the application and sign out again.",
                status_code=403,
            )
        try:
            request = parse_end_session_request(
                {k: v for k, v in form.items() if k != "id_token_hint"}
            )
            client = await self._client(request, None)
            target = self._target(request, client)
        except InvalidRequest as exc:
            return ShowError("Invalid sign-out request", exc.description)
        if form.get("decision") != "logout":
            return StillSignedIn()
        current = await self._browser_session(browser)
        ended, frontchannel = await self._end(current) if current else (False, ())
        redirect = post_logout_location(target, request.state) if target else None
        return LoggedOut(ended, frontchannel, redirect)

    # --- checks ---------------------------------------------------------------------------

    async def _hint(self, token: str | None) -> _Hint | None:
        """An ID Token this OP issued, verified; expired is accepted (§2, §4; LOG-06)."""
        if token is None:
            return None
        claims = await verify_id_token_hint(token, self._keys, self._settings.issuer)
        subject, sid = str(claims["sub"]), claims.get("sid")
        return _Hint(hint_audience(claims), subject, sid if isinstance(sid, str) else None)

    async def _client(self, request: EndSessionRequest, hint: _Hint | None) -> Client | None:
        client_id = request.client_id
        if hint is not None:
            if client_id is not None and client_id != hint.client_id:
                raise InvalidRequest("client_id is not the audience of the id_token_hint")
            client_id = hint.client_id
        if client_id is None:
            return None
        client = await self._storage.clients.get(client_id)
        if client is None:
            raise InvalidRequest("unknown client_id")
        return client

    def _target(self, request: EndSessionRequest, client: Client | None) -> str | None:
        uri = request.post_logout_redirect_uri
        if uri is None:
            return None
        if client is None:
            raise InvalidRequest(
                "post_logout_redirect_uri needs an id_token_hint or a client_id to be checked"
            )
        if not post_logout_redirect_allowed(uri, client.metadata):
            raise InvalidRequest("post_logout_redirect_uri is not registered for this client")
        return uri

    async def _browser_session(self, browser: Browser) -> BrowserSession | None:
        if not browser.session_cookie:
            return None
        return await self._storage.sessions.get(
            secret_hash(browser.session_cookie), now=self._clock.now()
        )

    async def _live_session(self, sid: str) -> BrowserSession | None:
        session = await self._storage.sessions.by_sid(sid)
        if session is None or session.ended_at is not None:
            return None
        return session if session.expires_at > self._clock.now() else None

    # --- ending a session -----------------------------------------------------------------

    async def _end(self, session: BrowserSession) -> tuple[bool, tuple[str, ...]]:
        """End `session` (once, across processes) and notify its RPs; see the module doc."""
        now = self._clock.now()
        if not await self._storage.sessions.end(session.sid, now=now):
            return False, ()  # ended meanwhile, by whoever also told its RPs
        await self._storage.tokens.revoke_session_refresh_tokens(session.sid, now=now)
        clients: list[Client] = []
        for client_id in await self._storage.sessions.clients(session.sid):
            client = await self._storage.clients.get(client_id)
            if client is not None:
                clients.append(client)
        frontchannel = tuple(
            frontchannel_logout_url(
                client.metadata.frontchannel_logout_uri,
                issuer=self._settings.issuer,
                sid=session.sid,
                session_required=client.metadata.frontchannel_logout_session_required,
            )
            for client in clients
            if client.metadata.frontchannel_logout_uri is not None
        )
        self._backchannel.notify(session.sid, session.subject, clients)
        self._audit.session_ended(subject=session.subject, sid=session.sid, clients=len(clients))
        return True, frontchannel
