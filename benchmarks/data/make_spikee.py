"""Rebuild ``spikee_payloads.txt`` and ``spikee_benign.txt`` from the seed datasets shipped in the
``spikee`` wheel (WithSecure/Reversec's prompt-injection testing kit, Apache-2.0).

    pip download --no-deps spikee==0.9.2 -d /tmp/spikee && unzip -q /tmp/spikee/*.whl -d /tmp/spikee/x
    python benchmarks/data/make_spikee.py /tmp/spikee/x/spikee/data/workspace/datasets

Unlike the ``external_*`` files, these feed the benchmark's tuning/held-out split like Lictor's own
data (same crc32 rule on the block id, see bench_detection.py): text written by other hands, so that
the patterns are not tuned to one author's sentences.

- ``spikee_payloads.txt``: every distinct English jailbreak template of the seed folders
  (``*/jailbreaks.jsonl``: "new instructions", "sorry, I forgot", test/debug/developer modes, DAN,
  policy puppetry, poetry ...) with its ``<INSTRUCTION>`` filled by one English instruction of the
  cyber-security, mailbox and system-prompt-extraction seeds (markdown-image exfiltration, XSS
  strings, prompt extraction, long output), chosen round robin. One block per template, so that a
  template is never on both sides of the split.
- ``spikee_benign.txt``: the English user questions of ``seeds-investment-advice-fp``
  (false-positive probes: ordinary finance questions) and the seed documents of ``base_user_inputs``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).parent
SRC = "spikee 0.9.2 spikee/data/workspace/datasets (Apache-2.0)"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(root: Path) -> None:
    templates: list[str] = []
    for f in sorted(root.glob("*/jailbreaks.jsonl")):
        for r in rows(f):
            t = r["text"]
            if r.get("lang", "en") == "en" and t not in templates and "<INSTRUCTION>" in t and t.strip() != "<INSTRUCTION>.":
                templates.append(t)
    instructions: list[str] = []
    for d in ("seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04", "seeds-llm-mailbox", "zzz_LEGACY_seeds-cybersec-2025-04"):
        for r in rows(root / d / "instructions.jsonl"):
            if r.get("lang", "en") == "en" and r["instruction"] not in instructions:
                instructions.append(r["instruction"])
    attacks = [t.replace("<INSTRUCTION>", instructions[(i * 5) % len(instructions)]).strip() for i, t in enumerate(templates)]
    benign = [r["text"].strip() for r in rows(root / "seeds-investment-advice-fp" / "standalone_user_inputs.jsonl") if r.get("lang", "en") == "en"]
    for f in sorted(root.glob("*/base_user_inputs.jsonl")):
        for r in rows(f):
            doc = r.get("document", "").strip()
            if doc and "<PLACEHOLDER>" not in doc and doc not in benign:
                benign.append(doc.replace("<PLACEHOLDER>", ""))
    head = ("# {what}\n# Taken from {src}; rebuilt by make_spikee.py. Not written for Lictor. Blocks are separated by a line of\n"
            "# three dashes; they feed the tuning/held-out split of bench_detection.py.\n")
    for name, what, items in (("spikee_payloads.txt", "Injection payloads: spikee's jailbreak templates with one instruction each.", attacks),
                              ("spikee_benign.txt", "Benign texts: spikee's false-positive user questions and seed documents.", benign)):
        body = head.format(what=what, src=SRC) + "".join(f"---\n{t}\n" for t in items)
        (OUT / name).write_text(body, encoding="utf-8")
        print(name, len(items))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
