"""Figures. Every function returns a matplotlib Figure; nothing is saved or shown here.

Example:
    >>> sigma_h, sigma_j = np.full((3, 8), 0.9), np.linspace(0.9, 0.1, 8)[None].repeat(3, 0)
    >>> fig = plot_sri_trajectories({"harmless": sigma_h, "jailbreak": sigma_j})
    >>> type(fig).__name__, len(fig.axes)
    ('Figure', 1)
    >>> fig.axes[0].get_legend().get_texts()[-1].get_text()      # n in the legend, outside the data
    'jailbreak (SRI, each of n=3)'
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

#: The official code's colours and labels (PAPER.md §1.4, §6).
COMPLIANCE = "#C8E6C9"
REFUSAL = "#FFCDD2"
#: Below this many generations a class's individual trajectories are drawn too.
SMALL_N = 8
CLASS_COLORS = {"harmless": "#2e7d32", "benign": "#2e7d32", "refused": "#c62828", "refusal": "#c62828",
                "harmful": "#c62828", "jailbreak": "#1565c0", "jailbroken": "#1565c0", "attack": "#1565c0"}


def new_figure(figsize=(8, 4)):
    from matplotlib.figure import Figure     # matplotlib loads on first figure; no pyplot: no global state

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(1, 1, 1)


def legend_outside(ax, *, fontsize: float = 8, title: str | None = None, handles=None, labels=None):
    """The Axes' legend to the right of its plotting area, outside the data (constrained layout makes room).

    Returns the Legend (still ``ax.get_legend()``)."""
    args = () if handles is None else (handles, labels)
    return ax.legend(*args, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=fontsize,
                     title=title, title_fontsize=fontsize, framealpha=0.9)


def add_regions(ax, threshold: float = 0.5) -> None:
    """The compliance region [0.5, 1.05] (green) and refusal region [-0.05, 0.5) (red)."""
    ax.axhspan(threshold, 1.05, color=COMPLIANCE, alpha=0.6, lw=0, label="Compliance Region")
    ax.axhspan(-0.05, threshold, color=REFUSAL, alpha=0.6, lw=0, label="Refusal Region")
    ax.axhline(threshold, color="grey", ls=":", lw=1)
    ax.set_ylim(-0.05, 1.05)


def plot_sri_trajectories(curves: Mapping[str, np.ndarray], text_signal: np.ndarray | None = None,
                          title: str = "", band: bool = True, colors: Mapping[str, str] | None = None,
                          text_label: str = "Text-based refusal signal", few: int = SMALL_N):
    """σ_t per class: each value is [T] (one generation) or [N, T].

    A class of at least ``few`` generations (default 8) is drawn as its median with the interquartile
    band (``band``); a smaller class as each of its generations, so a bimodal group is never read as
    its average. The legend, outside the plot, gives each class's n.
    ``text_signal`` [T] is drawn dashed black (the paper's text-based refusal signal). ``colors`` maps a
    curve name to a colour (default: by the name's first word, see ``CLASS_COLORS``).
    """
    fig, ax = new_figure((8.5, 4))
    add_regions(ax)
    for name, s in curves.items():
        s = np.atleast_2d(np.asarray(s, dtype=float))
        n, steps = s.shape[0], np.arange(s.shape[1])
        color = (colors or {}).get(name) or CLASS_COLORS.get(name.split()[0].lower())
        if n < few:                         # few generations: each one, never an average of a bimodal group
            for k, row in enumerate(s):
                line, = ax.plot(steps, row, lw=1.6, alpha=0.85 if n > 1 else 1.0, color=color,
                                label=(f"{name} (SRI, n=1)" if n == 1 else f"{name} (SRI, each of n={n})")
                                if k == 0 else "_nolegend_")
                color = line.get_color()
            continue
        med = np.median(s, 0)
        line, = ax.plot(steps, med, lw=2.2, color=color, label=f"{name} (SRI, median{' + IQR' if band else ''}, n={n})")
        if band:
            q25, q75 = np.percentile(s, [25, 75], axis=0)
            ax.fill_between(steps, q25, q75, color=line.get_color(), alpha=0.18, lw=0)
    if text_signal is not None:
        ax.plot(np.arange(len(text_signal)), text_signal, "k--", lw=1.5, label=text_label)
    ax.set_xlabel("Generation Step")
    ax.set_ylabel("SRI σ_t (1 = compliant)")
    if title:
        ax.set_title(title)
    legend_outside(ax)
    return fig


# ---- sweeps (sri_kit.sweeps) ----------------------------------------------------------------------

_SWEEP_LABELS = {"refusal_rate": "Refusal rate", "attack_success": "Attack success", "irr": "IRR",
                 "mean_sigma": "Mean σ", "final_sigma": "Final σ"}


def plot_sweep(table, metrics=("refusal_rate", "attack_success", "irr", "mean_sigma"), title: str = ""):
    """One panel per metric of a :func:`sri_kit.sweeps.sweep` table: the metric against the swept
    value, one line per prompt group (categorical values such as remasking names are spaced evenly).
    The IRR axis names the table's ``lambda_r`` when there is one."""
    from matplotlib.figure import Figure     # matplotlib loads on first figure

    metrics = list(metrics)
    fig = Figure(figsize=(3.2 * len(metrics), 3.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    param = str(table["param"].iloc[0]) if len(table) else "value"
    labels = list(dict.fromkeys(str(v) for v in table["value"]))
    pos = {lab: i for i, lab in enumerate(labels)}
    for ax, m in zip(axes, metrics):
        for g, sub in table.groupby("group", sort=False):
            ax.plot([pos[str(v)] for v in sub["value"]], sub[m], marker="o", lw=1.6, label=str(g))
        ax.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels), default=0) > 5 else 0)
        ax.set_xlabel(param)
        label = _SWEEP_LABELS.get(m, m)
        if m == "irr" and "lambda_r" in table and table["lambda_r"].nunique() == 1:
            label = f"IRR (λ_r = {float(table['lambda_r'].iloc[0]):.2f})"
        ax.set_ylabel(label)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    legend_outside(axes[-1], title="group")
    if title:
        fig.suptitle(title)
    return fig


def plot_sweep_curves(curves, group: str | None = None, title: str = "", what: str = "sigma_mean"):
    """σ_t (or ``what="text_refusing"``) per step for every swept value of one group, over the regions.

    σ is drawn as the median over the group's generations when the curves carry it (``sigma_median``,
    from :func:`sri_kit.sweeps.sweep`), else the mean; the legend (outside the plot) names n."""
    fig, ax = new_figure((8.5, 4))
    groups = list(dict.fromkeys(curves["group"]))
    group = group if group is not None else groups[0]
    sub = curves[curves["group"] == group]
    col = what
    if what == "sigma_mean":
        add_regions(ax)
        if "sigma_median" in sub and sub["sigma_median"].notna().any():
            col = "sigma_median"
    for v, s in sub.groupby(sub["value"].astype(str), sort=False):
        n = f", n={int(s['n'].iloc[0])}" if "n" in s else ""
        ax.plot(s["step"], s[col], lw=1.8, label=f"{s['param'].iloc[0]} = {v}{n}")
    ax.set_xlabel("Generation Step")
    stat = "median " if col == "sigma_median" else ("mean " if what == "sigma_mean" else "")
    ax.set_ylabel(f"SRI σ_t, {stat}(1 = compliant)" if what == "sigma_mean" else "Share refusing (text)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title or f"{group}")
    legend_outside(ax)
    return fig
