"""One step grid for traces of different lengths (adaptive, threshold or multi-canvas decoding).

Centers, σ and IRR compare traces step by step, so they need one step count T. A sampler with
``variable_steps`` returns each row with the steps it took (T_i). :func:`align_traces` maps every
trace onto a fixed grid of T points by *decoding progress*: grid point k (0-based) takes the trace's
state at source step ``ceil((k + 1) · T_i / T) − 1``, the first step by which the row had done at least
(k + 1)/T of its decoding. The last grid point is always the final step; a trace with T_i = T is
unchanged; a shorter trace repeats steps, a longer one skips steps (nothing is interpolated: every
grid point is a state the sampler really produced).

The map is recorded in ``trace.meta["step_map"]`` (source step per grid point) together with
``meta["source_steps"]`` (T_i), so an aligned trace says exactly which steps it holds. Aligning an
aligned trace composes the maps, always relative to the original steps.

Example:
    >>> step_map(4, 8).tolist()
    [0, 0, 1, 1, 2, 2, 3, 3]
    >>> step_map(8, 4).tolist()
    [1, 3, 5, 7]
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..errors import ConfigError, InputTypeError
from .trace import GenerationTrace

__all__ = ["step_map", "align_trace", "align_traces"]

_PER_STEP = ("activations", "predicted", "committed", "confidence")


def step_map(source_steps: int, T: int) -> np.ndarray:
    """int64 [T]: the source step (of ``source_steps``) that each of ``T`` grid points takes."""
    for name, v in (("source_steps", source_steps), ("T", T)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    k = np.arange(1, T + 1, dtype=np.int64)
    return -(-k * int(source_steps) // int(T)) - 1          # ceil(k · T_i / T) − 1, in integers


def align_trace(trace: GenerationTrace, T: int) -> GenerationTrace:
    """``trace`` on a grid of ``T`` steps (a new trace; the map is in ``meta["step_map"]``)."""
    if not isinstance(trace, GenerationTrace):
        raise InputTypeError(f"align_trace takes a GenerationTrace, got {type(trace).__name__}")
    idx = step_map(trace.steps, T)
    meta = dict(trace.meta or {})
    if "step_map" in meta:           # already aligned: compose with the earlier map
        full = np.asarray(meta["step_map"], dtype=np.int64)[idx]
    else:
        full = idx
        meta["source_steps"] = trace.steps
    meta["step_map"] = full.tolist()
    meta["steps"] = T
    arrays = {name: np.asarray(getattr(trace, name))[idx] for name in _PER_STEP}
    return dataclasses.replace(trace, meta=meta, **arrays)


def align_traces(traces: Sequence[GenerationTrace], T: int | None = None) -> list[GenerationTrace]:
    """Every trace on one grid of ``T`` steps (default: the most steps any trace took).

    Use it before :meth:`sri_kit.Centers.fit`, :func:`sri_kit.sri_signal` and IRR on traces of a
    variable-step sampler; fit centers and compute σ on the same grid.
    """
    traces = list(traces)
    if not traces:
        raise ConfigError("align_traces needs at least one trace")
    if T is None:
        T = max(tr.steps for tr in traces)
    return [align_trace(tr, T) for tr in traces]
