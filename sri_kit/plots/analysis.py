"""Figures of the step-wise analyses (``sri_kit.analysis``): text-level refusal curves, SRI
trajectories (Fig. 2/12), IRR bars (Fig. 5/6), the LDA projection (Fig. 13) and AUROC bars (Table 4).

Each function takes the frame or arrays the analysis returned and gives back a Figure.

Example:
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"signal": ["text", "SRI"], "auroc": [0.6, 0.9]})
    >>> fig = auroc_figure(tab)
    >>> fig.axes[0].get_xlabel()
    'AUROC (benign vs attack)'
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .signals import CLASS_COLORS, legend_outside, new_figure, plot_sri_trajectories

__all__ = ["refusal_curves_figure", "trajectory_figure", "irr_figure", "lda_figure", "auroc_figure"]


def refusal_curves_figure(curves: pd.DataFrame, title: str = "Text-level refusal by step", normalized: bool = False):
    """Line per group: share of generations whose current prediction is a refusal, by step
    (``curves`` from :func:`sri_kit.analysis.refusal_curves`; ``normalized``: x = step / (T − 1))."""
    fig, ax = new_figure((8.5, 3.6))
    x = "step_frac" if normalized else "step"
    for g, sub in curves.groupby("group", sort=False):
        ax.plot(sub[x], sub["refusing"], marker="o", ms=3, lw=1.8, label=f"{g} (n={int(sub['n'].iloc[0])})")
    ax.set_xlabel("Generation step (fraction of T)" if normalized else "Generation Step")
    ax.set_ylabel("Share refusing (text)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(title)
    legend_outside(ax)
    ax.grid(alpha=0.3)
    return fig


def trajectory_figure(harmless, refused, jailbroken, text_signal=None, *, title: str = "",
                      show_band: bool = True):
    """Fig. 2/12 analogue: σ_t over the compliance (green) / refusal (red) regions.

    ``harmless``, ``refused``: σ of harmless and refused generations ([T] or [N, T]; [N, T] draws the
    median and interquartile band, and each generation when there are fewer than 8; n in the legend).
    ``jailbroken``: σ of one jailbroken (harmful, answered) generation [T] (or several).
    ``text_signal``: the jailbroken example's text-level refusal signal
    (``sri_kit.judges.text_refusal_signal(trace.step_texts())``), drawn dashed black.
    Labels follow the paper's legend.
    """
    curves = {"Harmless Response": harmless, "Refusal Response": refused, "Harmful Response": jailbroken}
    colors = {"Harmless Response": "#2e7d32", "Refusal Response": "#c62828", "Harmful Response": "#1565c0"}
    return plot_sri_trajectories(curves, text_signal=text_signal, title=title, band=show_band, colors=colors,
                                 text_label="Harmful Response (Refusal Text-Based Signal)")


def irr_figure(table: pd.DataFrame, title: str = "Internal Recovery Rate", annotate_diff: bool = True):
    """Fig. 5/6 analogue: grouped bars, one group of bars per λ_r, one colour per group
    (``table`` from :func:`sri_kit.analysis.irr_table`).

    With exactly two groups and ``annotate_diff`` the difference (second − first) is written above
    each pair, as in Fig. 6.
    """
    fig, ax = new_figure((7.5, 3.6))
    groups = list(dict.fromkeys(table["group"]))
    lams = sorted(table["lambda_r"].unique(), reverse=True)
    w = 0.8 / max(len(groups), 1)
    palette = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#9e9d24"]
    for k, g in enumerate(groups):
        sub = table[table["group"] == g].set_index("lambda_r")
        vals = [float(sub.loc[lr, "irr"]) if lr in sub.index else np.nan for lr in lams]
        ax.bar(np.arange(len(lams)) + (k - (len(groups) - 1) / 2) * w, vals, w, label=g, color=palette[k % len(palette)])
    if annotate_diff and len(groups) == 2:
        a = table[table["group"] == groups[0]].set_index("lambda_r")["irr"]
        b = table[table["group"] == groups[1]].set_index("lambda_r")["irr"]
        for i, lr in enumerate(lams):
            if lr in a.index and lr in b.index:
                ax.text(i, max(a[lr], b[lr]) + 0.03, f"{b[lr] - a[lr]:+.2f}", ha="center", fontsize=8)
    ax.set_xticks(np.arange(len(lams)), [f"λ_r = {lr:g}" for lr in lams])
    ax.set_xlabel("Refusal threshold")
    ax.set_ylabel("IRR")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    legend_outside(ax)
    return fig


def lda_figure(frame: pd.DataFrame, title: str = "LDA of SRI signals"):
    """Fig. 13 analogue: one scatter per class of the LDA projection (``frame`` from
    :func:`sri_kit.analysis.lda_projection`: columns class, ld1, ld2), classes in their frame order."""
    fig, ax = new_figure((6.5, 4))
    for c in dict.fromkeys(frame["class"]):
        sub = frame[frame["class"] == c]
        ax.scatter(sub["ld1"], sub["ld2"], s=14, alpha=0.75, label=f"{c} (n={len(sub)})",
                   color=CLASS_COLORS.get(c.split()[0].lower()))
    ax.set_xlabel("LD1")
    ax.set_ylabel("LD2")
    ax.set_title(title)
    legend_outside(ax)
    return fig


def auroc_figure(table: pd.DataFrame, title: str = "Signal comparison (AUROC)"):
    """Horizontal bars of AUROC per signal with the chance line at 0.5 (``table`` from
    :func:`sri_kit.analysis.signal_comparison_auroc`)."""
    fig, ax = new_figure((6, 0.5 + 0.45 * len(table)))
    y = np.arange(len(table))
    ax.barh(y, table["auroc"].fillna(0), color="#1565c0")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set_yticks(y, table["signal"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("AUROC (benign vs attack)")
    ax.set_title(title)
    for i, v in enumerate(table["auroc"]):
        ax.text(min(float(np.nan_to_num(v)) + 0.01, 0.93), i, f"{v:.2f}", va="center", fontsize=8)
    return fig
