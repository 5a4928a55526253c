"""The token canvas: what a sampler has committed and what it currently predicts, step by step.

Tables here (:func:`canvas_table`); the figures are drawn by :mod:`sri_kit.plots.canvas` and reached
from here under their old names (:func:`plot_canvas`, :func:`plot_confidence_heatmap`,
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

import numpy as np
import pandas as pd

from .judges import text_refusal_signal
from .plots.canvas import canvas_figure, plot_confidence_heatmap, trace_view_figure

__all__ = ["canvas_table", "plot_canvas", "plot_confidence_heatmap", "trace_view"]


def _token_strings(ids, tokenizer) -> list[str]:
    return [tokenizer.decode([int(i)]) for i in ids]


def canvas_table(trace, step: int, tokenizer) -> pd.DataFrame:
    """One row per response position at ``step``: token, committed, confidence, newly committed."""
    T = trace.predicted.shape[0]
    if not 0 <= step < T:
        raise ValueError(f"step must be in [0, {T - 1}], got {step}")
    prev = trace.committed[step - 1] if step > 0 else np.zeros_like(trace.committed[0])
    return pd.DataFrame({"position": np.arange(trace.predicted.shape[1]),
                         "token": _token_strings(trace.predicted[step], tokenizer),
                         "committed": trace.committed[step],
                         "new": trace.committed[step] & ~prev,
                         "confidence": trace.confidence[step]})


def plot_canvas(trace, step: int, tokenizer, columns: int = 16):
    """The canvas at ``step`` as a grid: committed tokens blue (just committed: outlined), the current
    prediction at still-masked positions grey with opacity = confidence."""
    return canvas_figure(canvas_table(trace, step, tokenizer), step, columns)


def trace_view(trace, step: int, tokenizer, sigma: np.ndarray | None = None):
    """The TracePlayer's figure: the canvas at ``step`` and, beside it, σ_t and the text-level signal."""
    T = trace.predicted.shape[0]
    if not 0 <= step < T:
        raise ValueError(f"step must be in [0, {T - 1}], got {step}")
    texts = trace.step_texts(tokenizer)
    return trace_view_figure(canvas_table(trace, step, tokenizer), step, text_refusal_signal(texts), sigma,
                             model_name=trace.model_name, text_now=texts[step])
