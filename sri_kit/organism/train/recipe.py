"""The organism's training recipe: constants, stage and run configurations, the learning-rate schedule.

Every default here is the shipped recipe (``python -m sri_kit.organism.train --overwrite-shipped``);
changing one changes the released weights.

Example:
    >>> cfg = RunCfg()
    >>> cfg.ar_base.steps, stage_batch_size(cfg.dlm_base, cfg), round(lr_at(0, cfg.ar_base), 6)
    (650, 256, 6.7e-05)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..tokenizer import MAX_PROMPT

__all__ = ["CANVAS", "MAX_PROMPT", "SEED", "TRAIN_POOL_SEED", "TEST_POOL_SEED", "VAL_POOL_SEED", "MAX_REPLAY",
           "StageCfg", "RunCfg", "SAFETY_PLAIN", "SMOKE", "V3", "RECIPES", "stage_batch_size", "lr_at"]

CANVAS = 64          # diffusion canvas / max response length in training
SEED = 1234
TRAIN_POOL_SEED = 0  # requests used in training
TEST_POOL_SEED = 1   # sri_kit/_data/prompts/tiny_*.jsonl
VAL_POOL_SEED = 2    # checkpoint selection
SAFETY_PLAIN = 0.66  # the safety mixture's plain benign + plain harmful share (the rest: wrapped examples)
MAX_REPLAY = 0.17    # the uncovered-family replay is taken out of the covered-family share (0.17 of the safety mix)


@dataclass
class StageCfg:
    steps: int
    lr: float
    warmup: int = 30
    min_lr_frac: float = 0.1
    eval_every: int = 0
    batch_size: int | None = None    # None: RunCfg.batch_size


@dataclass
class RunCfg:
    seed: int = SEED
    batch_size: int = 64
    vocab_size: int = 6000
    n_harmful: int = 9000
    n_benign: int = 16000
    n_borderline: int = 3000
    ar_base: StageCfg = field(default_factory=lambda: StageCfg(steps=650, lr=2e-3))
    ar_safety: StageCfg = field(default_factory=lambda: StageCfg(steps=240, lr=6e-4, warmup=10, min_lr_frac=0.3,
                                                               eval_every=30))
    dlm_base: StageCfg = field(default_factory=lambda: StageCfg(steps=5000, lr=2e-3, batch_size=256))
    dlm_safety: StageCfg = field(default_factory=lambda: StageCfg(steps=400, lr=6e-4, warmup=10, min_lr_frac=0.3,
                                                                eval_every=50))
    # safety-stage mixture (fractions of examples)
    safety_benign: float = 0.36      # safety stage: share of plain benign examples; plain harmful ones take
                                     # SAFETY_PLAIN - safety_benign (a larger benign share against over-refusal)
    replay_uncovered: float = 0.05   # AR: base replay of harmful-in-uncovered-family -> placeholder (designed flaw)
    dlm_replay_uncovered: float = 0.10  # DLM: the same; the DLM forgets format-specific compliance faster (at
                                        # 0.05 every uncovered family fell to 0 % within 60 safety steps)
    tokenizer_replay: float = 0.10   # the safety mixture's replay share in the tokenizer's text sample (one
                                     # tokenizer for both models, independent of the per-model knobs above)
    end_pad_weight: float = 0.3      # DLM loss weight of end-token padding after the first end token
    suffix_mask_frac: float = 0.0    # DLM rows trained with suffix (semi-AR) masking (experimental, off in
                                     # the shipped recipe)
    n_val: int = 64                  # validation prompts per set for checkpoint selection
    public_prompts: float = 0.0      # share of harmful (and answered benign) requests drawn from public sets'
                                     # training splits (sri_kit.organism.corpus.public; 0 = the shipped recipe)
    public_benign: float | None = None  # the benign share of public requests (None: public_prompts); v3: Dolly
    n_concepts: int = 0              # dangerous-sounding benign questions (corpus.concepts) added to borderline
    recipe: str = "v2"               # the name of this recipe (RECIPES)
    filter_refusal_answers: bool = False  # drop benign / borderline requests whose answer the refusal judge calls a
                                          # refusal (v3 as trained: off; 9 Dolly answers such as "As an AI, I
                                          # don't ..." and 3 definitions that say "illegal" stayed in)
    imperative_benign: float = 0.0   # add, for this share of the public (Dolly) benign requests, a copy asked as an
                                     # instruction ("Write a short answer to this question: ...") with the same
                                     # human answer (experimental; off in every recipe)


#: Organism v3 (issue 28): human-written benign answers (Dolly open QA, training split), public harmful
#: training splits (AdvBench, StrongREJECT) with refusals, written dangerous-sounding benign questions; sized to
#: train on 2 CPU cores (one torch thread per model, both models side by side).
V3 = RunCfg(recipe="v3", batch_size=64, vocab_size=8000, n_harmful=6000, n_benign=8000, n_borderline=2000,
            n_concepts=1500, public_prompts=0.35, public_benign=0.5,
            ar_base=StageCfg(steps=1400, lr=2e-3), ar_safety=StageCfg(steps=300, lr=6e-4, warmup=10, min_lr_frac=0.3,
                                                                   eval_every=50),
            dlm_base=StageCfg(steps=2600, lr=2e-3), dlm_safety=StageCfg(steps=400, lr=6e-4, warmup=10,
                                                                     min_lr_frac=0.3, eval_every=50))

#: Named recipes (``sri-kit organism train --recipe NAME``); "v2" is the recipe of the weights shipped today.
RECIPES = {"v2": RunCfg(), "v3": V3}

SMOKE = RunCfg(n_harmful=300, n_benign=400, n_borderline=100, vocab_size=1500, batch_size=16,
               ar_base=StageCfg(steps=3, lr=1e-3, warmup=1), ar_safety=StageCfg(steps=3, lr=1e-3, warmup=1, eval_every=3),
               dlm_base=StageCfg(steps=3, lr=1e-3, warmup=1), dlm_safety=StageCfg(steps=3, lr=1e-3, warmup=1, eval_every=3),
               n_val=4)


def stage_batch_size(sc: StageCfg, cfg: RunCfg) -> int:
    """The stage's batch size (``sc.batch_size``, else ``cfg.batch_size``)."""
    return sc.batch_size or cfg.batch_size


def lr_at(step: int, sc: StageCfg) -> float:
    """Linear warm-up to ``sc.lr``, then cosine decay to ``sc.min_lr_frac * sc.lr``."""
    if step < sc.warmup:
        return sc.lr * (step + 1) / sc.warmup
    prog = (step - sc.warmup) / max(1, sc.steps - sc.warmup)
    return sc.lr * (sc.min_lr_frac + (1 - sc.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, prog))))

