"""secrets: credentials in arguments are denied or redacted, in outputs redacted."""

from __future__ import annotations

import pytest

import lictor
from lictor.protections.secret_scan import find_secrets

from protection_helpers import gov, text, tool

GH = "ghp_" + "Zx8Kq2LmN4pR7sT1vW3yB6cD9fG0hJ5kA2eU"
SAMPLES = {
    "aws_access_key": "AKIAZ3MHQ7RT5NWX4PLE",
    "github_token": GH,
    "slack_token": "xoxb-2048-4096-Gq3hNw8vJr1KpZ",
    "stripe_key": "sk_live_51HqLyjWDarjtT1zdp7dc9Xk2",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
    "google_api_key": "AIzaSyD3xK9mP2qR7sT4vW8yZ1bC5eF0gH6jL3n",
}


@pytest.mark.parametrize("kind,value", list(SAMPLES.items()))
def test_each_detector_finds_its_format(kind: str, value: str) -> None:
    found = find_secrets(f"config: {value} end")
    assert [k for k, _, _ in found] == [kind]


def test_secret_in_arguments_is_denied() -> None:
    g = gov({"secrets": {}})
    d = g.check(tool("http_post", url="https://paste.example.com", body=f"here is the key {SAMPLES['aws_access_key']}"))
    assert d.verdict == "deny" and d.rule_ids == ("secrets",) and "aws_access_key" in d.reasons[0]
    assert "ASI03" in d.risks
    assert SAMPLES["aws_access_key"] not in " ".join(d.reasons + d.evidence)


def test_secret_in_arguments_can_be_redacted_nested() -> None:
    g = gov({"secrets": {"args": "redact"}})
    d = g.check(tool("deploy", env={"DB_URL": "postgres://app:Sup3rS3cret!@db.internal:5432/app"}, tags=["x", GH]))
    assert d.verdict == "redact"
    assert d.action.args["env"]["DB_URL"] == "postgres://app:[SECRET:url_password]@db.internal:5432/app"
    assert d.action.args["tags"] == ["x", "[SECRET:github_token]"]


def test_outputs_and_content_are_redacted() -> None:
    g = gov({"secrets": {}})
    d = g.check_output(tool("read_file"), f"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYz7Qk2LmA9pKEY\nOPENAI={'sk-proj-' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6'}")
    assert d.verdict == "redact"
    assert "wJalrX" not in d.output and "sk-proj" not in d.output
    d = g.check(text("message", f"my token is {GH}", "user"))
    assert d.verdict == "redact" and GH not in d.action.content


