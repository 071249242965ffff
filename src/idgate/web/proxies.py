"""Who the client is, behind reverse proxies that are trusted (SECURITY.md HTTP-08).

Only a request whose direct peer is in `trusted_proxies` may say, through `X-Forwarded-For` /
`X-Forwarded-Proto` or RFC 7239 `Forwarded` (one of the two, as configured), which address
and scheme the client used; from anyone else those headers change nothing. The list of hops is
read from the right, the side the trusted proxies wrote: the first address that is not a
trusted proxy is the client. Entries to its left were written by the client itself and are
never believed.

The host is not taken from `X-Forwarded-Host` or `Forwarded: host=`: every URL idgate makes
comes from the configured issuer, so nothing would read it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Final

from starlette.types import Scope

from idgate.config import ForwardedHeader

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A proxy chain longer than this is not a real deployment; the rest is not read.
_MAX_HOPS: Final = 32
_CACHE_LIMIT: Final = 4096
# `[v6 address with an IPv4 tail]:port` is at most 53 characters; longer text is no address.
_LONGEST_ADDRESS: Final = 64
_PORT_SUFFIX = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):\d+$")
_BRACKETED = re.compile(r"^\[([0-9A-Fa-f:.]+)\](?::\d+)?$")
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# One forwarded-pair of RFC 7239 §4 and the separator after it. Unquoted values are allowed
# a colon and brackets too: proxies write IPv6 addresses so although the RFC wants quotes.
_FORWARDED_PAIR = re.compile(
    rf'\s*({_TOKEN})=("(?:[^"\\]|\\.)*"|[!#$%&\'*+.^_`|~0-9A-Za-z:\[\]-]+)\s*([;,]|$)'
)


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`."""
    text = text.strip().strip('"')
    if (match := _BRACKETED.match(text)) or (match := _PORT_SUFFIX.match(text)):
        text = match.group(1)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_forwarded(value: str) -> list[dict[str, str]] | None:
    """The elements of a `Forwarded` header (RFC 7239 §4), or None when it is malformed."""
    elements: list[dict[str, str]] = [{}]
    position = 0
    while position < len(value):
        match = _FORWARDED_PAIR.match(value, position)
        if match is None:
            return None
        name, raw, separator = match.groups()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elements[-1][name.lower()] = raw
        if separator == ",":
            elements.append({})
        position = match.end()
    return elements if elements[0] else None


class TrustedProxies:
    def __init__(self, networks: Iterable[str], header: ForwardedHeader) -> None:
        self._networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in networks
        )
        self._header = header
        # Parsing an address costs microseconds and the same few (the proxies, the busiest
        # clients) come back all the time: remember each text's address and verdict.
        self._seen: dict[str, tuple[str | None, bool]] = {}

    def trusts(self, host: str) -> bool:
        return self._lookup(host)[1]

    def _lookup(self, text: str) -> tuple[str | None, bool]:
        """The address as a canonical string (None when `text` is none) and whether it is a
        trusted proxy."""
        if len(text) > _LONGEST_ADDRESS:
            return (None, False)
        known = self._seen.get(text)
        if known is None:
            address = parse_address(text)
            known = (None, False) if address is None else (str(address), self._trusts(address))
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            self._seen[text] = known
        return known

    def _trusts(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)

    def apply(self, scope: Scope) -> bool:
        """Take the client's address and scheme from the forwarding headers into `scope`
        when the direct peer is trusted; True when it is."""
        peer = scope.get("client")
        if not peer or not self.trusts(peer[0]):
            return False
        if self._header == "forwarded":
            client, proto = self._client_of(_forwarded_hops(scope["headers"]))
        else:
            addresses, proto = _x_forwarded(scope["headers"])
            client, _ = self._client_of([(address, None) for address in addresses])
        if client is not None:
            scope["client"] = (client, 0)
        if proto is not None:
            scope["scheme"] = proto
        return True

    def _client_of(self, hops: list[Hop]) -> tuple[str | None, str | None]:
        """The rightmost hop that is not a trusted proxy, with its scheme. A hop whose
        address is unreadable (`unknown`, an obfuscated name, garbage) stops the walk at the
        last trusted one: its left side is not to be believed."""
        chosen: tuple[str | None, str | None] = (None, None)
        for text, proto in reversed(hops[-_MAX_HOPS:]):
            address, trusted = self._lookup(text.strip())
            if address is None:
                break
            chosen = (address, proto)
            if not trusted:
                break
        return chosen


Hop = tuple[str, str | None]
Headers = Iterable[tuple[bytes, bytes]]


def _x_forwarded(headers: Headers) -> tuple[list[str], str | None]:
    """The X-Forwarded-For hops, and the X-Forwarded-Proto the nearest proxy set (the last)."""
    addresses: list[str] = []
    proto: str | None = None
    for name, value in headers:
        if name == b"x-forwarded-for":
            addresses.extend(value.decode("latin-1").split(","))
        elif name == b"x-forwarded-proto":
            proto = _scheme(value.decode("latin-1").rsplit(",", 1)[-1])
    return addresses, proto


def _forwarded_hops(headers: Headers) -> list[Hop]:
    """One hop per `Forwarded` element: its `for` and the scheme it was reached over."""
    values = [value.decode("latin-1") for name, value in headers if name == b"forwarded"]
    if not values:
        return []
    elements = parse_forwarded(",".join(values))
    if elements is None:
        return []
    return [(element.get("for", ""), _scheme(element.get("proto", ""))) for element in elements]


def _scheme(text: str) -> str | None:
    scheme = text.strip().lower()
    return scheme if scheme in ("http", "https") else None
