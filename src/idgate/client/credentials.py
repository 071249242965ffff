"""The client's identity at the OP, and how it authenticates to the token endpoint.

Client authentication methods (Core §9, RFC 6749 §2.3.1, RFC 7523 §2.2):
``client_secret_basic`` (the default), ``client_secret_post``, ``client_secret_jwt``,
``private_key_jwt``, and ``none`` for public clients (which rely on PKCE, RFC 7636).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Final, Literal, get_args
from urllib.parse import quote

from idgate.client.errors import ConfigurationError
from idgate.crypto.jwt import sign_hmac_jwt, sign_jwt
from idgate.crypto.keys import SigningKey

__all__ = ["AuthMethod", "ClientCredentials"]

AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"
]
_AUTH_METHODS: Final = frozenset(get_args(AuthMethod))
_SECRET_METHODS: Final = frozenset(
    {"client_secret_basic", "client_secret_post", "client_secret_jwt"}
)
#: Lifetime of a client assertion (RFC 7523 §3: "exp" is required; short is best).
_ASSERTION_LIFETIME: Final = 60
_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class ClientCredentials:
    """A registered client: its ``client_id``, how it authenticates, what algs it registered.

    - ``client_secret``: for the ``client_secret_*`` methods, and for HS256/384/512 ID Tokens
      (Core §10.1), which are verified with it.
    - ``private_key``: the signing key of ``private_key_jwt`` (its public half is in the
      client's registered ``jwks``).
    - ``id_token_signed_response_alg``: the one alg accepted for ID Tokens (Core §3.1.3.7 step
      7; Registration 1.0 §2, default RS256). ``none`` is never accepted.
    - ``userinfo_signed_response_alg``: set when the client registered signed UserInfo
      responses (Registration 1.0 §2); None means plain JSON.
    """

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    id_token_signed_response_alg: str = "RS256"
    userinfo_signed_response_alg: str | None = None
    private_key: SigningKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigurationError("client_id is empty")
        method = self.token_endpoint_auth_method
        if method not in _AUTH_METHODS:
            raise ConfigurationError(
                f"unknown token_endpoint_auth_method {method!r}",
                hint=f"one of {', '.join(sorted(_AUTH_METHODS))}",
            )
        if method in _SECRET_METHODS and not self.client_secret:
            raise ConfigurationError(
                f"{method} needs the client_secret",
                hint="the client_secret the OP issued when the client was registered",
            )
        if method == "private_key_jwt" and self.private_key is None:
            raise ConfigurationError(
                "private_key_jwt needs private_key",
                hint="a SigningKey whose public JWK is in the client's registered jwks",
            )
        for name in ("id_token_signed_response_alg", "userinfo_signed_response_alg"):
            alg = getattr(self, name)
            if alg is not None and alg.lower() == "none":
                raise ConfigurationError(
                    f"{name} none is refused: unsigned tokens prove nothing",
                    hint="register the client with a signing alg such as RS256",
                )
            if alg is not None and alg.startswith("HS") and not self.client_secret:
                raise ConfigurationError(
                    f"{name} {alg} is verified with the client_secret, and there is none",
                    hint="give client_secret, or register an asymmetric alg such as RS256",
                )

    def token_request_auth(
        self, token_endpoint: str, now: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and form fields that authenticate this client at ``token_endpoint``."""
        method = self.token_endpoint_auth_method
        if method == "client_secret_basic":
            assert self.client_secret is not None  # checked in __post_init__
            # RFC 6749 §2.3.1: both are form-urlencoded before they are joined and encoded.
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
            return {"Authorization": f"Basic {token}"}, {}
        if method == "client_secret_post":
            assert self.client_secret is not None
            return {}, {"client_id": self.client_id, "client_secret": self.client_secret}
        if method == "none":
            return {}, {"client_id": self.client_id}
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_endpoint,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME,
        }
        if method == "client_secret_jwt":
            assert self.client_secret is not None
            assertion = sign_hmac_jwt(claims, self.client_secret, "HS256")
        else:
            assert self.private_key is not None
            assertion = sign_jwt(claims, self.private_key)
        return {}, {
            "client_id": self.client_id,
            "client_assertion_type": _ASSERTION_TYPE,
            "client_assertion": assertion,
        }
