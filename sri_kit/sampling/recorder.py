"""The per-step door: every sampler calls it once per step; recording and interventions attach there.

A sampler knows its decoding loop and nothing about hooks. It opens the door around the loop
(:meth:`StepRecorder.attach`), says which step the next forward pass belongs to (:meth:`StepRecorder.at`),
and after the step hands over what it decided (:meth:`StepRecorder.canvas` for canvas samplers,
:meth:`StepRecorder.incremental` for one-token-per-step samplers), then asks for its
:class:`~sri_kit.sampling.SampleBatch` (:meth:`StepRecorder.batch`). Behind the door:

* **recording**: forward hooks on any set of named *sites*, each pooled into φ_t per step by the one
  pooler (``pooling.py``: ``reference`` / ``generated``). The config's own site (``cfg.layer``) gives
  ``activations``; the others arrive in ``SampleBatch.site_activations`` and ``GenerationTrace.sites``;
* **interventions** (``GenerationConfig.interventions``, :mod:`sri_kit.interventions`): forward hooks on
  decoder layers that change the residual stream while the current step is in their window.

Every hook lives inside ``attach`` and is removed in ``finally``, also when generation raises.

Sites (:func:`site_names` lists a model's): ``final_norm`` (the model's hook site, the final-norm output:
``layer=-1``), ``resid_post.k`` (the output of decoder layer k: ``layer=k``), ``attn_out.k`` (layer k's
attention output, after its output projection, before the residual add), ``mlp_out.k`` (layer k's MLP
output, before the residual add). Layer indices count from 0.

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.sampling import get_sampler
    >>> cfg = GenerationConfig(steps=4)
    >>> out = get_sampler("ar").run(lm_ar, lm_ar.encode_chat(["Hi"]), cfg,
    ...                             door=StepRecorder(lm_ar, cfg, sites=["resid_post.1", "mlp_out.0"]))
    >>> sorted(out.site_activations), tuple(out.site_activations["mlp_out.0"].shape)
    (['mlp_out.0', 'resid_post.1'], (1, 4, 256))
    >>> site_names(lm_ar)[:4]
    ['final_norm', 'resid_post.0', 'attn_out.0', 'mlp_out.0']
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Sequence

import torch

from ..config import GenerationConfig
from ..errors import ConfigError, InputTypeError
from ..hooks import Recorder
from ..interventions import InterventionHook
from ..models import LoadedModel, find_layers
from .base import SampleBatch
from .pooling import Pooler

__all__ = ["StepRecorder", "FINAL_SITE", "SITE_KINDS", "config_site", "site_names"]

FINAL_SITE = "final_norm"
#: per-layer site kinds -> the submodule paths (inside a decoder layer) tried in order; "" is the layer itself
SITE_KINDS: dict[str, tuple[str, ...]] = {
    "resid_post": ("",),
    "attn_out": ("self_attn.o_proj", "attn_out", "attn.Wo", "self_attn.out_proj", "attention.output.dense",
                 "self_attn", "attn", "attention"),
    "mlp_out": ("mlp", "ff_out", "feed_forward", "ffn", "output.dense"),
}
_SITE = re.compile(r"^(resid_post|attn_out|mlp_out)\.(\d+)$")


def config_site(cfg: GenerationConfig) -> str:
    """The site ``cfg.layer`` names: ``final_norm`` for -1, ``resid_post.k`` for layer k."""
    return FINAL_SITE if cfg.layer == -1 else f"resid_post.{cfg.layer}"


def _layer_list(lm: LoadedModel, sampler=None):
    return sampler.layer_list(lm) if sampler is not None else find_layers(lm.model)


def _submodule(layer: torch.nn.Module, kind: str) -> torch.nn.Module | None:
    for path in SITE_KINDS[kind]:
        if not path:
            return layer
        try:
            return layer.get_submodule(path)
        except AttributeError:
            continue
    return None


def site_names(lm: LoadedModel, sampler=None) -> list[str]:
    """Every site name this model offers: ``final_norm``, then per layer ``resid_post.k``, ``attn_out.k``,
    ``mlp_out.k`` (the kinds it has)."""
    names = [FINAL_SITE]
    for k, layer in enumerate(_layer_list(lm, sampler)):
        names += [f"{kind}.{k}" for kind in SITE_KINDS if _submodule(layer, kind) is not None]
    return names


def resolve_site(lm: LoadedModel, name: str, sampler=None, cfg: GenerationConfig | None = None) -> torch.nn.Module:
    """The module whose output is site ``name`` (a clear error for an unknown or missing site)."""
    if not isinstance(name, str):
        raise InputTypeError(f"a site is a name such as 'resid_post.3' or 'final_norm', got {name!r}")
    if name == FINAL_SITE:
        site = sampler.final_site(lm, cfg) if sampler is not None and cfg is not None else lm.hook_site
        try:
            return lm.model.get_submodule(site)
        except AttributeError:
            raise ConfigError(f"the model has no module {site!r} (its hook site); pass hook_site= to "
                              f"wrap_model") from None
    m = _SITE.match(name)
    if not m:
        raise ConfigError(f"unknown site {name!r}; sites are 'final_norm', 'resid_post.k', 'attn_out.k' and "
                          f"'mlp_out.k' (k a layer index from 0): see sri_kit.sampling.site_names(lm)")
    kind, k = m.group(1), int(m.group(2))
    layers = _layer_list(lm, sampler)
    if k >= len(layers):
        raise ConfigError(f"site {name!r}: layer {k} out of range: this model has {len(layers)} layers "
                          f"(0 .. {len(layers) - 1}; use -1, the site 'final_norm', for the final norm)")
    mod = _submodule(layers[k], kind)
    if mod is None:
        raise ConfigError(f"site {name!r}: layer {k} ({type(layers[k]).__name__}) has none of the submodules "
                          f"{list(SITE_KINDS[kind])}; record 'resid_post.{k}' instead")
    return mod


class StepRecorder:
    """The door a sampler calls once per step (see the module docstring).

    ``record=False``: no site is recorded (text only), interventions still apply. ``sites``: names to
    record besides the config's own (``config_site(cfg)``, always first). ``sampler``: the sampler that
    runs (it names the family's layer list and final site; ``Sampler.layer_list`` / ``final_site``).
    """

    def __init__(self, lm: LoadedModel, cfg: GenerationConfig, *, record: bool = True,
                 sites: Sequence[str] | None = None, sampler=None):
        if sites is not None and (isinstance(sites, str) or not all(isinstance(s, str) for s in sites)):
            raise InputTypeError(f"sites must be a list of site names such as ['resid_post.3', 'mlp_out.3'], "
                                 f"got {sites!r}")
        self.lm, self.cfg, self.record = lm, cfg, bool(record)
        self.primary = config_site(cfg)
        names = [self.primary] + [s for s in dict.fromkeys(sites or ()) if s != self.primary]
        self.sites: list[str] = names if self.record else []
        self.interventions = tuple(cfg.interventions)
        self._sampler = sampler
        self._modules = {s: resolve_site(lm, s, sampler, cfg) for s in self.sites}
        self._iv_layers: list[list[torch.nn.Module]] = []
        if self.interventions:
            layers = _layer_list(lm, sampler)
            for iv in self.interventions:
                idx = range(len(layers)) if iv.layers is None else iv.layers
                bad = [k for k in idx if k >= len(layers)]
                if bad:
                    raise ConfigError(f"intervention layers {bad} out of range: this model has {len(layers)} "
                                      f"layers (0 .. {len(layers) - 1})")
                self._iv_layers.append([layers[k] for k in idx])
        self.current_step: int | torch.Tensor | None = None
        self._caps: dict[str, Recorder] = {}
        self._mark: dict[str, int] = {}
        self._poolers: dict[str, Pooler] = {}
        self._acts: dict[str, torch.Tensor] = {}
        self._resp_states: dict[str, torch.Tensor] = {}
        self._arrays: dict[str, torch.Tensor] = {}
        self.T = 0
        self._source = Pooler(cfg.pooling).source

    @property
    def active(self) -> bool:
        """Whether anything is attached at all (recording or an intervention)."""
        return bool(self.sites or self.interventions)

    @property
    def source(self) -> str:
        """Which state an incremental sampler hands over per step (see :attr:`Pooler.source`)."""
        return self._source

    # ---- the door's frame -------------------------------------------------------------------------
    @contextmanager
    def attach(self, model: torch.nn.Module | None = None, *, steps: int, rows: int | None = None,
               cols: slice | None = None):
        """Hook the sites (keeping ``rows`` leading rows and ``cols`` columns of their output) and the
        interventions (for a schedule of ``steps`` steps) for the block; removed in ``finally``."""
        self.T = int(steps)
        handles = []
        try:
            for iv, mods in zip(self.interventions, self._iv_layers):
                active = iv.active_steps(self.T)
                for mod in mods:
                    handles.append(mod.register_forward_hook(InterventionHook(iv, active, self)))
            for s in self.sites:                    # after the interventions: a site sees the changed state
                cap = Recorder(rows, cols)          # the last output of the site, and how often it ran
                handles.append(self._modules[s].register_forward_hook(cap._hook))
                self._caps[s] = cap
                self._poolers[s] = Pooler(self.cfg.pooling)
            yield self
        finally:
            for h in handles:
                h.remove()
            for cap in self._caps.values():
                cap.last = None
            self.current_step = None

    def at(self, t, *, rows: int | None = None) -> None:
        """The next forward pass belongs to step ``t`` (an int, or a [n] tensor of each batch row's step
        when rows are at different steps); ``rows``: keep that many leading rows of the sites' output
        (the conditional half under CFG) from now on."""
        self.current_step = t
        for s, cap in self._caps.items():
            if rows is not None:
                cap.rows = rows
            self._mark[s] = cap.calls

    def states(self, site: str) -> torch.Tensor:
        """The last captured output of ``site``; it must have run exactly once since :meth:`at`."""
        cap = self._caps[site]
        ran = cap.calls - self._mark.get(site, 0)
        if ran != 1:
            raise RuntimeError(f"the hook at site {site!r} ran {ran} times in one step (expected once): record a "
                               f"module that the model's forward calls once per pass")
        return cap.last

    # ---- what a step hands over ---------------------------------------------------------------------
    def pool_canvas(self, committed: torch.Tensor, states: dict[str, torch.Tensor] | None = None
                    ) -> dict[str, torch.Tensor]:
        """φ_t [B, D] per site from this step's response states [B, L, D] (``committed`` [B, L])."""
        return {s: self._poolers[s].canvas(self.states(s) if states is None else states[s], committed)
                for s in self.sites}

    def _buffers(self, B: int, L: int, device) -> None:
        if not self._arrays:
            T = self.T
            self._arrays = {"predicted": torch.empty((T, B, L), dtype=torch.long, device=device),
                            "committed": torch.empty((T, B, L), dtype=torch.bool, device=device),
                            "confidence": torch.empty((T, B, L), dtype=torch.float32, device=device)}

    def _store(self, t, rows, phis: dict[str, torch.Tensor], B: int, zeros: bool = False) -> None:
        for s, phi in phis.items():
            if s not in self._acts:
                make = torch.zeros if zeros else torch.empty
                self._acts[s] = make((self.T, B, phi.shape[-1]), dtype=torch.float32, device=phi.device)
            if rows is None:
                self._acts[s][t] = phi
            else:
                self._acts[s][t, rows] = phi

    def canvas(self, t, committed: torch.Tensor, *, predicted: torch.Tensor, confidence: torch.Tensor,
               rows: torch.Tensor | None = None, batch: int | None = None, first_col: int | None = None) -> None:
        """A canvas sampler's step: ``committed`` / ``predicted`` / ``confidence`` [n, L] for the batch rows
        ``rows`` (None: all) at step ``t`` (int, or [n] per-row steps). ``first_col``: the captured states
        cover response columns from ``first_col`` on (negative: prompt columns first) and only this step's
        window; the door keeps every row's latest state per column (samplers with a KV cache)."""
        if not self.record:
            return
        B = batch if batch is not None else committed.shape[0]
        self._buffers(B, committed.shape[-1], committed.device)
        states = None
        if first_col is not None:
            states = {}
            for s in self.sites:
                h = self.states(s)
                buf = self._resp_states.get(s)
                if buf is None:
                    buf = self._resp_states[s] = torch.zeros((B, committed.shape[-1], h.shape[-1]), dtype=h.dtype,
                                                             device=h.device)
                h0 = max(0, first_col)
                idx = slice(None) if rows is None else rows
                buf[idx, h0:first_col + h.shape[1]] = h[:, h0 - first_col:]
                states[s] = buf[idx]
        self._store(t, rows, self.pool_canvas(committed, states), B)
        for name, value in (("predicted", predicted), ("committed", committed), ("confidence", confidence)):
            if rows is None:
                self._arrays[name][t] = value
            else:
                self._arrays[name][t, rows] = value

    def incremental(self, t: int, live: torch.Tensor) -> None:
        """A one-position-per-step sampler's step ``t``: pool the last column of each site's state (the
        state :attr:`source` names) for rows ``live`` [B]."""
        if not self.record:
            return
        phis = {s: self._poolers[s].step(self.states(s)[:, -1], live) for s in self.sites}
        self._store(t, None, phis, live.shape[0], zeros=True)

    def batch(self, response_ids: torch.Tensor, n_forward: int, *, cls=SampleBatch, filled=None,
              n_steps: torch.Tensor | None = None, predicted=None, committed=None, confidence=None,
              **extra) -> SampleBatch:
        """The sampler's result. Per-step arrays [T, B, ...] become [B, T, ...]; with ``n_steps`` (rows
        that stopped at different steps) they are cut to max(n_steps) steps and each row repeats its last
        step after it stopped. ``predicted`` / ``committed`` / ``confidence`` [B, T, L] given here replace
        those handed over per step (samplers that build them after the loop)."""
        if not self.record:
            return cls(response_ids=response_ids.cpu(), n_forward=n_forward, filled_prompt_ids=filled,
                       n_steps=None if n_steps is None else n_steps.cpu(), **extra)
        names = list(self._acts)
        arrays = [self._acts[s] for s in names] + [self._arrays[k] for k in ("predicted", "committed", "confidence")
                                                   if k in self._arrays]
        if n_steps is not None:
            Tm = int(n_steps.max())
            for i, k in enumerate(n_steps.tolist()):
                for a in arrays:
                    a[k:Tm, i] = a[k - 1, i]
            arrays = [a[:Tm] for a in arrays]
        out = [a.transpose(0, 1).cpu() for a in arrays]
        acts = dict(zip(names, out[:len(names)]))
        per_step = dict(zip(("predicted", "committed", "confidence"), out[len(names):]))
        for k, v in (("predicted", predicted), ("committed", committed), ("confidence", confidence)):
            if v is not None:
                per_step[k] = v
        return cls(response_ids=response_ids.cpu(), activations=acts.pop(self.primary), n_forward=n_forward,
                   filled_prompt_ids=filled, n_steps=None if n_steps is None else n_steps.cpu(),
                   site_activations=acts or None, **per_step, **extra)