def test_benign_look_alikes_are_not_secrets() -> None:
    benign = [
        "commit 3f786850e387550fdab836ed7e6dc881de23001b merged",
        "request id 123e4567-e89b-12d3-a456-426614174000",
        "see https://docs.python.org/3/library/secrets.html#module-secrets",
        "password: ********", "api_key: ${API_KEY}", "token = <your-token-here>",
        "The password must be at least 12 characters long.",
        "file /usr/local/lib/python3.11/site-packages/pydantic/main.py",
        "class AbstractSingletonProxyFactoryBeanManagerImpl",
        "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]
    g = gov({"secrets": {}})
    for b in benign:
        assert find_secrets(b) == [], b
        assert g.check(tool("search", q=b)).verdict == "allow"


def test_ignore_list_and_detector_selection() -> None:
    g = gov({"secrets": {"ignore": ["AKIAIOSFODNN7EXAMPLE"], "detectors": ["aws_access_key"]}})
    assert g.check(tool("t", x="AKIAIOSFODNN7EXAMPLE")).verdict == "allow"
    assert g.check(tool("t", x=GH)).verdict == "allow"  # github detector off
    assert g.check(tool("t", x="AKIAZ3MHQ7RT5NWX4PLE")).verdict == "deny"


@pytest.mark.parametrize("section,field", [
    ({"args": "block"}, "args"),
    ({"outputs": "approve"}, "outputs"),
    ({"detectors": ["aws"]}, "detectors"),
    ({"min_entropy": 9}, "min_entropy"),
    ({"replacement": "[{what}]"}, "replacement"),
])
def test_invalid_config_names_the_field(section: dict, field: str) -> None:
    with pytest.raises(lictor.PolicyError) as e:
        gov({"secrets": section})
    assert f"protections.secrets.{field}" in str(e.value)


# -- issue 7, tool-call benchmark: misses and false positives fixed ---------------------------

@pytest.mark.parametrize("value", [
    "redis://:Ih3bmAQrhbK3yNa1@cache.internal:6379/0",                       # password, no user name
    "Authorization: Basic " + "d29ua2E6WUoyVnlRUnh5OGI1",                    # base64 of user:password
    "hf_" + "lgfEqffcTtqOPNZrmRGRnDLJEvVkXBQuQT",                            # Hugging Face
    "SK" + "98f6f383e063fe73debb26d167dd8713",                               # Twilio API key
    "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "pypi-AgEIcHlwaS5vcmc" + "e9M007njRlqDO_nIw4HHcbOzKK67pKr_GLrRCmmLJrMcYZ6tOQ5V8poCV9zw",
    "SG." + "a1B2c3D4e5F6g7H8i9J0k1" + "." + "L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6a7B8c9D0e1F2g",
    "AccountName=store;AccountKey=" + "J/C6OF4MXEs7J7UIZDFrdktpUatVikADWfIsXksfoxDWTIpxTM3k/DvkxAt==;EndpointSuffix=core.windows.net",
    "The admin password is fSO4g7PTdj",
])
def test_more_credential_formats_are_found(value: str) -> None:
    g = gov({"secrets": {}})
    d = g.check(tool("http_post", body=f"here: {value}"))
    assert d.verdict == "deny", (value, d.reasons)


@pytest.mark.parametrize("args", [
    {"password": "Winter2024!"}, {"auth": {"passphrase": "Q2eewm1g&"}}, {"apiKey": "Umbrella#8812"},
    {"credentials": [{"user": "svc", "client_secret": "hunter2hunter2"}]}, {"x-api-key": "k3y-0f-m1ne"},
])
def test_values_under_credential_names_are_secrets(args: dict) -> None:
    d = gov({"secrets": {}}).check(tool("login", **args))
    assert d.verdict == "deny" and "named_argument" in d.reasons[0]
    r = gov({"secrets": {"args": "redact"}}).check(tool("login", **args))
    assert r.verdict == "redact" and "Winter2024!" not in str(r.action.args) and "hunter2" not in str(r.action.args)


@pytest.mark.parametrize("args", [
    {"password_policy": "min 12 chars"}, {"max_tokens": 1024}, {"secret_name": "prod/db-credentials"},
    {"page_token": "CAEQAA"}, {"next_page_token": "eyJvZmZzZXQiOjEwMH0"}, {"password": "${DB_PASSWORD}"},
    {"secret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"}, {"tokenizer": "cl100k_base"},
    {"body": "OPENAI_API_KEY=sk-...your-key-here"}, {"body": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"},
    {"body": "export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    {"body": "pk_live_i7yJQf9Y6t8VehTM0POGH5yC"},                            # publishable: public by design
    {"body": "sha512-" + "q2Zr9dB8W1xYt3K5mN7pL0vC4gH6jF8sA2eR1uT3iO5wQ7yX9zB0nM2kL4jH6gF8dS0aP1oI3uY5tR7eW9qE=="},
    {"body": "data:image/png;base64,E8N7QgH3ob2Gx6W7Y1uxNrYZHf5GSimOSzGE+9l/t2aG46pwciZdRvvedBOmsRwfr30KVZyoA1JCSq/onNsI"},
    {"body": "The password is required and case-sensitive."},
])
def test_placeholders_references_and_public_values_are_not_secrets(args: dict) -> None:
    d = gov({"secrets": {}}).check(tool("configure", **args))
    assert d.verdict == "allow", (args, d.reasons)


# The flat-arguments fast path must give exactly the answer of the full argument checks.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_KEYS = st.sampled_from(["amount", "note", "password", "apiKey", "page_token", "max_tokens", "to", "db_password",
                         "token", "client_secret", "url", "x-api-key", "query"])
_VALUES = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
    st.sampled_from(list(SAMPLES.values()) + ["hunter2!Xy9", "customer asked for a refund", "4111 1111 1111 1111",
                                              "https://user:s3cr3tPass@db.example.com/x", "changeme", "sk-...your-key",
                                              "Bearer abcdefghijklmnopqrstuvwxyz012345", "ok", ""]),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(args=st.dictionaries(_KEYS, _VALUES, max_size=5), effect=st.sampled_from(["deny", "redact"]))
def test_flat_argument_fast_path_agrees_with_the_full_checks(args, effect) -> None:
    import lictor.protections.secret_scan as ss

    action = lictor.Action(kind="tool_call", agent="a", name="t", args=args)
    g = lictor.Governor({"protections": {"secrets": {"args": effect}}}, load_entrypoints=False)
    fast = g.check(action)
    saved = ss._flat_and_clean
    ss._flat_and_clean = lambda a: False  # force the full checks
    try:
        full = g.check(action)
    finally:
        ss._flat_and_clean = saved
    g.close()
    assert (fast.verdict, fast.reasons, fast.action.args) == (full.verdict, full.reasons, full.action.args)
