"""Figures. Every function returns a matplotlib Figure; nothing is saved or shown here.

Example:
    >>> fig = plot_sri_trajectories({"harmless": sigma_h, "jailbreak": sigma_j})   # doctest: +SKIP
    >>> fig.savefig("sri.png")                                                        # doctest: +SKIP
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

#: The official code's colours and labels (PAPER.md §1.4, §6).
COMPLIANCE = "#C8E6C9"
REFUSAL = "#FFCDD2"
CLASS_COLORS = {"harmless": "#2e7d32", "refused": "#c62828", "harmful": "#c62828", "jailbreak": "#1565c0",
                "jailbroken": "#1565c0"}


def _figure(figsize=(8, 4)):
    from matplotlib.figure import Figure     # no pyplot: no global state, nothing shown implicitly

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot(1, 1, 1)


def add_regions(ax, threshold: float = 0.5) -> None:
    """The compliance region [0.5, 1.05] (green) and refusal region [-0.05, 0.5) (red)."""
    ax.axhspan(threshold, 1.05, color=COMPLIANCE, alpha=0.6, lw=0, label="Compliance Region")
    ax.axhspan(-0.05, threshold, color=REFUSAL, alpha=0.6, lw=0, label="Refusal Region")
    ax.axhline(threshold, color="grey", ls=":", lw=1)
    ax.set_ylim(-0.05, 1.05)


def plot_sri_trajectories(curves: Mapping[str, np.ndarray], text_signal: np.ndarray | None = None,
                          title: str = "", band: bool = True):
    """σ_t per class: each value is [T] (one generation) or [N, T] (mean ± std band drawn).

    ``text_signal`` [T] is drawn dashed black (the paper's text-based refusal signal).
    """
    fig, ax = _figure()
    add_regions(ax)
    for name, s in curves.items():
        s = np.atleast_2d(np.asarray(s, dtype=float))
        steps = np.arange(s.shape[1])
        color = CLASS_COLORS.get(name.split()[0].lower())
        mean = s.mean(0)
        ax.plot(steps, mean, lw=2, color=color, label=f"{name} (SRI, n={s.shape[0]})" if s.shape[0] > 1 else f"{name} (SRI)")
        if band and s.shape[0] > 1:
            sd = s.std(0)
            ax.fill_between(steps, np.clip(mean - sd, 0, 1), np.clip(mean + sd, 0, 1), color=color, alpha=0.15, lw=0)
    if text_signal is not None:
        ax.plot(np.arange(len(text_signal)), text_signal, "k--", lw=1.5, label="Text-based refusal signal")
    ax.set_xlabel("Generation Step")
    ax.set_ylabel("SRI σ_t (1 = compliant)")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    return fig
