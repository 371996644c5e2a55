"""egress (ASI02): URL and host arguments, parsed the way a client would reach them."""

from __future__ import annotations

from typing import Any

import pytest

import lictor
from lictor.protections.egress import parse_ip, parse_target


def fetch(gov: lictor.Governor, **args: Any) -> lictor.Decision:
    return gov.check(lictor.Action(kind="tool_call", agent="researcher", name="http_get", args=args))


@pytest.fixture
def open_gov(make_gov):
    """No allowlist: public hosts pass, private / metadata ones do not."""
    return make_gov({"protections": {"egress": {}}})


@pytest.fixture
def allow_gov(make_gov):
    return make_gov({"protections": {"egress": {
        "allow_domains": ["*.example.com", "api.partner.io", "bücher.de"],
        "deny_domains": ["evil.example.com"],
        "allow_cidrs": ["203.0.113.0/24"],
    }}})


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
    "http://localhost:8080/admin",
    "http://127.0.0.1/",
    "http://2130706433/",            # decimal 127.0.0.1
    "http://0x7f000001/",            # hex
    "http://0177.0.0.1/",            # octal
    "http://127.1/",                 # short form
    "http://0x7f.1/",                # mixed
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",    # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/",    # mapped metadata address in hex
    "http://10.0.0.5/internal",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.100.100.200/",       # Alibaba metadata (CGNAT range)
    "http://0.0.0.0:6379/",
    "http://public.example.org@127.0.0.1/",    # userinfo trick: the host is after '@'
    "http://user:pass@10.1.2.3/",
    "http://evil.com\\@127.0.0.1/",  # backslash: reaches what follows per WHATWG
    "http://127.0.0.1.nip.io/",      # wildcard DNS naming a private address
    "http://%31%32%37.0.0.1/",       # percent-encoded host
    "http://127.0.0.1\t/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://10.0.0.1:11211/stat",
    "http://sub.localhost/",
    "http://169.254.169.254%2f@public.example.org/",   # clients that decode before splitting reach the metadata service
    "http://%6c%6f%63%61%6c%68%6f%73%74/",            # 'localhost', escaped
])
def test_private_loopback_and_metadata_destinations_are_refused(open_gov, url: str) -> None:
    d = fetch(open_gov, url=url)
    assert d.verdict == "deny", url
    assert d.rule_ids == ("egress",) and d.risks == ("ASI02",)


@pytest.mark.parametrize("url", [
    "https://docs.python.org/3/library/ipaddress.html",
    "https://www.example.org/search?q=http://127.0.0.1",   # a private URL inside the query is just text
    "http://93.184.215.14/",
    "https://[2606:4700:4700::1111]/dns-query",
    "http://user%40corp:pw@public.example.org/x",   # an escaped '@' in the user name changes nothing
    "https://www.example.org/search?q=a%20b%2F",
])
def test_public_destinations_pass_without_allowlist(open_gov, url: str) -> None:
    assert fetch(open_gov, url=url).verdict == "allow", url


def test_urls_anywhere_in_arguments_are_found(open_gov) -> None:
    d = fetch(open_gov, request={"headers": {"X": "1"}, "targets": ["https://ok.example.org", "http://10.0.0.1/x"]})
    assert d.verdict == "deny" and "argument 'request'" in d.reasons[0]
    d = fetch(open_gov, body="please POST the report to http://169.254.169.254/latest and reply")
    assert d.verdict == "deny"


@pytest.mark.parametrize("args", [
    {"host": "127.0.0.1"}, {"hostname": "localhost"}, {"host": "fd00:ec2::254"}, {"server": "10.0.0.8:5432"},
    {"endpoint": "metadata.google.internal"}, {"ip": "2130706433"}, {"webhook": "//192.168.0.10/hook"},
])
def test_host_named_arguments_are_parsed_as_hosts(open_gov, args: dict[str, Any]) -> None:
    assert fetch(open_gov, **args).verdict == "deny", args


def test_benign_text_arguments_are_not_hosts(open_gov) -> None:
    d = fetch(open_gov, query="latest release notes 10.0.0.1", note="see section 3.2", count=3, target="prod-db")
    assert d.verdict == "allow"


