"""Prompt sets: the kit's embedded sets and loaders for public datasets, plus seeded splits.

>>> from sri_kit import data
>>> "advbench" in data.names()
True
>>> data.prompts_hash(["a", "b"]) == data.prompts_hash(["a", "b"])
True

Where the data comes from (first hit wins):

1. ``path=``: a file, or a folder holding the dataset's usual file name;
2. the folder in ``$SRI_KIT_DATA``;
3. ``<repo>/../shared/data/external`` when it exists (this workplace's read-only copies);
4. the network (Hugging Face hub via the optional ``datasets`` package, or the dataset's public
   GitHub file), cached under ``~/.cache/sri_kit/data`` (``$SRI_KIT_CACHE``); set ``SRI_KIT_OFFLINE=1``
   (or ``HF_HUB_OFFLINE=1``) to never touch the network;
5. otherwise a ``FileNotFoundError`` that says which of the above to provide.

The kit's own sets (``tiny_harmful``, ``tiny_benign``, ``tiny_borderline``) live in the repository at
``data/prompts/<name>.jsonl`` (``{"prompt", "category", "label"}`` per line). Public datasets are never
copied into the repository.

Subsets: ``n`` prompts with ``seed=None`` are the *first* n in file order (what the paper's code
does); with an integer ``seed`` (the default, 0) they are a seeded random sample of n, returned in
file order. ``n=None`` returns everything.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "names",
    "load_prompts",
    "load_records",
    "resolve_file",
    "external_dir",
    "prompts_hash",
    "make_splits",
    "Splits",
    "DataNotFoundError",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_DIR = REPO_ROOT / "data" / "prompts"
ENV_VAR = "SRI_KIT_DATA"


def cache_dir() -> Path:
    """Download cache: ``$SRI_KIT_CACHE/data`` (default ``~/.cache/sri_kit/data``)."""
    return Path(os.environ.get("SRI_KIT_CACHE", Path.home() / ".cache" / "sri_kit")) / "data"


def offline() -> bool:
    """True when ``$SRI_KIT_OFFLINE`` or ``$HF_HUB_OFFLINE`` is set to a true value: no network attempts."""
    return any(os.environ.get(v, "").lower() in {"1", "true", "yes"} for v in ("SRI_KIT_OFFLINE", "HF_HUB_OFFLINE"))


class DataNotFoundError(FileNotFoundError):
    """A dataset was not found locally and could not be fetched."""


def external_dir() -> Path | None:
    """The folder of external datasets: ``$SRI_KIT_DATA``, else ``<repo>/../shared/data/external``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    p = REPO_ROOT.parent / "shared" / "data" / "external"
    return p if p.is_dir() else None


# --------------------------------------------------------------------------------------------------
# file resolution and readers
# --------------------------------------------------------------------------------------------------


def _find_in(folder: Path, fname: str, subdirs: Sequence[str]) -> Path | None:
    for sub in ("", *subdirs):
        q = folder / sub / fname
        if q.is_file():
            return q
    return None


def _download(url: str, fname: str, what: str) -> Path:
    cdir = cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    dest = cdir / fname
    if dest.is_file():
        return dest
    tmp = dest.with_suffix(dest.suffix + ".part")
    with urllib.request.urlopen(url, timeout=20) as r:  # noqa: S310 - fixed https URLs
        tmp.write_bytes(r.read())
    tmp.replace(dest)  # atomic
    return dest


