"""Who is asking: the one place that decides a request's client address, and the key every
per-client limit counts by.

The address is the TCP peer's, unless that peer is one of TRUSTED_PROXIES: then
`X-Forwarded-For` is read from the right (each trusted proxy appends the address it saw) and
the first address that is not a trusted proxy is the client. From any other peer the header is
ignored, so nobody can pick their own address by sending it.

Limits count by `key`: the address itself for IPv4, its /64 network for IPv6 (one subscriber
usually holds a whole /64, so counting single IPv6 addresses would let one person be
2^64 clients).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from bot.settings import Network

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
FORWARDED_FOR = "X-Forwarded-For"
IPV6_CLIENT_PREFIX = 64


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
    `[2001:db8::1]:5678`; None for anything else."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_key(address: str) -> str:
    """What per-client limits count by: the IPv4 address, or the IPv6 /64 network."""
    parsed = parse_address(address)
    if parsed is None:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(parsed)


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[Network]) -> None:
        self._trusted = tuple(trusted_proxies)

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def address(self, request: web.BaseRequest) -> str:
        """The client's address (see the module's docstring)."""
        transport = request.transport
        peername = transport.get_extra_info("peername") if transport is not None else None
        peer_text = str(peername[0]) if isinstance(peername, tuple) else request.remote or ""
        peer = parse_address(peer_text)
        if peer is None or not self._is_trusted(peer):
            return str(peer) if peer is not None else peer_text
        headers = request.headers.getall(FORWARDED_FOR, [])
        hops = [hop for value in headers for hop in value.split(",")]
        client = peer
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break  # not written by a proxy we trust: stop at the last one that was
            client = address
            if not self._is_trusted(address):
                break
        return str(client)

    def key(self, request: web.BaseRequest) -> str:
        """The key the per-client limits count this request by."""
        return client_key(self.address(request))