@pytest.mark.parametrize("url, verdict", [
    ("https://api.example.com/v1/orders", "allow"),
    ("https://a.b.example.com/", "allow"),
    ("https://API.Example.COM./v1", "allow"),            # case and trailing dot
    ("https://example.com/", "deny"),                     # '*.' does not include the apex
    ("https://example.com.evil.net/", "deny"),            # suffix trick
    ("https://evilexample.com/", "deny"),
    ("https://api.example.com@evil.net/", "deny"),        # userinfo trick
    ("https://evil.example.com/", "deny"),                # deny_domains beats allow
    ("https://api.partner.io/x", "allow"),
    ("https://api.partner.io.attacker.org/x", "deny"),
    ("https://xn--bcher-kva.de/", "allow"),              # punycode of bücher.de
    ("https://bücher.de/", "allow"),
    ("https://exаmple.com/", "deny"),                     # Cyrillic 'а' look-alike
    ("https://аpi.example.com/", "allow"),                # a subdomain label may be anything under the allowed suffix
    ("http://203.0.113.7/", "allow"),                     # allow_cidrs
    ("http://198.51.100.7/", "deny"),                     # raw IP not in allow_cidrs
    ("ftp://api.example.com/file", "deny"),               # scheme not allowed
])
def test_allowlist_matching_with_evasions(allow_gov, url: str, verdict: str) -> None:
    assert fetch(allow_gov, url=url).verdict == verdict, url


def test_approve_effect_and_tool_filter(make_gov) -> None:
    gov = make_gov({"protections": {"egress": {"allow_domains": ["*.example.com"], "effect": "approve", "tools": ["http_*"]}}})
    assert fetch(gov, url="https://elsewhere.org").verdict == "approve"
    other = gov.check(lictor.Action(kind="tool_call", agent="a", name="send_email", args={"url": "https://elsewhere.org"}))
    assert other.verdict == "allow"


def test_allow_private_opens_private_ranges_but_not_metadata(make_gov) -> None:
    gov = make_gov({"protections": {"egress": {"allow_private": True}}})
    assert fetch(gov, url="http://10.0.0.5/").verdict == "allow"
    assert fetch(gov, url="http://169.254.169.254/").verdict == "deny"


def test_parsers_directly() -> None:
    assert str(parse_ip("0x7f.0.0.1")) == "127.0.0.1"
    assert str(parse_ip("3232235777")) == "192.168.1.1"
    assert parse_ip("256.1.1.1") is None and parse_ip("example.com") is None and parse_ip("1.2.3.4.5") is None
    t = parse_target("HTTPS://user@Sub.Example.COM.:443/x")
    assert t is not None and (t.scheme, t.host) == ("https", "sub.example.com")


def test_config_errors(make_gov) -> None:
    with pytest.raises(lictor.PolicyError) as e:
        make_gov({"protections": {"egress": {"allow_cidrs": ["10.0.0.0/33"], "allow_private": "yes", "domains": []}}})
    msg = str(e.value)
    assert "protections.egress.allow_cidrs[0]" in msg
    assert "protections.egress.allow_private: expected true or false" in msg
    assert "protections.egress.domains: unknown setting" in msg


# -- issue 7, tool-call benchmark: misses fixed ------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://169.254.169.254%23.example.com/latest/meta-data/",   # '#' decoded into the host: not a host
    "http://7f000001.nip.io/admin",                              # wildcard DNS, hex form
    "http://a9fea9fe.sslip.io/latest/meta-data/",
    "http://[64:ff9b::7f00:1]/",                                 # NAT64 prefix embeds 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "http://redis:6379/",                                        # single-label names resolve only inside
    "http://vault.service.consul:8200/v1/secret",
    "http://api.internal/admin", "http://printer.local/", "http://grafana.cluster.local/",
    "http://kubernetes.default.svc/api",
])
def test_more_internal_targets_are_refused(open_gov, url: str) -> None:
    d = fetch(open_gov, url=url)
    assert d.verdict == "deny", (url, d.reasons)


def test_file_url_without_slashes_in_a_url_argument_is_refused(open_gov) -> None:
    assert fetch(open_gov, url="file:/etc/passwd").verdict == "deny"
    assert fetch(open_gov, url="smtp.gmail.com:587").verdict == "allow"


def test_internal_names_pass_when_allowed(make_gov) -> None:
    g = make_gov({"protections": {"egress": {"allow_domains": ["*.internal"]}}})
    assert fetch(g, url="http://api.internal/x").verdict == "allow"
    g = make_gov({"protections": {"egress": {"allow_private": True}}})
    assert fetch(g, url="http://redis:6379/").verdict == "allow"


@pytest.mark.parametrize("text", [
    "See the docs (https://en.wikipedia.org/wiki/Localhost).", "[docs](https://pypi.org/project/x)",
    "<https://api.github.com/>, then", "Mirror at http://[2606:4700:4700::1111]/.",
])
def test_punctuation_around_urls_in_prose_is_not_part_of_the_host(open_gov, text: str) -> None:
    d = open_gov.check(lictor.Action(kind="tool_call", agent="a", name="post_message", args={"text": text}))
    assert d.verdict == "allow", (text, d.reasons)


def test_a_git_remote_name_is_not_a_host(open_gov) -> None:
    d = open_gov.check(lictor.Action(kind="tool_call", agent="a", name="git_push", args={"remote": "origin"}))
    assert d.verdict == "allow"
