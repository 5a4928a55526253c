"""Figures of the token canvas (``sri_kit.canvas`` builds the tables): the canvas at one step, the
confidence heatmap, and the TracePlayer's view (canvas beside σ_t and the text-level signal).

The canvas is laid out like text, in a monospace font at a size that stays legible when the figure is
shown at a laptop's notebook width (about 1,000 px): each cell is as wide as its token, so words are
never clipped; a run of end padding arrives here as one cell with a count (``count`` column of
:func:`sri_kit.canvas.canvas_cells`) and is drawn as ``<|end|> ×37``.

Example:
    >>> import numpy as np, pandas as pd
    >>> tab = pd.DataFrame({"position": [0, 1, 2], "token": ["Hi", "!", "<|end|>"], "committed": [True, False, True],
    ...                     "new": [True, False, False], "confidence": [0.9, 0.4, 1.0], "count": [1, 1, 30]})
    >>> fig = canvas_figure(tab, step=0)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['Hi', '!', '<|end|> ×30']
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from .signals import add_regions, new_figure

__all__ = ["draw_canvas", "canvas_figure", "plot_confidence_heatmap", "trace_view_figure", "cell_label",
           "CANVAS_FONTSIZE"]

#: Points; at 100 dpi and a figure no wider than 10 in (1,000 px) this is 14 px on screen.
CANVAS_FONTSIZE = 10.5
_CHAR_IN = 0.6 * CANVAS_FONTSIZE / 72      # width of one monospace character, inches
_ROW_IN = 0.34


def cell_label(token: str, count: int = 1) -> str:
    """What a cell shows: the token with whitespace made visible (newline ⏎, an empty token ·), and
    ``×count`` for a collapsed run."""
    t = token.replace("\n", "⏎").replace("\t", "⇥").strip() or ("␣" if token else "·")
    return f"{t} ×{count}" if count > 1 else t


def _layout(tab: pd.DataFrame, width_chars: int):
    """Cell boxes (x, row, width in characters) flowing left to right, wrapping at ``width_chars``."""
    counts = tab["count"] if "count" in tab else pd.Series(1, index=tab.index)
    boxes, x, row = [], 0.0, 0
    for tok, n in zip(tab["token"], counts):
        lab = cell_label(str(tok), int(n))
        w = max(len(lab), 2) + 1.2
        if x > 0 and x + w > width_chars:
            x, row = 0.0, row + 1
        boxes.append((x, row, w, lab))
        x += w + 0.4
    return boxes, row + 1


def draw_canvas(ax, tab: pd.DataFrame, width_chars: int = 100, min_rows: int = 1) -> int:
    """Draw a canvas table on ``ax`` as flowing cells; returns the number of rows used.

    Committed tokens: black on blue (just committed: darker blue, outlined). Still-masked positions show
    the current prediction in dark grey on a light grey, dashed cell; its text is fainter the lower the
    model's confidence (never below 55 % opacity). ``tab``: :func:`sri_kit.canvas.canvas_cells` or
    :func:`sri_kit.canvas.canvas_table`. ``min_rows``: the axes hold at least this many rows (cells keep
    their height when the axes are taller than the canvas).
    """
    boxes, rows = _layout(tab, width_chars)
    for (x, row, w, lab), r in zip(boxes, tab.itertuples()):
        y = -row - 1
        if r.committed:
            face, edge, ls = ("#90caf9", "#0d47a1", "-") if r.new else ("#d6e9fb", "none", "-")
        else:
            face, edge, ls = "#f2f2f2", "#9e9e9e", "--"
        ax.add_patch(FancyBboxPatch((x, y + 0.12), w, 0.76, boxstyle="round,pad=0,rounding_size=0.15",
                                    facecolor=face, edgecolor=edge, lw=1.0, ls=ls))
        ax.text(x + w / 2, y + 0.5, lab, ha="center", va="center", fontsize=CANVAS_FONTSIZE, family="monospace",
                color="black" if r.committed else "#37474f",
                alpha=1.0 if r.committed else 0.55 + 0.45 * float(np.clip(r.confidence, 0, 1)))
    ax.set_xlim(0, width_chars)
    ax.set_ylim(-max(rows, min_rows, 1), 0)
    ax.axis("off")
    return rows


def _canvas_height(tab: pd.DataFrame, width_chars: int) -> int:
    return _layout(tab, width_chars)[1]


def canvas_figure(tab: pd.DataFrame, step: int, columns: int | None = None, *, width_in: float = 10.0):
    """The canvas table of one step as flowing cells: committed tokens blue (just committed: outlined),
    the current prediction at still-masked positions grey and dashed (fainter = less confident).
    ``width_in`` (default 10 in: no down-scaling at a laptop's notebook width); ``columns`` is ignored
    (kept for old callers: cells are as wide as their tokens)."""
    width_chars = int(width_in / _CHAR_IN) - 2
    rows = _canvas_height(tab, width_chars)
    fig, ax = new_figure(figsize=(width_in, _ROW_IN * rows + 0.75))
    draw_canvas(ax, tab, width_chars)
    counts = tab["count"] if "count" in tab else pd.Series(1, index=tab.index)
    n_pos, n_com = int(counts.sum()), int(counts[tab["committed"].astype(bool)].sum())
    ax.set_title(f"step {step}: {n_com}/{n_pos} positions committed (blue; outlined = just now); "
                 "grey dashed = current prediction at a masked position", fontsize=10, loc="left")
    return fig


def plot_confidence_heatmap(trace, title: str = ""):
    """Confidence of the current prediction per step × position; dots mark the step each position was committed."""
    fig, ax = new_figure(figsize=(8.5, 3.8))
    im = ax.imshow(trace.confidence, aspect="auto", cmap="viridis", vmin=0, vmax=1, origin="lower")
    c = trace.committed
    first = np.where(c.any(0), c.argmax(0), -1)
    pos = np.nonzero(first >= 0)[0]
    ax.scatter(pos, first[pos], s=8, c="white", edgecolors="black", linewidths=0.3, label="committed at this step")
    ax.set_xlabel("Response position")
    ax.set_ylabel("Generation Step")
    ax.set_title(title or "Confidence of the current prediction", loc="left")
    fig.colorbar(im, ax=ax, label="p(predicted token)")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.01), borderaxespad=0.0, fontsize=8, frameon=False)
    return fig


def trace_view_figure(tab: pd.DataFrame, step: int, text_signal: np.ndarray, sigma: np.ndarray | None = None, *,
                      model_name: str = "", text_now: str = ""):
    """The TracePlayer's figure: the canvas table of ``step`` and, beside it, σ_t and the text-level
    signal [T] (dashed) with the current step marked and both values at that step in the panel's title.
    Without ``sigma`` the side panel says how to get it (``sigma=`` or ``centers=``)."""
    T = len(text_signal)
    fig = Figure(figsize=(10.5, 4.2), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.75, 1])
    width_chars = int(6.4 / _CHAR_IN) - 2
    ax = left.add_subplot(1, 1, 1)
    draw_canvas(ax, tab, width_chars, min_rows=9)
    now = text_now if len(text_now) <= 60 else text_now[:57] + "…"
    ax.set_title(f"{model_name} step {step}/{T - 1}\ntext now: {now!r}", fontsize=10, loc="left")
    ax2 = right.add_subplot(1, 1, 1)
    add_regions(ax2)
    steps = np.arange(T)
    head = f"step {step}: "
    if sigma is not None:
        sigma = np.asarray(sigma, dtype=float)
        ax2.plot(steps, sigma, color="#1565c0", lw=2, label="SRI σ_t")
        ax2.plot([step], [sigma[step]], "o", color="#1565c0")
        head += f"σ = {sigma[step]:.2f}, "
    else:
        ax2.text(0.5, 0.62, "σ not shown:\nTracePlayer(..., centers=)\nor sigma=", transform=ax2.transAxes,
                 ha="center", va="center", fontsize=9, color="#424242")
    ax2.plot(steps, text_signal, "k--", lw=1.2, label="text signal\n(1 = no refusal)")
    ax2.plot([step], [text_signal[step]], "ks", ms=4)
    head += f"text = {float(text_signal[step]):.2f}"
    ax2.axvline(step, color="#424242", lw=0.8)
    ax2.set_xlabel("Generation Step")
    ax2.set_title(head, fontsize=10)
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return fig

