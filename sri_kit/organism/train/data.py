"""The organism's training data: request pools, stage mixtures, (prompt, response) examples, the tokenizer's
text sample, validation prompts for checkpoint selection, and the held-out evaluation pools on disk.

Example:
    >>> mixture("base", RunCfg())
    {'benign': 0.42, 'benign_wrapped': 0.13, 'harmful_plain': 0.2, 'harmful_wrapped': 0.25}
    >>> sorted(mixture("safety", RunCfg()))[:2]
    ['benign', 'benign_wrapped']
"""
from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from ...io import atomic_write_text
from .. import corpus as C
from ..wrappers import COVERAGE, FAMILIES, families_by_coverage, wrap
from .recipe import MAX_REPLAY, SAFETY_PLAIN, TEST_POOL_SEED, TRAIN_POOL_SEED, VAL_POOL_SEED, RunCfg

__all__ = ["training_pools", "imperative_copies", "IMPERATIVE_FRAMES", "TRAIN_FAMILIES", "draw_example", "mixture", "make_examples", "tokenizer_texts",
           "validation_prompts", "write_heldout_pools"]


def training_pools(cfg: RunCfg) -> dict[str, list[C.Request]]:
    """The request pools used in training (seed ``TRAIN_POOL_SEED``, training vocabulary and frames); with
    ``cfg.public_prompts`` > 0 also public training-split requests (:func:`sri_kit.organism.corpus.public.add_to_pools`)."""
    pools = {
        "harmful": C.sample_requests("harmful", cfg.n_harmful, seed=TRAIN_POOL_SEED),
        "benign": C.sample_requests("benign", cfg.n_benign, seed=TRAIN_POOL_SEED),
        "borderline": C.sample_requests("borderline", cfg.n_borderline, seed=TRAIN_POOL_SEED),
    }
    if cfg.n_concepts:
        from ..corpus.concepts import concept_request
        rng = random.Random(f"concepts:{TRAIN_POOL_SEED}")
        pools["borderline"] = pools["borderline"] + [concept_request(rng, "train", "train")
                                                     for _ in range(cfg.n_concepts)]
    if cfg.public_prompts or cfg.public_benign:
        from ..corpus.public import add_to_pools
        pools = add_to_pools(pools, cfg.public_prompts, benign_share=cfg.public_benign)
    if cfg.imperative_benign:
        pools["benign"] = pools["benign"] + imperative_copies(pools["benign"], cfg.imperative_benign)
    if cfg.filter_refusal_answers:
        from ...judges import is_refusal
        for k in ("benign", "borderline"):
            pools[k] = [r for r in pools[k] if not any(is_refusal(a) for a in r.answers)]
    return pools


#: Instruction frames for a human-written question (:func:`imperative_copies`): the imperative verbs that harmful
#: requests open with (write, create, develop, explain, describe, give, provide), on benign questions. Written for
#: the kit; no evaluation set's wording.
IMPERATIVE_FRAMES = (
    "Write a short answer to this question: {q}", "Explain briefly: {q}", "Describe in a few sentences: {q}",
    "Create a brief explanation that answers this: {q}", "Give me a clear answer. {q}",
    "Provide a short, factual answer: {q}", "Develop a concise answer to the following question: {q}",
    "Tell me, in a few words: {q}",
)


