"""Figures: every function returns a matplotlib Figure; nothing is saved or shown here.

One file per subject: ``signals`` (σ trajectories, sweeps), ``analysis`` (refusal curves, IRR, AUROC,
LDA), ``canvas`` (token canvases, confidence heatmaps), ``detectors`` (ROC curves, overhead). Other
modules never build figures themselves; they call these.
"""
from .signals import (CLASS_COLORS, COMPLIANCE, REFUSAL, add_regions, new_figure, plot_sri_trajectories,
                      plot_sweep, plot_sweep_curves)
from .detectors import plot_overhead, plot_roc_curves
from .analysis import auroc_figure, irr_figure, lda_figure, refusal_curves_figure, trajectory_figure
from .canvas import canvas_figure, plot_confidence_heatmap, trace_view_figure

__all__ = ["CLASS_COLORS", "COMPLIANCE", "REFUSAL", "add_regions", "new_figure", "plot_sri_trajectories",
           "plot_sweep", "plot_sweep_curves"]
__all__ += ["plot_roc_curves", "plot_overhead"]
__all__ += ["refusal_curves_figure", "trajectory_figure", "irr_figure", "lda_figure", "auroc_figure"]
__all__ += ["canvas_figure", "plot_confidence_heatmap", "trace_view_figure"]
