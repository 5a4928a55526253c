"""Figures of the token canvas (``sri_kit.canvas`` builds the tables): the canvas grid at one step, the
confidence heatmap, and the TracePlayer's view (canvas beside σ_t and the text-level signal).

Example:
    >>> import numpy as np, pandas as pd
    >>> tab = pd.DataFrame({"position": [0, 1], "token": ["Hi", "!"], "committed": [True, False],
    ...                     "new": [True, False], "confidence": [0.9, 0.4]})
    >>> fig = canvas_figure(tab, step=0)
    >>> fig.axes[0].get_title()
    'step 0: 1/2 committed (blue); grey = current prediction (opacity = confidence)'
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .signals import add_regions, new_figure

__all__ = ["draw_canvas", "canvas_figure", "plot_confidence_heatmap", "trace_view_figure"]


def draw_canvas(ax, tab: pd.DataFrame, columns: int) -> None:
    """Committed tokens solid (just committed: outlined), predicted ones grey italic, opacity = confidence.

    ``tab``: :func:`sri_kit.canvas.canvas_table` (position, token, committed, new, confidence).
    """
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


def canvas_figure(tab: pd.DataFrame, step: int, columns: int = 16):
    """The canvas table of one step as a grid: committed tokens blue (just committed: outlined), the
    current prediction at still-masked positions grey with opacity = confidence."""
    rows = int(np.ceil(len(tab) / columns))
    fig, ax = new_figure(figsize=(min(16, 1.0 * columns), 0.45 * rows + 0.8))
    draw_canvas(ax, tab, columns)
    ax.set_title(f"step {step}: {int(tab.committed.sum())}/{len(tab)} committed (blue); grey = current prediction "
                 f"(opacity = confidence)", fontsize=9)
    return fig


def plot_confidence_heatmap(trace, title: str = ""):
    """Confidence of the current prediction per step × position; dots mark the step each position was committed."""
    fig, ax = new_figure(figsize=(8, 3.5))
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


def trace_view_figure(tab: pd.DataFrame, step: int, text_signal: np.ndarray, sigma: np.ndarray | None = None, *,
                      model_name: str = "", text_now: str = ""):
    """The TracePlayer's figure: the canvas table of ``step`` and, beside it, σ_t (if given) and the
    text-level signal [T] (dashed), with the current step marked."""
    T = len(text_signal)
    fig = Figure(figsize=(13, 4), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.7, 1])
    ax = left.add_subplot(1, 1, 1)
    draw_canvas(ax, tab, columns=12)
    ax.set_title(f"{model_name} step {step}/{T - 1}: text now: {text_now[:70]!r}", fontsize=8)
    ax2 = right.add_subplot(1, 1, 1)
    add_regions(ax2)
    steps = np.arange(T)
    if sigma is not None:
        ax2.plot(steps, sigma, color="#1565c0", lw=2, label="SRI σ_t")
        ax2.plot([step], [sigma[step]], "o", color="#1565c0")
    ax2.plot(steps, text_signal, "k--", lw=1.2, label="text signal (1 = no refusal)")
    ax2.axvline(step, color="#424242", lw=0.8)
    ax2.set_xlabel("Generation Step")
    ax2.legend(fontsize=7, loc="lower left")
    return fig
