"""idgate.client treats access tokens as opaque strings: JWT access tokens (RFC 9068) work
through the whole hybrid flow, their at_hash checks included."""

from __future__ import annotations

import pytest
from client_support import OP, claims_of, sign_in  # type: ignore[import-not-found]

pytestmark = pytest.mark.anyio


async def test_hybrid_flow_with_jwt_access_tokens(op: OP) -> None:
    client = await op.register(access_token_format="jwt")
    async with op.rp(client) as rp:
        session, response = await sign_in(
            op,
            rp,
            response_type="code id_token token",
            scope="openid email offline_access",
            extra={"prompt": "consent"},
        )
        result = await rp.handle_authorization_response(session, response)
        assert result.access_token is not None
        assert result.access_token.count(".") == 2
        assert result.id_token is not None
        assert result.id_token.check("at_hash") is not None

        tokens = await rp.exchange_code(session, result)
        assert tokens.access_token.count(".") == 2
        assert claims_of(tokens.access_token)["client_id"] == client.client_id
        assert tokens.id_token is not None
        assert tokens.id_token.check("at_hash") is not None
        info = await rp.userinfo(tokens.access_token, id_token=tokens.id_token)
        assert info.subject == tokens.id_token.subject == claims_of(tokens.access_token)["sub"]

        assert tokens.refresh_token
        refreshed = await rp.refresh(tokens.refresh_token, id_token=tokens.id_token)
        assert refreshed.access_token.count(".") == 2
        assert refreshed.access_token != tokens.access_token
        again = await rp.userinfo(refreshed.access_token, id_token=tokens.id_token)
        assert again.subject == info.subject
