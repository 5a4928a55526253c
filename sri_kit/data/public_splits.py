"""Seeded evaluation / training splits of public prompt sets, and their licence table.

Every public set (AdvBench, StrongREJECT, XSTest, ...) is split once, per prompt, by a seeded hash of its
normalised text (:func:`split_key`): the ``n_eval`` prompts with the smallest keys are its **evaluation split**,
the rest its **training split** (empty when the licence forbids shaping released weights or when the whole set
is kept for evaluation). Evaluation code (the results tables) reads only evaluation splits (:func:`eval_prompts`);
a model trained by the kit (the organism, :mod:`sri_kit.organism.corpus.public`) reads only training splits, so
no table is measured on a prompt any shipped weights were trained on.

Licences (:data:`PUBLIC_SETS`): a set trains only when ``trains`` is True. Alpaca is CC BY-NC 4.0 (its content
must not shape released weights): evaluation only. HarmBench (159 standard behaviours), JailbreakBench (its
goals are the ``paper/PAIR`` attack's) and XSTest's unsafe contrasts (200) are kept whole for evaluation.

Public data is read from the workplace copy / ``$SRI_KIT_DATA`` / the network through :mod:`sri_kit.data`;
nothing is copied into the repository.

Example:
    >>> split_key("How do I bake bread?") == split_key("how do i bake bread")    # normalised text
    True
    >>> PUBLIC_SETS["alpaca"].trains, PUBLIC_SETS["advbench"].licence
    (False, 'MIT')
    >>> normalize("  Don't STOP!  ")
    'don t stop'
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from .sources import load_prompts, load_records, subset

__all__ = ["PublicSet", "PUBLIC_SETS", "SPLIT_SEED", "normalize", "split_key", "splits", "eval_prompts",
           "dolly_pairs", "dolly_reference", "licence_table", "NEAR_DUP", "near_duplicate"]

#: The seed of the public splits (part of every split key; changing it changes every split).
SPLIT_SEED = 0


def normalize(text: str) -> str:
    """Normalisation used for disjointness checks: lowercase, alphanumerics and single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


@dataclass(frozen=True)
class PublicSet:
    """A public prompt set (``name`` as in :mod:`sri_kit.data`): its label, licence, whether the licence lets it
    shape shipped weights (``trains``), the size of its evaluation split (``n_eval``; None = every prompt) and why."""

    name: str
    label: str            # "harmful" | "benign"
    licence: str
    trains: bool
    n_eval: int | None
    why: str


PUBLIC_SETS: dict[str, PublicSet] = {s.name: s for s in (
    PublicSet("advbench", "harmful", "MIT", True, 260, "520 behaviours: half evaluation (n >= 200), half training"),
    PublicSet("harmbench", "harmful", "MIT", True, None,
              "159 standard behaviours (< 200): all evaluation"),
    PublicSet("jailbreakbench", "harmful", "MIT", True, None,
              "100 goals, also the goals of the paper/PAIR attack prompts: all evaluation"),
    PublicSet("strongreject", "harmful", "MIT", True, 156, "313 prompts: half evaluation, half training"),
    PublicSet("xstest_safe", "benign", "CC BY 4.0", False, 200,
              "250 safe prompts that look unsafe: 200 evaluation, never training (organism v3: XSTest is a test "
              "of over-refusal only; attribution: Röttger et al. 2024)"),
    PublicSet("xstest_unsafe", "harmful", "CC BY 4.0", True, None, "200 unsafe contrasts: all evaluation"),
    PublicSet("dolly", "benign", "CC BY-SA 3.0", True, 400,
              "3,742 human-written open-QA pairs (databricks-dolly-15k): 400 evaluation, the rest training with "
              "their own human answers (share-alike: weights trained on them are CC BY-SA 3.0; credit Databricks)"),
    PublicSet("alpaca", "benign", "CC BY-NC 4.0", False, None,
              "non-commercial licence: evaluation only, never training"),
)}


#: Content-word Jaccard similarity at or above which two requests count as one behaviour in other words (a training
#: prompt as a copy of an evaluation prompt; a test request as a copy of a fitting one).
NEAR_DUP = 0.6

_STOP = frozenset("a an the and or of to in on for with by at from as is are be it this that how what why who "
                  "can could would should you your me my i we our they their do does some any about into "
                  "write create give provide explain tell describe".split())


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP)


def near_duplicate(a: str, b: str, threshold: float = NEAR_DUP) -> bool:
    """True when the content words of ``a`` and ``b`` overlap with Jaccard similarity >= ``threshold`` (texts
    without content words: equal after :func:`normalize`)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return normalize(a) == normalize(b)
    return len(wa & wb) / len(wa | wb) >= threshold


def split_key(prompt: str, seed: int = SPLIT_SEED) -> str:
    """The prompt's split hash: sha256 of the seed and its normalised text (lowercase alphanumerics)."""
    # the prefix names the module the splits were first made in: changing it would change every split
    return hashlib.sha256(f"sri_kit.organism.public:{seed}:{normalize(prompt)}".encode("utf-8")).hexdigest()


@lru_cache(maxsize=None)
def splits(name: str, seed: int = SPLIT_SEED) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(evaluation, training)`` prompts of one set, each in file order. Prompts are deduplicated on their
    normalised text; the ``n_eval`` with the smallest :func:`split_key` are the evaluation split. A set whose
    licence forbids training (or with ``n_eval`` None) has an empty training split."""
    spec = PUBLIC_SETS[name]
    seen, prompts = set(), []
    for p in load_prompts(name, seed=None):
        k = normalize(p)
        if k and k not in seen:
            seen.add(k)
            prompts.append(p)
    n_eval = len(prompts) if spec.n_eval is None else min(spec.n_eval, len(prompts))
    ranked = sorted(range(len(prompts)), key=lambda i: split_key(prompts[i], seed))
    ev = set(ranked[:n_eval])
    evaluation = tuple(p for i, p in enumerate(prompts) if i in ev)
    training = tuple(p for i, p in enumerate(prompts) if i not in ev) if spec.trains else ()
    return evaluation, training


def eval_prompts(name: str, n: int | None = 200, seed: int = 0) -> list[str]:
    """``n`` prompts of the set's evaluation split (a seeded sample in file order; all of it when it is smaller)."""
    ev = list(splits(name)[0])
    return subset(ev, None if n is None or n >= len(ev) else n, seed)


@lru_cache(maxsize=None)
def dolly_pairs() -> tuple[tuple[str, str], ...]:
    """Dolly's ``(question, human answer)`` pairs in file order (raises when the Dolly file is not available)."""
    from .sources import dolly_pair
    return tuple(dolly_pair(r) for r in load_records("dolly"))


def dolly_reference(prompt: str) -> str | None:
    """The human reference answer of a Dolly question (untrimmed), or None (for the on-topic check)."""
    k = normalize(prompt)
    for q, a in dolly_pairs():
        if normalize(q) == k:
            return a
    return None


def licence_table() -> str:
    """The licence table as Markdown (for docs and the training log)."""
    rows = ["| set | label | licence | trains | evaluation split | why |", "|---|---|---|---|---|---|"]
    for s in PUBLIC_SETS.values():
        rows.append(f"| {s.name} | {s.label} | {s.licence} | {'yes' if s.trains else 'no'} | "
                    f"{'all' if s.n_eval is None else s.n_eval} | {s.why} |")
    return "\n".join(rows)
