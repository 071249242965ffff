"""The OpenID Provider Metadata document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).

It says exactly what is built: each endpoint module contributes its fields through
`Capabilities`, so nothing is advertised before it works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Capabilities:
    issuer: str
    signing_algs: Sequence[str]
    endpoints: dict[str, str] = field(default_factory=dict)
    response_types: Sequence[str] = ()
    response_modes: Sequence[str] = ()
    grant_types: Sequence[str] = ()
    scopes: Sequence[str] = ()
    claims: Sequence[str] = ()
    prompt_values: Sequence[str] = ()
    code_challenge_methods: Sequence[str] = ()
    token_endpoint_auth_methods: Sequence[str] = ()
    token_endpoint_auth_signing_algs: Sequence[str] = ()
    subject_types: Sequence[str] = ("public",)
    extra: dict[str, Any] = field(default_factory=dict)


def provider_metadata(caps: Capabilities) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "issuer": caps.issuer,
        "jwks_uri": f"{caps.issuer}/jwks",
        "subject_types_supported": list(caps.subject_types),
        "id_token_signing_alg_values_supported": list(caps.signing_algs),
    }
    doc.update(caps.endpoints)
    optional: dict[str, Sequence[str]] = {
        "response_types_supported": caps.response_types,
        "response_modes_supported": caps.response_modes,
        "grant_types_supported": caps.grant_types,
        "scopes_supported": caps.scopes,
        "claims_supported": caps.claims,
        "prompt_values_supported": caps.prompt_values,
        "code_challenge_methods_supported": caps.code_challenge_methods,
        "token_endpoint_auth_methods_supported": caps.token_endpoint_auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": caps.token_endpoint_auth_signing_algs,
    }
    doc.update({name: list(values) for name, values in optional.items() if values})
    # Discovery 1.0 §3 requires response_types_supported; before the authorization endpoint
    # exists the honest answer is an empty list.
    doc.setdefault("response_types_supported", [])
    doc.update(caps.extra)
    return doc
