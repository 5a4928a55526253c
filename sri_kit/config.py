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

from .errors import ConfigError, InputTypeError, check_float, check_int
from .interventions import as_interventions

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
        ``generated`` (the paper's §3.1 wording: generated tokens only). See the README ("Pooling: a documented choice") and ``sri_kit.sampling.pooling``.
    layer: -1 records the model's hook site (the final norm); k >= 0 records the output of decoder
        layer k (0 = the first block). Other negative values are refused (-2 would be ambiguous:
        Python's "second to last" or the layer before the final norm?).
    seed: seeds every random draw (per prompt, so batching does not change results).
    system_prompt: an optional system message (the paper's code sent "You are a helpful assistant").
    sampler: a registered sampler name (``sri_kit.sampling.sampler_names()``); None picks the model
        family's default (``left_to_right`` when ``order="left_to_right"``).
    options: the chosen sampler's own options as a mapping (validated by that sampler's ``Options``
        dataclass); stored as sorted ``(name, value)`` pairs so the config stays hashable.
    interventions: :class:`sri_kit.Intervention` objects applied to the residual stream at chosen steps
        (``sri_kit.intervene``); empty by default. They enter ``key()`` only when set.
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
    interventions: Any = ()

    def __post_init__(self) -> None:
        where = "GenerationConfig"

        def bad(msg: str) -> None:
            raise ConfigError(f"{where}: {msg}")

        def name(field: str, value, allowed) -> None:
            if not isinstance(value, str):
                raise InputTypeError(f"{where}: {field} must be a string, one of {allowed}; got {value!r}")
            if value not in allowed:
                bad(f"unknown {field} {value!r}; choose one of {allowed}")

        if self.sampler is not None and (not isinstance(self.sampler, str) or not self.sampler):
            bad(f"sampler must be a registered sampler name or None, got {self.sampler!r}")
        opts = self.options.items() if isinstance(self.options, Mapping) else self.options
        try:
            opts = tuple(sorted((str(k), v) for k, v in opts))
        except (TypeError, ValueError):
            bad(f"options must be a mapping of option names to values, got {self.options!r}")
        object.__setattr__(self, "options", opts)
        object.__setattr__(self, "interventions", as_interventions(self.interventions))

        # types first (bools are not ints, strings are not numbers, NaN is not a number), then ranges
        check_int("steps", self.steps, minimum=1, where=where)
        check_int("gen_length", self.gen_length, minimum=1, where=where)
        check_int("block_length", self.block_length, minimum=1, where=where, allow_none=True)
        name("remasking", self.remasking, REMASKING)
        name("order", self.order, ORDERS)
        name("pooling", self.pooling, POOLINGS)
        check_float("temperature", self.temperature, lo=0, where=where)
        check_float("top_p", self.top_p, lo=0, lo_open=True, hi=1, where=where)
        check_int("top_k", self.top_k, minimum=0, where=where)
        check_float("cfg_scale", self.cfg_scale, lo=0, where=where)
        check_int("layer", self.layer, where=where)
        if self.layer < -1:
            bad(f"layer must be -1 (the model's hook site, the final norm) or a decoder layer index k >= 0, "
                f"got {self.layer}; negative indices other than -1 are not accepted (count from 0)")
        check_int("seed", self.seed, where=where)
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise InputTypeError(f"{where}: system_prompt must be a string or None, got "
                                 f"{type(self.system_prompt).__name__}")
        # numpy scalars become plain Python ints / floats (they serialise differently); Python ints given
        # for float fields stay ints so that cache keys made before this check stay valid
        for f, conv in (("steps", int), ("gen_length", int), ("block_length", int), ("top_k", int), ("layer", int),
                        ("seed", int), ("temperature", float), ("top_p", float), ("cfg_scale", float)):
            v = getattr(self, f)
            if v is not None and type(v) not in (int, conv):
                object.__setattr__(self, f, conv(v))
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
        # the interventions appear only when set, so dicts (and stored records) of plain configs stay as they were
        del d["interventions"]
        if self.interventions:
            d["interventions"] = [iv.to_dict() for iv in self.interventions]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GenerationConfig":
        if not isinstance(d, Mapping):
            raise InputTypeError(f"GenerationConfig.from_dict takes a mapping, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"GenerationConfig: unknown fields {sorted(unknown)}")
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
