"""Figures: every function returns a matplotlib Figure; nothing is saved or shown here.

One file per subject: ``signals`` (σ trajectories, sweeps). Other modules never build figures
themselves; they call these.
"""
from .signals import (CLASS_COLORS, COMPLIANCE, REFUSAL, add_regions, new_figure, plot_sri_trajectories,
                      plot_sweep, plot_sweep_curves)

__all__ = ["CLASS_COLORS", "COMPLIANCE", "REFUSAL", "add_regions", "new_figure", "plot_sri_trajectories",
           "plot_sweep", "plot_sweep_curves"]
