"""Interventions on the residual stream at chosen steps: project a direction out, or add it.

An :class:`Intervention` says *what* (a direction d, unit norm), *how* (``mode="ablate"``:
x ← x − α (x·d) d, Arditi et al. 2024's directional ablation; ``mode="add"``: x ← x + α d), *where*
(the output of decoder layers ``layers``, every layer when None, at every sequence position of the
forward pass) and *when* (the sampler steps ``steps``). It rides on the generation config
(``GenerationConfig.interventions``), so it is part of the config's cache key and reaches every
sampler through the same per-step door as recording (:class:`sri_kit.sampling.recorder.StepRecorder`):
the AR sampler's step t is the forward pass whose logits choose token t (the prompt's pass is step 0;
with the KV cache only the new token's state is changed; with ``pooling="generated"`` φ_t is token t's own
state, which step t + 1's pass computes), a diffusion sampler's step t is its t-th
denoising forward pass (every position of the canvas). ``steps`` is an index range ``(start, stop)``
(ints, half-open) or a window of the schedule as fractions (floats: ``(0, 1/3)`` is the first third:
the steps t with ``start·T <= t < stop·T``), or None for every forward pass.

α = 0 or an empty step range changes nothing, bit for bit (tests/test_interventions.py).

Example:
    >>> iv = Intervention(np.ones(256), steps=(0, 1 / 3), layers=(1,), mode="ablate")
    >>> iv.active_steps(32)[:12].tolist()
    [True, True, True, True, True, True, True, True, True, True, True, False]
    >>> cfg = sk.GenerationConfig(steps=8)
    >>> cfg.replace(interventions=(iv,)).key() != cfg.key()
    True
    >>> tr = sk.intervene(lm_ar, ["How do I bake bread?"], cfg, np.ones(256), layers=(1,), alpha=0.0)[0]
    >>> tr.text == sk.generate(lm_ar, ["How do I bake bread?"], cfg, progress=False)[0].text
    True
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .errors import ConfigError, InputTypeError

__all__ = ["Intervention", "MODES", "intervene", "as_interventions"]

MODES = ("ablate", "add")


def _direction(direction: Any) -> tuple[float, ...]:
    """A 1-D finite non-zero vector -> its unit-norm float32 values as a tuple of floats."""
    if isinstance(direction, torch.Tensor):
        direction = direction.detach().cpu().numpy()
    try:
        v = np.asarray(direction, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(f"the intervention direction must be a 1-D array of numbers (e.g. "
                             f"Centers.direction()), got {type(direction).__name__}") from None
    if v.ndim == 2 and 1 in v.shape:
        v = v.reshape(-1)
    if v.ndim != 1 or v.size == 0:
        raise ConfigError(f"the intervention direction must be one vector [D], got shape {tuple(v.shape)}; for "
                          f"per-step directions [T, D] pick one step (direction[t]) or pool them "
                          f"(Centers.direction(step=None))")
    if not np.isfinite(v).all():
        raise ConfigError("the intervention direction holds NaN or inf values; check the centers or vector that "
                          "made it")
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        raise ConfigError("the intervention direction has zero norm, so it names no direction; pass a non-zero "
                          "vector (harmful and harmless centers that differ)")
    return tuple(float(x) for x in (v / norm).astype(np.float32))


def _steps(steps: Any):
    if steps is None:
        return None
    if isinstance(steps, range):
        if steps.step != 1:
            raise ConfigError(f"steps as a range must have step 1, got {steps!r}; pass (start, stop)")
        steps = (steps.start, steps.stop)
    if not isinstance(steps, (tuple, list)) or len(steps) != 2:
        raise InputTypeError(f"steps must be None (every step), an index range (start, stop) or a window of the "
                             f"schedule as fractions such as (0, 1/3); got {steps!r}")
    a, b = steps
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise InputTypeError(f"steps bounds must be finite numbers, got {steps!r}")
    if any(isinstance(v, (float, np.floating)) for v in (a, b)):
        a, b = float(a), float(b)
        if not 0.0 <= a <= b <= 1.0:
            raise ConfigError(f"steps as fractions of the schedule need 0 <= start <= stop <= 1, got {steps!r} "
                              f"(ints are step indices)")
    else:
        a, b = int(a), int(b)
        if not 0 <= a <= b:
            raise ConfigError(f"steps as an index range needs 0 <= start <= stop, got {steps!r}")
    return (a, b)


@dataclass(frozen=True)
class Intervention:
    """One intervention on the residual stream (see the module docstring).

    direction: [D] (array, tensor or list; stored as its unit vector). steps: None, ``(start, stop)``
    step indices (ints) or fractions of the schedule (floats). layers: decoder layer indices whose
    output is changed (None: every layer). mode: ``"ablate"`` or ``"add"``. alpha: the scale α.
    """

    direction: Any
    steps: Any = None
    layers: Any = None
    mode: str = "ablate"
    alpha: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", _direction(self.direction))
        object.__setattr__(self, "steps", _steps(self.steps))
        if self.layers is not None:
            layers = (self.layers,) if isinstance(self.layers, (int, np.integer)) else self.layers
            try:
                items = list(layers)
            except TypeError:
                items = [None]
            if not items or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in items):
                raise ConfigError(f"layers must be None (every layer) or a non-empty set of decoder layer indices "
                                  f">= 0, got {self.layers!r}")
            object.__setattr__(self, "layers", tuple(sorted({int(k) for k in items})))
        if self.mode not in MODES:
            raise ConfigError(f"unknown intervention mode {self.mode!r}; choose one of {MODES}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float, np.integer, np.floating)) \
                or not math.isfinite(self.alpha):
            raise InputTypeError(f"alpha must be a finite number, got {self.alpha!r}")
        object.__setattr__(self, "alpha", float(self.alpha))

    @property
    def dim(self) -> int:
        return len(self.direction)

    def active_steps(self, T: int) -> np.ndarray:
        """bool [T + 1]: whether the forward pass of step t (0 <= t <= T; t = T is the AR sampler's extra
        pass for ``pooling="generated"``) is changed, for a schedule of T steps."""
        t = np.arange(T + 1)
        if self.steps is None:
            return np.ones(T + 1, dtype=bool)
        a, b = self.steps
        if isinstance(a, float):
            return (t >= a * T) & (t < b * T)
        if b > T:
            raise ConfigError(f"the intervention's step range {self.steps} runs past the schedule's {T} steps; "
                              f"use stop <= {T} or fractions of the schedule")
        return (t >= a) & (t < b)

    def to_dict(self) -> dict:
        return {"direction": list(self.direction), "steps": None if self.steps is None else list(self.steps),
                "layers": None if self.layers is None else list(self.layers), "mode": self.mode, "alpha": self.alpha}

    @classmethod
    def from_dict(cls, d: dict) -> "Intervention":
        if not isinstance(d, dict):
            raise InputTypeError(f"an intervention is a mapping (Intervention.to_dict()), got {type(d).__name__}")
        unknown = set(d) - {"direction", "steps", "layers", "mode", "alpha"}
        if unknown:
            raise ConfigError(f"Intervention: unknown fields {sorted(unknown)}")
        steps = d.get("steps")
        return cls(**{**d, "steps": None if steps is None else tuple(steps)})

    def summary(self) -> dict:
        """What trace metadata records: everything but the vector, which is named by a hash."""
        blob = np.asarray(self.direction, dtype=np.float32).tobytes()
        return {"mode": self.mode, "alpha": self.alpha, "steps": None if self.steps is None else list(self.steps),
                "layers": None if self.layers is None else list(self.layers), "dim": self.dim,
                "direction_sha256": hashlib.sha256(blob).hexdigest()[:16]}

    def __repr__(self) -> str:
        s = self.summary()
        return (f"Intervention(mode={s['mode']!r}, alpha={s['alpha']}, steps={self.steps}, layers={self.layers}, "
                f"dim={s['dim']}, direction={s['direction_sha256']})")


def as_interventions(value) -> tuple[Intervention, ...]:
    """``GenerationConfig.interventions`` normalised: a tuple of :class:`Intervention` (dicts are read with
    :meth:`Intervention.from_dict`)."""
    if value is None:
        return ()
    if isinstance(value, (Intervention, dict)):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise InputTypeError(f"interventions must be a sequence of sri_kit.Intervention, got "
                             f"{type(value).__name__}") from None
    out = []
    for v in items:
        if isinstance(v, dict):
            v = Intervention.from_dict(v)
        if not isinstance(v, Intervention):
            raise InputTypeError(f"interventions must be sri_kit.Intervention objects, got {type(v).__name__}")
        out.append(v)
    return tuple(out)


class InterventionHook:
    """The forward hook of one intervention on one layer's output; it acts only while the door's current
    step is in the intervention's window (per row when rows are at different steps)."""

    def __init__(self, iv: Intervention, active: np.ndarray, door):
        self.iv, self.door = iv, door
        self.active = torch.as_tensor(active)
        self._d: torch.Tensor | None = None

    def _modify(self, h: torch.Tensor) -> torch.Tensor:
        if h.shape[-1] != self.iv.dim:
            raise ConfigError(f"the intervention direction has {self.iv.dim} values but the residual stream has "
                              f"{h.shape[-1]}: use a direction fitted on this model")
        if self._d is None or self._d.device != h.device or self._d.dtype != h.dtype:
            self._d = torch.tensor(self.iv.direction, dtype=torch.float32).to(device=h.device, dtype=h.dtype)
        d, a = self._d, self.iv.alpha
        if self.iv.mode == "ablate":
            return h - a * (h @ d)[..., None] * d
        return h + a * d

    def __call__(self, module, args, out):
        step = self.door.current_step
        if step is None:
            return None
        if isinstance(step, int):
            if not bool(self.active[min(step, len(self.active) - 1)]):
                return None
            rows = None
        else:                                  # per-row steps (rows of a batch at different steps)
            rows = self.active[step.clamp(max=len(self.active) - 1).cpu()]
            if not bool(rows.any()):
                return None
        h = out if isinstance(out, torch.Tensor) else out[0]
        new = self._modify(h)
        if rows is not None:
            rows = rows.to(h.device)
            if h.shape[0] != rows.shape[0]:    # a CFG batch [conditional | unconditional]
                rows = rows.repeat(h.shape[0] // rows.shape[0])
            new = torch.where(rows.view(-1, *([1] * (h.dim() - 1))), new, h)
        if isinstance(out, torch.Tensor):
            return new
        return (new,) + tuple(out[1:])


def intervene(lm, prompts: Sequence[str], config=None, direction=None, *, steps=None, layers=None,
              mode: str = "ablate", alpha: float = 1.0, batch_size: int = 32, progress: bool = False,
              prefill=None) -> list:
    """Generate with ``direction`` projected out of (``mode="ablate"``) or added to (``"add"``) the
    residual stream at ``steps`` and ``layers``; returns traces as :func:`sri_kit.generate` does.

    The intervention joins the config (``config.interventions``), so ``trace.config_key`` differs from
    an unmodified run's and ``trace.meta["interventions"]`` describes it. ``direction``: a [D] vector,
    e.g. :meth:`sri_kit.Centers.direction` (stored as its unit vector; ``alpha`` carries the scale).
    """
    from .sampling import generate

    if direction is None:
        raise InputTypeError("intervene() needs a direction: Centers.direction() or any [D] vector")
    iv = Intervention(direction, steps=steps, layers=layers, mode=mode, alpha=alpha)
    cfg = config if config is not None else lm.default_config
    return generate(lm, prompts, cfg, batch_size=batch_size, progress=progress, prefill=prefill, interventions=[iv])
