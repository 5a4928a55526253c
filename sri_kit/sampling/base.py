"""What a sampler is: the protocol, its typed result, and the registry that maps names to samplers.

A sampler receives the loaded model, the encoded prompts of one batch (token ids, chat template
already applied) and a :class:`~sri_kit.GenerationConfig`, runs its step loop and returns a
:class:`SampleBatch`. ``generate`` / ``generate_texts`` choose it with :func:`sampler_for`; nothing
else in the kit branches on the model family.

Options that belong to one sampler live in its own ``Options`` dataclass and reach it through
``GenerationConfig(sampler=..., options={...})`` (the dllm style: typed, validated, defaults visible,
and part of the config's cache key), rather than as loose keyword arguments (the LLaDA style), so a typo
is an error and every cached result names every setting that made it.

Writing a new sampler is one file plus one registry line (see ``left_to_right.py``)::

    @dataclass(frozen=True)
    class MyOptions:
        threshold: float = 0.9

    class MySampler(Sampler):
        name = "my_sampler"
        families = ("diffusion",)
        Options = MyOptions
        def run(self, lm, rows, cfg, *, record=True, door=None) -> SampleBatch:
            door = self.door(lm, cfg, record, door)       # recording and interventions live behind it
            with door.attach(lm.model, steps=cfg.steps):
                for t in range(cfg.steps):
                    door.at(t)
                    ...                                   # one forward pass, commit
                    door.canvas(t, committed, predicted=..., confidence=...)
            return door.batch(response_ids, n_forward)

    register(MySampler())

Example:
    >>> from sri_kit.sampling import sampler_names, get_sampler
    >>> sampler_names()
    ['ar', 'diffusion', 'diffusiongemma', 'dream', 'dual_cache', 'left_to_right', 'prefix_cache', 'threshold',
     'threshold_factor']
    >>> get_sampler("left_to_right").revises
    True
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..config import GenerationConfig
from ..errors import ConfigError, InputTypeError, UnknownNameError
from ..models import FAMILIES, LoadedModel, find_layers

__all__ = ["SampleBatch", "Sampler", "NoOptions", "register", "unregister", "get_sampler", "sampler_names",
           "sampler_for", "sampler_for_family"]


@dataclass
class SampleBatch:
    """What a sampler returns for one batch of B prompts (tensors on the CPU).

    response_ids: int64 [B, L], the final response canvas (AR: the generated tokens).
    activations: float32 [B, T, D], φ_t per step (None when run without recording).
    predicted: int64 [B, T, L], the full current prediction of the canvas after each step.
    committed: bool [B, T, L], which positions are fixed after each step.
    confidence: float32 [B, T, L], the model's probability of ``predicted``.
    n_forward: forward passes of the model over the batch.
    filled_prompt_ids: per row, the prompt ids after mask tokens inside the prompt were filled (or None).
    n_steps: int64 [B], the steps row i actually took, for samplers whose rows stop at different steps
        (``Sampler.variable_steps``); the per-step arrays then have T = max(n_steps) steps and a row that
        stopped early repeats its last step up to T. None: every row took all T steps.
    site_activations: φ_t [B, T, D] of every other recorded site, by site name (``recorder.py``), or None.
    """

    response_ids: torch.Tensor
    activations: torch.Tensor | None = None
    predicted: torch.Tensor | None = None
    committed: torch.Tensor | None = None
    confidence: torch.Tensor | None = None
    n_forward: int = 0
    filled_prompt_ids: list[list[int]] | None = None
    n_steps: torch.Tensor | None = None
    site_activations: dict | None = None

    @property
    def recorded(self) -> bool:
        return self.activations is not None


@dataclass(frozen=True)
class NoOptions:
    """A sampler without options of its own."""


class Sampler:
    """Base class of every sampler. Subclasses set the class attributes and implement :meth:`run`.

    name: the registry key. families: the model families (``sri_kit.models.FAMILIES``) it runs on.
    settings: the ``GenerationConfig`` fields it reads (the others do not change its output, so sweeps
    and widgets do not offer them). revises: whether uncommitted positions hold the model's current
    prediction, which later steps may change (the text-level recovery analysis reads it).
    Options: the dataclass of its own options (``GenerationConfig.options``).
    variable_steps: whether rows may take different numbers of steps (adaptive or threshold decoding);
    ``cfg.steps`` is then the most a row takes, and the traces are put on one step grid with
    :func:`sri_kit.sampling.align_traces` before centers, σ or IRR compare them.
    """

    name: ClassVar[str] = ""
    families: ClassVar[tuple[str, ...]] = ()
    settings: ClassVar[tuple[str, ...]] = ("steps", "temperature", "top_p", "top_k", "pooling", "layer", "seed",
                                           "system_prompt")
    revises: ClassVar[bool] = False
    variable_steps: ClassVar[bool] = False
    Options: ClassVar[type] = NoOptions

    def options(self, cfg: GenerationConfig) -> Any:
        """``cfg.options`` parsed into this sampler's ``Options`` dataclass (unknown names are an error)."""
        given = dict(cfg.options)
        known = {f.name for f in dataclasses.fields(self.Options)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigError(f"sampler {self.name!r} has no option(s) {unknown}; "
                              f"its options are {sorted(known) or 'none'}")
        try:
            return self.Options(**given)
        except (TypeError, ValueError) as e:
            if isinstance(e, (ConfigError, InputTypeError)):
                raise
            raise ConfigError(f"sampler {self.name!r}: bad options {given}: {e}") from None

    def validate(self, lm: LoadedModel | None, cfg: GenerationConfig) -> None:
        """Raise a clear error when ``cfg`` cannot run on ``lm`` with this sampler (``lm`` is None when a
        config is checked before its model is loaded: check only what the config alone decides)."""
        self.options(cfg)

    def response_positions(self, cfg: GenerationConfig) -> int:
        """Positions the sampler appends after the prompt (for the context-length check)."""
        return cfg.gen_length

    def max_steps(self, lm: LoadedModel, cfg: GenerationConfig) -> int:
        """The most steps a row can take with ``cfg`` on ``lm`` (a variable-step sampler's budget)."""
        return cfg.steps

    def short_config(self, base: GenerationConfig, n_tokens: int) -> GenerationConfig:
        """A greedy config for a short answer of about ``n_tokens`` tokens (e.g. an LLM judge's yes/no)."""
        return base.replace(steps=n_tokens, temperature=0.0)

    def run(self, lm: LoadedModel, rows: list[list[int]], cfg: GenerationConfig, *,
            record: bool = True, door=None) -> SampleBatch:
        """Generate for each row of prompt ids. ``record=False``: text only (no recording hook, no per-step
        arrays). ``door``: the :class:`~sri_kit.sampling.recorder.StepRecorder` to call once per step (which
        sites to record); None makes one from ``cfg`` (its own site, its interventions)."""
        raise NotImplementedError

    def door(self, lm: LoadedModel, cfg: GenerationConfig, record: bool = True, door=None):
        """``door``, or the default per-step door for ``cfg`` (the one place a sampler meets recording and
        interventions)."""
        if door is not None:
            return door
        from .recorder import StepRecorder
        return StepRecorder(lm, cfg, record=record, sampler=self)

    def layer_list(self, lm: LoadedModel) -> torch.nn.ModuleList:
        """The decoder layers whose outputs are the ``resid_post.k`` sites and take interventions."""
        return find_layers(lm.model)

    def final_site(self, lm: LoadedModel, cfg: GenerationConfig) -> str:
        """The dotted module path of the ``final_norm`` site (the model's hook site)."""
        return lm.hook_site

    def __repr__(self) -> str:
        return f"<sampler {self.name!r} for {'/'.join(self.families)}>"


_REGISTRY: dict[str, Sampler] = {}


def register(sampler: Sampler, *, replace: bool = False) -> Sampler:
    """Add ``sampler`` to the registry under ``sampler.name``."""
    if not isinstance(sampler, Sampler):
        raise TypeError(f"register() takes a Sampler instance, got {type(sampler).__name__}")
    if not sampler.name or not sampler.families:
        raise ValueError(f"{type(sampler).__name__} needs a name and the families it runs on")
    unknown = [f for f in sampler.families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"sampler {sampler.name!r}: unknown families {unknown}; known: {sorted(FAMILIES)}")
    if sampler.name in _REGISTRY and not replace:
        raise ValueError(f"a sampler named {sampler.name!r} is registered already; pass replace=True")
    _REGISTRY[sampler.name] = sampler
    return sampler


def unregister(name: str) -> Sampler:
    return _REGISTRY.pop(get_sampler(name).name)


def get_sampler(name: str) -> Sampler:
    """The registered sampler called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(f"unknown sampler {name!r}; registered: {sampler_names()}") from None


def sampler_names() -> list[str]:
    return sorted(_REGISTRY)


def sampler_for(lm: LoadedModel, cfg: GenerationConfig) -> Sampler:
    """The sampler that runs ``cfg`` on ``lm``: ``cfg.sampler`` when set, the left-to-right sampler for
    ``order="left_to_right"``, otherwise the model family's default."""
    return sampler_for_family(lm.family, cfg, model_name=lm.name)


def sampler_for_family(family: str, cfg: GenerationConfig, *, model_name: str = "this model") -> Sampler:
    """:func:`sampler_for` from the family name alone (to check a config before any model is loaded)."""
    if cfg.sampler is not None:
        name = cfg.sampler
    elif cfg.order == "left_to_right":
        name = "left_to_right"
    else:
        name = FAMILIES[family].default_sampler
    sampler = get_sampler(name)
    if family not in sampler.families:
        raise ConfigError(f"sampler {name!r} runs on {'/'.join(sampler.families)} models, but {model_name} is a "
                          f"{family} model; use one of {[n for n, s in _REGISTRY.items() if family in s.families]}")
    return sampler
