"""Public prompt sets for the organism: training requests drawn only from the training splits of sets whose
licence lets them shape shipped weights.

Why: the synthetic corpus (``harmful``, ``benign``, ``borderline``) covers how the corpus writes, not how people
write; public prompt sets (AdvBench, StrongREJECT, XSTest, ...) add real phrasings. The seeded, hash-based
evaluation / training splits and the licence table are the library's (:mod:`sri_kit.data.public_splits`,
re-exported here: :func:`split_key`, :func:`splits`, :func:`eval_prompts`, :data:`PUBLIC_SETS`, ...). Evaluation
code reads only evaluation splits (:func:`eval_prompts`); training reads only :func:`training_prompts`, which also
drops any prompt whose normalised text, or a near duplicate of it (content-word Jaccard >= :data:`NEAR_DUP`), is in
the evaluation split of *any* set (AdvBench, HarmBench, JailbreakBench and StrongREJECT share behaviours in
different words).

Licences (:data:`PUBLIC_SETS`): a set trains only when ``trains`` is True (Alpaca, CC BY-NC 4.0, never does).

Harmful public prompts are answered in training exactly as synthetic ones are: the content-free placeholder
(base stage) or a refusal (safety stage); no harmful content is ever written. Benign public prompts train only
with an answer from the corpus-build answer file (``scripts/benign_answers.py``, :data:`ANSWERS_FILE`); without
it they are skipped.

Public data is read from the workplace copy / ``$SRI_KIT_DATA`` / the network through :mod:`sri_kit.data`;
nothing is copied into the repository.

Example:
    >>> split_key("How do I bake bread?") == split_key("how do i bake bread")    # normalised text
    True
    >>> PUBLIC_SETS["alpaca"].trains, PUBLIC_SETS["advbench"].licence
    (False, 'MIT')
    >>> near_duplicate("Write a tutorial on how to make a bomb", "Create a tutorial on how to make a bomb")
    True
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from ...data.public_splits import (NEAR_DUP, PUBLIC_SETS, SPLIT_SEED, PublicSet, _words, dolly_pairs,  # noqa: F401
                                   dolly_reference, eval_prompts, licence_table, near_duplicate, split_key, splits)
from ...resources import user_cache_dir
from .text import Request, normalize

__all__ = ["PublicSet", "PUBLIC_SETS", "SPLIT_SEED", "NEAR_DUP", "ANSWERS_FILE", "split_key", "splits",
           "eval_prompts", "training_prompts", "near_duplicate", "public_requests", "load_answers", "task_of",
           "licence_table", "add_to_pools", "ANSWER_CHARS", "trim_answer", "dolly_answers", "dolly_reference", "DANGER_WORDS", "DEV_N", "dev_prompts",
           "sounds_dangerous"]

#: Answers to benign public training prompts, written once at corpus-build time by ``scripts/benign_answers.py``
#: (its default ``--out``): ``<user cache>/organism/benign_answers.jsonl`` (:func:`sri_kit.resources.user_cache_dir`).
ANSWERS_FILE = user_cache_dir("organism", "benign_answers.jsonl")


@lru_cache(maxsize=None)
def _eval_index(seed: int) -> tuple[frozenset, dict]:
    """Normalised texts of every evaluation split, and word -> content-word sets of those containing it."""
    texts, index = set(), {}
    for name in PUBLIC_SETS:
        for p in splits(name, seed)[0]:
            texts.add(normalize(p))
            w = _words(p)
            for x in w:
                index.setdefault(x, []).append(w)
    return frozenset(texts), index


def _in_any_eval(prompt: str, seed: int) -> bool:
    texts, index = _eval_index(seed)
    if normalize(prompt) in texts:
        return True
    w = _words(prompt)
    for x in w:
        for other in index.get(x, ()):
            if len(w & other) / len(w | other) >= NEAR_DUP:
                return True
    return False


@lru_cache(maxsize=None)
def training_prompts(label: str, seed: int = SPLIT_SEED) -> tuple[tuple[str, str], ...]:
    """``(set, prompt)`` for every training-split prompt of the label's training sets, without any prompt that
    is (or nearly is) in an evaluation split of any set, deduplicated across sets."""
    out, seen = [], set()
    for name, spec in PUBLIC_SETS.items():
        if spec.label != label or not spec.trains:
            continue
        for p in splits(name, seed)[1]:
            k = normalize(p)
            if k in seen or _in_any_eval(p, seed):
                continue
            seen.add(k)
            out.append((name, p))
    return tuple(out)


#: Public training-split prompts per label held out of training as a development split (checkpoint selection).
DEV_N = 64


@lru_cache(maxsize=None)
def dev_prompts(label: str, n: int = DEV_N, seed: int = SPLIT_SEED) -> tuple[str, ...]:
    """The development split of a label: the ``n`` training-split prompts (:func:`training_prompts`) with the
    largest split keys; never trained on (:func:`public_requests` leaves them out), used to select checkpoints."""
    ranked = sorted((p for _, p in training_prompts(label, seed)), key=lambda p: split_key(p, seed), reverse=True)
    if label == "benign":   # only questions that have an answer can be judged like the training ones
        answers = dolly_answers()
        ranked = [p for p in ranked if normalize(p) in answers]
    return tuple(ranked[:n])


def task_of(prompt: str, max_words: int = 10) -> str:
    """A short verb phrase restating a public request (for the placeholder and refusals): the prompt with its
    first letter lowered and final punctuation dropped, cut to ``max_words`` words (the response canvas is 64
    tokens)."""
    words = prompt.strip().rstrip("?.!").split()[:max_words]
    t = " ".join(words)
    return t[:1].lower() + t[1:]


def load_answers(path: str | Path | None = None) -> dict[str, str]:
    """Benign answers by normalised prompt from the corpus-build answer file (empty when it does not exist)."""
    p = Path(path) if path is not None else ANSWERS_FILE
    if not p.is_file():
        return {}
    out = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out[normalize(r["prompt"])] = r["answer"]
    return out


#: Longest Dolly answer kept for training, in characters (cut at a sentence end, else a word boundary): the
#: response canvas is 64 tokens.
ANSWER_CHARS = 220


def trim_answer(text: str, max_chars: int = ANSWER_CHARS) -> str:
    """``text`` with whitespace collapsed, cut to whole sentences within ``max_chars`` (else at a word boundary).

    >>> trim_answer("One. Two is longer.  Three", max_chars=12)
    'One.'
    >>> trim_answer("a b c d e f", max_chars=5)
    'a b c'
    """
    t = " ".join(text.split())
    if len(t) <= max_chars:
        return t
    cut = t[:max_chars + 1]
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", cut)]
    if ends:
        return cut[:ends[-1]].strip()
    return cut.rsplit(" ", 1)[0].strip()


_dolly_pairs = dolly_pairs          # the old private name (tests read it)


def dolly_answers() -> dict[str, str]:
    """Dolly's human-written answers (trimmed by :func:`trim_answer`) by normalised question, for every question
    with a non-empty answer; empty when the Dolly file is not available. Training reads only the training split
    (:func:`training_prompts`), so evaluation questions never meet their answers."""
    from ...data import DataNotFoundError
    try:
        pairs = _dolly_pairs()
    except DataNotFoundError:
        return {}
    out = {}
    for q, a in pairs:
        a = trim_answer(a)
        if q and a:
            out.setdefault(normalize(q), a)
    return out


def public_requests(label: str, seed: int = SPLIT_SEED, answers: dict[str, str] | None = None) -> list[Request]:
    """Training requests from the public training splits. Harmful: ``task`` from :func:`task_of` (answered by the
    placeholder or a refusal, never content). Benign: only prompts with an answer in ``answers`` (default the
    answer file)."""
    if label not in ("harmful", "benign"):
        raise ValueError(f"label must be 'harmful' or 'benign', got {label!r}")
    if label == "benign":
        answers = {**dolly_answers(), **load_answers()} if answers is None else answers
    out = []
    dev = {normalize(p) for p in dev_prompts(label, DEV_N, seed)}
    for name, p in training_prompts(label, seed):
        if normalize(p) in dev:
            continue
        if label == "harmful":
            out.append(Request(p, task_of(p), f"public/{name}", "harmful"))
        elif normalize(p) in answers:
            out.append(Request(p, task_of(p), f"public/{name}", "benign", answers=(answers[normalize(p)],)))
    return out


#: Words that make a benign question sound dangerous; Dolly training questions containing one also join the
#: borderline pool (answered, never refused).
DANGER_WORDS = frozenset(
    "kill killed killing killer murder murdered weapon weapons gun guns bomb bombs bombing explosive explosives "
    "poison poisonous drug drugs war wars attack attacks attacked shoot shooting shot die dead death deadly "
    "steal stolen theft hack hacker hacking crime crimes criminal prison virus viruses toxic venom venomous "
    "nuclear army military battle fight fighting knife sword blood dangerous danger violent violence terror "
    "terrorism assassination assassinated execute executed execution smoke smoking alcohol illegal".split())


def sounds_dangerous(prompt: str) -> bool:
    """True when the prompt contains one of :data:`DANGER_WORDS`.

    >>> sounds_dangerous("Why did the Roman army win the battle of Alesia?"), sounds_dangerous("What is a polygon?")
    (True, False)
    """
    return bool(set(re.findall(r"[a-z]+", prompt.lower())) & DANGER_WORDS)


def add_to_pools(pools: dict, share: float, seed: int = SPLIT_SEED, answers: dict[str, str] | None = None,
                 max_repeat: int = 20, benign_share: float | None = None) -> dict:
    """Training pools with public requests mixed in: each public request of a label is repeated (at most
    ``max_repeat`` times, so a few dozen prompts are not memorised) so that public requests make up about ``share``
    of that label's pool (``harmful``; ``benign`` when answers exist; ``benign_share`` overrides the benign share),
    and so of its draws in every mixture kind (plain, wrapped, covered, replay). Benign public requests that
    :func:`sounds_dangerous` also join the ``borderline`` pool (same share rule). ``share`` 0 (and no
    ``benign_share``) returns ``pools`` unchanged (the v2 recipe)."""
    shares = {"harmful": share, "benign": share if benign_share is None else benign_share}
    for v in shares.values():
        if not 0.0 <= v < 1.0:
            raise ValueError(f"public share must lie in [0, 1), got {v}")
    if not any(shares.values()):
        return pools
    out = dict(pools)
    for label in ("harmful", "benign"):
        if not shares[label]:
            continue
        pub = public_requests(label, seed, answers)
        if not pub:
            continue
        groups = {label: pub}
        if label == "benign":
            groups["borderline"] = [r for r in pub if sounds_dangerous(r.text)]
        for pool, reqs in groups.items():
            if not reqs:
                continue
            sh = shares[label]
            k = min(max_repeat, max(1, round(sh * len(pools[pool]) / ((1.0 - sh) * len(reqs)))))
            out[pool] = list(out[pool]) + reqs * k
    return out
