"""Train the embedded model organism (tiny-ar and tiny-dlm) from scratch, reproducibly, on CPU.

Two stages, as real chat models are made:

1. **base** instruction following: every request is answered - benign ones helpfully, harmful ones with
   the content-free placeholder ("Sure, here is how to ... Step 1: ..."), plain or wrapped in any of the
   trained jailbreak families.
2. **safety** tuning: plain harmful requests and harmful requests wrapped in the *covered* families
   ("safety" in ``wrappers.COVERAGE``) are refused; benign requests (plain and in every trained family)
   are answered. A low-rate replay of base data - including harmful requests in the *uncovered*
   ("base_only") families with placeholder compliance - is the organism's **designed flaw**: it leaves a
   partial mismatched-generalisation gap. The released checkpoint is chosen among periodic safety
   checkpoints by a recorded validation rule (:func:`select_checkpoint`). The ``"never"`` family (flip)
   appears in no training at all.

Usage::

    python -m sri_kit.organism.train --overwrite-shipped   # full run, both models, replacing the shipped weights
    python -m sri_kit.organism.train --smoke                    # a few steps into a temp dir (< 60 s)
    python -m sri_kit.organism.train --out DIR --only ar        # one model
    python -m sri_kit.organism.train --out DIR --device cuda    # same recipe on a GPU (~5 min for both)
    python -m sri_kit.organism.train --out DIR --public-prompts 0.25   # opt in: public training-split prompts
                                                                # (sri_kit.organism.corpus.public; not shipped)

Layout (one file per job): ``recipe`` (constants, stage / run configs, lr schedule), ``data`` (pools, mixtures,
examples, tokenizer texts, validation prompts, held-out pools on disk), ``batches`` (token ids and batch tensors),
``organisms`` (the ``ORGANISMS`` table: what differs between tiny-ar and tiny-dlm), ``loop`` (training loop,
checkpoint rule, model folder), ``run`` (``train_one`` and the command line).

Timings: AR 650 + 240 steps of batch 64 (~0.7-1 s/step on 2 free CPU cores, ~15 min; H100: ~30 s). DLM 5,000
steps of batch 256 + 400 of batch 64 (H100: base 214 s, safety 25 s). On 2 CPU cores the DLM recipe takes hours
(batch 64 ran at ~1 s/step, so batch 256 is estimated at ~4 s/step, ~5.5 h for the base stage): the 30-minute
CPU target holds for tiny-ar only; the earlier, shorter DLM recipe (2,500 steps of batch 64, ~50 min on CPU)
gave incoherent text and no jailbreak gap. Validation for checkpoint selection adds a few minutes on CPU.
Data order and masking are seeded, so the recipe is deterministic per device; float arithmetic differs across
devices and thread counts, so retrained weights match statistically. The tokenizer is trained on a fixed corpus sample and is
shared by both models.
"""
from __future__ import annotations

from ..tokenizer import MAX_PROMPT, encode_prompt
from .batches import ar_batch, batches, dlm_batch, encode_examples
from .data import (TRAIN_FAMILIES, draw_example, make_examples, mixture, tokenizer_texts, training_pools,
                   validation_prompts, write_heldout_pools)
from .loop import SELECTION_RULE, save_model, select_checkpoint, train_stage, write_sri_json
from .organisms import ORGANISMS, OrganismSpec, ar_loss, ar_step_loss, build_ar, build_dlm, dlm_loss, dlm_step_loss
from .recipe import (CANVAS, MAX_REPLAY, SEED, SMOKE, TEST_POOL_SEED, TRAIN_POOL_SEED, VAL_POOL_SEED, RunCfg, StageCfg,
                     lr_at, stage_batch_size)
from .run import main, train_one

__all__ = [
    "CANVAS", "MAX_PROMPT", "SEED", "TRAIN_POOL_SEED", "TEST_POOL_SEED", "VAL_POOL_SEED", "MAX_REPLAY", "StageCfg",
    "RunCfg", "SMOKE", "stage_batch_size", "lr_at", "training_pools", "TRAIN_FAMILIES", "draw_example", "mixture",
    "make_examples", "tokenizer_texts", "validation_prompts", "write_heldout_pools", "encode_prompt",
    "encode_examples", "batches", "ar_batch", "dlm_batch", "OrganismSpec", "ORGANISMS", "build_ar", "build_dlm",
    "ar_loss", "dlm_loss", "ar_step_loss", "dlm_step_loss", "train_stage", "SELECTION_RULE", "select_checkpoint",
    "write_sri_json", "save_model", "train_one", "main",
]