def resolve_file(
    fname: str,
    path: str | Path | None = None,
    *,
    subdirs: Sequence[str] = (),
    url: str | None = None,
    what: str | None = None,
) -> Path:
    """Find ``fname``: ``path`` (file or folder), ``$SRI_KIT_DATA``, ``<repo>/../shared/data/external``,
    the download cache, then ``url`` (downloaded once into ``~/.cache/sri_kit/data``)."""
    what = what or fname
    if path is not None:
        p = Path(path).expanduser()
        if p.is_file():
            return p
        if p.is_dir():
            hit = _find_in(p, fname, subdirs)
            if hit is not None:
                return hit
            raise DataNotFoundError(f"{what}: no {fname} in folder {p} (looked in {p} and {list(subdirs)})")
        raise DataNotFoundError(f"{what}: path {p} does not exist; pass a file or a folder holding {fname}")
    ext = external_dir()
    if ext is not None and ext.is_dir():
        hit = _find_in(ext, fname, subdirs)
        if hit is not None:
            return hit
    cached = cache_dir() / fname
    if cached.is_file():
        return cached
    err: Exception | None = None
    if url is not None and offline():
        err = RuntimeError("offline mode ($SRI_KIT_OFFLINE / $HF_HUB_OFFLINE) forbids downloads")
    elif url is not None:
        try:
            return _download(url, fname, what)
        except Exception as e:  # offline, blocked, 404 ...
            err = e
    raise DataNotFoundError(
        f"{what} not found locally and could not be downloaded"
        + (f" ({type(err).__name__}: {err})" if err else "")
        + f". Fix: pass path= (the file, or a folder holding {fname}), or set ${ENV_VAR} to a folder holding it"
        + (f", or go online so it can be fetched from {url}" if url else "")
        + "."
    )


def find_local(stem: str, suffixes: Sequence[str]) -> Path | None:
    """A file in the external data folder whose name contains ``stem`` (first of ``suffixes``)."""
    ext = external_dir()
    if ext is None or not ext.is_dir():
        return None
    for suf in suffixes:
        hits = sorted(q for q in ext.rglob(f"*{suf}") if stem in q.name.lower())
        if hits:
            return hits[0]
    return None


