"""Generation settings and SRI constants.

Example:
    >>> from sri_kit import GenerationConfig
    >>> cfg = GenerationConfig(steps=32, gen_length=64)
    >>> cfg.key() == GenerationConfig(steps=32, gen_length=64).key()
    True
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

#: SRI temperature τ and ε of the paper's code (PAPER.md §1.4).
TAU = 0.1
EPS = 1e-8
#: IRR thresholds (PAPER.md §1.5).
LAMBDA_C = 0.5
LAMBDA_R = (0.5, 0.3, 0.1)

REMASKING = ("low_confidence", "random", "entropy", "margin")
ORDERS = ("confidence", "left_to_right")
POOLINGS = ("reference", "generated")


@dataclass(frozen=True)
class GenerationConfig:
    """How to sample and what to record; frozen so it can key caches.

    steps: T, the number of recorded steps. AR: one token per step, so an AR response has
        exactly ``steps`` tokens (as in the paper's code). Diffusion: one forward pass per step.
    gen_length: diffusion canvas length L (unused by AR).
    block_length: semi-autoregressive block length; None means one block (= gen_length).
    remasking: how the diffusion sampler ranks masked positions: ``low_confidence`` (probability
        of the sampled token, LLaDA), ``random`` (LLaDA), ``entropy`` (negative entropy, Dream),
        ``margin`` (top-1 minus top-2 probability, Dream).
    temperature, top_p, top_k: sampling; temperature 0 is greedy.
    cfg_scale: classifier-free guidance (diffusion; the unconditional half masks the prompt).
    order: ``confidence`` (diffusion remasking) or ``left_to_right`` (a DLM decoded AR-style:
        exactly one committed token per step, the leftmost masked one; needs steps == gen_length).
    pooling: ``reference`` (the official code, default: reproduces its released centers) or
        ``generated`` (the paper's §3.1 wording: generated tokens only). See DESIGN.md §4.
    layer: -1 records the model's hook site (the final norm); k >= 0 records decoder layer k.
    seed: seeds every random draw (per prompt, so batching does not change results).
    system_prompt: an optional system message (the paper's code sent "You are a helpful assistant").
    sampler: a registered sampler name (``sri_kit.sampling.sampler_names()``); None picks the model
        family's default (``left_to_right`` when ``order="left_to_right"``).
    options: the chosen sampler's own options as a mapping (validated by that sampler's ``Options``
        dataclass); stored as sorted ``(name, value)`` pairs so the config stays hashable.
    """

    steps: int = 32
    gen_length: int = 128
    block_length: int | None = None
    remasking: str = "low_confidence"
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    cfg_scale: float = 0.0
    order: str = "confidence"
    pooling: str = "reference"
    layer: int = -1
    seed: int = 0
    system_prompt: str | None = None
    sampler: str | None = None
    options: Any = ()

    def __post_init__(self) -> None:
        def bad(msg: str) -> None:
            raise ValueError(f"GenerationConfig: {msg}")

        if self.sampler is not None and (not isinstance(self.sampler, str) or not self.sampler):
            bad(f"sampler must be a registered sampler name or None, got {self.sampler!r}")
        opts = self.options.items() if isinstance(self.options, Mapping) else self.options
        try:
            opts = tuple(sorted((str(k), v) for k, v in opts))
        except (TypeError, ValueError):
            bad(f"options must be a mapping of option names to values, got {self.options!r}")
        object.__setattr__(self, "options", opts)

        if not isinstance(self.steps, int) or self.steps < 1:
            bad(f"steps must be a positive int, got {self.steps!r}")
        if not isinstance(self.gen_length, int) or self.gen_length < 1:
            bad(f"gen_length must be a positive int, got {self.gen_length!r}")
        if self.remasking not in REMASKING:
            bad(f"unknown remasking {self.remasking!r}; choose one of {REMASKING}")
        if self.order not in ORDERS:
            bad(f"unknown order {self.order!r}; choose one of {ORDERS}")
        if self.pooling not in POOLINGS:
            bad(f"unknown pooling {self.pooling!r}; choose one of {POOLINGS}")
        if self.temperature < 0:
            bad(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            bad(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            bad(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if self.cfg_scale < 0:
            bad(f"cfg_scale must be >= 0, got {self.cfg_scale}")
        bl = self.block_len
        if bl < 1 or self.gen_length % bl:
            bad(f"gen_length ({self.gen_length}) must be divisible by block_length ({bl}); "
                f"pick a block_length that divides it, or None for one block")
        n_blocks = self.gen_length // bl
        if self.order == "left_to_right" and self.steps != self.gen_length:
            bad(f"order='left_to_right' commits one token per step: set steps == gen_length "
                f"(got steps={self.steps}, gen_length={self.gen_length})")
        if self.order == "confidence" and self.steps % n_blocks:
            bad(f"steps ({self.steps}) must be divisible by the number of blocks ({n_blocks}); "
                f"choose steps as a multiple of gen_length // block_length")

    @property
    def block_len(self) -> int:
        return self.gen_length if self.block_length is None else self.block_length

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["options"] = dict(self.options)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GenerationConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"GenerationConfig: unknown fields {sorted(unknown)}")
        return cls(**d)

    def replace(self, **kw) -> "GenerationConfig":
        return dataclasses.replace(self, **kw)

    def key(self) -> str:
        """A stable 12-hex-digit hash of every field (same settings -> same key, across runs)."""
        d = self.to_dict()
        # fields added after the first release enter the key only when set, so keys (and caches) made
        # before them stay valid
        for name, unset in (("sampler", None), ("options", {})):
            if d[name] == unset:
                del d[name]
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
