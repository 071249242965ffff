"""Back-Channel Logout Token validation (BCL 1.0 §2.4, §2.6), with tokens signed by the real
OP's own signing key and verified against its real JWK Set."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from client_support import OP  # type: ignore[import-not-found]

from idgate.client import (
    BACKCHANNEL_LOGOUT_EVENT,
    AudienceMismatch,
    InvalidLogoutToken,
    InvalidSignature,
    IssuerMismatch,
    MemoryReplayCache,
    TokenExpired,
)
from idgate.clock import FrozenClock
from idgate.crypto.jwt import sign_jwt
from idgate.crypto.keys import SigningKey
from idgate.testing import TEST_ISSUER

pytestmark = pytest.mark.anyio


async def logout_token(
    op: OP,
    client_id: str,
    *,
    typ: str | None = "logout+jwt",
    key: SigningKey | None = None,
    **changes: Any,
) -> str:
    now = op.provider.clock.now()
    claims: dict[str, Any] = {
        "iss": TEST_ISSUER,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
        "sub": "subject-1",
        "sid": "session-1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    signer = key or (await op.provider.keys.keyring()).signing_key("RS256")
    return sign_jwt(claims, signer, typ=typ)


async def test_a_valid_logout_token(op: OP) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        token = await rp.validate_logout_token(await logout_token(op, client.client_id))
        assert (token.subject, token.sid) == ("subject-1", "session-1")
        assert {c.name for c in token.checks} >= {"signature", "iss", "aud", "iat", "events"}
        # typ is recommended, not required; sid alone or sub alone is enough.
        await rp.validate_logout_token(await logout_token(op, client.client_id, typ=None, sub=None))
        await rp.validate_logout_token(await logout_token(op, client.client_id, sid=None))


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"typ": "JWT"}, InvalidLogoutToken, r"not logout\+jwt"),
        ({"nonce": "n"}, InvalidLogoutToken, "has a nonce"),
        ({"events": None}, InvalidLogoutToken, "events claim lacks"),
        ({"events": {"http://example.com/other": {}}}, InvalidLogoutToken, "events claim lacks"),
        ({"events": {BACKCHANNEL_LOGOUT_EVENT: "yes"}}, InvalidLogoutToken, "not a JSON object"),
        ({"sub": None, "sid": None}, InvalidLogoutToken, "neither sub nor sid"),
        ({"jti": None}, InvalidLogoutToken, "jti claim is missing"),
        ({"iat": None}, InvalidLogoutToken, "iat claim is missing"),
        ({"iss": "https://evil.example"}, IssuerMismatch, "evil"),
        ({"aud": "another-client"}, AudienceMismatch, "does not contain"),
    ],
)
async def test_rejected_logout_tokens(
    op: OP, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    client = await op.register()
    changes = dict(changes)  # the parameter is shared by the SQLite and PostgreSQL runs
    typ = changes.pop("typ", "logout+jwt")
    async with op.rp(client) as rp:
        with pytest.raises(error, match=message):
            await rp.validate_logout_token(
                await logout_token(op, client.client_id, typ=typ, **changes)
            )


async def test_an_id_token_is_not_a_logout_token(op: OP) -> None:
    from client_support import sign_in  # type: ignore[import-not-found]

    client = await op.register()
    async with op.rp(client) as rp:
        _, response = await sign_in(op, rp)
        with pytest.raises(InvalidLogoutToken):
            await rp.validate_logout_token(response.parameters["id_token"])


async def test_logout_token_replay_and_age(op: OP) -> None:
    client = await op.register()
    cache = MemoryReplayCache()
    now = op.provider.clock.now()
    async with op.rp(client) as rp:
        token = await logout_token(op, client.client_id)
        await rp.validate_logout_token(token, replay_cache=cache)
        with pytest.raises(InvalidLogoutToken, match="replay"):
            await rp.validate_logout_token(token, replay_cache=cache)
    async with op.rp(client, clock=FrozenClock(now + 200)) as later:
        with pytest.raises(TokenExpired):
            await later.validate_logout_token(await logout_token(op, client.client_id))
        old = await logout_token(op, client.client_id, exp=None)
        with pytest.raises(InvalidLogoutToken, match="issued 200 s ago"):
            await later.validate_logout_token(old, max_age=100)


async def test_logout_token_signed_by_another_key(op: OP, attacker_key: SigningKey) -> None:
    client = await op.register()
    async with op.rp(client) as rp:
        with pytest.raises(InvalidSignature):
            await rp.validate_logout_token(
                await logout_token(op, client.client_id, key=attacker_key)
            )