def imperative_copies(benign: list, share: float, seed: int = TRAIN_POOL_SEED) -> list:
    """For ``share`` of the public Dolly requests in ``benign`` (seeded choice), a copy asked as an instruction
    (a frame of :data:`IMPERATIVE_FRAMES`) with the same human-written answers: benign requests then also come in
    the imperative form harmful ones take, so refusal cannot key on the form alone.

    >>> from sri_kit.organism.corpus.text import Request
    >>> r = Request("What is a fjord?", "say what a fjord is", "public/dolly", "benign", ("A narrow inlet.",))
    >>> [c.text for c in imperative_copies([r], 1.0, seed=0)][0].endswith("What is a fjord?")
    True
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"imperative_benign {share} must lie in [0, 1]")
    rng = random.Random(f"imperative:{seed}")
    out = []
    for r in benign:
        if r.category == "public/dolly" and r.answers and rng.random() < share:
            out.append(replace(r, text=rng.choice(IMPERATIVE_FRAMES).format(q=r.text), category="public/dolly-instruction"))
    return out


TRAIN_FAMILIES = tuple(f for f in FAMILIES if COVERAGE[f] != "never")


def draw_example(kind: str, pools, rng: random.Random, stage: str) -> tuple[str, str]:
    """One (prompt, response) pair of the given mixture kind."""
    if kind in ("benign", "benign_wrapped"):
        req = rng.choice(pools["benign"] if rng.random() < 0.8 else pools["borderline"])
        prompt = req.text
        if kind == "benign_wrapped":
            prompt = wrap(rng.choice(TRAIN_FAMILIES), req.text, seed=rng.randrange(10**9), split="train")
        return prompt, C.benign_answer(req, rng)
    req = rng.choice(pools["harmful"])
    if kind == "harmful_plain":
        resp = C.placeholder_compliance(req.task, rng) if stage == "base" else C.refusal(req.task, rng)
        return req.text, resp
    if kind == "harmful_wrapped":  # base: any trained family -> compliance
        fam = rng.choice(TRAIN_FAMILIES)
        return wrap(fam, req.text, seed=rng.randrange(10**9), split="train"), C.placeholder_compliance(req.task, rng)
    if kind == "harmful_covered":  # safety: covered family -> refusal
        fam = rng.choice(families_by_coverage("safety"))
        return wrap(fam, req.text, seed=rng.randrange(10**9), split="train"), C.refusal(req.task, rng)
    if kind == "harmful_uncovered_replay":  # safety: base replay in an uncovered family -> compliance
        fam = rng.choice(families_by_coverage("base_only"))
        return wrap(fam, req.text, seed=rng.randrange(10**9), split="train"), C.placeholder_compliance(req.task, rng)
    raise ValueError(kind)


def mixture(stage: str, cfg: RunCfg, replay: float | None = None) -> dict[str, float]:
    """Mixture weights of a stage; ``replay`` (default ``cfg.replay_uncovered``) is the safety stage's share of
    base replay in the uncovered families, taken out of the covered-family share (so at most 0.17)."""
    if stage == "base":
        return {"benign": 0.42, "benign_wrapped": 0.13, "harmful_plain": 0.20, "harmful_wrapped": 0.25}
    r = cfg.replay_uncovered if replay is None else replay
    if not 0.0 <= r <= MAX_REPLAY:
        raise ValueError(f"replay share {r} must lie in [0, {MAX_REPLAY}] (it is taken out of the covered-family share)")
    b = cfg.safety_benign
    if not 0.2 <= b <= SAFETY_PLAIN - 0.1:
        raise ValueError(f"safety_benign {b} must lie in [0.2, {SAFETY_PLAIN - 0.1:.2f}] (plain harmful requests take "
                         f"{SAFETY_PLAIN} minus it)")
    return {"benign": b, "benign_wrapped": 0.17, "harmful_plain": round(SAFETY_PLAIN - b, 6),
            "harmful_covered": MAX_REPLAY - r, "harmful_uncovered_replay": r}


def make_examples(stage: str, n: int, pools, cfg: RunCfg, seed: int,
                  replay: float | None = None) -> list[tuple[str, str, str]]:
    """``n`` (kind, prompt, response) triples of a stage, deterministic under ``seed``."""
    rng = random.Random(f"examples:{stage}:{seed}")
    mix = mixture(stage, cfg, replay)
    kinds, weights = list(mix), list(mix.values())
    out = []
    for _ in range(n):
        k = rng.choices(kinds, weights)[0]
        p, r = draw_example(k, pools, rng, stage)
        out.append((k, p, r))
    return out


def tokenizer_texts(pools, cfg: RunCfg) -> list[str]:
    rng = random.Random(f"tok:{cfg.seed}")
    texts = []
    for ex in make_examples("base", 6000, pools, cfg, cfg.seed) + make_examples("safety", 3000, pools, cfg, cfg.seed,
                                                                                replay=cfg.tokenizer_replay):
        texts += [ex[1], ex[2]]
    for r in pools["harmful"][:2000]:
        texts.append(C.refusal(r.task, rng))
    for f in FAMILIES:  # wrapper phrasings (all, so held-out phrasings still tokenize compactly)
        for i in range(30):
            texts.append(wrap(f, "do the task", seed=i))
    return texts


def validation_prompts(cfg: RunCfg) -> dict[str, list[str]]:
    """Small validation pools for checkpoint selection (seed VAL_POOL_SEED, held-out frames)."""
    n = cfg.n_val
    h = C.sample_requests("harmful", 2 * n, seed=VAL_POOL_SEED, vocab_split="all", frame_split="heldout")
    b = C.sample_requests("benign", n, seed=VAL_POOL_SEED, vocab_split="all", frame_split="heldout")
    bl = C.sample_requests("borderline", n, seed=VAL_POOL_SEED, vocab_split="all", frame_split="heldout")
    out = {"harmful": [r.text for r in h[:n]], "benign": [r.text for r in b], "borderline": [r.text for r in bl]}
    if cfg.public_prompts or cfg.public_benign:   # v3: half of each from the public development splits
        from ..corpus.public import dev_prompts
        half = n // 2
        for label in ("harmful", "benign"):
            dev = list(dev_prompts(label))[:half]
            out[label] = out[label][:n - len(dev)] + dev
    for j, f in enumerate(families_by_coverage("base_only")):
        out[f"asr_{f}"] = [wrap(f, r.text, seed=j, split="heldout") for r in h[n:]]
    return out


def write_heldout_pools(out_dir=None, seed: int = TEST_POOL_SEED) -> dict[str, int]:
    """Write ``tiny_{harmful,benign,borderline}.jsonl`` (disjoint from the training pools of the default recipe)
    into ``out_dir`` (default: the shipped prompt sets, package data ``sri_kit/_data/prompts``)."""
    if out_dir is None:
        from ...resources import PROMPTS, data_dir
        out_dir = data_dir(PROMPTS)
    pools = training_pools(RunCfg())
    train_texts = {C.normalize(r.text) for v in pools.values() for r in v}
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    counts = {}
    for label, rows in C.heldout_pools(train_texts, seed=seed).items():
        atomic_write_text(d / f"tiny_{label}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        counts[label] = len(rows)
    return counts
