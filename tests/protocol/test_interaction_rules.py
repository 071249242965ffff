"""Login and consent decisions (Core §3.1.2.3, §3.1.2.6, §11; SECURITY.md AZ-06/07/08/11)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from idgate.protocol.authorize import AuthorizationRequest
from idgate.protocol.errors import ConsentRequired, LoginRequired, OAuthError
from idgate.protocol.interaction import Interaction, SessionView, next_interaction

NOW = 2_000
REQUEST = AuthorizationRequest(
    client_id="c1",
    redirect_uri="https://rp.test/cb",
    response_type="code",
    response_mode="query",
    scopes=("openid", "profile"),
)
SESSION = SessionView(sid="sid-1", subject="alice", auth_time=1_000, amr=("pwd",))
CONSENTED = frozenset({"openid", "profile", "email"})


def decide(
    request: AuthorizationRequest = REQUEST,
    session: SessionView | None = SESSION,
    **overrides: Any,
) -> Interaction:
    kwargs: dict[str, Any] = {
        "now": NOW,
        "consented_scopes": CONSENTED,
        "first_party": False,
        "authenticated_in_this_request": False,
        "consented_in_this_request": False,
        "id_token_hint_subject": None,
    }
    kwargs.update(overrides)
    return next_interaction(request, session, **kwargs)


def req(**changes: Any) -> AuthorizationRequest:
    if "prompt" in changes:
        changes["prompt"] = frozenset(changes["prompt"].split())
    return replace(REQUEST, **changes)


@pytest.mark.parametrize(
    ("request_", "session", "overrides", "expected"),
    [
        pytest.param(REQUEST, SESSION, {}, "none", id="signed in and consented"),
        pytest.param(REQUEST, None, {}, "login", id="no session"),
        pytest.param(
            REQUEST, None, {"authenticated_in_this_request": True}, "login", id="no session at all"
        ),
        # prompt=login / select_account (Core §3.1.2.1, AZ-06)
        pytest.param(req(prompt="login"), SESSION, {}, "login", id="prompt=login"),
        pytest.param(
            req(prompt="login"),
            SESSION,
            {"authenticated_in_this_request": True},
            "none",
            id="prompt=login after signing in",
        ),
        pytest.param(req(prompt="select_account"), SESSION, {}, "login", id="select_account"),
        pytest.param(
            req(prompt="select_account"),
            SESSION,
            {"authenticated_in_this_request": True},
            "none",
            id="select_account after signing in",
        ),
        # max_age (Core §3.1.2.1, AZ-07): auth_time 1000, now 2000
        pytest.param(req(max_age=999), SESSION, {}, "login", id="max_age exceeded"),
        pytest.param(req(max_age=1_000), SESSION, {}, "none", id="max_age exactly reached"),
        pytest.param(req(max_age=5_000), SESSION, {}, "none", id="max_age not reached"),
        pytest.param(req(max_age=0), SESSION, {"now": 1_000}, "login", id="max_age=0"),
        pytest.param(
            req(max_age=0),
            SESSION,
            {"now": 1_000, "authenticated_in_this_request": True},
            "none",
            id="max_age=0 after signing in",
        ),
        pytest.param(
            req(max_age=1),
            SESSION,
            {"authenticated_in_this_request": True},
            "none",
            id="max_age after signing in",
        ),
        # id_token_hint (Core §3.1.2.2, AZ-08)
        pytest.param(REQUEST, SESSION, {"id_token_hint_subject": "alice"}, "none", id="own hint"),
        pytest.param(REQUEST, SESSION, {"id_token_hint_subject": "bob"}, "login", id="bob's hint"),
        # consent (Core §3.1.2.4)
        pytest.param(REQUEST, SESSION, {"consented_scopes": None}, "consent", id="never asked"),
        pytest.param(
            REQUEST,
            SESSION,
            {"consented_scopes": frozenset({"openid"})},
            "consent",
            id="new scope",
        ),
        pytest.param(
            REQUEST,
            SESSION,
            {"consented_scopes": None, "consented_in_this_request": True},
            "none",
            id="consented now",
        ),
        pytest.param(
            REQUEST,
            SESSION,
            {"consented_scopes": None, "first_party": True},
            "none",
            id="1st party",
        ),
        pytest.param(req(prompt="consent"), SESSION, {}, "consent", id="prompt=consent"),
        pytest.param(
            req(prompt="consent"),
            SESSION,
            {"consented_in_this_request": True},
            "none",
            id="prompt=consent answered",
        ),
        pytest.param(
            req(prompt="consent"), SESSION, {"first_party": True}, "none", id="1st party consent"
        ),
        pytest.param(
            req(scopes=()), SESSION, {"consented_scopes": frozenset()}, "none", id="no scopes"
        ),
        pytest.param(
            req(scopes=()),
            SESSION,
            {"consented_scopes": None},
            "consent",
            id="no scopes, no record",
        ),
        # offline_access (Core §11, AZ-11): stored consent is not enough
        pytest.param(
            req(scopes=("openid", "offline_access")),
            SESSION,
            {"consented_scopes": frozenset({"openid", "offline_access"})},
            "consent",
            id="offline_access pre-consented",
        ),
        pytest.param(
            req(scopes=("openid", "offline_access")),
            SESSION,
            {"consented_in_this_request": True},
            "none",
            id="offline_access consented now",
        ),
        pytest.param(
            req(scopes=("openid", "offline_access")),
            SESSION,
            {"first_party": True},
            "none",
            id="offline_access first party",
        ),
        # login comes before consent
        pytest.param(req(prompt="login consent"), SESSION, {}, "login", id="login before consent"),
        pytest.param(
            req(prompt="login consent"),
            SESSION,
            {"authenticated_in_this_request": True},
            "consent",
            id="then consent",
        ),
        pytest.param(
            REQUEST, None, {"consented_scopes": None}, "login", id="no session, no consent"
        ),
        # prompt=none when nothing is needed
        pytest.param(req(prompt="none"), SESSION, {}, "none", id="prompt=none, all fine"),
        pytest.param(
            req(prompt="none", max_age=5_000),
            SESSION,
            {"id_token_hint_subject": "alice"},
            "none",
            id="prompt=none with own hint",
        ),
    ],
)
def test_next_interaction(
    request_: AuthorizationRequest,
    session: SessionView | None,
    overrides: dict[str, Any],
    expected: Interaction,
) -> None:
    assert decide(request_, session, **overrides) == expected


@pytest.mark.parametrize(
    ("request_", "session", "overrides", "error"),
    [
        pytest.param(req(prompt="none"), None, {}, LoginRequired, id="not signed in"),
        pytest.param(req(prompt="none", max_age=10), SESSION, {}, LoginRequired, id="max_age"),
        pytest.param(req(prompt="none", max_age=0), SESSION, {}, LoginRequired, id="max_age=0"),
        pytest.param(
            req(prompt="none"),
            SESSION,
            {"id_token_hint_subject": "bob"},
            LoginRequired,
            id="hint for bob while alice is signed in",
        ),
        pytest.param(
            REQUEST,
            SESSION,
            {"id_token_hint_subject": "bob", "authenticated_in_this_request": True},
            LoginRequired,
            id="signed in as alice again despite bob's hint",
        ),
        pytest.param(
            req(prompt="none"),
            SESSION,
            {"consented_scopes": None},
            ConsentRequired,
            id="no consent",
        ),
        pytest.param(
            req(prompt="none"),
            SESSION,
            {"consented_scopes": frozenset({"openid"})},
            ConsentRequired,
            id="partial consent",
        ),
        pytest.param(
            req(prompt="none", scopes=("openid", "offline_access")),
            SESSION,
            {"consented_scopes": frozenset({"openid", "offline_access"})},
            ConsentRequired,
            id="offline_access",
        ),
    ],
)
def test_errors_instead_of_pages(
    request_: AuthorizationRequest,
    session: SessionView | None,
    overrides: dict[str, Any],
    error: type[OAuthError],
) -> None:
    with pytest.raises(error) as info:
        decide(request_, session, **overrides)
    assert type(info.value) is error
    assert info.value.redirectable
