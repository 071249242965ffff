"""How `idgate demo` gets its client: given, registered locally, or registered dynamically.

The demo's redirect URI is ``http://127.0.0.1:PORT/callback``. Web clients of the implicit and
hybrid flows must use https and never localhost (Registration 1.0 §2), so the demo registers
as ``application_type=native``: a client running on the End-User's own machine, which may use
http on a loopback IP address (RFC 8252 §7.3). That is exactly what the demo is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import httpx

from idgate.client.credentials import AuthMethod, ClientCredentials
from idgate.client.discovery import fetch_provider_metadata
from idgate.client.errors import ClientError, ConfigurationError
from idgate.client.registration import register_client

__all__ = ["DEMO_CLIENT_ID", "LocalRegistrar", "demo_client_document", "obtain_credentials"]

#: The client_id the demo uses when `idgate demo` registers it in the local database.
DEMO_CLIENT_ID: Final = "idgate-demo"

#: Registers a metadata document in the OP's own database; returns (client_id, client_secret).
LocalRegistrar = Callable[[dict[str, Any]], Awaitable[tuple[str, str | None]]]


def demo_client_document(base_url: str) -> dict[str, Any]:
    """RFC 7591 metadata of the demo client served at ``base_url``."""
    return {
        "client_name": "idgate demo client",
        "application_type": "native",
        "redirect_uris": [f"{base_url}/callback"],
        "post_logout_redirect_uris": [f"{base_url}/logged-out"],
        "response_types": ["code id_token"],
        "grant_types": ["authorization_code", "implicit", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
    }


async def obtain_credentials(
    http: httpx.AsyncClient,
    issuer: str,
    base_url: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    register_locally: LocalRegistrar | None = None,
) -> tuple[ClientCredentials, str]:
    """The demo's client, and how it was obtained (a sentence for the console).

    In order: the given ``client_id``/``client_secret``; the OP's own database through
    ``register_locally`` (when `idgate demo` runs next to the OP it targets: no open
    registration needed); dynamic registration when the OP offers it.
    """
    if client_id is not None:
        method: AuthMethod = "client_secret_basic" if client_secret else "none"
        credentials = ClientCredentials(
            client_id, client_secret=client_secret, token_endpoint_auth_method=method
        )
        return credentials, f"using the given client {client_id}"
    document = demo_client_document(base_url)
    metadata = await fetch_provider_metadata(http, issuer)  # the OP must be up in any case
    problems: list[str] = []
    if register_locally is not None:
        try:
            new_id, secret = await register_locally(document)
        except Exception as exc:  # any failure: fall back to dynamic registration below
            problems.append(f"local registration failed ({type(exc).__name__}: {exc})")
        else:
            credentials = ClientCredentials(new_id, client_secret=secret)
            return credentials, f"registered client {new_id} in the OP's database"
    if metadata.registration_endpoint is not None:
        try:
            registered = await register_client(http, metadata, document)
        except ClientError as exc:
            problems.append(f"dynamic registration failed ({exc.message})")
        else:
            return registered.credentials(), (
                f"registered client {registered.client_id} by dynamic registration"
            )
    else:
        problems.append("the OP has no open dynamic registration")
    raise ConfigurationError(
        "the demo has no client: " + "; ".join(problems),
        hint="run `idgate demo` with the same configuration as the OP, or give --client-id and "
        f"--client-secret of a client with redirect URI {base_url}/callback",
    )
