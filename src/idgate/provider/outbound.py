"""The one HTTP client for documents idgate fetches itself (a client's `jwks_uri`, its
`sector_identifier_uri`, a `request_uri`), and the one fetch policy they share:

- https only; no redirects followed; no proxies from the environment; TLS verified against
  the default CA bundle plus the operator's `outbound_ca_file`, if any (RPs behind a private
  CA; the test suite's own CA);
- never to a loopback, private, link-local, unique-local, multicast or unspecified address,
  however the host is spelled (`127.1`, `2130706433`, `[::ffff:127.0.0.1]`, a DNS name that
  resolves there): the address is checked after resolution and the connection goes to the
  address that was checked, so a second DNS answer cannot slip in (SECURITY.md SSRF-01).
  `allow_private_fetch` lifts this for local development only;
- bounded: `FETCH_SECONDS` for the whole exchange, and a byte limit per document (SSRF-03);
- one failure for every way a fetch can fail (refused address, connect error, timeout, not
  200, too large), so fetches cannot be used to map what answers where (SSRF-05).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from idgate.config import ConfigError, Settings

FETCH_SECONDS = 5.0


class FetchFailed(Exception):
    """The document could not be fetched; deliberately without saying why."""


def outbound_client(settings: Settings, *, guard_addresses: bool = True) -> httpx.AsyncClient:
    """An httpx client under the fetch policy; `guard_addresses=False` gives one without the
    address rule (the Back-Channel Logout deliveries, for now)."""
    verify: ssl.SSLContext | bool = True
    if settings.outbound_ca_file:
        verify = httpx.create_ssl_context(trust_env=False)
        try:
            verify.load_verify_locations(cafile=settings.outbound_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot read outbound_ca_file {settings.outbound_ca_file}: {exc.strerror}"
            ) from None
    transport: httpx.AsyncBaseTransport
    if guard_addresses:
        # Local development resolves and connects the same way, only without the address rule,
        # so the path that runs in production is the one the test suite runs.
        transport = _GuardedTransport(verify=verify, allow_private=settings.allow_private_fetch)
    else:
        transport = httpx.AsyncHTTPTransport(verify=verify)
    return httpx.AsyncClient(
        follow_redirects=False, trust_env=False, verify=verify, transport=transport
    )


def is_public_address(address: str) -> bool:
    """True for an address on the public internet; False for everything SSRF-01 lists."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_unspecified or ip.is_reserved)


async def fetch(
    http: httpx.AsyncClient,
    uri: str,
    *,
    max_bytes: int,
    accept: str,
    within: float = FETCH_SECONDS,
) -> bytes:
    """GET `uri` under the policy, all of it `within` seconds; the body, or FetchFailed."""
    if not uri.startswith("https://"):
        raise FetchFailed
    body = bytearray()
    try:
        async with asyncio.timeout(within):
            async with http.stream(
                "GET", uri, headers={"Accept": accept}, timeout=within
            ) as response:
                if response.status_code != 200:
                    raise FetchFailed
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise FetchFailed
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError, ValueError):
        raise FetchFailed from None
    return bytes(body)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses non-public addresses, connects to a checked one."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise httpcore.ConnectError("the host cannot be resolved") from None
        addresses = [str(info[4][0]) for info in infos]
        # Every answer must be public: one private answer is enough to refuse the host.
        allowed = self._allow_private or all(is_public_address(a) for a in addresses)
        if not addresses or not allowed:
            raise httpcore.ConnectError("the destination is not allowed")
        failure: Exception = httpcore.ConnectError("no address could be reached")
        for address in dict.fromkeys(addresses):  # each checked address, in resolver order
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, verify: ssl.SSLContext | bool, allow_private: bool) -> None:
        super().__init__(verify=verify)
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context()
        # httpx takes no network backend, httpcore does: the pool is swapped for one that
        # connects through the guard. `allow_private_fetch` uses this same path, so every
        # test that fetches from the loopback peer runs it (tests/flows/test_fetch_policy.py).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=_GuardedBackend(allow_private=allow_private)
        )
