"""Hashes of prompt lists and the paper's seeded, disjoint splits (:func:`make_splits`).

Example:
    >>> prompts_hash(["a", "b"]) == prompts_hash(["a", "b"]) != prompts_hash(["b", "a"])
    True
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..io import atomic_write_text

__all__ = ["prompts_hash", "SPLIT_NAMES", "Splits", "make_splits"]


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
        atomic_write_text(path, json.dumps({"manifest": self.manifest(), "splits": self.as_dict()},
                                           ensure_ascii=False, indent=1))

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