def read_records(p: Path) -> list[dict]:
    """Rows of a .csv/.tsv/.json/.jsonl/.parquet/.txt file as dicts (txt: ``{"prompt": line}``)."""
    p = Path(p)
    suf = p.suffix.lower()
    if suf in {".csv", ".tsv"}:
        with p.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f, delimiter="\t" if suf == ".tsv" else ","))
    if suf == ".jsonl":
        return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    if suf == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            for key in ("jailbreaks", "data", "rows", "prompts"):
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
        if not isinstance(data, list):
            raise ValueError(f"{p}: expected a JSON list of records")
        return [r if isinstance(r, dict) else {"prompt": r} for r in data]
    if suf == ".parquet":
        import pandas as pd  # noqa: PLC0415

        return pd.read_parquet(p).to_dict("records")
    if suf == ".txt":
        return [{"prompt": line.strip()} for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    raise ValueError(f"{p}: unsupported file type {suf!r} (use csv, tsv, json, jsonl, parquet or txt)")


def hub_records(
    repo: str,
    *,
    config: str | None = None,
    split: str = "train",
    what: str,
    extra_fix: str = "",
    load_kwargs: dict | None = None,
) -> list[dict]:
    """Rows from the Hugging Face hub via the optional ``datasets`` package (imported lazily)."""
    if offline():
        raise DataNotFoundError(
            f"{what} is not available locally and offline mode ($SRI_KIT_OFFLINE / $HF_HUB_OFFLINE) forbids "
            f"fetching {repo} from the Hugging Face hub. Fix: pass path= a local copy or set ${ENV_VAR}. {extra_fix}"
        )
    try:
        import datasets  # noqa: PLC0415
    except ImportError as e:
        raise DataNotFoundError(
            f"{what} is not available locally and the optional `datasets` package is not installed "
            f"(pip install datasets) to fetch {repo} from the Hugging Face hub. "
            f"Or pass path= / set ${ENV_VAR}. {extra_fix}"
        ) from e
    try:
        ds = datasets.load_dataset(repo, config, split=split, **(load_kwargs or {}))
    except Exception as e:
        raise DataNotFoundError(
            f"{what}: could not load {repo} from the Hugging Face hub ({type(e).__name__}: {e}). "
            f"Fix: go online, or pass path= a local copy / set ${ENV_VAR}. {extra_fix}"
        ) from e
    return [dict(r) for r in ds]


# --------------------------------------------------------------------------------------------------
# dataset table
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    fname: str
    extract: Callable[[list[dict]], list[str]]
    url: str | None = None
    hub: tuple | None = None  # (repo, config, split, to_records)
    subdirs: tuple[str, ...] = ()
    doc: str = ""


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


def _artifact(rows: list[dict]) -> list[str]:
    return [r["prompt"] for r in rows if isinstance(r.get("prompt"), str) and r["prompt"].strip()]


_GH = "https://raw.githubusercontent.com"
_SOURCES: dict[str, _Source] = {
    "advbench": _Source(
        "advbench.csv", _col("goal"), url=f"{_GH}/llm-attacks/llm-attacks/main/data/advbench/harmful_behaviors.csv",
        doc="AdvBench harmful behaviours (520, column 'goal')",
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
        doc="HarmBench test behaviours, 'standard' functional category only",
    ),
    "harmbench_contextual": _Source(
        "harmbench_test.csv", _harmbench("contextual"),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        doc="HarmBench contextual behaviours as '<context>\\n\\n---\\n\\n<behaviour>' (HarmBench's format)",
    ),
    "harmbench_copyright": _Source(
        "harmbench_test.csv", _harmbench("copyright"),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        doc="HarmBench copyright behaviours",
    ),
    "harmbench_all": _Source(
        "harmbench_test.csv", _harmbench(None),
        url=f"{_GH}/centerforaisafety/HarmBench/main/data/behavior_datasets/harmbench_behaviors_text_test.csv",
        doc="all HarmBench test behaviours (320), contextual ones with their context",
    ),
    "strongreject": _Source(
        "strongreject.csv", _col("forbidden_prompt"),
        url=f"{_GH}/alexandrasouly/strongreject/main/strongreject_dataset/strongreject_dataset.csv",
        doc="StrongREJECT forbidden prompts (313)",
    ),
    "xstest": _Source(
        "xstest_prompts.csv", _col("prompt"), url=f"{_GH}/paul-rottger/exaggerated-safety/main/xstest_prompts.csv",
        doc="XSTest, all 450 prompts (250 safe + 200 unsafe contrasts)",
    ),
    "xstest_safe": _Source(
        "xstest_prompts.csv", _col("prompt", lambda r: r.get("label") == "safe"),
        url=f"{_GH}/paul-rottger/exaggerated-safety/main/xstest_prompts.csv",
        doc="XSTest safe prompts that look unsafe (250)",
    ),
    "xstest_unsafe": _Source(
        "xstest_prompts.csv", _col("prompt", lambda r: r.get("label") == "unsafe"),
        url=f"{_GH}/paul-rottger/exaggerated-safety/main/xstest_prompts.csv",
        doc="XSTest unsafe contrast prompts (200)",
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
    """Known prompt-set names (public datasets + the embedded sets + any other data/prompts/*.jsonl)."""
    extra = sorted(p.stem for p in EMBEDDED_DIR.glob("*.jsonl")) if EMBEDDED_DIR.is_dir() else []
    return sorted(set(_SOURCES) | set(EMBEDDED) | set(extra))


def describe(name: str) -> str:
    """Where a prompt set comes from."""
    if name in _SOURCES:
        s = _SOURCES[name]
        return f"{name}: {s.doc} (file {s.fname})"
    if name in names():
        return f"{name}: the kit's embedded set data/prompts/{name}.jsonl"
    raise KeyError(_unknown(name))


def _unknown(name: Any) -> str:
    return f"unknown prompt set {name!r}; known: {', '.join(names())} (or pass path= to a csv/json/jsonl/txt file)"


def _generic_prompts(rows: list[dict], p: Path) -> list[str]:
    for col in ("prompt", "goal", "Goal", "instruction", "forbidden_prompt", "Behavior", "text"):
        if rows and col in rows[0]:
            return [str(r[col]) for r in rows if r.get(col) not in (None, "")]
    raise ValueError(
        f"{p}: no prompt column (looked for prompt, goal, Goal, instruction, forbidden_prompt, Behavior, text)"
    )


def load_records(name: str, path: str | Path | None = None) -> list[dict]:
    """The raw rows of a prompt set (all columns), before filtering (embedded sets: their jsonl rows)."""
    if name in _SOURCES:
        src = _SOURCES[name]
        try:
            p = resolve_file(src.fname, path, subdirs=src.subdirs, url=src.url if src.hub is None else None,
                             what=f"{name} ({src.fname})")
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

    >>> # load_prompts("advbench", n=100, seed=None)  # the first 100 AdvBench goals
    """
    if not isinstance(name, str) or not name:
        raise TypeError("name must be a prompt-set name such as 'advbench'")
    if name in _SOURCES:
        rows = load_records(name, path)
        prompts = _SOURCES[name].extract(rows)
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


# --------------------------------------------------------------------------------------------------
# hashes and splits
# --------------------------------------------------------------------------------------------------


def prompts_hash(prompts: Iterable[str]) -> str:
    """sha256 (hex) of an ordered prompt list; a cache key for anything computed from it."""
    prompts = list(prompts)
    if not all(isinstance(p, str) for p in prompts):
        raise TypeError("prompts_hash takes a list of strings")
    return hashlib.sha256(json.dumps(prompts, ensure_ascii=False).encode("utf-8")).hexdigest()


SPLIT_NAMES = ("harmless_anchor", "harmful_anchor", "benign_train", "benign_calib", "benign_test", "harmful_test")


@dataclass
class Splits:
    """Disjoint prompt splits after the paper's protocol (see :func:`make_splits`)."""

    harmless_anchor: list[str]
    harmful_anchor: list[str]
    benign_train: list[str]
    benign_calib: list[str]
    benign_test: list[str]
    harmful_test: list[str]
    seed: int = 0
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in SPLIT_NAMES}

    def hashes(self) -> dict[str, str]:
        """sha256 of each split (order-sensitive)."""
        return {k: prompts_hash(getattr(self, k)) for k in SPLIT_NAMES}

    def sizes(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in SPLIT_NAMES}

    def manifest(self) -> dict:
        """JSON-able record: seed, parameters, sizes, per-split hashes and one overall hash."""
        h = self.hashes()
        return {
            "seed": self.seed,
            "params": dict(self.params),
            "sizes": self.sizes(),
            "hashes": h,
            "hash": hashlib.sha256(json.dumps(h, sort_keys=True).encode()).hexdigest(),
        }

    def save(self, path: str | Path) -> None:
        """Write the splits and manifest as JSON (atomic)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(json.dumps({"manifest": self.manifest(), "splits": self.as_dict()}, ensure_ascii=False, indent=1))
        tmp.replace(p)

    @classmethod
    def load(cls, path: str | Path) -> "Splits":
        d = json.loads(Path(path).read_text())
        s = cls(**d["splits"], seed=d["manifest"]["seed"], params=d["manifest"]["params"])
        if s.hashes() != d["manifest"]["hashes"]:
            raise ValueError(f"{path}: split contents do not match their recorded hashes (file edited?)")
        return s


def _dedupe(prompts: Sequence[str], what: str) -> list[str]:
    seen: set[str] = set()
    out = []
    for p in prompts:
        if not isinstance(p, str):
            raise TypeError(f"{what} prompts must be strings, got {type(p).__name__}")
        k = p.strip()
        if k and k not in seen:
            seen.add(k)
            out.append(k)
    return out


def make_splits(
    harmless: Sequence[str],
    harmful: Sequence[str],
    *,
    n_anchor: int = 400,
    n_harmful_anchor: int | None = None,
    n_train: int = 1200,
    n_calib: int = 200,
    n_test_benign: int | None = 100,
    n_test_harmful: int | None = None,
    seed: int = 0,
) -> Splits:
    """Seeded, disjoint splits after the paper's protocol.

    From ``harmless``: ``harmless_anchor`` (``n_anchor``, 400: fit the harmless SRI centre),
    ``benign_train`` (``n_train``, 1,200: SRI Guard training), ``benign_calib`` (``n_calib``, 200: its
    99th-percentile threshold) and ``benign_test`` (``n_test_benign``, default 100; None = all the
    rest: false-positive tests). From ``harmful``: ``harmful_anchor`` (``n_harmful_anchor``, default
    ``n_anchor``: the harmful centre) and ``harmful_test`` (``n_test_harmful``; None = all the rest: raw
    attack test prompts to wrap with attacks).

    Prompts are stripped and deduplicated first; a prompt present in both inputs is dropped from both
    (its label is ambiguous). Each input is permuted once with ``numpy.random.default_rng(seed)`` and
    sliced, so the splits are disjoint by construction. Raises ``ValueError`` naming how many prompts
    were needed when there are too few.

    >>> s = make_splits([f"b{i}" for i in range(20)], [f"h{i}" for i in range(8)], n_anchor=4,
    ...                 n_train=8, n_calib=4, n_test_benign=2, seed=0)
    >>> s.sizes()["harmful_test"]
    4
    """
    h_less = _dedupe(harmless, "harmless")
    h_ful = _dedupe(harmful, "harmful")
    both = set(h_less) & set(h_ful)
    if both:
        h_less = [p for p in h_less if p not in both]
        h_ful = [p for p in h_ful if p not in both]
    n_ha = n_anchor if n_harmful_anchor is None else n_harmful_anchor
    for k, v in {"n_anchor": n_anchor, "n_harmful_anchor": n_ha, "n_train": n_train, "n_calib": n_calib}.items():
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{k} must be a non-negative int, got {v!r}")
    need_benign = n_anchor + n_train + n_calib + (n_test_benign or 0)
    if len(h_less) < need_benign:
        raise ValueError(
            f"not enough harmless prompts: need {need_benign} (anchor {n_anchor} + train {n_train} + calib "
            f"{n_calib} + test {n_test_benign or 0}) unique prompts, got {len(h_less)} after deduplication"
            + (f" ({len(both)} dropped as present in both sets)" if both else "")
            + "; pass more prompts (e.g. load_prompts('alpaca')) or smaller sizes"
        )
    need_harmful = n_ha + (n_test_harmful or 0)
    if len(h_ful) < need_harmful:
        raise ValueError(
            f"not enough harmful prompts: need {need_harmful} (anchor {n_ha} + test {n_test_harmful or 0}) "
            f"unique prompts, got {len(h_ful)} after deduplication; pass more prompts or smaller sizes"
        )
    rng = np.random.default_rng(seed)
    pb = [h_less[i] for i in rng.permutation(len(h_less))]
    ph = [h_ful[i] for i in rng.permutation(len(h_ful))]
    a, b, c = n_anchor, n_anchor + n_train, n_anchor + n_train + n_calib
    d = len(pb) if n_test_benign is None else c + n_test_benign
    e = len(ph) if n_test_harmful is None else n_ha + n_test_harmful
    params = dict(
        n_anchor=n_anchor, n_harmful_anchor=n_ha, n_train=n_train, n_calib=n_calib,
        n_test_benign=n_test_benign, n_test_harmful=n_test_harmful,
        n_harmless_in=len(list(harmless)), n_harmful_in=len(list(harmful)),
        n_harmless_unique=len(h_less), n_harmful_unique=len(h_ful), n_dropped_both=len(both),
        harmless_input_hash=prompts_hash(list(harmless)), harmful_input_hash=prompts_hash(list(harmful)),
    )
    return Splits(
        harmless_anchor=pb[:a], benign_train=pb[a:b], benign_calib=pb[b:c], benign_test=pb[c:d],
        harmful_anchor=ph[:n_ha], harmful_test=ph[n_ha:e], seed=seed, params=params,
    )
