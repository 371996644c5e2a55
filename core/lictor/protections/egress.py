"""ASI02 egress control: which hosts a tool call may reach, judged from its URL and host arguments.

Every string argument that contains a URL (``scheme://...``, also nested in dicts and lists) and
every argument whose name says it holds a host or URL (``url``, ``host``, ``endpoint`` ...) is
parsed the way a client would reach it: userinfo dropped (``http://good.com@evil.com`` goes to
``evil.com``), backslashes read as slashes, percent-escapes in the host decoded, trailing dots
removed, international names compared in their punycode form, and IPv4 addresses read in every
encoding ``inet_aton`` accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) and inside IPv6
(``::ffff:127.0.0.1``). Private, loopback, link-local, reserved and cloud metadata addresses
(``169.254.169.254``, ``fd00:ec2::254``, ``metadata.google.internal``) are refused unless the
policy allows them. No DNS lookups are made (deterministic, offline): a public name that resolves
to a private address is not caught here.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Iterator, Optional, Union
from urllib.parse import unquote

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import Section, glob_matcher

__all__ = ["EgressPlugin", "parse_target", "parse_ip", "Target"]

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_SCHEME_ONLY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]{0,30}):(?![\\/]{2})")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}:[\\/]{2}[^\s\"'<>`]*")
_HOST_KEYS = frozenset(
    """url uri urls uris host hostname hostnames domain domains endpoint endpoints server servers webhook
    webhook_url callback callback_url href link links ip ip_address base_url api_url target_url
    remote remote_url proxy origin destination_url redirect redirect_url""".split()
)
_METADATA_NAMES = frozenset(
    """metadata metadata.google.internal metadata.goog instance-data instance-data.ec2.internal
    metadata.azure.internal metadata.tencentyun.com""".split()
)
_METADATA_IPS = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200", "169.254.169.123"))
# Public DNS services that answer any name embedding an IP with that IP.
_WILDCARD_DNS = ("nip.io", "sslip.io", "xip.io", "traefik.me", "localtest.me", "lvh.me", "vcap.me")
_EMBEDDED_IP = re.compile(r"(?:^|[.-])((?:\d{1,3}[.-]){3}\d{1,3})(?:[.-]|$)")
_EMBEDDED_HEX = re.compile(r"(?:^|[.-])([0-9a-f]{8})(?:[.-]|$)")
_NAT64 = int(ipaddress.IPv6Address("64:ff9b::")) >> 32
_NAT64_LOCAL = int(ipaddress.IPv6Address("64:ff9b:1::")) >> 80
# Names that only resolve inside a private network (RFC 6762 .local, RFC 8375 home.arpa, ICANN's
# .internal, common split-horizon suffixes, Kubernetes and Consul service names).
_INTERNAL_SUFFIXES = tuple("." + t for t in """internal local localdomain lan home corp intranet private
    home.arpa svc cluster.local consul""".split())
_HOST_CHARS = re.compile(r"[^a-z0-9._\-]")
_LOCAL_SCHEMES = frozenset("file jar netdoc gopher dict ldap ldaps tftp smb phar expect".split())
_CACHE_MAX = 16384
_MAX_DEPTH = 8
_MAX_ITEMS = 2000


def parse_ip(host: str) -> Optional[IPAddress]:
    """An IP address in any encoding a resolver accepts, or None when ``host`` is a name."""
    h = host.strip("[]")
    if not h:
        return None
    if ":" in h:
        try:
            ip6 = ipaddress.IPv6Address(h.split("%", 1)[0])
        except ValueError:
            return None
        mapped = ip6.ipv4_mapped or ip6.sixtofour
        if mapped is not None:
            return mapped
        if int(ip6) >> 32 == _NAT64 or int(ip6) >> 80 == _NAT64_LOCAL:  # 64:ff9b::a.b.c.d reaches a.b.c.d
            return ipaddress.IPv4Address(int(ip6) & 0xFFFFFFFF)
        if ip6.teredo is not None:
            return ip6.teredo[1]  # the client address a Teredo relay forwards to
        # IPv4-compatible ::a.b.c.d (deprecated but still routed by some stacks)
        if int(ip6) >> 32 == 0 and int(ip6) > 1:
            return ipaddress.IPv4Address(int(ip6) & 0xFFFFFFFF)
        return ip6
    parts = h.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    nums = []
    for p in parts:
        if not p:
            return None
        try:
            if p[:2] in ("0x", "0X"):
                n = int(p[2:] or "0", 16)
            elif len(p) > 1 and p[0] == "0":
                n = int(p, 8)
            else:
                if not p.isdigit():
                    return None
                n = int(p)
        except ValueError:
            return None
        nums.append(n)
    *head, last = nums
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(value)


class Target:
    """One place a call would reach: scheme (may be empty), normalised host, IP if it is one."""

    __slots__ = ("scheme", "host", "ip", "raw")

    def __init__(self, scheme: str, host: str, ip: Optional[IPAddress], raw: str):
        self.scheme, self.host, self.ip, self.raw = scheme, host, ip, raw

    def __repr__(self) -> str:
        return f"Target({self.scheme!r}, {self.host!r}, {self.ip!r})"


def _normalise_host(host: str) -> Optional[str]:
    host = unquote(host).strip().lower()
    if host.startswith("[") and host.endswith("]"):
        return host
    host = host.rstrip(".")
    if not host:
        return ""
    if not host.isascii() or "xn--" in host:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except (UnicodeError, ValueError):
            # Python's IDNA 2003 codec cannot decode some labels; keep the ASCII form, which is
            # what goes on the wire and what allow-list patterns are normalised to as well.
            if not host.isascii():
                return None
    host = host.rstrip(".")
    if _HOST_CHARS.search(host):
        return None  # '#', '@', '%', spaces ... are not part of any host a resolver accepts
    return host


def parse_target(value: str, *, bare_host: bool = False, whatwg: bool = True) -> Optional[Target]:
    """Parse a URL (or, with ``bare_host``, a ``host[:port][/path]``) into a :class:`Target`.

    Returns None when nothing host-like is there; a Target with ``host=None``-like empty host
    for URLs without one (``file:///etc/passwd``).
    """
    raw = value
    s = "".join(ch for ch in value.strip() if ch not in "\t\r\n")
    if not s:
        return None
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):[\\/]{2}", s)
    if m:
        scheme = m.group(1).lower()
        rest = s[m.end():]
    elif s.startswith("//") or s.startswith("\\\\"):
        scheme, rest = "", s[2:]
    elif bare_host:
        scheme, rest = "", s
    else:
        return None
    # WHATWG (browsers): for web schemes a backslash ends the authority like a slash does;
    # urllib-style clients keep it in the authority. Callers judge both readings.
    if whatwg:
        rest = rest.replace("\\", "/")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    hostport = authority.rsplit("@", 1)[-1]
    if not hostport.startswith("[") and hostport.count(":") > 1:
        host = hostport  # an unbracketed IPv6 address (a bare host argument)
    elif hostport.startswith("["):
        end = hostport.find("]")
        host = hostport[: end + 1] if end >= 0 else hostport
    else:
        host = hostport.split(":", 1)[0]
    if bare_host and not m and (" " in host or not host):
        return None
    norm = _normalise_host(host)
    if norm is None:
        return Target(scheme, "\x00invalid:" + host, None, raw)
    ip = parse_ip(norm)
    if ip is None and norm.startswith("["):
        return Target(scheme, "\x00invalid:" + host, None, raw)
    return Target(scheme, norm.strip("[]") if ip is not None else norm, ip, raw)


def _domain_pattern(p: str) -> str:
    p = p.strip().lower().rstrip(".")
    labels = []
    for label in p.split("."):
        if label in ("*", "") or label.isascii():
            labels.append(label)
        else:
            labels.append(label.encode("idna").decode("ascii"))
    return ".".join(labels)


class _DomainSet:
    """Exact names and ``*.suffix`` patterns (the wildcard matches one or more labels, not the
    apex itself)."""

    def __init__(self, patterns: list[str]) -> None:
        self.exact = frozenset(p for p in patterns if not p.startswith("*."))
        self.suffixes = tuple("." + p[2:] for p in patterns if p.startswith("*."))
        rest = [p for p in patterns if "*" in p[2:] or ("*" in p and not p.startswith("*."))]
        self.globs: Optional[Callable[[str], bool]] = glob_matcher(rest) if rest else None

    def __bool__(self) -> bool:
        return bool(self.exact or self.suffixes or self.globs)

    def match(self, host: str) -> bool:
        if host in self.exact:
            return True
        if self.suffixes and host.endswith(self.suffixes):
            return True
        return self.globs is not None and self.globs(host)


def _networks(sec: Section, key: str) -> list[IPNetwork]:
    out: list[IPNetwork] = []
    for i, v in enumerate(sec.strings(key, ())):
        try:
            out.append(ipaddress.ip_network(v, strict=False))
        except ValueError as exc:
            sec.error((key, i), f"{v!r} is not an IP address or CIDR range: {exc}")
    return out


class EgressPlugin:
    """Refuses tool calls whose URL / host arguments reach hosts the policy does not allow (ASI02).
    Registered as ``egress``; inactive without a ``protections.egress`` section."""

    name = "egress"
    risks = ("ASI02",)

    def __init__(self) -> None:
        self.active = False
        self._kinds: frozenset[str] = frozenset()
        self._tools: Optional[Callable[[str], bool]] = None
        self._keys: frozenset[str] = _HOST_KEYS
        self._allow = _DomainSet([])
        self._deny = _DomainSet([])
        self._allow_nets: list[IPNetwork] = []
        self._deny_nets: list[IPNetwork] = []
        self._allow_private = False
        self._allow_metadata = False
        self._schemes: frozenset[str] = frozenset()
        self._effect = "deny"
        self._cache: dict[tuple[str, str], Optional[str]] = {}

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._kinds = sec.kinds("on", ("tool_call",))
        tools = sec.strings("tools", ())
        self._tools = glob_matcher(tools) if tools else None
        extra_keys = sec.strings("url_args", ())
        self._keys = _HOST_KEYS | frozenset(k.lower() for k in extra_keys)
        self._allow = _DomainSet([_domain_pattern(p) for p in sec.strings("allow_domains", ())])
        self._deny = _DomainSet([_domain_pattern(p) for p in sec.strings("deny_domains", ())])
        self._allow_nets = _networks(sec, "allow_cidrs")
        self._deny_nets = _networks(sec, "deny_cidrs")
        self._allow_private = sec.boolean("allow_private", False)
        self._allow_metadata = sec.boolean("allow_metadata", False)
        self._schemes = frozenset(s.lower() for s in sec.strings("allow_schemes", ("http", "https")))
        self._effect = sec.effect()
        sec.done(("on", "tools", "url_args", "allow_domains", "deny_domains", "allow_cidrs", "deny_cidrs",
                  "allow_private", "allow_metadata", "allow_schemes", "effect"))
        sec.raise_problems()
        self._cache = {}

    # -- judging one target ---------------------------------------------------------------
    def refusal(self, t: Target) -> Optional[str]:
        """Why the target may not be reached, or None."""
        key = (t.scheme, t.host)
        try:
            return self._cache[key]
        except KeyError:
            pass
        why = self._judge(t)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = why
        return why

    def _judge(self, t: Target) -> Optional[str]:
        if t.scheme and t.scheme not in self._schemes:
            return f"scheme '{t.scheme}' is not allowed (allow_schemes: {', '.join(sorted(self._schemes))})"
        host = t.host
        if host.startswith("\x00invalid:"):
            return f"host {host[9:]!r} is not a valid host name"
        if not host:
            return "URL has no host"
        ip = t.ip
        if ip is None:
            if host in _METADATA_NAMES and not self._allow_metadata:
                return f"host '{host}' is a cloud metadata service"
            if (host == "localhost" or host.endswith(".localhost")) and not self._allow_private:
                return f"host '{host}' is the local machine"
            if host.endswith(_WILDCARD_DNS):
                m = _EMBEDDED_IP.search(host)
                mh = None if m else _EMBEDDED_HEX.search(host)
                if m or mh:
                    embedded = (parse_ip(m.group(1).replace("-", ".")) if m
                                else ipaddress.IPv4Address(int(mh.group(1), 16)))  # type: ignore[union-attr]
                    if embedded is not None:
                        why = self._judge(Target(t.scheme, str(embedded), embedded, t.raw))
                        if why is not None:
                            return f"host '{host}' resolves to {embedded}: {why}"
            if self._deny and self._deny.match(host):
                return f"host '{host}' is in deny_domains"
            if self._allow and self._allow.match(host):
                return None
            if not self._allow_private and (host.endswith(_INTERNAL_SUFFIXES) or ("." not in host and t.scheme)):
                return f"host '{host}' is a private-network name (allow_private is off)"
            if self._allow:
                return f"host '{host}' is not in allow_domains"
            return None
        if any(ip in n for n in self._deny_nets):
            return f"address {ip} is in deny_cidrs"
        if any(ip in n for n in self._allow_nets):
            return None
        if ip in _METADATA_IPS and not self._allow_metadata:
            return f"address {ip} is a cloud metadata service"
        if not ip.is_global and not self._allow_private:
            kind = ("loopback" if ip.is_loopback else "link-local" if ip.is_link_local
                    else "private" if ip.is_private else "non-public")
            return f"address {ip} is {kind}"
        if self._allow:
            return f"address {ip} is not in allow_cidrs (only allow_domains and allow_cidrs may be reached)"
        return None

    # -- finding targets in arguments -----------------------------------------------------
    def _targets(self, value: Any, key: str, depth: int, budget: list[int]) -> Iterator[Target]:
        if budget[0] <= 0 or depth > _MAX_DEPTH:
            return
        budget[0] -= 1
        if isinstance(value, str):
            hosty = key in self._keys
            if "//" in value or "\\\\" in value:
                found = False
                for m in _URL.finditer(value):
                    u = m.group(0)
                    while u and u[-1] in ".,;:!?)}>'\"" or (u.endswith("]") and u.count("[") < u.count("]")):
                        u = u[:-1]  # prose and markdown around a URL: "(see http://x.com)."
                    t = parse_target(u)
                    if t is not None:
                        found = True
                        yield t
                    if "\\" in u:  # clients disagree about backslashes: judge the other reading too
                        t = parse_target(u, whatwg=False)
                        if t is not None:
                            yield t
                    if "%" in u.split("://", 1)[-1].split("/", 1)[0]:
                        # and about escapes in the authority: some decode before they split it
                        # (http://169.254.169.254%2f@example.com is then the metadata service)
                        t = parse_target(unquote(u))
                        if t is not None:
                            yield t
                if found or not hosty:
                    return
            if hosty:
                sm = _SCHEME_ONLY.match(value)
                if sm and sm.group(1).lower() in _LOCAL_SCHEMES:  # file:/etc/passwd (no //)
                    yield Target(sm.group(1).lower(), "", None, value)
                    return
                t = parse_target(value, bare_host=True)
                if t is not None:
                    yield t
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from self._targets(v, str(k).lower(), depth + 1, budget)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from self._targets(v, key, depth + 1, budget)

    def applies_to(self, kind: str, name: str) -> bool:
        """The Governor calls this plugin only for actions of kinds (and names) it judges."""
        return kind in self._kinds and (self._tools is None or self._tools(name))

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds:
            return None
        if self._tools is not None and not self._tools(action.name):
            return None
        args = action.args
        if not args:
            return None
        budget: Optional[list[int]] = None  # allocated when a value needs a look
        keys = self._keys
        for k, v in args.items():
            tv = type(v)
            if tv is str:
                # fast path: a plain string that is neither a URL nor under a host-like name
                if "//" not in v and "\\\\" not in v and (k if k.islower() else k.lower()) not in keys:
                    continue
            elif tv is not dict and tv is not list and tv is not tuple:
                continue
            if budget is None:
                budget = [_MAX_ITEMS]
            for t in self._targets(v, str(k).lower(), 0, budget):
                why = self.refusal(t)
                if why is not None:
                    reason = f"egress: argument '{k}' reaches a refused destination: {why}"
                    return Decision.vote(self._effect, reason, rule_id="egress", risks=self.risks)
        if budget is not None and budget[0] <= 0:
            return Decision.deny("egress: arguments too large to inspect; denied (fail closed)",
                                 rule_id="egress", risks=self.risks)
        return None
