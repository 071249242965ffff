"""The one HTTP client for requests idgate makes itself (a client's `jwks_uri`, its
`sector_identifier_uri`): no redirects followed, no proxies from the environment, and TLS
verified against the default CA bundle plus the operator's `outbound_ca_file`, if any (RPs
behind a private CA; the test suite's own CA).
"""

from __future__ import annotations

import ssl

import httpx

from idgate.config import ConfigError, Settings


def outbound_client(settings: Settings) -> httpx.AsyncClient:
    verify: ssl.SSLContext | bool = True
    if settings.outbound_ca_file:
        verify = httpx.create_ssl_context(trust_env=False)
        try:
            verify.load_verify_locations(cafile=settings.outbound_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot read outbound_ca_file {settings.outbound_ca_file}: {exc}"
            ) from None
    return httpx.AsyncClient(follow_redirects=False, trust_env=False, verify=verify)
