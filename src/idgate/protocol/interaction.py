"""What the End-User must still do before the authorization response can be sent.

OpenID Connect Core 1.0 §3.1.2.3 (authentication: `prompt`, `max_age`, `id_token_hint`),
§3.1.2.4 (consent), §3.1.2.6 (`login_required`, `consent_required` for `prompt=none`) and §11
(offline access needs explicit consent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from idgate.protocol.authorize import AuthorizationRequest
from idgate.protocol.errors import ConsentRequired, LoginRequired
from idgate.protocol.scopes import OFFLINE_ACCESS

Interaction = Literal["login", "consent", "none"]


@dataclass(frozen=True, slots=True)
class SessionView:
    """The End-User's current OP session, as far as the authorization decision needs it."""

    sid: str
    subject: str
    auth_time: int
    acr: str | None = None
    amr: tuple[str, ...] = ()


def next_interaction(
    request: AuthorizationRequest,
    session: SessionView | None,
    *,
    now: int,
    consented_scopes: frozenset[str] | None,
    first_party: bool,
    authenticated_in_this_request: bool,
    consented_in_this_request: bool,
    id_token_hint_subject: str | None,
) -> Interaction:
    """Decide the next step: sign in, consent, or answer the client (`"none"`).

    `consented_scopes` is the End-User's stored consent for this client (None: never asked);
    `id_token_hint_subject` is the `sub` of an already verified `id_token_hint`. With
    `prompt=none` no page may be shown (Core §3.1.2.1), so what would need one raises
    `LoginRequired` or `ConsentRequired` instead.
    """
    silent = "none" in request.prompt
    login_reason = _login_reason(
        request,
        session,
        now=now,
        authenticated_in_this_request=authenticated_in_this_request,
        id_token_hint_subject=id_token_hint_subject,
    )
    if login_reason is not None:
        if silent:
            raise LoginRequired(login_reason)
        return "login"

    consent_reason = _consent_reason(
        request,
        consented_scopes=consented_scopes,
        first_party=first_party,
        consented_in_this_request=consented_in_this_request,
    )
    if consent_reason is not None:
        if silent:
            raise ConsentRequired(consent_reason)
        return "consent"
    return "none"


def _login_reason(
    request: AuthorizationRequest,
    session: SessionView | None,
    *,
    now: int,
    authenticated_in_this_request: bool,
    id_token_hint_subject: str | None,
) -> str | None:
    if session is None:
        return "the End-User is not signed in"
    if not authenticated_in_this_request:
        if request.prompt & {"login", "select_account"}:
            # Core §3.1.2.1: prompt=login must reauthenticate; idgate has one account per
            # session, so select_account is a fresh sign-in too.
            return "prompt asks for a new sign-in"
        if request.max_age is not None and (
            # max_age=0 is prompt=login (OpenID Connect WG, connect issue #993); otherwise
            # Core §3.1.2.1: the elapsed time must not be greater than max_age.
            request.max_age == 0 or now - session.auth_time > request.max_age
        ):
            return "the last sign-in is older than max_age"
    if id_token_hint_subject is not None and id_token_hint_subject != session.subject:
        if authenticated_in_this_request:
            # Core §3.1.2.2: the End-User signed in during this request and still is not the
            # one the client asked for, so answer with an error rather than loop on the login
            # page. login_required is the error §3.1.2.2 suggests.
            raise LoginRequired("the signed-in End-User is not the one in id_token_hint")
        return "the signed-in End-User is not the one in id_token_hint"
    return None


def _consent_reason(
    request: AuthorizationRequest,
    *,
    consented_scopes: frozenset[str] | None,
    first_party: bool,
    consented_in_this_request: bool,
) -> str | None:
    # idgate: the operator's first-party clients are trusted with whatever they ask for, even
    # with prompt=consent or offline_access ("other conditions ... permitting offline access
    # are in place", Core §11).
    if first_party or consented_in_this_request:
        return None
    if "consent" in request.prompt:
        return "prompt asks for consent"  # Core §3.1.2.1
    if OFFLINE_ACCESS in request.scopes:
        # Core §11: the OP MUST obtain consent for offline access; a consent stored earlier
        # does not count, so each request for a new refresh token is shown to the End-User.
        return "offline access needs the End-User's consent"
    if consented_scopes is None or not set(request.scopes) <= consented_scopes:
        return "the End-User has not consented to these scopes"
    return None
