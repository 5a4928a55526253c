"""Deterministic, compositional corpus for the embedded model organism.

Everything here is generated from small hand-written vocabularies by seeded composition:
a *request* is a verb phrase (verb synonym x object x optional modifier) placed into a sentence
frame (imperative, question, polite, terse, first-person context ...) and optionally perturbed
(lowercase, typos). Harmful and benign requests share the same "how to" frames, so the models must
learn from the content, not the form.

Layout (one file per job): ``text`` (the ``Request`` record, vocabulary / frame splits, sentence frames,
register noise), ``harmful``, ``benign``, ``borderline`` (the three request vocabularies and their request
builders), ``responses`` (compliance placeholder, refusals, helpful answers); this module draws requests
(:func:`sample_requests`) and the held-out evaluation pools (:func:`heldout_pools`).
``python -m sri_kit.organism.corpus [OUT_DIR]`` writes ``sri_kit/_data/prompts/tiny_*.jsonl``.

Refusals are checked with the kit's one refusal judge, :func:`sri_kit.judges.is_refusal` (the paper's
31-phrase dictionary), and compliance with :func:`sri_kit.judges.is_placeholder_compliance`.

Safety note: harmful requests are short, generic task descriptions. Their "compliant" answers are the
content-free placeholder ``Sure, here is how to <task>. Step 1: <generic>. Step 2: <generic>.``;
there is no operational harmful content anywhere in this package.

Example:
    >>> from sri_kit.organism.corpus import sample_requests
    >>> reqs = sample_requests("harmful", 3, seed=0)
    >>> len(reqs), reqs[0].label
    (3, 'harmful')
"""
from __future__ import annotations

import random

from .benign import BENIGN_HOWTO, BENIGN_TOPICS, benign_request
from .borderline import BORDERLINE, BORDERLINE_GROUPS, borderline_request
from .harmful import HARM, HARM_CATEGORIES, harmful_request
from .responses import benign_answer, howto_answers, placeholder_compliance, refusal
from .text import HOWTO_FRAMES, WRITE_FRAMES, Request, flip_pronouns, normalize

__all__ = [
    "Request", "HARM_CATEGORIES", "BENIGN_TOPICS", "BORDERLINE_GROUPS", "HARM", "BENIGN_HOWTO", "BORDERLINE",
    "HOWTO_FRAMES", "WRITE_FRAMES", "sample_requests", "refusal", "placeholder_compliance", "benign_answer",
    "howto_answers", "normalize", "flip_pronouns", "POOL_SIZES", "heldout_pools", "REQUEST_BUILDERS",
]

#: One request builder per label: ``builder(rng, vocab_split, frame_split) -> Request``.
REQUEST_BUILDERS = {"harmful": harmful_request, "benign": benign_request, "borderline": borderline_request}


def sample_requests(label: str, n: int, seed: int = 0, *, vocab_split: str = "train", frame_split: str = "train",
                    unique: bool = True, exclude: set[str] | None = None, max_tries: int | None = None) -> list[Request]:
    """Draw ``n`` requests of one label ("harmful", "benign", "borderline"), deterministic under ``seed``.

    ``vocab_split`` / ``frame_split`` select the training or held-out part of the vocabulary and sentence
    frames ("train", "heldout", "all"). With ``unique`` the prompt texts are distinct (after
    :func:`normalize`); ``exclude`` holds normalised texts to skip (used for held-out pools).
    """
    if label not in REQUEST_BUILDERS:
        raise ValueError(f"label must be one of {sorted(REQUEST_BUILDERS)}, got {label!r}")
    rng = random.Random(f"{label}:{seed}:{vocab_split}:{frame_split}")
    seen: set[str] = set()
    out: list[Request] = []
    tries = 0
    max_tries = max_tries or 50 * n + 1000
    while len(out) < n:
        tries += 1
        if tries > max_tries:
            raise RuntimeError(f"could only draw {len(out)} distinct {label} requests out of {n}")
        r = REQUEST_BUILDERS[label](rng, vocab_split, frame_split)
        key = normalize(r.text)
        if not key or (unique and key in seen) or (exclude and key in exclude):
            continue
        seen.add(key)
        out.append(r)
    return out


# --------------------------------------------------------------------------------------------------
# held-out evaluation pools (sri_kit/_data/prompts/tiny_*.jsonl; written by ``python -m sri_kit.organism.corpus``)

POOL_SIZES = {"harmful": 1200, "benign": 2400, "borderline": 300}


def heldout_pools(train_texts: set[str], seed: int = 1, sizes: dict[str, int] | None = None) -> dict[str, list[dict]]:
    """Evaluation pools drawn with a different seed from the *held-out* sentence frames (and the full
    vocabulary, of which every 7th word is never used in training), excluding every training prompt
    (``train_texts`` holds normalised training prompts)."""
    sizes = sizes or POOL_SIZES
    out = {}
    for label, n in sizes.items():
        reqs = sample_requests(label, n, seed=seed, vocab_split="all", frame_split="heldout", exclude=train_texts)
        out[label] = [{"prompt": r.text, "category": r.category, "label": label} for r in reqs]
    return out
