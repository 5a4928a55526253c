"""Dataset-backed attacks: the published attack prompt for a request, looked up in a file.

PAIR, JBC and the random-search prompts come from the JailbreakBench artifacts; WildJailbreak from
allenai/wildjailbreak (gated on the HF hub). Files are found locally first (``$SRI_KIT_DATA``, then
``<repo>/../shared/data/external``) and downloaded only when online.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..data import find_local, hub_records, read_records, resolve_file
from .registry import register

__all__ = ["load_attack_prompts"]

_ARTIFACTS = {
    "pair": "PAIR_vicuna-13b-v1.5.json",
    "random_search": "prompt_with_random_search_vicuna-13b-v1.5.json",
    "jbc": "JBC_vicuna-13b-v1.5.json",
}
_ARTIFACT_URLS = {
    "pair": "https://raw.githubusercontent.com/JailbreakBench/artifacts/main/attack-artifacts/PAIR/black_box/vicuna-13b-v1.5.json",
    "random_search": "https://raw.githubusercontent.com/JailbreakBench/artifacts/main/attack-artifacts/prompt_with_random_search/black_box/vicuna-13b-v1.5.json",
    "jbc": "https://raw.githubusercontent.com/JailbreakBench/artifacts/main/attack-artifacts/JBC/manual/vicuna-13b-v1.5.json",
}
_ATTACK_ALIASES = {
    "jbb_pair": "pair",
    "jbb_random_search": "random_search",
    "jbb_jbc": "jbc",
    "prompt_with_random_search": "random_search",
}


def _norm(s: str) -> str:
    return " ".join(str(s).lower().split()).rstrip(".?! ")


def _artifact_file(name: str, path: str | Path | None) -> Path:
    fname = _ARTIFACTS[name]
    return resolve_file(
        fname,
        path,
        subdirs=("jbb_artifacts",),
        url=_ARTIFACT_URLS[name],
        what=f"the JailbreakBench {name} artifact ({fname})",
    )


def _read_artifact_rows(name: str, path: str | Path | None) -> list[dict]:
    p = _artifact_file(name, path)
    data = json.loads(p.read_text(encoding="utf-8"))
    rows = data.get("jailbreaks") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ValueError(f"{p} is not a JailbreakBench artifact (no 'jailbreaks' list)")
    return rows


def _wildjailbreak_rows(path: str | Path | None) -> list[dict]:
    """Rows with 'vanilla' (may be '') and 'adversarial' for adversarial_harmful examples."""
    if path is not None:
        p = Path(path)
        if p.is_dir():
            cands = sorted(
                q for q in p.iterdir() if "wildjailbreak" in q.name.lower() or q.suffix in {".tsv", ".parquet"}
            )
            if not cands:
                raise FileNotFoundError(f"no WildJailbreak file (*.tsv/*.parquet/*.jsonl/*.csv) in {p}")
            p = cands[0]
        if not p.is_file():
            raise FileNotFoundError(f"WildJailbreak file {p} not found")
        records = read_records(p)
    else:
        local = find_local("wildjailbreak", (".tsv", ".parquet", ".jsonl", ".csv"))
        if local is not None:
            records = read_records(local)
        else:
            records = hub_records(
                "allenai/wildjailbreak",
                config="eval",
                split="train",
                what="WildJailbreak",
                extra_fix="WildJailbreak is gated: accept its terms at "
                "https://huggingface.co/datasets/allenai/wildjailbreak and run `huggingface-cli login`, "
                "or download eval/eval.tsv and pass path=",
                load_kwargs={"delimiter": "\t", "keep_default_na": False},
            )
    out = []
    for r in records:
        dt = str(r.get("data_type", "adversarial_harmful"))
        adv = r.get("adversarial")
        if dt != "adversarial_harmful" or not isinstance(adv, str) or not adv.strip():
            continue
        out.append({"goal": r.get("vanilla") or "", "prompt": adv})
    return out


def load_attack_prompts(name: str, path: str | Path | None = None, n: int | None = None) -> list[tuple[str, str]]:
    """``(goal, attack_prompt)`` pairs of a dataset-backed attack, null prompts skipped, file order.

    ``name``: ``pair``, ``random_search`` (the JBB random-search artifact), ``jbc`` (also
    ``jbb_pair`` / ``jbb_random_search`` / ``jbb_jbc``) or ``wildjailbreak`` (adversarial_harmful rows;
    its eval split has no vanilla goal, so ``goal`` is ``''`` there). ``path``: the artifact file or a
    folder holding it; default ``$SRI_KIT_DATA`` then ``<repo>/../shared/data/external``, then the
    network. ``n``: first n pairs.
    """
    key = _ATTACK_ALIASES.get(name, name)
    if key in _ARTIFACTS:
        rows = _read_artifact_rows(key, path)
        pairs = [(r["goal"], r["prompt"]) for r in rows if isinstance(r.get("prompt"), str) and r["prompt"].strip()]
    elif key == "wildjailbreak":
        pairs = [(r["goal"], r["prompt"]) for r in _wildjailbreak_rows(path)]
    else:
        raise KeyError(
            f"unknown dataset-backed attack {name!r}; use one of pair, random_search, jbc, wildjailbreak"
        )
    if n is not None:
        if n < 0:
            raise ValueError("n must be >= 0")
        pairs = pairs[:n]
    return pairs


def _lookup(rows: list[dict], prompt: str, *, label: str, on_missing: str) -> str:
    if on_missing not in {"raise", "prompt"}:
        raise ValueError("on_missing must be 'raise' or 'prompt'")
    q = _norm(prompt)
    hit = [r for r in rows if _norm(r.get("goal", "")) == q]
    if not hit:
        hit = [r for r in rows if r.get("behavior") and _norm(r["behavior"]) == q]
    if not hit:
        if on_missing == "prompt":
            return prompt
        raise LookupError(
            f"no {label} prompt for {prompt!r}: dataset-backed attacks only exist for the goals in their "
            f"dataset (match by goal or behavior, case/space-insensitive); use "
            f"load_attack_prompts({label.split()[0].lower()!r}) to attack its own goals, or on_missing='prompt'"
        )
    p = hit[0].get("prompt")
    if not isinstance(p, str) or not p.strip():
        if on_missing == "prompt":
            return prompt
        raise LookupError(
            f"the {label} artifact has no prompt for {prompt!r} (the attack failed on that goal: prompt is "
            "null); load_attack_prompts skips these, or pass on_missing='prompt' to keep the raw request"
        )
    return p


def _artifact_attack(key: str, label: str):
    def fn(prompt: str, seed: int = 0, path: str | Path | None = None, on_missing: str = "raise", **_: Any) -> str:
        return _lookup(_read_artifact_rows(key, path), prompt, label=label, on_missing=on_missing)

    return fn


register(
    "pair",
    _artifact_attack("pair", "PAIR artifact"),
    source="PAIR (Chao et al. 2023) prompts from the JailbreakBench artifacts "
    "(JailbreakBench/artifacts attack-artifacts/PAIR/black_box/vicuna-13b-v1.5.json); looks up the "
    "request among the 100 JBB goals/behaviors",
    params="path: artifact file or folder (default $SRI_KIT_DATA, <repo>/../shared/data/external, "
    "then GitHub when online); on_missing: 'raise' | 'prompt' (18 PAIR goals have a null prompt)",
    kind="dataset",
)
register(
    "jbc",
    _artifact_attack("jbc", "JBC artifact"),
    source="Jailbreak-chat AIM template prompts from the JailbreakBench artifacts (JBC/manual)",
    params="path, on_missing as for pair",
    kind="dataset",
)


@register(
    "wildjailbreak",
    source="WildJailbreak (Jiang et al. 2024, allenai/wildjailbreak on the HF hub, gated): the "
    "adversarial rewrite paired with the request (train split rows have 'vanilla' + 'adversarial')",
    params="path: a local .tsv/.parquet/.jsonl/.csv (default: a wildjailbreak* file in the data folder, "
    "then the hub); on_missing: 'raise' | 'prompt' | 'random' (seeded adversarial prompt, unpaired)",
    kind="dataset",
)
def _wildjailbreak(
    prompt: str, seed: int = 0, path: str | Path | None = None, on_missing: str = "raise", **_: Any
) -> str:
    rows = _wildjailbreak_rows(path)
    if on_missing == "random":
        q = _norm(prompt)
        hit = [r for r in rows if r["goal"] and _norm(r["goal"]) == q]
        if hit:
            return hit[int(np.random.default_rng(seed).integers(len(hit)))]["prompt"]
        return rows[int(np.random.default_rng(seed).integers(len(rows)))]["prompt"]
    return _lookup(rows, prompt, label="WildJailbreak", on_missing=on_missing)

