"""Outbound policy: which addresses the platform may connect to when it fetches something for a user.

Every fetch made on a user's behalf (the crawler with its robots.txt and sitemap requests, URL ingestion, the
scheduled refresh of web collections, and any later webhook or mail fetch) goes through
:meth:`OutboundPolicy.client` or :meth:`OutboundPolicy.transport`. Their connections are opened by
:class:`GuardedBackend`, an httpcore network backend that resolves the host once, checks **every** address
it resolves to and then connects to one of those checked addresses, never to the name again. So a DNS answer
that changes between check and connect (DNS rebinding) cannot slip through, every redirect is checked when its
connection opens, and TLS still verifies the certificate for the host name (httpcore passes the name as SNI).

Refused unless allow-listed: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud
metadata services, fe80::/10), shared address space (100.64/10, carrier-grade NAT), multicast, reserved,
unspecified and every other not globally routable range, also when wrapped in IPv6 (IPv4-mapped ``::ffff:…``,
NAT64 ``64:ff9b::/96``, 6to4, Teredo). An operator allows intranet hosts explicitly with
``RATHAUS_OUTBOUND_ALLOW`` (host names, ``*.domain`` suffixes and CIDR ranges).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpcore
import httpx


class _AllowSetting(Protocol):
    """What :meth:`OutboundPolicy.from_settings` reads (core.settings imports this module: no import back)."""

    outbound_allow: list[str]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING = "RATHAUS_OUTBOUND_ALLOW"
REFUSED_HINT = f"allow it with {SETTING}"  # ends every refusal reason

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; not "private" in ipaddress, but never public
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are IPv4
_HOSTNAME = re.compile(r"^(\*\.)?(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}"
                       r"[a-z0-9_])?)*\.?$")


class OutboundRefused(httpx.ConnectError):
    """A connection the outbound policy does not allow; ``reason`` is one readable line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def classify(address: IPAddress | str) -> str | None:
    """Why ``address`` is not a public internet address (e.g. ``"loopback"``), or None if it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = classify(embedded[1])
            return f"{inner}, as {embedded[0]} IPv6" if inner else None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED:
        return "shared address space"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not globally routable"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), with the kind of wrapping."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    return None


def parse_allow_entry(entry: str) -> str | IPNetwork:
    """One allow-list entry: a CIDR range or single address (as a network), or a lower-case host name
    (``*.example.org`` for every subdomain); ValueError with a readable message otherwise."""
    text = entry.strip()
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    if not _HOSTNAME.match(name) or name.replace(".", "").replace("*", "").isdigit():
        raise ValueError(f"{entry!r} is neither a host name (e.g. intranet.stadt.de, *.intern.stadt.de) "
                         f"nor an address range (e.g. 10.20.0.0/16)")
    return name


@dataclass(frozen=True)
class OutboundPolicy:
    """Public internet addresses only, plus the operator's allow-list (host names, ``*.`` suffixes, CIDR)."""

    allow: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = field(init=False, repr=False)
    hosts: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parsed = [parse_allow_entry(e) for e in self.allow if e.strip()]
        object.__setattr__(self, "networks", tuple(p for p in parsed if not isinstance(p, str)))
        object.__setattr__(self, "hosts", frozenset(p for p in parsed if isinstance(p, str)))

    @classmethod
    def from_settings(cls, settings: _AllowSetting) -> OutboundPolicy:
        return cls(tuple(settings.outbound_allow))

    # --- decisions ---

    def host_allowed(self, host: str) -> bool:
        """Whether the operator allow-listed this host name (then any address it resolves to is accepted)."""
        name = host.lower().rstrip(".")
        if name in self.hosts:
            return True
        return any(h.startswith("*.") and name.endswith(h[1:]) for h in self.hosts)

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to ``address`` (which ``host`` resolved to) is refused, or None if allowed."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if self.host_allowed(host) or any(ip in net for net in self.networks if net.version == ip.version):
            return None
        kind = classify(ip)
        if kind is None:
            return None
        shown = _show(ip)
        where = f"address {shown}" if _is_literal(host) else f"{host} resolves to {shown}, which"
        return f"{where} is not public ({kind}); {REFUSED_HINT}"

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: resolved once, every one checked.

        Raises :class:`OutboundRefused` if any address is refused (a name with one public and one private
        address is refused as a whole), ``httpcore.ConnectError`` if the name does not resolve.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"host {host} not found ({exc})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise httpcore.ConnectError(f"host {host} not found")
        for address in addresses:
            reason = self.refusal(host, address)
            if reason:
                raise OutboundRefused(reason)
        return addresses

    # --- HTTP clients ---

    def transport(self, **kwargs: Any) -> httpx.HTTPTransport:
        """An httpx transport whose every connection obeys this policy (keyword arguments as for HTTPTransport;
        proxies and Unix sockets are not supported: they would hide the real destination)."""
        return GuardedTransport(self, **kwargs)

    def client(self, *, verify: Any = True, trust_env: bool = False, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` whose every connection obeys this policy; ``kwargs`` go to the client."""
        bypass = sorted({"transport", "mounts", "proxy"} & kwargs.keys())
        if bypass:
            raise TypeError(f"{', '.join(bypass)} would bypass the outbound policy")
        return httpx.Client(transport=self.transport(verify=verify, trust_env=trust_env), trust_env=False, **kwargs)


def _show(ip: IPAddress) -> str:
    """The address as people write it (``::ffff:127.0.0.1``, which Python before 3.13 shows as ``::ffff:7f00:1``)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def _is_literal(host: str) -> bool:
    """Whether the URL named an address rather than a host name."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, but ``connect_tcp`` resolves, checks and connects to a checked address."""

    def __init__(self, policy: OutboundPolicy, inner: httpcore.NetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.policy.resolve(host, port):
            try:
                return self.inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                              socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc  # like socket.create_connection: try the next checked address
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise OutboundRefused("Unix sockets are not allowed for outbound requests")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool opens connections through :class:`GuardedBackend`.

    httpx does not take a network backend, so the pool it built is replaced by an equivalent one with the
    backend; if httpx ever stops keeping its pool in ``_pool`` this fails loudly instead of going unguarded.
    """

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | bool = True, cert: Any = None,
                 trust_env: bool = False, http1: bool = True, http2: bool = False, limits: httpx.Limits | None = None,
                 retries: int = 0, local_address: str | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        ssl_context = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
        super().__init__(verify=ssl_context, trust_env=trust_env, http1=http1, http2=http2, limits=limits,
                         retries=retries, local_address=local_address)
        built = getattr(self, "_pool", None)
        if not isinstance(built, httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport no longer keeps an httpcore.ConnectionPool in _pool; "
                               "rathaus.core.outbound must be adapted")
        built.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            retries=retries,
            local_address=local_address,
            network_backend=GuardedBackend(policy),
        )
