"""The token canvas: what a sampler has committed and what it currently predicts, step by step.

Tables here (:func:`canvas_table`, one row per position; :func:`canvas_cells`, the same with every run of
end padding collapsed into one row with a ``count``); the figures are drawn by :mod:`sri_kit.plots.canvas`
and reached from here under their old names (:func:`plot_canvas`, :func:`plot_confidence_heatmap`,
:func:`trace_view`), used by the notebooks and by the TracePlayer widget.

Example:
    >>> tr = sk.generate(lm_dlm, ["Write a poem about the sea."], sk.GenerationConfig(steps=8, gen_length=8),
    ...                  progress=False)[0]
    >>> canvas_table(tr, step=5, tokenizer=lm_dlm.tokenizer).columns.tolist()
    ['position', 'token', 'committed', 'new', 'confidence']
    >>> fig = plot_canvas(tr, step=5, tokenizer=lm_dlm.tokenizer)
    >>> type(fig).__name__
    'Figure'
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .judges import text_refusal_signal
from .plots.canvas import canvas_figure, plot_confidence_heatmap, trace_view_figure

__all__ = ["canvas_table", "canvas_cells", "padding_tokens", "collapse_padding", "plot_canvas",
           "plot_confidence_heatmap", "trace_view"]


def _token_strings(ids, tokenizer) -> list[str]:
    return [tokenizer.decode([int(i)]) for i in ids]


def _check_step(trace, step: int) -> None:
    T = trace.predicted.shape[0]
    if not 0 <= step < T:
        raise ValueError(f"step must be in [0, {T - 1}], got {step}")


def canvas_table(trace, step: int, tokenizer) -> pd.DataFrame:
    """One row per response position at ``step``: token, committed, confidence, newly committed."""
    _check_step(trace, step)
    prev = trace.committed[step - 1] if step > 0 else np.zeros_like(trace.committed[0])
    return pd.DataFrame({"position": np.arange(trace.predicted.shape[1]),
                         "token": _token_strings(trace.predicted[step], tokenizer),
                         "committed": trace.committed[step],
                         "new": trace.committed[step] & ~prev,
                         "confidence": trace.confidence[step]})


def padding_tokens(tokenizer) -> set[str]:
    """The token strings that pad a canvas: the tokenizer's end-of-sequence and pad tokens and special
    tokens named like them (``<|end|>``, ``<|endoftext|>``, ``<|eot_id|>``, ``[PAD]`` …); never the mask."""
    out = {getattr(tokenizer, a, None) for a in ("eos_token", "pad_token")}
    out |= {t for t in getattr(tokenizer, "all_special_tokens", []) if re.search(r"end|eot|eos|pad", t, re.I)}
    out.discard(getattr(tokenizer, "mask_token", None))
    out.discard(None)
    return {str(t) for t in out}


def collapse_padding(tab: pd.DataFrame, pad: set[str], min_run: int = 2) -> pd.DataFrame:
    """``tab`` with every run of at least ``min_run`` equal padding tokens in the same state (committed or
    not) replaced by one row: its first position, ``count`` = the run's length, ``new`` if any position
    of it was just committed, the mean confidence. Other rows get ``count`` 1."""
    rows, i, recs = [], 0, tab.to_dict("records")
    while i < len(recs):
        j = i + 1
        if recs[i]["token"] in pad:
            while j < len(recs) and recs[j]["token"] == recs[i]["token"] and recs[j]["committed"] == recs[i]["committed"]:
                j += 1
        run = recs[i:j] if j - i >= min_run else recs[i:i + 1]
        j = i + len(run)
        rows.append({**run[0], "new": any(r["new"] for r in run),
                     "confidence": float(np.mean([r["confidence"] for r in run])), "count": len(run)})
        i = j
    return pd.DataFrame(rows, columns=list(tab.columns) + ["count"])


def canvas_cells(trace, step: int, tokenizer) -> pd.DataFrame:
    """:func:`canvas_table` with runs of end padding collapsed into one row each (``count``)."""
    return collapse_padding(canvas_table(trace, step, tokenizer), padding_tokens(tokenizer))


def plot_canvas(trace, step: int, tokenizer, columns: int | None = None):
    """The canvas at ``step``: committed tokens blue (just committed: outlined), the current prediction
    at still-masked positions grey and dashed; runs of end padding drawn as one cell with a count.
    (``columns`` is ignored: cells are as wide as their tokens.)"""
    return canvas_figure(canvas_cells(trace, step, tokenizer), step)


def trace_view(trace, step: int, tokenizer, sigma: np.ndarray | None = None):
    """The TracePlayer's figure: the canvas at ``step`` and, beside it, σ_t and the text-level signal."""
    _check_step(trace, step)
    texts = trace.step_texts(tokenizer)
    return trace_view_figure(canvas_cells(trace, step, tokenizer), step, text_refusal_signal(texts), sigma,
                             model_name=trace.model_name, text_now=texts[step])
