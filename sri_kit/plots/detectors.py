"""Figures of the defense evaluation (``sri_kit.detectors.evaluate`` computes, these draw).

Every function returns a matplotlib Figure built without pyplot; nothing is saved or shown here.

Example:
    >>> import numpy as np
    >>> fig = plot_roc_curves({"guard": (np.array([0, 0.5, 1]), np.array([0, 0.9, 1]), 0.7)})
    >>> fig.axes[0].get_legend().texts[0].get_text()
    'guard (AUROC 0.700)'
    >>> fig = plot_overhead(["Undefended", "SRI Guard"], [0.0, 0.02], [36.4, 27.9], metric="ASR %")
    >>> fig.axes[0].get_xscale()
    'log'
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .signals import new_figure

__all__ = ["plot_roc_curves", "plot_overhead"]


def _figure_and_axes(ax: Any, figsize: tuple[float, float]):
    if ax is None:
        return new_figure(figsize=figsize)
    return ax.figure, ax


def _finish(fig: Any) -> None:
    # figures from new_figure lay themselves out (constrained); a caller's own figure gets tight_layout
    if fig.get_layout_engine() is None:
        fig.tight_layout()


def plot_roc_curves(curves: Mapping[str, tuple[Any, Any, float]], *, title: str | None = "ROC: benign vs attack",
                    ax: Any = None, log_fpr: bool = True):
    """ROC curves, one per detector: ``curves[name] = (fpr, tpr, auroc)``.

    The false-positive axis is log-scaled by default (``log_fpr``), so the region a defence operates in
    (FPR of 1-5 %) takes half the plot instead of a sliver against the axis; FPR = 0 is drawn at the
    axis' left edge (below the smallest positive FPR, at most 0.1 %). Dotted lines mark 1 % and 5 % FPR;
    the legend (outside the plot) shows each AUROC. ``ax``: draw into an existing Axes (its figure is
    returned). :func:`sri_kit.detectors.roc_figure` computes the curves from scores.
    """
    if not curves:
        raise ValueError("curves is empty; pass {name: (fpr, tpr, auroc)}.")
    fig, ax = _figure_and_axes(ax, (6.8, 4.2))
    pos = [float(np.min(f[f > 0])) for f in (np.asarray(c[0], dtype=float) for c in curves.values()) if (f > 0).any()]
    floor = min([1e-3] + [p / 2 for p in pos]) if log_fpr else 0.0
    for name, (fpr, tpr, auc) in curves.items():
        x = np.asarray(fpr, dtype=float)
        ax.plot(np.maximum(x, floor) if log_fpr else x, np.asarray(tpr), lw=1.8, label=f"{name} (AUROC {auc:.3f})")
    chance = np.geomspace(floor, 1, 50) if log_fpr else np.array([0.0, 1.0])
    ax.plot(chance, chance, color="grey", lw=0.8, ls="--", label="chance")
    for x in (0.01, 0.05):
        ax.axvline(x, color="grey", lw=0.6, ls=":")
    if log_fpr:
        ax.set_xscale("log")
        ax.set_xlim(floor, 1)
        ax.xaxis.set_major_formatter(_percent_formatter())
    else:
        ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false-positive rate (benign flagged)" + (", log scale" if log_fpr else ""))
    ax.set_ylabel("true-positive rate (attacks flagged)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    _finish(fig)
    return fig


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter     # matplotlib loads on first figure

    return FuncFormatter(lambda v, _: f"{100 * v:.3g} %")


def plot_overhead(names: Sequence[str], overhead_pct: Sequence[float], values: Sequence[float], *,
                  metric: str = "ASR %", title: str | None = None, ax: Any = None):
    """Safety (``values``, e.g. ASR %) against inference overhead (% of generation time), one point per defense.

    The x axis is log-scaled; a defense with zero overhead (Undefended) is drawn as a square at a
    tenth of the smallest positive overhead, with "(0)" after its name.
    :func:`sri_kit.detectors.overhead_figure` takes a table instead.
    """
    x = np.asarray(overhead_pct, dtype=float)
    y = np.asarray(values, dtype=float)
    if not (len(names) == x.size == y.size):
        raise ValueError(f"{len(names)} names, {x.size} overheads and {y.size} values; pass one of each per defense.")
    if x.size == 0:
        raise ValueError("no defenses to plot; pass one row per defense.")
    pos = x[x > 0]
    floor = (pos.min() / 10.0) if pos.size else 1e-3
    fig, ax = _figure_and_axes(ax, (5.2, 3.8))
    for name, xi, yi in zip(names, x, y):
        xp = xi if xi > 0 else floor
        ax.scatter([xp], [yi], s=40, marker="o" if xi > 0 else "s")
        ax.annotate(name if xi > 0 else f"{name} (0)", (xp, yi), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("inference overhead (% of generation time, log scale)")
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    _finish(fig)
    return fig
