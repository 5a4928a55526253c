"""The token canvas: what a sampler has committed and what it currently predicts, step by step.

Pure functions (tables and Figures) used by the notebooks and by the TracePlayer widget.

Example:
    >>> canvas_table(trace, step=5, tokenizer=lm.tokenizer).head()          # doctest: +SKIP
    >>> fig = plot_canvas(trace, step=5, tokenizer=lm.tokenizer)             # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .judges import text_refusal_signal
from .plots import _figure, add_regions


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


def _draw_canvas(ax, tab: pd.DataFrame, columns: int) -> None:
    """Committed tokens solid (just committed: outlined), predicted ones grey italic, opacity = confidence."""
    from matplotlib.patches import Rectangle

    rows = int(np.ceil(len(tab) / columns))
    for r in tab.itertuples():
        y, x = divmod(int(r.position), columns)
        face = ("#90caf9" if r.new else "#bbdefb") if r.committed else "#eeeeee"
        ax.add_patch(Rectangle((x, -y - 1), 0.95, 0.9, facecolor=face, edgecolor="#1565c0" if r.new else "none", lw=1.2))
        ax.text(x + 0.47, -y - 0.55, repr(r.token)[1:-1][:8], ha="center", va="center", fontsize=7,
                color="black" if r.committed else "#616161",
                alpha=1.0 if r.committed else 0.3 + 0.7 * float(r.confidence),
                style="normal" if r.committed else "italic")
    ax.set_xlim(0, columns)
    ax.set_ylim(-max(rows, 1), 0)
    ax.axis("off")


def plot_canvas(trace, step: int, tokenizer, columns: int = 16):
    """The canvas at ``step`` as a grid: committed tokens blue (just committed: outlined), the current
    prediction at still-masked positions grey with opacity = confidence."""
    tab = canvas_table(trace, step, tokenizer)
    rows = int(np.ceil(len(tab) / columns))
    fig, ax = _figure(figsize=(min(16, 1.0 * columns), 0.45 * rows + 0.8))
    _draw_canvas(ax, tab, columns)
    ax.set_title(f"step {step}: {int(tab.committed.sum())}/{len(tab)} committed (blue); grey = current prediction "
                 f"(opacity = confidence)", fontsize=9)
    return fig


def plot_confidence_heatmap(trace, title: str = ""):
    """Confidence of the current prediction per step × position; dots mark the step each position was committed."""
    fig, ax = _figure(figsize=(8, 3.5))
    im = ax.imshow(trace.confidence, aspect="auto", cmap="viridis", vmin=0, vmax=1, origin="lower")
    c = trace.committed
    first = np.where(c.any(0), c.argmax(0), -1)
    pos = np.nonzero(first >= 0)[0]
    ax.scatter(pos, first[pos], s=8, c="white", edgecolors="black", linewidths=0.3, label="committed")
    ax.set_xlabel("Response position")
    ax.set_ylabel("Generation Step")
    ax.set_title(title or "Confidence of the current prediction")
    fig.colorbar(im, ax=ax, label="p(predicted token)")
    ax.legend(loc="upper right", fontsize=7)
    return fig


def trace_view(trace, step: int, tokenizer, sigma: np.ndarray | None = None):
    """The TracePlayer's figure: the canvas at ``step`` and, beside it, σ_t and the text-level signal."""
    from matplotlib.figure import Figure

    T = trace.predicted.shape[0]
    if not 0 <= step < T:
        raise ValueError(f"step must be in [0, {T - 1}], got {step}")
    fig = Figure(figsize=(13, 4), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.7, 1])
    texts = trace.step_texts(tokenizer)
    ax = left.add_subplot(1, 1, 1)
    _draw_canvas(ax, canvas_table(trace, step, tokenizer), columns=12)
    ax.set_title(f"{trace.model_name} step {step}/{T - 1}: text now: {texts[step][:70]!r}",
                 fontsize=8)
    ax2 = right.add_subplot(1, 1, 1)
    add_regions(ax2)
    steps = np.arange(T)
    if sigma is not None:
        ax2.plot(steps, sigma, color="#1565c0", lw=2, label="SRI σ_t")
        ax2.plot([step], [sigma[step]], "o", color="#1565c0")
    ax2.plot(steps, text_refusal_signal(texts), "k--", lw=1.2, label="text signal (1 = no refusal)")
    ax2.axvline(step, color="#424242", lw=0.8)
    ax2.set_xlabel("Generation Step")
    ax2.legend(fontsize=7, loc="lower left")
    return fig
