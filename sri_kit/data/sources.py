"""The prompt sets the kit knows: public datasets (by file name, URL or hub id) and the embedded
organism sets, and :func:`load_prompts`, :func:`load_records`, :func:`subset` over them.

Example:
    >>> "advbench" in names() and "tiny_benign" in names()
    True
    >>> subset(["a", "b", "c", "d"], 2, seed=None)
    ['a', 'b']
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ConfigError
from ..resources import PROMPTS, data_dir
from .files import DataNotFoundError, hub_records, read_records, resolve_file

__all__ = ["SOURCES", "EMBEDDED", "EMBEDDED_DIR", "names", "describe", "dolly_pair", "DOLLY_SEP", "load_records", "load_prompts", "subset"]

#: The embedded prompt sets (package data ``sri_kit/_data/prompts``).
EMBEDDED_DIR = data_dir(PROMPTS)


@dataclass(frozen=True)
class _Source:
    fname: str
    extract: Callable[[list[dict]], list[str]]
    url: str | None = None
    hub: tuple | None = None  # (repo, config, split, to_records)
    subdirs: tuple[str, ...] = ()
    doc: str = ""
    sha256: str | None = None       # of the file at ``url`` when that URL is pinned to a commit (stable)
    columns: tuple[str, ...] = ()   # columns a download must have (checked when no sha256 is known)


def _col(name: str, where: Callable[[dict], bool] | None = None) -> Callable[[list[dict]], list[str]]:
    def f(rows: list[dict]) -> list[str]:
        if rows and name not in rows[0]:
            raise ValueError(f"expected a {name!r} column, found {sorted(rows[0])}")
        return [str(r[name]) for r in rows if (where is None or where(r)) and r.get(name) not in (None, "")]

    return f


def _harmbench(kind: str | None) -> Callable[[list[dict]], list[str]]:
    def f(rows: list[dict]) -> list[str]:
        out = []
        for r in rows:
            fc = (r.get("FunctionalCategory") or "").strip()
            if kind is not None and fc != kind:
                continue
            b = r["Behavior"]
            ctx = (r.get("ContextString") or "").strip()
            # HarmBench's own format for contextual behaviours: context, separator, behaviour
            out.append(f"{ctx}\n\n---\n\n{b}" if ctx else b)
        return out

    return f


DOLLY_SEP = " ### Assistant: "


def dolly_pair(row: dict) -> tuple[str, str]:
    """(question, answer) of one row of the Dolly open-QA file (``### Human: Q ### Assistant: A``)."""
    text = row.get("text") or ""
    q, sep, a = text.partition(DOLLY_SEP)
    if not sep:
        raise ConfigError(f"a Dolly row without {DOLLY_SEP.strip()!r}: {text[:60]!r}")
    return q.removeprefix("### Human:").strip(), a.strip()


def _dolly(rows: list[dict]) -> list[str]:
    return [dolly_pair(r)[0] for r in rows]


def _artifact(rows: list[dict]) -> list[str]:
    return [r["prompt"] for r in rows if isinstance(r.get("prompt"), str) and r["prompt"].strip()]


_GH = "https://raw.githubusercontent.com"
# Downloads are verified before they are written (atomically) into the cache. XSTest's URL is pinned to a commit,
# so its sha256 is stable and checked; the other URLs follow their repositories' main branch, whose bytes may
# change, so those files are checked for their format and columns instead (a non-empty UTF-8 csv/json that
# parses and has the columns the loader reads).
_XSTEST_URL = f"{_GH}/paul-rottger/exaggerated-safety/475f10bf0a3d6a9dfb174b6de1a38afbfdff98a5/xstest_prompts.csv"
_XSTEST_SHA256 = "11783fb294ed017473ee53c207d71f2161c7672c8d0b037501e78387f801cb5a"
SOURCES: dict[str, _Source] = {
    "advbench": _Source(
        "advbench.csv", _col("goal"), url=f"{_GH}/llm-attacks/llm-attacks/main/data/advbench/harmful_behaviors.csv",
        doc="AdvBench harmful behaviours (520, column 'goal')", columns=("goal",),
    ),
    "alpaca": _Source(
        "alpaca.json", _col("instruction"),
        hub=("tatsu-lab/alpaca", None, "train", lambda rs: [r for r in rs if not r.get("input")]),
        doc="Alpaca instructions without an input field (31,323 in the refusal_direction file; from the hub: "
        "tatsu-lab/alpaca train rows with an empty input, a different order)",
    ),
    "jailbreakbench": _Source(
        "jailbreakbench.csv", _col("Goal"), hub=("JailbreakBench/JBB-Behaviors", "behaviors", "harmful", None),
        doc="JailbreakBench JBB-Behaviors harmful goals (100, column 'Goal')",
    ),
    "harmbench": _Source(
        "harmbench_test.csv", _harmbench("standard"),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        doc="HarmBench test behaviours, 'standard' functional category only", columns=("Behavior",),
    ),
    "harmbench_contextual": _Source(
        "harmbench_test.csv", _harmbench("contextual"),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        columns=("Behavior",), doc="HarmBench contextual behaviours as '<context>\\n\\n---\\n\\n<behaviour>' (HarmBench's format)",
    ),
    "harmbench_copyright": _Source(
        "harmbench_test.csv", _harmbench("copyright"),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        doc="HarmBench copyright behaviours", columns=("Behavior",),
    ),
    "harmbench_all": _Source(
        "harmbench_test.csv", _harmbench(None),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        doc="all HarmBench test behaviours (320), contextual ones with their context", columns=("Behavior",),
    ),
    "strongreject": _Source(
        "strongreject.csv", _col("forbidden_prompt"),
        url=f"{_GH}/alexandrasouly/strongreject/main/strongreject_dataset/strongreject_dataset.csv",
        doc="StrongREJECT forbidden prompts (313)", columns=("forbidden_prompt",),
    ),
    "xstest": _Source(
        "xstest_prompts.csv", _col("prompt"), url=_XSTEST_URL, sha256=_XSTEST_SHA256, columns=("prompt", "label"),
        doc="XSTest, all 450 prompts (250 safe + 200 unsafe contrasts)",
    ),
    "xstest_safe": _Source(
        "xstest_prompts.csv", _col("prompt", lambda r: r.get("label") == "safe"),
        url=_XSTEST_URL, sha256=_XSTEST_SHA256, columns=("prompt", "label"),
        doc="XSTest safe prompts that look unsafe (250)",
    ),
    "xstest_unsafe": _Source(
        "xstest_prompts.csv", _col("prompt", lambda r: r.get("label") == "unsafe"),
        url=_XSTEST_URL, sha256=_XSTEST_SHA256, columns=("prompt", "label"),
        doc="XSTest unsafe contrast prompts (200)",
    ),
    "dolly": _Source(
        "dolly15k_open_qa_chinkara.jsonl", _dolly, columns=("text",),
        doc="databricks-dolly-15k open_qa questions (3,742; human-written, CC BY-SA 3.0); answers via dolly_pair",
    ),
    "jbb_pair": _Source(
        "PAIR_vicuna-13b-v1.5.json", _artifact, subdirs=("jbb_artifacts",),
        url=f"{_GH}/JailbreakBench/artifacts/main/attack-artifacts/PAIR/black_box/vicuna-13b-v1.5.json",
        doc="JailbreakBench PAIR attack prompts (vicuna-13b), null prompts skipped (82 of 100)",
    ),
    "jbb_random_search": _Source(
        "prompt_with_random_search_vicuna-13b-v1.5.json", _artifact, subdirs=("jbb_artifacts",),
        url=f"{_GH}/JailbreakBench/artifacts/main/attack-artifacts/prompt_with_random_search/black_box/vicuna-13b-v1.5.json",
        doc="JailbreakBench random-search attack prompts (vicuna-13b), 100",
    ),
    "jbb_jbc": _Source(
        "JBC_vicuna-13b-v1.5.json", _artifact, subdirs=("jbb_artifacts",),
        url=f"{_GH}/JailbreakBench/artifacts/main/attack-artifacts/JBC/manual/vicuna-13b-v1.5.json",
        doc="JailbreakBench JBC (AIM template) prompts, 100",
    ),
}
EMBEDDED = ("tiny_harmful", "tiny_benign", "tiny_borderline")


def names() -> list[str]:
    """Known prompt-set names (public datasets + the embedded sets + any other EMBEDDED_DIR/*.jsonl)."""
    extra = sorted(p.stem for p in EMBEDDED_DIR.glob("*.jsonl")) if EMBEDDED_DIR.is_dir() else []
    return sorted(set(SOURCES) | set(EMBEDDED) | set(extra))


def describe(name: str) -> str:
    """Where a prompt set comes from."""
    if name in SOURCES:
        s = SOURCES[name]
        return f"{name}: {s.doc} (file {s.fname})"
    if name in names():
        return f"{name}: the kit's embedded set sri_kit/_data/prompts/{name}.jsonl"
    raise KeyError(_unknown(name))


def _unknown(name: Any) -> str:
    return f"unknown prompt set {name!r}; known: {', '.join(names())} (or pass path= to a csv/json/jsonl/txt file)"


def _generic_prompts(rows: list[dict], p: Path) -> list[str]:
    strict = Path(p).suffix.lower() in (".json", ".jsonl")    # typed formats: a number or null is a mistake
    for col in ("prompt", "goal", "Goal", "instruction", "forbidden_prompt", "Behavior", "text"):
        if rows and col in rows[0]:
            if strict:
                for i, r in enumerate(rows):
                    v = r.get(col)
                    if not isinstance(v, str):
                        raise ConfigError(f"{p}: {_where(p, i)} has {col} = {json.dumps(v)[:40]} "
                                          f"({type(v).__name__}); every prompt must be a string")
            return [str(r[col]) for r in rows if r.get(col) not in (None, "")]
    raise ValueError(
        f"{p}: no prompt column (looked for prompt, goal, Goal, instruction, forbidden_prompt, Behavior, text)"
    )


def _where(p: Path, i: int) -> str:
    """'line N' of the i-th record of a .jsonl file (blank lines are skipped when reading), else 'record i+1'."""
    if Path(p).suffix.lower() == ".jsonl":
        lines = [n for n, line in enumerate(Path(p).read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
        if i < len(lines):
            return f"line {lines[i]}"
    return f"record {i + 1}"


def load_records(name: str, path: str | Path | None = None) -> list[dict]:
    """The raw rows of a prompt set (all columns), before filtering (embedded sets: their jsonl rows)."""
    if name in SOURCES:
        src = SOURCES[name]
        try:
            p = resolve_file(src.fname, path, subdirs=src.subdirs, url=src.url if src.hub is None else None,
                             what=f"{name} ({src.fname})", sha256=src.sha256, columns=src.columns)
        except DataNotFoundError:
            if src.hub is None or path is not None:
                raise
            repo, config, split, post = src.hub
            rows = hub_records(repo, config=config, split=split, what=name)
            return post(rows) if post else rows
        return read_records(p)
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / f"{name}.jsonl"
        if not p.is_file():
            raise DataNotFoundError(f"{name}: {p} does not exist; pass a file or a folder holding {name}.jsonl")
        return read_records(p)
    emb = EMBEDDED_DIR / f"{name}.jsonl"
    if emb.is_file():
        return read_records(emb)
    if name in EMBEDDED:
        raise DataNotFoundError(
            f"the embedded prompt set {emb} is missing; it is generated by the organism corpus script "
            "(sri_kit.organism) or pass path= to a jsonl with a 'prompt' field"
        )
    raise KeyError(_unknown(name))


def load_prompts(name: str, path: str | Path | None = None, n: int | None = None, seed: int | None = 0) -> list[str]:
    """Prompts of a named set.

    ``name``: one of :func:`names` (``advbench``, ``alpaca``, ``jailbreakbench``, ``harmbench``
    (standard behaviours; ``harmbench_contextual`` / ``harmbench_copyright`` / ``harmbench_all``),
    ``strongreject``, ``xstest`` / ``xstest_safe`` / ``xstest_unsafe``, ``jbb_pair`` /
    ``jbb_random_search`` / ``jbb_jbc`` (attack prompts, null ones skipped), ``tiny_harmful``,
    ``tiny_benign``, ``tiny_borderline``), or any name with ``path=`` a csv/tsv/json/jsonl/txt file with
    a prompt-like column. ``n``: subset size (``seed=None``: first n; int seed: seeded random sample in
    file order). Raises a clear error when the data cannot be found or ``n`` exceeds the set.

    >>> len(load_prompts("tiny_benign", n=3, seed=None))   # the first 3; load_prompts("advbench", n=100, seed=None)
    3
    """
    if not isinstance(name, str) or not name:
        raise TypeError("name must be a prompt-set name such as 'advbench'")
    if name in SOURCES:
        rows = load_records(name, path)
        prompts = SOURCES[name].extract(rows)
    elif name in names() or path is not None:
        rows = load_records(name, path)
        prompts = _generic_prompts(rows, Path(path) if path is not None else EMBEDDED_DIR / f"{name}.jsonl")
    else:
        raise KeyError(_unknown(name))
    return subset(prompts, n, seed)


def subset(items: Sequence[str], n: int | None, seed: int | None = 0) -> list[str]:
    """``n`` items: the first n (``seed=None``) or a seeded random sample kept in the original order."""
    items = list(items)
    if n is None:
        return items
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if n > len(items):
        raise ValueError(f"asked for n={n} prompts but the set has only {len(items)}")
    if seed is None:
        return items[:n]
    idx = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in idx]
