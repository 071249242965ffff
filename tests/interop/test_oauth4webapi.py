"""oauth4webapi (npm, panva) against a real idgate: its strict checks, and its hybrid validators.

tests/interop/node/oauth4webapi.mjs builds the requests and runs every response through the
library's own validation (discovery, authorization response with RFC 9207 `iss`, token
response, ID Token claims and signature, the hybrid `code id_token` response).
"""

from __future__ import annotations

from typing import Any

import pytest
from interop_support import CALLBACK, OP, Browser, NodeRP  # type: ignore[import-not-found]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("node_modules")]

LIBRARY = "oauth4webapi"


def run(op: OP, browser: Browser, scenario: str, **config: Any) -> dict[str, Any]:
    client = op.register()
    return NodeRP(LIBRARY, "oauth4webapi.mjs", browser).run(
        scenario,
        issuer=op.issuer,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        redirect_uri=CALLBACK,
        **config,
    )


def test_code_flow_strict_checks(op: OP, browser: Browser) -> None:
    result = run(op, browser, "code")
    assert result["iss_parameter"] == op.issuer
    assert result["claims"]["iss"] == op.issuer
    assert result["token_type"].lower() == "bearer"
    assert result["expires_in"] > 0


def test_hybrid_code_id_token(op: OP, browser: Browser) -> None:
    result = run(op, browser, "hybrid")
    assert result["claims"]["iss"] == op.issuer


def test_hybrid_detached_signature_without_state(op: OP, browser: Browser) -> None:
    result = run(op, browser, "detached", with_state=False)
    assert result["claims"]["iss"] == op.issuer


def test_hybrid_detached_signature_with_state(op: OP, browser: Browser) -> None:
    result = run(op, browser, "detached", with_state=True)
    assert result["claims"]["iss"] == op.issuer
