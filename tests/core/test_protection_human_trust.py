"""human_trust: credential requests and deceptive links to humans; faithful approval summaries."""

from __future__ import annotations

import pytest

import lictor
from lictor.protections.human_trust import approval_summary

from protection_helpers import gov

POLICY = {"human_trust": {"allow_domains": ["*.mybank.com", "mybank.com"], "effect": "deny"}}


def out(content: str, kind: str = "model_output", name: str = "user") -> lictor.Action:
    return lictor.Action(kind=kind, agent="support-1", name=name, content=content, session="s1")


PHISHY = [
    "Your account will be suspended within 24 hours. Please confirm your password here: http://mybank-secure.com.verify.io/login",
    "To finish the refund, reply with the one-time code we just sent to your phone.",
    "Security check: please enter your card number and CVV at https://bit.ly/3xYz12",
    "Click here to verify your account immediately: http://192.168.13.7/mybank",
    "Please provide your online banking password so I can fix the transfer.",
    # requests without an imperative, codes described, links without a scheme, other languages, files
    "I need your social security number to proceed with the claim.",
    "What is your PIN? I need it to unlock the card.",
    "Please send me the 6-digit code you just received by SMS so I can finish the refund.",
    "URGENT: your account will be closed in 24 hours unless you verify it at bit.ly/3xYz12 now.",
    "Bitte geben Sie Ihr Passwort ein, um fortzufahren.",
    "Por favor, envíeme su contraseña para verificar la cuenta.",
    "Merci d'entrer votre mot de passe ici pour confirmer.",
    "Download the attached invoice.exe to see your updated balance.",
    "Open the voicemail.js file attached to hear your message.",
]
BENIGN = [
    "Never share your password or one-time code with anyone, including our staff.",
    "You can change your password under Settings > Security on https://www.mybank.com/settings.",
    "Your refund of 25.00 EUR was issued and should arrive in 3-5 business days.",
    "Here is the documentation: https://docs.python.org/3/library/secrets.html",
    "We will never ask for your SMS code.",
    "I need your order number to look this up.",
    "What is your preferred delivery date?",
    "Sie können Ihr Passwort in den Einstellungen ändern.",
    "Vous pouvez changer votre mot de passe dans les paramètres.",
    "Run the installer setup.exe from the downloads page of our website to update the app.",
    "Do not open attachments ending in .exe from unknown senders.",
    "Our short link for the survey is bit.ly/acme-survey.",
    "To change your PIN, visit any branch with a photo ID.",
]


@pytest.mark.parametrize("content", PHISHY)
def test_credential_requests_and_deceptive_links_are_flagged(content: str) -> None:
    d = gov(POLICY).check(out(content))
    assert d.verdict == "deny" and "ASI09" in d.risks, d.summary()


@pytest.mark.parametrize("content", BENIGN)
def test_benign_outputs_pass(content: str) -> None:
    assert gov(POLICY).check(out(content)).verdict == "allow"


def test_model_call_answers_and_messages_to_users_but_not_agents() -> None:
    g = gov({"human_trust": {}})
    assert g.check_output(lictor.Action(kind="model_call", agent="a", name="gpt"), PHISHY[1]).verdict == "approve"
    assert g.check(out(PHISHY[1], kind="message", name="customer")).verdict == "approve"
    assert g.check(out(PHISHY[1], kind="message", name="billing-agent")).verdict == "allow"


def test_approval_summary_is_built_from_the_action_not_the_agents_story() -> None:
    g = gov({"secrets": {"args": "approve"}, "provenance": {"tools": ["transfer_*"]}})
    action = lictor.Action(
        kind="tool_call", agent="finance-bot", name="transfer_funds", session="t-9",
        args={"iban": "GB33BUKB20201555555555", "amount": 4980, "api_token": "sk_live_51HqLyjWDarjtT1zdp7dc9Xk2",
              "justification": "The CEO personally asked for this, it is safe, approve quickly"},
        metadata={"explanation": "Trust me, this is routine."},
    )
    d = g.check(action)
    assert d.verdict == "approve"
    s = approval_summary(action, d)
    assert s["what"]["name"] == "transfer_funds" and s["what"]["agent"] == "finance-bot"
    assert s["arguments"]["iban"] == "GB33BUKB20201555555555" and s["arguments"]["amount"] == 4980
    assert s["arguments"]["api_token"] == "[SECRET:stripe_key]"
    assert "justification" not in s["arguments"] and "CEO" in s["agent_statements"]["justification"]
    assert {"id": "ASI03", "title": "Identity and privilege abuse"} in s["risks"]
    assert s["why"] == list(d.reasons)
    assert "Trust me" not in s["text"] and "sk_live" not in s["text"]
    assert "unverified" in s["text"] and "transfer_funds" in s["text"]


@pytest.mark.parametrize("section,field", [
    ({"effect": "redact"}, "effect"),
    ({"threshold": 0}, "threshold"),
    ({"on": ["tool_output"]}, "on"),
    ({"allow_domain": ["x"]}, "allow_domain"),
])
def test_invalid_config_names_the_field(section: dict, field: str) -> None:
    with pytest.raises(lictor.PolicyError) as e:
        gov({"human_trust": section})
    assert f"protections.human_trust.{field}" in str(e.value)
