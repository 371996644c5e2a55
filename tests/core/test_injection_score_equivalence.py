"""The prompt-injection scorer gives the same results as before its speed-ups.

``fixtures/injection_expected.json`` was computed once, by the scorer as it was before any
optimisation, for about 300 texts (attacks with evasions, benign look-alikes, external texts, long
documents): the score to 4 decimals and the first evidence line. A difference is a bug unless it is
an intended change of what the scorer detects; such a change updates the entries it changes, in the
same commit, which says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lictor.protections.injection_score import score_text

_ITEMS = json.loads((Path(__file__).parent / "fixtures" / "injection_expected.json").read_text(encoding="utf-8"))


def test_fixture_is_diverse() -> None:
    assert len(_ITEMS) >= 250
    assert sum(1 for i in _ITEMS if i["score"] >= 0.6) >= 50
    assert sum(1 for i in _ITEMS if i["score"] == 0) >= 50
    assert max(len(i["text"]) for i in _ITEMS) > 20000


@pytest.mark.parametrize("k", range(0, len(_ITEMS), 25))
def test_same_score_and_evidence(k: int) -> None:
    bad = []
    for item in _ITEMS[k:k + 25]:
        r = score_text(item["text"])
        ev = r.evidence()
        got = (round(r.score, 4), ev[0] if ev else None)
        if got != (item["score"], item["first_evidence"]):
            bad.append((item["text"][:80], got, (item["score"], item["first_evidence"])))
    assert not bad, bad
